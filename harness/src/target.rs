//! Targets: the endpoints a suite runs against, read from `cases/targets.yaml`.
//!
//! A target is configuration only — base URL, how the key is sent and which environment variable holds it,
//! the model for each role, pacing and timeouts, and per-case overrides — so adding a third target
//! (OpenAI itself, vLLM, Ollama) needs this file and a fixtures folder, never code. The key itself is read
//! from the environment at send time and never stored in any value here.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::case::load::parse_yaml;
use crate::diagnostic::Diagnostic;

/// The root-relative path of the targets file.
pub const TARGETS_FILE: &str = "cases/targets.yaml";

/// The whole `cases/targets.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsFile {
    /// The target `compat run --live` runs when none is named.
    #[serde(default)]
    live_default: Option<String>,
    targets: BTreeMap<String, TargetConfig>,
}

/// The targets file as loaded: its targets and the default of live runs.
#[derive(Debug, Clone)]
pub struct Targets {
    /// Targets, sorted by name.
    pub list: Vec<Target>,
    /// The target `compat run --live` runs when none is named (`live_default`), if the file names one.
    pub live_default: Option<String>,
    /// The file's text, to locate what a later check finds wrong in it.
    text: String,
}

/// One target, as configured.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// What the target is, for reports.
    #[serde(default)]
    pub description: String,
    /// Base URL every case path is joined to; a missing trailing `/` is added.
    pub base_url: String,
    /// How the key is sent.
    pub auth: Auth,
    /// Model name for each role a case may ask for (`chat`, `vision`, `embedding`, `image`, …).
    pub models: BTreeMap<String, String>,
    /// Folder of this target's fixtures, relative to the project root. Default `fixtures/<name>`.
    #[serde(default)]
    pub fixtures: Option<String>,
    /// Request pacing for live runs.
    #[serde(default)]
    pub pacing: Pacing,
    /// Timeouts for live runs (replay uses the same values).
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Per-case overrides, applied in order.
    #[serde(default)]
    pub overrides: Vec<Override>,
    /// A control target: written to pass everything, it shows the harness invents no divergence, and the
    /// interop score (`report::interop`) leaves it out. Default false.
    #[serde(default)]
    pub control: bool,
}

/// How a target's key is sent. The key's value comes from `env` at send time.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// Environment variable holding the key, e.g. `GEMINI_API_KEY`.
    pub env: String,
    /// Header carrying the key. Default `authorization`.
    #[serde(default = "default_auth_header")]
    pub header: String,
    /// Prefix before the key in the header, e.g. `Bearer`. Default `Bearer`; empty for a bare key.
    #[serde(default = "default_scheme")]
    pub scheme: String,
}

fn default_auth_header() -> String {
    "authorization".into()
}

fn default_scheme() -> String {
    "Bearer".into()
}

impl Auth {
    /// The header value for `key`.
    pub fn header_value(&self, key: &str) -> String {
        if self.scheme.is_empty() { key.to_owned() } else { format!("{} {key}", self.scheme) }
    }
}

/// Live-run pacing. Defaults suit a free Gemini key: 10 requests a minute, 2 at a time.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pacing {
    /// Requests per minute. Default 10.
    pub rpm: u32,
    /// Requests in flight at once. Default 2.
    pub concurrency: u32,
    /// Retries after a retryable failure (429, 5xx, reset). Default 4.
    pub max_retries: u32,
    /// First backoff in milliseconds, doubled each retry, with jitter. Default 1000.
    pub backoff_ms: u64,
    /// Longest single backoff in milliseconds (also caps `Retry-After`). Default 60000.
    pub max_backoff_ms: u64,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing { rpm: 10, concurrency: 2, max_retries: 4, backoff_ms: 1000, max_backoff_ms: 60_000 }
    }
}

/// Timeouts bounding every network call.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// TCP/TLS connect, ms. Default 10000.
    pub connect_ms: u64,
    /// From sending the request to the response head, ms. Default 120000 (thinking models are slow).
    pub first_byte_ms: u64,
    /// Longest silence between two body chunks, ms. Default 30000.
    pub idle_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect_ms: 10_000, first_byte_ms: 120_000, idle_ms: 30_000 }
    }
}

impl Timeouts {
    /// Connect timeout.
    pub fn connect(&self) -> Duration {
        Duration::from_millis(self.connect_ms)
    }
    /// First-byte timeout.
    pub fn first_byte(&self) -> Duration {
        Duration::from_millis(self.first_byte_ms)
    }
    /// Stream idle timeout.
    pub fn idle(&self) -> Duration {
        Duration::from_millis(self.idle_ms)
    }
}

/// A per-case override. `cases` holds `<feature>::<id>` names, where `*` matches any feature or id
/// (`thinking::*`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Which cases it applies to.
    pub cases: Vec<String>,
    /// Models replacing the target's for these cases.
    #[serde(default)]
    pub models: BTreeMap<String, String>,
    /// Skip these cases on this target, for this reason.
    #[serde(default)]
    pub skip: Option<String>,
    /// Skip these cases in live runs only, for this reason (a billed video job, a request needing an uploaded
    /// file): their fixtures still replay.
    #[serde(default)]
    pub skip_live: Option<String>,
}

impl Override {
    fn applies_to(&self, feature: &str, id: &str) -> bool {
        self.cases.iter().any(|pattern| {
            let (f, i) = pattern.split_once("::").unwrap_or((pattern, "*"));
            (f == "*" || f == feature) && (i == "*" || i == id)
        })
    }
}

/// A named target.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// Its name in `targets.yaml`.
    pub name: String,
    /// Its configuration.
    #[serde(flatten)]
    pub config: TargetConfig,
}

impl Target {
    /// The fixtures folder, root-relative.
    pub fn fixtures_dir(&self) -> String {
        self.config.fixtures.clone().unwrap_or_else(|| format!("fixtures/{}", self.name))
    }

    /// The model for `role` in a case, after overrides; `None` when the target has no model for it.
    pub fn model_for(&self, feature: &str, id: &str, role: &str) -> Option<String> {
        let overridden = self.config.overrides.iter().filter(|o| o.applies_to(feature, id)).filter_map(|o| o.models.get(role)).next_back();
        overridden.or_else(|| self.config.models.get(role)).cloned()
    }

    /// Why the case is skipped on this target, if it is.
    pub fn skip_reason(&self, feature: &str, id: &str) -> Option<&str> {
        self.config.overrides.iter().filter(|o| o.applies_to(feature, id)).find_map(|o| o.skip.as_deref())
    }

    /// Why the case is skipped on this target in a live run (a `skip`, or a `skip_live`), if it is.
    pub fn live_skip_reason(&self, feature: &str, id: &str) -> Option<&str> {
        self.skip_reason(feature, id)
            .or_else(|| self.config.overrides.iter().filter(|o| o.applies_to(feature, id)).find_map(|o| o.skip_live.as_deref()))
    }
}

/// Reads `cases/targets.yaml` under `root`; errors carry file:line:col.
pub fn load_targets(root: &Path) -> Result<Targets, Diagnostic> {
    let text = std::fs::read_to_string(root.join(TARGETS_FILE)).map_err(|e| Diagnostic::whole_file(TARGETS_FILE, format!("cannot read: {e}")))?;
    let file: TargetsFile = parse_yaml(TARGETS_FILE, &text)?;
    let live_default = file.live_default.clone();
    let list = targets_of(file);
    if let Some(name) = live_default.as_deref().filter(|n| !list.iter().any(|t| t.name == *n)) {
        let known: Vec<&str> = list.iter().map(|t| t.name.as_str()).collect();
        return Err(Diagnostic::at_key(
            TARGETS_FILE,
            &text,
            &["live_default"],
            format!("`live_default` names no target: `{name}` (targets: {})", known.join(", ")),
        ));
    }
    Ok(Targets { list, live_default, text })
}

/// Parses the text of a targets file into its targets.
pub fn parse_targets(text: &str) -> Result<Vec<Target>, Diagnostic> {
    Ok(targets_of(parse_yaml(TARGETS_FILE, text)?))
}

fn targets_of(file: TargetsFile) -> Vec<Target> {
    let mut targets = Vec::new();
    for (name, mut config) in file.targets {
        // Case paths join under the base URL, so it names a folder: `…/v1` means `…/v1/`, as on the command
        // line (`--base-url`).
        if !config.base_url.ends_with('/') {
            config.base_url.push('/');
        }
        targets.push(Target { name, config });
    }
    targets
}

impl Targets {
    /// Checks that every override's `cases:` pattern matches at least one case of the suite (`names` are
    /// `<feature>::<id>`): a typo would otherwise silently un-skip a case or leave its model unchanged.
    pub fn check_override_patterns(&self, names: &[String]) -> Result<(), Diagnostic> {
        check_override_patterns(&self.text, &self.list, names)
    }
}

fn check_override_patterns(text: &str, targets: &[Target], names: &[String]) -> Result<(), Diagnostic> {
    for t in targets {
        for o in &t.config.overrides {
            for pattern in &o.cases {
                let (f, i) = pattern.split_once("::").unwrap_or((pattern, "*"));
                if names.iter().any(|n| n.split_once("::").is_some_and(|(nf, ni)| (f == "*" || f == nf) && (i == "*" || i == ni))) {
                    continue;
                }
                let message = format!("target `{}`: override pattern `{pattern}` matches no case", t.name);
                let diagnostic = match pattern_position(text, &t.name, pattern) {
                    Some((line, col)) => Diagnostic::at(TARGETS_FILE, text, line, col, message),
                    None => Diagnostic::at_key(TARGETS_FILE, text, &["targets", &t.name, "overrides"], message),
                };
                let help = match crate::diagnostic::closest(pattern, names.iter().map(String::as_str)) {
                    Some(b) => format!("did you mean `{b}`? A pattern is `<feature>::<id>`, where `*` matches any feature or id"),
                    None => "a pattern is `<feature>::<id>`, where `*` matches any feature or id".to_owned(),
                };
                return Err(diagnostic.with_help(help));
            }
        }
    }
    Ok(())
}

/// Line and column of a quoted override pattern inside a target's `overrides`.
fn pattern_position(text: &str, target: &str, pattern: &str) -> Option<(u64, u64)> {
    let (line, _) = crate::diagnostic::yaml_key_position(text, &["targets", target, "overrides"])?;
    let quoted = [format!("\"{pattern}\""), format!("'{pattern}'"), pattern.to_owned()];
    text.lines()
        .enumerate()
        .skip(line as usize)
        .find_map(|(i, l)| quoted.iter().find_map(|q| l.find(q.as_str())).map(|c| (i as u64 + 1, c as u64 + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
targets:
  gemini:
    base_url: https://example.invalid/v1beta/openai/
    auth: { env: GEMINI_API_KEY }
    models: { chat: gemini-2.5-flash, embedding: gemini-embedding-001 }
    overrides:
      - cases: ["thinking::*"]
        models: { chat: gemini-2.5-pro }
      - cases: ["batch::create"]
        skip: needs a file upload
      - cases: ["video::*"]
        skip_live: billed
"#;

    #[test]
    fn overrides_pick_models_and_skips() {
        let t = parse_targets(SAMPLE).unwrap().remove(0);
        assert_eq!(t.model_for("chat", "basic", "chat").as_deref(), Some("gemini-2.5-flash"));
        assert_eq!(t.model_for("thinking", "low", "chat").as_deref(), Some("gemini-2.5-pro"));
        assert_eq!(t.model_for("chat", "basic", "vision"), None);
        assert_eq!(t.skip_reason("batch", "create"), Some("needs a file upload"));
        assert_eq!(t.skip_reason("batch", "retrieve"), None);
        assert_eq!((t.skip_reason("video", "poll"), t.live_skip_reason("video", "poll")), (None, Some("billed")));
        assert_eq!(t.live_skip_reason("batch", "create"), Some("needs a file upload"), "a skip holds live too");
        assert_eq!(t.fixtures_dir(), "fixtures/gemini");
        assert_eq!(t.config.auth.header_value("k"), "Bearer k");
    }

    #[test]
    fn a_base_url_without_its_trailing_slash_names_the_same_folder() {
        let with = parse_targets("targets:\n  t:\n    base_url: http://127.0.0.1:8080/v1/\n    auth: { env: K }\n    models: {}\n").unwrap();
        let without = parse_targets("targets:\n  t:\n    base_url: http://127.0.0.1:8080/v1\n    auth: { env: K }\n    models: {}\n").unwrap();
        assert_eq!(with[0].config.base_url, "http://127.0.0.1:8080/v1/");
        assert_eq!(without[0].config.base_url, with[0].config.base_url);
    }

    #[test]
    fn unknown_keys_are_located() {
        let e = parse_targets("targets:\n  x:\n    base_ur: a\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("did you mean `base_url`?"), "{}", e.message);
    }
}
