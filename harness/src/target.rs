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
use crate::case::{AuthMode, Case};
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
    /// How the key is sent: `{ env: VAR, header, scheme }`, or `none` (also when absent): no auth header, and
    /// the cases that send a wrong key on purpose are skipped.
    #[serde(default)]
    pub auth: Auth,
    /// Model name for each role a case may ask for (`chat`, `vision`, `embedding`, `image`, …; see [`ROLES`]).
    /// A role left out skips the cases that need it, with that reason.
    #[serde(default)]
    pub models: BTreeMap<String, String>,
    /// The profiles whose cases the target runs (`openai`, the OpenAI API every implementation should answer;
    /// `gemini`, Gemini's extensions). Default `[openai]`; a case of another profile is skipped.
    #[serde(default = "default_profiles")]
    pub profiles: Vec<String>,
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

fn default_profiles() -> Vec<String> {
    vec![crate::case::OPENAI_PROFILE.to_owned()]
}

/// Every model role a case may name (`model:` in a case file): a target maps each to one of its models.
/// `reasoning_none` and `reasoning_minimal` are models that accept `reasoning_effort: none` / `minimal` (OpenAI
/// documents `none` for gpt-5.1 and later and `minimal` for the gpt-5 family only), so a target without such a
/// model skips those cases rather than failing them on a model that may refuse the value.
pub const ROLES: &[&str] = &["chat", "vision", "audio", "reasoning", "reasoning_none", "reasoning_minimal", "embedding", "image", "video"];

/// The roles a model given alone (`--model NAME`) fills: all but those that need a model of a particular kind.
pub const GENERAL_ROLES: &[&str] = &["chat", "vision", "audio", "reasoning", "embedding", "image", "video"];

/// How a target's key is sent. The key's value comes from `env` at send time; an empty `env` is no auth at
/// all (`auth: none`): no header is sent.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Auth {
    /// Environment variable holding the key, e.g. `GEMINI_API_KEY`; empty for none.
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

/// `auth:` as written: `none`, or a map.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthMap {
    env: String,
    #[serde(default = "default_auth_header")]
    header: String,
    #[serde(default = "default_scheme")]
    scheme: String,
}

impl<'de> Deserialize<'de> for Auth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Word(String),
            Map(AuthMap),
        }
        let bad = || serde::de::Error::custom("`auth` is `none` or `{ env: VAR, header: authorization, scheme: Bearer }` (`env` required)");
        match Written::deserialize(d).map_err(|_| bad())? {
            Written::Word(w) if w == "none" => Ok(Auth::none()),
            Written::Word(_) => Err(bad()),
            Written::Map(m) if m.env.is_empty() => Err(bad()),
            Written::Map(m) => Ok(Auth { env: m.env, header: m.header, scheme: m.scheme }),
        }
    }
}

impl Auth {
    /// No auth: no header is sent.
    pub fn none() -> Self {
        Auth { env: String::new(), header: default_auth_header(), scheme: default_scheme() }
    }

    /// A bearer key read from `env`.
    pub fn bearer(env: &str) -> Self {
        Auth { env: env.to_owned(), header: default_auth_header(), scheme: default_scheme() }
    }

    /// Whether the target takes no key (`auth: none`).
    pub fn is_none(&self) -> bool {
        self.env.is_empty()
    }

    /// The header value for `key`.
    pub fn header_value(&self, key: &str) -> String {
        if self.scheme.is_empty() { key.to_owned() } else { format!("{} {key}", self.scheme) }
    }
}

/// Live-run pacing. Defaults suit a server of one's own: 4 requests in flight, no per-minute budget (a 429 is
/// still honoured and retried); a metered API says its budget (`gemini`: `rpm: 10, concurrency: 2`).
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pacing {
    /// Requests per minute; 0 for no budget. Default 0.
    pub rpm: u32,
    /// Requests in flight at once. Default 4.
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
        Pacing { rpm: 0, concurrency: 4, max_retries: 4, backoff_ms: 1000, max_backoff_ms: 60_000 }
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
        self.cases.iter().any(|pattern| pattern_matches(pattern, feature, id))
    }
}

/// Whether an override's `cases:` pattern (`<feature>::<id>`, `*` for any part, a bare feature for all its
/// cases) matches the case `feature::id`.
fn pattern_matches(pattern: &str, feature: &str, id: &str) -> bool {
    let (f, i) = split_name(pattern).unwrap_or((pattern, "*"));
    (f == "*" || f == feature) && (i == "*" || i == id)
}

/// `<feature>::<id>` split at its first `::`. Not `str::split_once("::")`, which builds a substring searcher
/// on every call: the override patterns are matched against every case at each start (5,900 splits and
/// 1.7 M instructions a run of the project's suite, counted with callgrind).
fn split_name(name: &str) -> Option<(&str, &str)> {
    let b = name.as_bytes();
    let at = memchr::memchr_iter(b':', b).find(|&i| b.get(i + 1) == Some(&b':'))?;
    Some((&name[..at], &name[at + 2..]))
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

    /// Whether the target runs the cases of `profile`.
    pub fn runs_profile(&self, profile: &str) -> bool {
        self.config.profiles.iter().any(|p| p == profile)
    }

    /// Why the target does not run `case` (in a live run when `live`), decided before anything is sent: an
    /// override's `skip` (or `skip_live`), a profile the target does not run, a model role it has no model for,
    /// or a deliberately wrong key on a target that takes none.
    pub fn planned_skip(&self, case: &Case, live: bool) -> Option<String> {
        let (feature, id) = (&case.feature, &case.id);
        let configured = if live { self.live_skip_reason(feature, id) } else { self.skip_reason(feature, id) };
        if let Some(reason) = configured {
            return Some(reason.to_owned());
        }
        if !self.runs_profile(&case.profile) {
            return Some(format!(
                "profile `{}`: the case tests {}, and target `{}` runs the profiles [{}] (add `{}` to its `profiles`, or pass --profile {})",
                case.profile,
                profile_meaning(&case.profile),
                self.name,
                self.config.profiles.join(", "),
                case.profile,
                case.profile
            ));
        }
        if let Some(role) = roles_needed(case).into_iter().find(|r| self.model_for(feature, id, r).is_none()) {
            let how = match role.as_str() {
                "reasoning_none" => " — a model that accepts reasoning_effort `none` (OpenAI: gpt-5.1 and later)",
                "reasoning_minimal" => " — a model that accepts reasoning_effort `minimal` (OpenAI: the gpt-5 family)",
                _ => "",
            };
            return Some(format!(
                "target `{}` has no model for role `{role}`{how} (map it under `models` in {TARGETS_FILE}, or pass --model {role}=NAME)",
                self.name
            ));
        }
        if self.config.auth.is_none() && case.steps.iter().any(|s| s.value.request.auth == AuthMode::Invalid) {
            return Some(format!("target `{}` takes no key (`auth: none`): there is no wrong key for it to refuse", self.name));
        }
        None
    }

    /// The auth header carrying `key`, or `None` for a target that takes no key (`auth: none`).
    /// The key its requests carry, read from the environment at send time: `Ok(None)` when the target sends
    /// none; an error naming the variable when it is unset or empty. The one place "is the key set" is decided.
    pub fn key(&self) -> Result<Option<String>, String> {
        let auth = &self.config.auth;
        if auth.is_none() {
            return Ok(None);
        }
        match std::env::var(&auth.env) {
            Ok(key) if !key.is_empty() => Ok(Some(key)),
            _ => Err(format!("target `{}` reads its key from ${}, which is not set", self.name, auth.env)),
        }
    }

    pub fn auth_header(&self, key: &str) -> Option<(String, String)> {
        let auth = &self.config.auth;
        (!auth.is_none()).then(|| (auth.header.clone(), auth.header_value(key)))
    }

    /// A target made on the command line (`compat run --live --base-url URL`): `name`, no overrides, pacing for
    /// a server of one's own ([`Pacing::default`]), its key from `key_env` (none: no auth header), `models` by role.
    pub fn ad_hoc(name: &str, base_url: &str, key_env: Option<&str>, models: BTreeMap<String, String>) -> Target {
        let mut base_url = base_url.to_owned();
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        let config = TargetConfig {
            description: format!("ad-hoc target for {base_url} (compat run --live --base-url)"),
            base_url,
            auth: key_env.map(Auth::bearer).unwrap_or_else(Auth::none),
            models,
            profiles: default_profiles(),
            fixtures: None,
            pacing: Pacing::default(),
            timeouts: Timeouts::default(),
            overrides: Vec::new(),
            control: false,
        };
        Target { name: name.to_owned(), config }
    }
}

/// What a profile's cases test, for skip reasons.
fn profile_meaning(profile: &str) -> String {
    match profile {
        crate::case::OPENAI_PROFILE => "OpenAI's API as documented".to_owned(),
        "gemini" => "an extension of Gemini's (extra_body, thought signatures, its per-model reasoning_effort mapping)".to_owned(),
        other => format!("the `{other}` extensions"),
    }
}

/// The model roles `case` names in its requests: `{{model}}` is the case's own role (`model:`), `{{model.<role>}}`
/// another. A case that names no model (listing models, a batch by id) needs none.
pub fn roles_needed(case: &Case) -> Vec<String> {
    fn strings<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::String(s) => out.push(s),
            serde_json::Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
            serde_json::Value::Object(map) => map.values().for_each(|i| strings(i, out)),
            _ => {}
        }
    }
    let mut texts = Vec::new();
    for step in &case.steps {
        let r = &step.value.request;
        texts.push(r.path.as_str());
        texts.extend(r.raw_body.as_deref());
        if let Some(b) = &r.body {
            strings(b, &mut texts);
        }
    }
    let mut roles = Vec::new();
    for text in texts {
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let Some(end) = rest[start..].find("}}") else { break };
            let role = match rest[start + 2..start + end].trim() {
                "model" => Some(case.model.as_str()),
                other => other.strip_prefix("model."),
            };
            if let Some(role) = role.filter(|r| !roles.iter().any(|x: &String| x == r)) {
                roles.push(role.to_owned());
            }
            rest = &rest[start + end + 2..];
        }
    }
    roles
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
    let cases: Vec<(&str, &str)> = names.iter().filter_map(|n| split_name(n)).collect();
    for t in targets {
        for o in &t.config.overrides {
            for pattern in &o.cases {
                if cases.iter().any(|(feature, id)| pattern_matches(pattern, feature, id)) {
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
    fn split_name_splits_where_split_once_does() {
        // Every text of up to six characters over `a` and `:`, against the standard library's split.
        let (mut level, mut texts) = (vec![String::new()], vec![String::new()]);
        for _ in 0..6 {
            level = level.iter().flat_map(|t| [format!("{t}a"), format!("{t}:")]).collect();
            texts.extend(level.iter().cloned());
        }
        for t in &texts {
            assert_eq!(split_name(t), t.split_once("::"), "{t:?}");
        }
        assert!(pattern_matches("thinking::*", "thinking", "low") && pattern_matches("*::basic", "chat", "basic"));
        assert!(pattern_matches("chat", "chat", "basic") && !pattern_matches("chat::stop", "chat", "basic"));
    }

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
    fn planning_skips_a_profile_a_role_or_a_wrong_key_the_target_lacks() {
        let case = |yaml: &str| crate::case::load::parse_case("cases/x/c.yaml", yaml).unwrap().case;
        let t = parse_targets("targets:\n  t:\n    base_url: http://127.0.0.1:1/v1\n    models: { chat: m }\n").unwrap().remove(0);
        assert!(t.config.auth.is_none() && t.auth_header("k").is_none(), "no auth: no header");
        assert_eq!(t.config.profiles, ["openai"]);
        assert_eq!(t.config.pacing.rpm, 0, "no per-minute budget unless said");
        let body = "request: { path: chat/completions, body: { model: \"{{model}}\" } }\n";
        let head = "id: c\nfeature: x\ntitle: t\ndoc: d\n";
        assert_eq!(t.planned_skip(&case(&format!("{head}{body}")), true), None);
        let gemini = t.planned_skip(&case(&format!("{head}profile: gemini\n{body}")), true).unwrap();
        assert!(gemini.starts_with("profile `gemini`") && gemini.contains("--profile gemini"), "{gemini}");
        let role = t.planned_skip(&case(&format!("{head}model: reasoning_none\n{body}")), false).unwrap();
        assert!(role.contains("no model for role `reasoning_none`") && role.contains("--model reasoning_none=NAME"), "{role}");
        assert_eq!(
            t.planned_skip(&case(&format!("{head}model: image\nrequest: {{ path: models }}\n")), true),
            None,
            "no {{{{model}}}}: no role needed"
        );
        let bad_key = t.planned_skip(&case(&format!("{head}request: {{ path: models, auth: invalid }}\nexpect: {{ status: 401 }}\n")), true);
        assert!(bad_key.unwrap().contains("takes no key"));
        let keyed = Target::ad_hoc("a", "http://h/v1", Some("K"), BTreeMap::new());
        assert_eq!(keyed.auth_header("k"), Some(("authorization".into(), "Bearer k".into())));
        assert_eq!(keyed.config.base_url, "http://h/v1/");
    }

    #[test]
    fn auth_is_none_or_a_map_with_env() {
        let none = parse_targets("targets:\n  t:\n    base_url: http://h/\n    auth: none\n").unwrap();
        assert!(none[0].config.auth.is_none());
        assert!(parse_targets("targets:\n  t:\n    base_url: http://h/\n    auth: nothing\n").is_err());
        assert!(parse_targets("targets:\n  t:\n    base_url: http://h/\n    auth: { header: x }\n").is_err());
    }

    #[test]
    fn unknown_keys_are_located() {
        let e = parse_targets("targets:\n  x:\n    base_ur: a\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("did you mean `base_url`?"), "{}", e.message);
    }
}
