//! Keeping keys out of everything the harness writes or shows — without changing what it judges.
//!
//! A live run holds the key only in the [`crate::transport::WireRequest`] it sends (whose `Debug` hides header
//! values). The checks see the response exactly as it came; then, before the outcome leaves the run layer,
//! everything in it that came from the endpoint — header values, body, stream events, chunks, findings,
//! transport error text — passes through a [`Redactor`], so reports, snapshots and printed lines never see the
//! key even when an endpoint echoes it, and no redaction can change a verdict. JSON is redacted after parsing,
//! value by value ([`Redactor::value`]): a string holding the key has it replaced, and the document's
//! structure is never touched. Recording ([`crate::record`]) applies the same redactor once more to
//! the fixture it writes, and adds the structural rules: credential headers are never kept, and a `key=`
//! query parameter's value is replaced wherever a URL appears.
//!
//! A key shorter than [`MIN_SECRET_LEN`] characters (`x`, `EMPTY`, `ollama`: what local servers accept) is
//! not a secret anyone could recognise in text: it is not searched for at all — replacing every `x` would
//! mangle the answers — and the CLI says so once on stderr ([`short_key_note`]).

use std::sync::LazyLock;

use regex::Regex;

/// What a secret is replaced with. Plain ASCII without quotes or backslashes, so replacing inside JSON
/// text keeps it valid JSON.
pub const REDACTED: &str = "REDACTED";

/// Header names that carry credentials; never recorded, never shown.
pub const CREDENTIAL_HEADERS: &[&str] = &["authorization", "proxy-authorization", "x-goog-api-key", "x-api-key", "api-key", "cookie", "set-cookie"];

/// Whether a header (any case) carries credentials.
pub fn is_credential_header(name: &str) -> bool {
    CREDENTIAL_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// `key=` (or `api_key=`, `apikey=`, `access_token=`) as a URL query parameter, up to the next delimiter.
/// ASCII whitespace ends it (a URL has no other): Unicode `\s` made this pattern take 2 ms to compile, a tenth
/// of a one-case live run.
const KEY_PARAM_RE: &str = r#"(?i)([?&](?:key|api_key|apikey|access_token)=)[^&#\t\n\x0B\x0C\r "'\\<>]+"#;
static KEY_PARAM: LazyLock<Regex> = LazyLock::new(|| Regex::new(KEY_PARAM_RE).expect("a valid regex"));
static KEY_PARAM_BYTES: LazyLock<regex::bytes::Regex> = LazyLock::new(|| regex::bytes::Regex::new(KEY_PARAM_RE).expect("a valid regex"));

/// Keys shorter than this are not searched for in responses (see the module documentation).
pub const MIN_SECRET_LEN: usize = 8;

/// The one-line note for a key too short to be searched for, or `None` when it is long enough.
pub fn short_key_note(env: &str, key: &str) -> Option<String> {
    (!key.is_empty() && key.chars().count() < MIN_SECRET_LEN).then(|| {
        format!(
            "note: the key in ${env} is shorter than {MIN_SECRET_LEN} characters: it is sent, but not searched for in responses \
             (too short to tell apart from ordinary text), so an endpoint echoing it is shown as is"
        )
    })
}

/// Replaces secret values, and `key=` query parameters, in text and bytes.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the values themselves.
        f.debug_struct("Redactor").field("secrets", &self.secrets.len()).finish()
    }
}

impl Redactor {
    /// A redactor for these secret values (those shorter than [`MIN_SECRET_LEN`] are ignored). Longer values
    /// are replaced first, so a secret containing another is removed whole.
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut secrets: Vec<String> = secrets.into_iter().map(Into::into).filter(|s| s.chars().count() >= MIN_SECRET_LEN).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    /// Whether it knows no secret values (the `key=` rule still applies).
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every secret value and every `key=` query parameter value replaced by [`REDACTED`].
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        if !may_hold_key_param(out.as_bytes()) {
            return out;
        }
        match KEY_PARAM.replace_all(&out, format!("${{1}}{REDACTED}").as_str()) {
            std::borrow::Cow::Borrowed(_) => out,
            std::borrow::Cow::Owned(o) => o,
        }
    }

    /// [`Redactor::text`] on bytes (byte-wise, so a body need not be UTF-8). The run layer applies it to every
    /// live body, so what a run checks is exactly what a recording of it replays.
    pub fn bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for s in &self.secrets {
            out = replace_bytes(&out, s.as_bytes(), REDACTED.as_bytes());
        }
        if !may_hold_key_param(&out) {
            return out;
        }
        match KEY_PARAM_BYTES.replace_all(&out, format!("${{1}}{REDACTED}").as_bytes()) {
            std::borrow::Cow::Borrowed(_) => out,
            std::borrow::Cow::Owned(o) => o,
        }
    }

    /// Replaces secrets inside a parsed JSON document: in every string value, and in an object key that
    /// holds one (never a key merely spelled like a JSON word — a secret is at least [`MIN_SECRET_LEN`]
    /// characters of someone's key). Structure, numbers and every other key stay as they are.
    pub fn value(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(s) => {
                let redacted = self.text(s);
                if redacted != *s {
                    *s = redacted;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            Value::Object(map) => {
                if map.keys().any(|k| self.leaks(k)) {
                    let entries = std::mem::take(map);
                    map.extend(entries.into_iter().map(|(k, v)| (self.text(&k), v)));
                }
                map.values_mut().for_each(|v| self.value(v));
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// A stream event's `data`: a JSON document is redacted value by value (and written back compact), any
    /// other text as text. Data without a secret is returned unchanged, byte for byte.
    pub fn event_data(&self, data: &str) -> String {
        let has_key_param = may_hold_key_param(data.as_bytes()) && KEY_PARAM.is_match(data);
        if !self.leaks(data) && !has_key_param {
            return data.to_owned();
        }
        match serde_json::from_str::<serde_json::Value>(data) {
            Ok(mut v) => {
                self.value(&mut v);
                serde_json::to_string(&v).expect("a Value serializes")
            }
            Err(_) => self.text(data),
        }
    }

    /// Whether redacting `text` — or any string of a JSON document written as `text` — could change anything.
    /// False only when it provably cannot: no secret appears in it, no `key=`-style parameter, and no `\u`
    /// escape (the one way JSON text can spell a secret or a parameter name other than verbatim; a secret
    /// with a character JSON escapes otherwise is always looked for the long way). The common case then
    /// costs no parse.
    pub fn could_change(&self, text: &str) -> bool {
        let spelled_otherwise = |s: &String| s.chars().any(|c| matches!(c, '"' | '\\' | '/') || c.is_control());
        may_hold_key_param(text.as_bytes()) || text.contains("\\u") || self.secrets.iter().any(|s| text.contains(s.as_str()) || spelled_otherwise(s))
    }

    /// Whether `text` contains any secret value.
    pub fn leaks(&self, text: &str) -> bool {
        self.secrets.iter().any(|s| text.contains(s.as_str()))
    }
}

/// Whether `hay` can hold a match of [`KEY_PARAM_RE`]: each of its parameter names ends in `key` or `token`
/// (any case) right before the `=`. Checked before the pattern, so that text without one, most of it, never
/// compiles or runs it (compiling it was 0.9 ms of a one-case live run). The `=` are found with `memchr`: every
/// answer is looked at, and a byte loop took 1.1 M instructions for 20 cases' answers (callgrind).
fn may_hold_key_param(hay: &[u8]) -> bool {
    let ends_with = |head: &[u8], name: &[u8]| head.len() >= name.len() && head[head.len() - name.len()..].eq_ignore_ascii_case(name);
    memchr::memchr_iter(b'=', hay).any(|i| ends_with(&hay[..i], b"key") || ends_with(&hay[..i], b"token"))
}

fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return haystack.to_vec();
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_and_key_params_are_replaced() {
        let r = Redactor::new(["sk-canary-123", ""]);
        assert_eq!(r.text("bad key sk-canary-123!"), "bad key REDACTED!");
        assert_eq!(r.text("GET https://h/v1/models?alt=json&key=AIzaOther#x"), "GET https://h/v1/models?alt=json&key=REDACTED#x");
        assert_eq!(r.text("see https://h/?Key=AIza1 now\tand ?api_key=z\nend"), "see https://h/?Key=REDACTED now\tand ?api_key=REDACTED\nend");
        assert_eq!(r.text("see \"https://h/?KEY=abc\""), "see \"https://h/?KEY=REDACTED\"");
        assert_eq!(r.bytes(b"{\"e\":\"sk-canary-123 sk-canary-123\"}"), b"{\"e\":\"REDACTED REDACTED\"}".to_vec());
        assert_eq!(r.bytes(b"{\"u\":\"https://h/?key=AIza\\u0041\"}\xff"), b"{\"u\":\"https://h/?key=REDACTED\\u0041\"}\xff".to_vec());
        assert!(r.leaks("x sk-canary-123"));
        assert!(!r.leaks("x sk-canary-12"));
    }

    #[test]
    fn could_change_is_false_only_where_redaction_changes_nothing() {
        let none = Redactor::default();
        assert!(!none.could_change(r#"{"a": "https://h/?alt=json", "b": "monkey business"}"#));
        assert!(none.could_change(r#"{"a": "https://h/?key=AIza"}"#), "the key= rule applies without secrets");
        assert_ne!(none.text("https://h/?key=AIza"), "https://h/?key=AIza");
        let one = Redactor::new(["sk-canary-123"]);
        assert!(!one.could_change(r#"{"a": "sk-canary-12", "b": 3}"#), "a secret that is not there");
        // Every way a JSON text can hold the secret or a key parameter, verbatim or escaped: each is looked
        // at, and each parse then really changes a value.
        for text in
            [r#"{"a": "x sk-canary-123 y"}"#, r#"{"sk-canary-123": 1}"#, r#"{"a": "\u0073k-canary-123"}"#, r#"{"a": "https://h/?\u006bey=AIza"}"#]
        {
            assert!(one.could_change(text), "{text}");
            let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
            let before = v.clone();
            one.value(&mut v);
            assert_ne!(v, before, "{text}");
        }
        assert!(Redactor::new(["sk-canary/123"]).could_change("{}"), "a secret JSON may write as `\\/` is always looked for");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let r = Redactor::new(["sk-canary-123"]);
        for t in ["monkey=1", "the key = 3", "a keyboard", "https://h/v1/?model=x&keys=2"] {
            assert_eq!(r.text(t), t);
        }
        assert_eq!(r.bytes(b"sk-canary"), b"sk-canary".to_vec());
        assert_eq!(format!("{r:?}"), "Redactor { secrets: 1 }");
    }

    #[test]
    fn the_key_param_prefilter_never_hides_a_match() {
        // Every name the pattern knows, in mixed case, in and out of a URL: the prefilter lets each through.
        let mut texts = Vec::new();
        for name in ["key", "api_key", "apikey", "access_token", "KEY", "Api_Key", "ApiKey", "ACCESS_TOKEN", "aCcEsS_tOkEn"] {
            for sep in ["?", "&"] {
                texts.push(format!("GET https://h/v1/models{sep}{name}=AIzaX&alt=json"));
                texts.push(format!("\"{sep}{name}=v\""));
            }
        }
        for t in &texts {
            assert!(KEY_PARAM.is_match(t), "{t}");
            assert!(may_hold_key_param(t.as_bytes()), "{t}");
        }
        // Without `key=` or `token=` the pattern cannot match, and the prefilter says no.
        for t in ["monkey 1", "https://h/v1/?model=x&keys=2", "a keyboard", "token", "key =", "{\"index\": 0}", ""] {
            assert!(!KEY_PARAM.is_match(t), "{t}");
            assert!(!may_hold_key_param(t.as_bytes()), "{t}");
        }
        // A `key=` not in a query says yes to the prefilter; the pattern decides.
        assert!(may_hold_key_param(b"monkey=1") && !KEY_PARAM.is_match("monkey=1"));
    }

    #[test]
    fn a_longer_secret_is_removed_whole() {
        let r = Redactor::new(["abcdefgh", "abcdefghijkl"]);
        assert_eq!(r.text("abcdefghijkl abcdefgh"), "REDACTED REDACTED");
    }

    #[test]
    fn a_short_key_is_not_searched_for_and_says_so() {
        for short in ["x", "index", "EMPTY", "ollama"] {
            let r = Redactor::new([short]);
            assert!(r.is_empty(), "{short}");
            let mut v = serde_json::json!({"index": 0, "x": "index x"});
            let before = v.clone();
            r.value(&mut v);
            assert_eq!(v, before);
            assert!(short_key_note("OPENAI_API_KEY", short).unwrap().contains("$OPENAI_API_KEY is shorter than 8 characters"));
        }
        assert_eq!(short_key_note("K", "sk-0123456789"), None);
        assert_eq!(short_key_note("K", ""), None);
    }

    #[test]
    fn json_is_redacted_value_by_value_and_its_structure_kept() {
        let r = Redactor::new(["sk-canary-123"]);
        let mut v = serde_json::json!({
            "error": {"message": "key sk-canary-123 is bad", "url": "https://h/?key=AIzaX"},
            "sk-canary-123": [1, "sk-canary-123", {"index": 2}],
        });
        r.value(&mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "error": {"message": "key REDACTED is bad", "url": "https://h/?key=REDACTED"},
                "REDACTED": [1, "REDACTED", {"index": 2}],
            })
        );
        assert_eq!(r.event_data("{\"a\": 1}"), "{\"a\": 1}", "untouched data keeps its bytes");
        assert_eq!(r.event_data("{\"a\": \"sk-canary-123\"}"), "{\"a\":\"REDACTED\"}");
        assert_eq!(r.event_data("oops sk-canary-123"), "oops REDACTED");
    }

    #[test]
    fn credential_headers_are_known() {
        for h in ["Authorization", "x-goog-api-key", "X-Api-Key", "set-cookie"] {
            assert!(is_credential_header(h), "{h}");
        }
        assert!(!is_credential_header("content-type"));
    }
}
