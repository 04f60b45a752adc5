//! Sending one request and reading the whole response, with every wait bounded.
//!
//! Three timeouts (from the target's [`Timeouts`]): connect, first byte (request sent → response head) and
//! idle (the longest silence between two body chunks), plus a ceiling on the whole body ([`MAX_BODY_TIME`])
//! so a server trickling one byte at a time cannot hold a run forever. A body that stops early — idle
//! timeout, reset, over [`MAX_BODY_BYTES`] or [`MAX_BODY_TIME`] — is returned with what arrived and how it
//! ended, so the run layer can classify it (a cut stream is an `error`, never a divergence). Redirects are
//! not followed: an API endpoint answers, and a redirect would carry the key's header elsewhere. Retries and
//! pacing live in [`crate::pacing`]; this module sends exactly once. It prints nothing and never logs headers
//! (they carry the key).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::case::Method;
use crate::target::Timeouts;

/// Bodies beyond this are cut and reported as an error (a response this large is not a chat answer).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The most a body's buffer is sized for up front from its declared `content-length`.
const RESERVE_UP_TO: usize = 4 * 1024 * 1024;

/// Longest time spent reading one body after its head arrived (a long stream of a slow model stays well
/// under it).
pub const MAX_BODY_TIME: Duration = Duration::from_secs(600);

/// A request ready to send. `headers` may hold the key; this value is never written anywhere.
#[derive(Clone)]
pub struct WireRequest {
    /// HTTP method.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Headers, the auth header included.
    pub headers: Vec<(String, String)>,
    /// Body bytes with `content-type: application/json`, if any.
    pub body: Option<Vec<u8>>,
}

impl std::fmt::Debug for WireRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values are left out on purpose: one of them is the key.
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("WireRequest").field("method", &self.method).field("url", &self.url).field("headers", &names).finish()
    }
}

/// How a body ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyEnd {
    /// The server closed it normally.
    Complete,
    /// No bytes arrived for longer than the idle timeout.
    IdleTimeout(Duration),
    /// The connection failed mid-body.
    Reset(String),
    /// The body passed [`MAX_BODY_BYTES`].
    TooLarge,
    /// The body was still arriving after [`MAX_BODY_TIME`].
    Deadline(Duration),
}

/// A response read to its end (or as far as it got).
#[derive(Debug, Clone)]
pub struct WireResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers with lower-case names.
    pub headers: Vec<(String, String)>,
    /// The bytes that arrived.
    pub body: Vec<u8>,
    /// How the body ended.
    pub ended: BodyEnd,
    /// From sending to the last byte.
    pub elapsed: Duration,
    /// From sending to the response head (status and headers).
    pub first_byte: Duration,
}

/// A request that got no response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// Could not connect (refused, DNS, connect timeout).
    Connect(String),
    /// The TLS handshake failed (an untrusted or invalid certificate, a protocol mismatch).
    Tls(String),
    /// The response head did not arrive within the first-byte timeout.
    FirstByteTimeout(Duration),
    /// The connection failed before the head (reset, protocol error).
    Request(String),
    /// Never sent: an earlier request showed the target cannot be reached (the reason).
    NotSent(String),
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::Connect(e) => write!(f, "cannot connect: {e}"),
            TransportError::Tls(e) => write!(
                f,
                "TLS handshake failed: {e} (certificates are verified against the system's roots; SSL_CERT_FILE names \
                 another CA bundle)"
            ),
            TransportError::FirstByteTimeout(d) => write!(f, "no response head within {} ms", d.as_millis()),
            TransportError::Request(e) => write!(f, "request failed: {e}"),
            TransportError::NotSent(reason) => write!(f, "not sent: the target is unreachable ({reason})"),
        }
    }
}

/// Whether requests go through the proxy the environment names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proxy {
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (either case) are honoured: live runs, which a
    /// maintainer behind a proxy must be able to make. [`LOOPBACK`] always goes direct: a proxy cannot reach
    /// this machine's loopback (the harness's own tests, a local server).
    FromEnv,
    /// Never a proxy: replay talks to its own loopback server.
    Direct,
}

/// The HTTP clients of one run, one per connect timeout, proxy choice and TLS, built on first use and reused by
/// every case of the run. A run owns its clients (they live in its [`RunContext`](crate::run::RunContext)): a
/// pooled connection belongs to the tokio runtime that opened it, so clients are never shared between runs,
/// and connections are kept alive within one.
#[derive(Default)]
pub struct HttpClients {
    clients: std::sync::Mutex<Vec<(ClientKey, Arc<reqwest::Client>)>>,
}

/// What tells clients apart: connect timeout (ms), proxy choice, TLS.
type ClientKey = (u64, Proxy, bool);

impl HttpClients {
    /// The client for `url` (a case's base URL) under `timeouts` and `proxy`.
    ///
    /// An `https` URL, or any proxy in the environment under [`Proxy::FromEnv`], needs TLS, whose certificates
    /// are verified against the system's roots (reqwest's rustls platform verifier, which on Linux reads the
    /// system bundle, or the one `SSL_CERT_FILE` / `SSL_CERT_DIR` name). A plain-`http` client — replay, a local
    /// server — trusts no root at all, so it does not read that bundle: about 5 ms of a one-case run.
    pub fn client(&self, timeouts: &Timeouts, proxy: Proxy, url: &str) -> Arc<reqwest::Client> {
        let tls = !url.starts_with("http://") || (proxy == Proxy::FromEnv && !env_proxies().is_empty());
        let mut cache = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let key = (timeouts.connect_ms, proxy, tls);
        if let Some((_, c)) = cache.iter().find(|(k, _)| *k == key) {
            return Arc::clone(c);
        }
        let client = Arc::new(build_client(timeouts, proxy, tls));
        cache.push((key, Arc::clone(&client)));
        client
    }
}

/// A client with the connect timeout of `timeouts`, no redirects, the environment's proxies under
/// [`Proxy::FromEnv`], and the system's roots only when `tls`.
fn build_client(timeouts: &Timeouts, proxy: Proxy, tls: bool) -> reqwest::Client {
    // reqwest is built without a bundled crypto provider; ring is ours. A second install is a no-op error.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder().connect_timeout(timeouts.connect()).redirect(reqwest::redirect::Policy::none());
    if !tls {
        builder = builder.tls_certs_only([]); // no root read; an https URL would fail verification, never reach it
    }
    builder = builder.no_proxy(); // reqwest would read the variables itself, without the loopback rule
    if proxy == Proxy::FromEnv {
        for p in env_proxies().into_iter().filter_map(Result::ok) {
            builder = builder.proxy(p);
        }
    }
    builder.build().expect("an HTTP client with a connect timeout builds")
}

/// Hosts that never go through a proxy, whatever `NO_PROXY` says.
pub const LOOPBACK: &str = "localhost,127.0.0.1,::1";

/// The proxies the environment names, for live runs: `HTTPS_PROXY` for `https` URLs and `HTTP_PROXY` for
/// `http` ones (either falling back to `ALL_PROXY`; upper case first, then lower), each bypassed for the hosts
/// of `NO_PROXY` and [`LOOPBACK`]. A variable that is not a proxy URL is an `Err` naming it.
pub fn env_proxies() -> Vec<Result<reqwest::Proxy, String>> {
    fn var(names: [&'static str; 2]) -> Option<(&'static str, String)> {
        names.into_iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()).map(|v| (n, v)))
    }
    let all = var(["ALL_PROXY", "all_proxy"]);
    let no_proxy = var(["NO_PROXY", "no_proxy"]).map_or(LOOPBACK.to_owned(), |(_, v)| format!("{v},{LOOPBACK}"));
    let mut out = Vec::new();
    for (scheme, names) in [("https", ["HTTPS_PROXY", "https_proxy"]), ("http", ["HTTP_PROXY", "http_proxy"])] {
        let Some((name, url)) = var(names).or_else(|| all.clone()) else { continue };
        let proxy = if scheme == "https" { reqwest::Proxy::https(url.trim()) } else { reqwest::Proxy::http(url.trim()) };
        out.push(
            proxy
                .map(|p| p.no_proxy(reqwest::NoProxy::from_string(&no_proxy)))
                .map_err(|e| format!("${name} is not a proxy URL: {}", error_chain(&e))),
        );
    }
    out
}

/// Sends `request` once and reads the body to its end, each wait bounded by `timeouts`.
pub async fn send(client: &reqwest::Client, request: &WireRequest, timeouts: &Timeouts) -> Result<WireResponse, TransportError> {
    send_within(client, request, timeouts, MAX_BODY_TIME).await
}

/// [`send`] with another ceiling on the body's reading time.
pub async fn send_within(
    client: &reqwest::Client,
    request: &WireRequest,
    timeouts: &Timeouts,
    body_time: Duration,
) -> Result<WireResponse, TransportError> {
    let started = Instant::now();
    let method = reqwest::Method::from_bytes(request.method.as_str().as_bytes()).expect("a known method");
    let mut builder = client.request(method, &request.url);
    for (k, v) in &request.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    if let Some(body) = &request.body {
        builder = builder.header("content-type", "application/json").body(body.clone());
    }
    let head = tokio::time::timeout(timeouts.first_byte(), builder.send()).await;
    let mut response = match head {
        Err(_) => return Err(TransportError::FirstByteTimeout(timeouts.first_byte())),
        Ok(Err(e)) if e.is_connect() && is_tls(&e) => return Err(TransportError::Tls(error_chain(&e))),
        Ok(Err(e)) if e.is_connect() => return Err(TransportError::Connect(error_chain(&e))),
        Ok(Err(e)) => return Err(TransportError::Request(error_chain(&e))),
        Ok(Ok(r)) => r,
    };
    let first_byte = started.elapsed();
    let status = response.status().as_u16();
    let headers =
        response.headers().iter().map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    // Sized from the declared length, up to [`RESERVE_UP_TO`]: grown by doubling, an embeddings answer (a few
    // hundred kilobytes) is copied again at each step into memory touched for the first time. A larger or
    // false declaration reserves no more; the body grows as it comes.
    let mut body = Vec::with_capacity(response.content_length().map_or(0, |n| n.min(RESERVE_UP_TO as u64) as usize));
    let deadline = Instant::now() + body_time;
    let ended = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(timeouts.idle().min(left), response.chunk()).await {
            Err(_) if left <= timeouts.idle() => break BodyEnd::Deadline(body_time),
            Err(_) => break BodyEnd::IdleTimeout(timeouts.idle()),
            Ok(Err(e)) => break BodyEnd::Reset(error_chain(&e)),
            Ok(Ok(None)) => break BodyEnd::Complete,
            Ok(Ok(Some(bytes))) => {
                body.extend_from_slice(&bytes);
                if body.len() > MAX_BODY_BYTES {
                    break BodyEnd::TooLarge;
                }
            }
        }
    };
    Ok(WireResponse { status, headers, body, ended, elapsed: started.elapsed(), first_byte })
}

/// Whether a connect failure happened in the TLS handshake: a rustls error somewhere in its causes (inside an
/// `io::Error`, whose `source` skips the error it wraps, hence the `get_ref`).
fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        if err.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>() || is_tls(inner))
        {
            return true;
        }
        next = err.source();
    }
    false
}

/// The error and its causes, one line (reqwest's top-level message alone says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_header_values() {
        let r = WireRequest {
            method: crate::case::Method::Post,
            url: "http://127.0.0.1:1/v1/chat/completions".into(),
            headers: vec![("authorization".into(), "Bearer sk-very-secret".into())],
            body: None,
        };
        let shown = format!("{r:?}");
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(shown.contains("\"authorization\""), "the name is shown: {shown}");
    }
}
