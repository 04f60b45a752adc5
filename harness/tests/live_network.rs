//! Live runs over the real network path, against servers this test starts on loopback: the real `compat`
//! binary on a throwaway project (`--root`), each run in a process of its own so its environment (key, proxy
//! variables, `SSL_CERT_FILE`) is its own.
//!
//! - HTTPS: a server with a certificate from a throwaway CA passes when `SSL_CERT_FILE` trusts that CA, and
//!   is `error (tls)` with a clear message when it does not;
//! - proxies: `HTTPS_PROXY` (CONNECT) and `HTTP_PROXY` (absolute-form) carry live requests to a host name only
//!   the proxy knows, `NO_PROXY` bypasses them, loopback never goes through one, a variable that is not a URL
//!   stops the run, and replay never uses one;
//! - an unreachable target: every case ends at once, one message, exit 3;
//! - redaction cannot change a verdict: the whole suite, live against a server answering exactly as the
//!   control target's fixtures (a new target: no fixtures, no snapshots), gives the same verdicts and
//!   findings with the keys `x`, `index` and `assistant` as with a long random key;
//! - `--rpm`, `--concurrency` and `--timeout-*` override a target's pacing for one run, and a `base_url`
//!   without its trailing slash works in `targets.yaml`.

mod http_support;

use http_support::read_request;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use compat::case::AuthMode;
use compat::fixture::replay::{request_mock, response_template};
use compat::fixture::{Fixture, fixture_path, load_fixtures};
use compat::run::INVALID_KEY;
use compat::suite::{Suite, default_root};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wiremock::matchers::{any, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY_ENV: &str = "COMPAT_NET_TEST_KEY";
const LONG_KEY: &str = "sk-test-4f0c9a7e1b2d4c6e8a0b1c3d5e7f9a1b";

const CHAT_CASE: &str = "id: basic
feature: chat
title: A single user message gets one assistant message
doc: d
request:
  path: chat/completions
  body: { model: \"{{model}}\", messages: [{ role: user, content: hi }] }
expect:
  status: 200
  schema: chat.completion
  snapshot: false
  assert:
    - path: $.choices[0].message.role
      equals: assistant
";

fn completion() -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1741569952, "model": "m-1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!", "refusal": null, "annotations": []},
                     "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    })
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A project with one target `t` (`base_url` as given, no trailing slash needed) and the chat case.
fn project(base_url: &str, pacing: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let targets = format!(
        "targets:\n  t:\n    base_url: {base_url}\n    auth: {{ env: {KEY_ENV} }}\n    models: {{ chat: m-1 }}\n    pacing: {pacing}\n    timeouts: {{ connect_ms: 2000, first_byte_ms: 5000, idle_ms: 2000 }}\n"
    );
    write(dir.path(), "cases/targets.yaml", &targets);
    write(dir.path(), "cases/chat/basic.yaml", CHAT_CASE);
    dir
}

const FAST: &str = "{ rpm: 0, concurrency: 4, max_retries: 1, backoff_ms: 10, max_backoff_ms: 50 }";

/// Runs the real binary with `--root`, a clean proxy environment plus `env`, and the reports in the project.
async fn compat(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_compat"));
    cmd.arg("--root").arg(root).args(args).arg("--reports").arg(root.join("reports"));
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        KEY_ENV,
    ] {
        cmd.env_remove(var);
    }
    cmd.env("CI", "true").env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::task::spawn_blocking(move || cmd.output().expect("the compat binary runs")).await.unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn results(root: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(root.join("reports/results.json")).unwrap()).unwrap()
}

fn verdicts(root: &Path) -> Vec<(String, String)> {
    let r = results(root);
    r["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                format!("{}::{}::{}", o["target"].as_str().unwrap(), o["feature"].as_str().unwrap(), o["id"].as_str().unwrap()),
                o["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

// ---- a loopback HTTPS server with a throwaway CA -------------------------------------------------------

/// A CA (its PEM) and a server configuration whose certificate it signed, for `127.0.0.1`, `localhost` and
/// [`PROXIED_HOST`].
fn throwaway_ca(name: &str) -> (String, Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, name);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned(), PROXIED_HOST.to_owned()]).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf_cert.der().clone()], key)
        .unwrap();
    (ca_cert.pem(), Arc::new(config))
}

/// An HTTPS server on loopback answering every request with a chat completion; returns its address and the
/// CA's PEM. It serves until the test ends.
async fn https_server() -> (SocketAddr, String) {
    let (ca_pem, config) = throwaway_ca("compat throwaway test CA");
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else { return }; // an untrusting client hangs up
                read_request(&mut tls).await;
                let body = completion().to_string();
                let head =
                    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(body.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, ca_pem)
}

fn ca_file(dir: &Path, pem: &str) -> PathBuf {
    let p = dir.join("ca.pem");
    std::fs::write(&p, pem).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_runs_live_over_https_with_a_ca_trusted_through_ssl_cert_file() {
    let (addr, ca_pem) = https_server().await;
    let dir = project(&format!("https://{addr}/v1"), FAST);
    let ca = ca_file(dir.path(), &ca_pem);
    let out = compat(dir.path(), &["run", "--live", "--target", "t"], &[(KEY_ENV, LONG_KEY), ("SSL_CERT_FILE", ca.to_str().unwrap())]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(verdicts(dir.path()), vec![("t::chat::basic".to_owned(), "pass".to_owned())]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_is_a_tls_error_with_a_clear_message() {
    let (addr, _) = https_server().await;
    let (other_ca, _) = throwaway_ca("another throwaway CA"); // trusted instead: the server's CA is unknown
    let dir = project(&format!("https://{addr}/v1/"), FAST);
    let ca = ca_file(dir.path(), &other_ca);
    let out = compat(dir.path(), &["run", "--live", "--target", "t"], &[(KEY_ENV, LONG_KEY), ("SSL_CERT_FILE", ca.to_str().unwrap())]).await;
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(3), "a target that cannot be reached: {printed}");
    assert!(printed.contains("error (tls): TLS handshake failed: "), "{printed}");
    assert!(printed.contains("UnknownIssuer"), "the reason is named: {printed}");
    assert!(printed.contains("SSL_CERT_FILE"), "and the way to trust a CA: {printed}");
    let r = results(dir.path());
    assert_eq!(r["outcomes"][0]["error"]["kind"], "tls");
}

// ---- proxies --------------------------------------------------------------------------------------------

/// A host name that resolves nowhere: only the test's proxy knows it (as this machine's loopback).
const PROXIED_HOST: &str = "compat-proxied.invalid";

/// A forward proxy on loopback: `CONNECT host:port` opens a tunnel; any other request (absolute-form, as
/// clients send plain HTTP to a proxy) is passed to its host as is, [`PROXIED_HOST`] standing for the address
/// `known_as`. Records each request line it got.
async fn proxy(known_as: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let (head, rest) = read_head(&mut client).await;
                let line = head.lines().next().unwrap_or_default().to_owned();
                log.lock().unwrap().push(line.clone());
                let mut parts = line.split_whitespace();
                let (verb, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
                let host = if verb == "CONNECT" {
                    target.to_owned()
                } else {
                    target.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned()
                };
                // The test's made-up name exists only here: a request naming it came through the proxy.
                let Ok(mut upstream) = TcpStream::connect(host.replace(PROXIED_HOST, known_as)).await else { return };
                if verb == "CONNECT" {
                    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await;
                } else {
                    let _ = upstream.write_all(head.as_bytes()).await;
                }
                let _ = upstream.write_all(&rest).await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

/// The request head (through its blank line) and any bytes read past it.
async fn read_head(socket: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut chunk)).await {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return (String::from_utf8_lossy(&buf[..end + 4]).into_owned(), buf[end + 4..].to_vec());
        }
    }
    (String::from_utf8_lossy(&buf).into_owned(), Vec::new())
}

#[tokio::test(flavor = "multi_thread")]
async fn https_proxy_carries_live_requests_through_a_connect_tunnel() {
    let (addr, ca_pem) = https_server().await;
    let (proxy_url, seen) = proxy("127.0.0.1").await;
    let dir = project(&format!("https://{PROXIED_HOST}:{}/v1/", addr.port()), FAST);
    let ca = ca_file(dir.path(), &ca_pem);
    let out = compat(
        dir.path(),
        &["run", "--live", "--target", "t"],
        &[(KEY_ENV, LONG_KEY), ("SSL_CERT_FILE", ca.to_str().unwrap()), ("HTTPS_PROXY", &proxy_url)],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(*seen.lock().unwrap(), vec![format!("CONNECT {PROXIED_HOST}:{} HTTP/1.1", addr.port())]);
}

/// A chat server on another loopback address than the one the proxy bypasses by itself.
async fn chat_server_on(ip: &str) -> MockServer {
    let listener = std::net::TcpListener::bind(format!("{ip}:0")).unwrap();
    let server = MockServer::builder().listener(listener).start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion()))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn http_proxy_carries_plain_http_live_requests_and_no_proxy_bypasses_it() {
    let server = chat_server_on("127.0.0.2").await;
    let (proxy_url, seen) = proxy("127.0.0.2").await;
    let port = server.address().port();
    let dir = project(&format!("http://{PROXIED_HOST}:{port}/v1/"), FAST);
    let out = compat(dir.path(), &["run", "--live", "--target", "t"], &[(KEY_ENV, LONG_KEY), ("HTTP_PROXY", &proxy_url)]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(*seen.lock().unwrap(), vec![format!("POST http://{PROXIED_HOST}:{port}/v1/chat/completions HTTP/1.1")]);

    // http://127.0.0.2 through the proxy, then past it with NO_PROXY.
    let dir = project(&format!("{}/v1/", server.uri()), FAST);
    seen.lock().unwrap().clear();
    let out = compat(dir.path(), &["run", "--live", "--target", "t"], &[(KEY_ENV, LONG_KEY), ("http_proxy", &proxy_url)]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(seen.lock().unwrap().len(), 1, "lower-case http_proxy is honoured too");
    let env = [(KEY_ENV, LONG_KEY), ("HTTP_PROXY", proxy_url.as_str()), ("NO_PROXY", "example.org, 127.0.0.2")];
    let out = compat(dir.path(), &["run", "--live", "--target", "t"], &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(seen.lock().unwrap().len(), 1, "NO_PROXY names 127.0.0.2: the run went direct");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn loopback_never_goes_through_a_proxy_and_a_bad_proxy_url_stops_the_run() {
    let server = chat_server_on("127.0.0.1").await;
    let (proxy_url, seen) = proxy("127.0.0.1").await;
    let dir = project(&format!("{}/v1/", server.uri()), FAST);
    let env = [(KEY_ENV, LONG_KEY), ("HTTP_PROXY", proxy_url.as_str()), ("ALL_PROXY", proxy_url.as_str())];
    let out = compat(dir.path(), &["run", "--live", "--target", "t"], &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(seen.lock().unwrap().is_empty(), "127.0.0.1 is this machine: {:?}", seen.lock().unwrap());

    let out = compat(dir.path(), &["run", "--live", "--target", "t"], &[(KEY_ENV, LONG_KEY), ("HTTPS_PROXY", "http://[::1")]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("error: $HTTPS_PROXY is not a proxy URL: "), "{}", text(&out));
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_never_uses_a_proxy() {
    let (proxy_url, seen) = proxy("127.0.0.1").await;
    let dir = project("https://example.invalid/v1/", FAST);
    let fixture = json!({
        "origin": {"kind": "synthesized", "basis": "test"},
        "request": {"method": "POST", "path": "chat/completions", "body": {"model": "m-1", "messages": [{"role": "user", "content": "hi"}]}},
        "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": completion()}
    });
    write(dir.path(), "fixtures/t/chat/basic.json", &fixture.to_string());
    let env = [("HTTP_PROXY", proxy_url.as_str()), ("HTTPS_PROXY", proxy_url.as_str()), ("ALL_PROXY", proxy_url.as_str())];
    let out = compat(dir.path(), &["run", "--target", "t"], &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(seen.lock().unwrap().is_empty(), "{:?}", seen.lock().unwrap());
}

// ---- an unreachable target ------------------------------------------------------------------------------

/// A copy of the project's own cases (and features list) under a fresh root, with `targets` as its targets
/// file: the whole suite, on a target with no fixtures and no snapshots.
fn suite_project(targets: &Value) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let p = entry.unwrap().path();
            let dest = to.join(p.file_name().unwrap());
            if p.is_dir() { copy(&p, &dest) } else { std::fs::copy(&p, &dest).map(|_| ()).unwrap() }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&default_root().join("cases"), &dir.path().join("cases"));
    // Expectations files are named after targets this project does not have.
    let _ = std::fs::remove_dir_all(dir.path().join("cases/expectations"));
    // JSON is YAML: the control target's configuration, renamed, written back as it was read.
    write(dir.path(), "cases/targets.yaml", &targets.to_string());
    dir
}

fn reference() -> (Suite, compat::target::Target) {
    let suite = Suite::load(&default_root()).unwrap();
    let reference = suite.target("openai-reference").unwrap().clone();
    (suite, reference)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_port_ends_the_whole_suite_at_once_with_one_message_and_exit_3() {
    let (suite, reference) = reference();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = listener.local_addr().unwrap();
    drop(listener);
    let mut config = serde_json::to_value(&reference.config).unwrap();
    config["base_url"] = json!(format!("http://{refused}/v1"));
    config["auth"]["env"] = json!(KEY_ENV);
    config["pacing"] = json!({}); // the defaults: no rpm budget, 4 in flight, 4 retries from 1 s
    let dir = suite_project(&json!({"targets": {"local": config}}));
    let started = Instant::now();
    let out = compat(dir.path(), &["run", "--live", "--target", "local"], &[(KEY_ENV, LONG_KEY)]).await;
    let took = started.elapsed();
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(3), "{printed}");
    // One case's retries alone (4 from 1 s) would take 15 s: 12 s is far from both that and a prompt end, whatever
    // the load on a 2-core debug run.
    assert!(took < Duration::from_secs(12), "the process, load and reports included: {took:?}");
    let r = results(dir.path());
    let outcomes = r["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), suite.cases.len());
    let ran: f64 = outcomes.iter().map(|o| o["timing"]["duration_ms"].as_f64().unwrap()).fold(0.0, f64::max);
    assert!(ran < 12_000.0, "every case ended long before one case's 15 s of retries: the longest took {ran} ms");
    let skipped = outcomes.iter().filter(|o| o["verdict"] == "skipped").count();
    assert!(outcomes.iter().all(|o| o["verdict"] == "skipped" || o["error"]["kind"] == "unreachable"), "{printed}");
    let blocks = printed.matches("cannot connect: ").count();
    assert!((1..=4).contains(&blocks), "one block per request in flight when the refusal came: {printed}");
    let not_sent = suite.cases.len() - skipped - blocks;
    assert!(printed.contains(&format!("error (unreachable): {not_sent} more cases of `local` were not sent")), "{printed}");
    assert!(printed.lines().count() < 40, "one message, not one per case:\n{printed}");
}

// ---- redaction cannot change a verdict --------------------------------------------------------------------

/// A server answering every case as the control target's fixtures do (`auth: invalid` cases also matched
/// on the invalid key, since their body may equal another case's; a multi-step case's exchanges after the
/// single cases, a request its sequence sends again answered in order).
async fn conformant_server(suite: &Suite, reference: &compat::target::Target) -> MockServer {
    let server = MockServer::start().await;
    mount_conformant(&server, suite, reference).await;
    server
}

async fn mount_conformant(server: &MockServer, suite: &Suite, reference: &compat::target::Target) {
    server.reset().await;
    for c in &suite.cases {
        let rel = fixture_path(&reference.fixtures_dir(), &c.case.feature, &c.case.id);
        let Some(fixtures): Option<Vec<Fixture>> = load_fixtures(&suite.root, &rel).unwrap_or_else(|e| panic!("{rel}: {e}")) else { continue };
        let invalid = c.case.steps[0].value.request.auth == AuthMode::Invalid;
        for (k, fixture) in fixtures.iter().enumerate() {
            let mut mock = request_mock(fixture, "/");
            if invalid {
                mock = mock.and(header("authorization", format!("Bearer {INVALID_KEY}").as_str()));
            }
            let priority = if fixtures.len() > 1 {
                3
            } else if invalid {
                1
            } else {
                2
            };
            let again = fixtures[k + 1..].iter().any(|later| later.request == fixture.request);
            let mock = mock.respond_with(response_template(fixture)).with_priority(priority);
            if again { mock.up_to_n_times(1).mount(server).await } else { mock.mount(server).await }
        }
    }
    Mock::given(any()).respond_with(ResponseTemplate::new(599)).with_priority(u8::MAX).mount(server).await;
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}

/// Per case: verdict, severity and each finding's rule, path and severity, as results.json has them.
fn judgement(root: &Path) -> Vec<Value> {
    let r = results(root);
    r["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let findings: Vec<Value> = o["findings"].as_array().into_iter().flatten().map(|f| json!([f["rule"], f["path"], f["severity"]])).collect();
            json!({"case": format!("{}::{}", o["feature"].as_str().unwrap(), o["id"].as_str().unwrap()), "verdict": o["verdict"], "severity": o["severity"], "findings": findings})
        })
        .collect()
}

/// Issue 9: with `OPENAI_API_KEY=x` every `"index"` became `"indeREDACTED"` and every chat case diverged.
/// Keys that are a letter, a JSON key or a JSON value give exactly the judgement a long random key gives.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_that_is_a_letter_or_a_json_word_changes_no_verdict() {
    let (suite, reference) = reference();
    let server = conformant_server(&suite, &reference).await;
    let mut config = serde_json::to_value(&reference.config).unwrap();
    config["base_url"] = json!(server.uri()); // no trailing slash, no path: the cases' paths join under it
    config["auth"]["env"] = json!(KEY_ENV);
    config["pacing"] = json!({"rpm": 0, "concurrency": 8});
    let dir = suite_project(&json!({"targets": {"local": config}}));
    // A polled step waits its interval between live attempts (10 s for a video): not what this test is about.
    let mut polled = 0;
    for case in &suite.cases {
        if case.case.steps.iter().any(|s| s.value.poll.is_some()) {
            std::fs::remove_file(dir.path().join(&case.file)).unwrap();
            polled += 1;
        }
    }

    let run = |key: &'static str| {
        let root = dir.path().to_owned();
        let (server, suite, reference) = (&server, &suite, &reference);
        async move {
            mount_conformant(server, suite, reference).await; // sequences start over
            let out = compat(&root, &["run", "--live", "--target", "local"], &[(KEY_ENV, key)]).await;
            assert_eq!(out.status.code(), Some(0), "a conformant server, key `{key}`:\n{}", text(&out));
            (judgement(&root), text(&out))
        }
    };
    let before = files_under(dir.path());
    let (baseline, printed) = run(LONG_KEY).await;
    assert_eq!(baseline.len(), suite.cases.len() - polled);
    let passing = baseline.iter().filter(|j| j["verdict"] == "pass").count();
    let skipped = baseline.iter().filter(|j| j["verdict"] == "skipped").count();
    assert!(passing > 50, "{printed}");
    assert_eq!(passing + skipped, baseline.len(), "a conformant server: every case the target runs passes with a long key:\n{printed}");
    assert!(!printed.contains("shorter than 8 characters"), "{printed}");
    for key in ["x", "index", "assistant"] {
        let (got, printed) = run(key).await;
        for (a, b) in baseline.iter().zip(&got) {
            assert_eq!(a, b, "key `{key}`:\n{printed}");
        }
        let notes = printed.matches("is shorter than 8 characters").count();
        assert_eq!(notes, usize::from(key.len() < 8), "key `{key}`: said once, and only for a short key:\n{printed}");
    }
    let written: Vec<_> = files_under(dir.path()).into_iter().filter(|f| !before.contains(f) && !f.starts_with(dir.path().join("reports"))).collect();
    assert!(written.is_empty(), "a live run writes nothing into the project but its reports: {written:?}");
    // The answers kept their words: the short key was not searched for.
    let results = std::fs::read_to_string(dir.path().join("reports/results.json")).unwrap();
    assert!(!results.contains("indeREDACTED") && results.contains("\"index\": 0"), "the last run (key `assistant`) left keys alone");
}

// ---- pacing and timeout flags ----------------------------------------------------------------------------

/// Answers a chat completion after `delay`, noting when each request arrived.
struct Arrivals {
    at: Arc<Mutex<Vec<Instant>>>,
    delay: Duration,
}

impl wiremock::Respond for Arrivals {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        self.at.lock().unwrap().push(Instant::now());
        ResponseTemplate::new(200).set_body_json(completion()).set_delay(self.delay)
    }
}

/// The gaps between consecutive arrivals, emptying the log.
fn gaps(at: &Mutex<Vec<Instant>>) -> Vec<Duration> {
    let mut at = std::mem::take(&mut *at.lock().unwrap());
    at.sort();
    at.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn pacing_and_timeout_flags_override_the_target_for_one_run() {
    let server = MockServer::start().await;
    let at = Arc::new(Mutex::new(Vec::new()));
    let answer = Arrivals { at: Arc::clone(&at), delay: Duration::from_millis(600) };
    Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(answer).mount(&server).await;
    let dir = project(&format!("{}/v1", server.uri()), FAST);
    for id in ["second", "third"] {
        write(dir.path(), &format!("cases/chat/{id}.yaml"), &CHAT_CASE.replace("id: basic", &format!("id: {id}")));
    }
    let live = ["run", "--live", "--target", "t"];
    let env = [(KEY_ENV, LONG_KEY)];

    // The target's own settings: no budget, 4 in flight: the 3 cases arrive together.
    let out = compat(dir.path(), &live, &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let g = gaps(&at);
    // Together, not one after the other (each answer takes 600 ms, so serial arrivals are at least that apart).
    assert!(g.len() == 2 && g.iter().all(|g| *g < Duration::from_millis(600)), "{g:?}");

    // --concurrency 1: each waits for the one before to be answered.
    let out = compat(dir.path(), &[&live[..], &["--concurrency", "1"]].concat(), &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let g = gaps(&at);
    assert!(g.len() == 2 && g.iter().all(|g| *g >= Duration::from_millis(590)), "{g:?}");

    // --rpm 60: start slots a second apart (4 may still be in flight).
    let out = compat(dir.path(), &[&live[..], &["--rpm", "60"]].concat(), &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let g = gaps(&at);
    assert!(g.len() == 2 && g.iter().all(|g| *g >= Duration::from_millis(900)), "{g:?}");

    // --timeout-first-byte 200ms: the 600 ms answer is too late.
    let out = compat(dir.path(), &[&live[..], &["--timeout-first-byte", "200ms", "chat::basic"]].concat(), &env).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("no response head within 200 ms"), "{}", text(&out));

    // The flags are live-only and checked.
    let out = compat(dir.path(), &["run", "--rpm", "5"], &env).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = compat(dir.path(), &[&live[..], &["--timeout-idle", "soon"]].concat(), &env).await;
    assert!(text(&out).contains("`soon` is not a duration"), "{}", text(&out));
}
