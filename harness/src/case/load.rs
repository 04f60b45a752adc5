//! Finding and parsing case files, and the errors a broken one produces.
//!
//! Discovery walks `cases/<feature>/*.yaml` in sorted order. Every problem — YAML syntax, an unknown key,
//! a wrong type, an invalid JSON path, a file whose name disagrees with its `id` — becomes a [`Diagnostic`]
//! naming `file:line:col`, rendered rustc-style with the offending line. One broken file never stops the
//! others from loading.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::{Case, CaseFile};
use crate::diagnostic::{Diagnostic, closest};
use crate::rules;

/// A case with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedCase {
    /// The parsed case.
    pub case: Case,
    /// Path relative to the project root, with `/` separators (`cases/chat/basic.yaml`).
    pub file: String,
    /// Line of the case's `id` key (1-based), where "the case" is reported.
    pub line: u64,
    /// The file's text, kept so findings can quote the line of an assertion.
    pub source: String,
}

impl LoadedCase {
    /// The text of a 1-based line of the case file, trimmed at the end.
    pub fn source_line(&self, line: u64) -> Option<&str> {
        self.source.lines().nth(line.checked_sub(1)? as usize).map(str::trim_end)
    }
}

/// The case files under `<root>/cases/<feature>/`, as root-relative `/`-separated paths, sorted.
pub fn discover(root: &Path) -> Result<Vec<String>, Diagnostic> {
    let cases_dir = root.join("cases");
    let io_err = |p: &Path, e: std::io::Error| Diagnostic::whole_file(&p.display().to_string(), format!("cannot read: {e}"));
    let mut files = Vec::new();
    let features = std::fs::read_dir(&cases_dir).map_err(|e| io_err(&cases_dir, e))?;
    for feature in features {
        let feature = feature.map_err(|e| io_err(&cases_dir, e))?;
        if !feature.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue; // files directly under cases/ (targets.yaml, the case schema) are not cases
        }
        if feature.file_name() == "expectations" {
            continue; // per-target expectations files (see `case::expectations`), not cases
        }
        let dir = feature.path();
        for entry in std::fs::read_dir(&dir).map_err(|e| io_err(&dir, e))? {
            let path: PathBuf = entry.map_err(|e| io_err(&dir, e))?.path();
            if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                files.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Loads one case file given its root-relative path.
pub fn load_case_file(root: &Path, rel: &str) -> Result<LoadedCase, Diagnostic> {
    let text = std::fs::read_to_string(root.join(rel)).map_err(|e| Diagnostic::whole_file(rel, format!("cannot read: {e}")))?;
    parse_case(rel, &text)
}

/// Parses case text; `file` is the root-relative path, used in errors and checked against `id`/`feature`.
pub fn parse_case(file: &str, text: &str) -> Result<LoadedCase, Diagnostic> {
    let written: CaseFile = parse_yaml(file, text)?;
    let line = id_line(text);
    let fail = |msg: String| Diagnostic::at(file, text, line, 1, msg);
    let id_ok = !written.id.is_empty() && written.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !id_ok {
        return Err(fail(format!("`id` must match [a-z0-9_]+, got `{}`", written.id)));
    }
    let feature_ok = !written.feature.is_empty() && written.feature.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !feature_ok {
        return Err(fail(format!("`feature` must match [a-z0-9-]+, got `{}`", written.feature)));
    }
    let expected_file = format!("cases/{}/{}.yaml", written.feature, written.id);
    if !file.ends_with(&expected_file) && !file.ends_with(&expected_file.replace(".yaml", ".yml")) {
        return Err(fail(format!(
            "case `{}` of feature `{}` must live at {expected_file} (its file name and folder name the case)",
            written.id, written.feature
        )));
    }
    let profile_ok = !written.profile.is_empty() && written.profile.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !profile_ok {
        return Err(Diagnostic::at_key(file, text, &["profile"], format!("`profile` must match [a-z0-9-]+, got `{}`", written.profile)));
    }
    let steps = super::steps::steps_of(file, text, written.request, written.expect, written.steps)?;
    let case = Case {
        id: written.id,
        feature: written.feature,
        title: written.title,
        doc: written.doc,
        model: written.model,
        profile: written.profile,
        steps,
        known_divergences: written.known_divergences,
        repeat: written.repeat,
        expected: Vec::new(),
    };
    check_consistency(file, text, &case)?;
    Ok(LoadedCase { case, file: file.to_owned(), line, source: text.to_owned() })
}

/// Rules that span several keys, so serde cannot state them.
fn check_consistency(file: &str, text: &str, case: &Case) -> Result<(), Diagnostic> {
    if case.repeat == 0 {
        return Err(Diagnostic::at_key(file, text, &["repeat"], "`repeat` must be at least 1"));
    }
    for k in &case.known_divergences {
        let (l, c) = (k.referenced.line(), k.referenced.column());
        if k.value.rule.is_none() && k.value.path.is_none() {
            return Err(Diagnostic::at(file, text, l, c, "a known divergence needs a `rule`, a `path`, or both"));
        }
        if k.value.targets.is_empty() {
            return Err(Diagnostic::at(file, text, l, c, "a known divergence needs at least one target in `targets`"));
        }
        if let Some(step) = &k.value.step
            && !case.steps.iter().any(|s| s.value.name.as_ref() == Some(step))
        {
            let names: Vec<&str> = case.steps.iter().filter_map(|s| s.value.name.as_deref()).collect();
            let message = if names.is_empty() {
                "`step` in a known divergence needs a multi-step case (`steps`)".to_owned()
            } else {
                format!("a known divergence names step `{step}`, which the case does not have (steps: {})", names.join(", "))
            };
            return Err(Diagnostic::at(file, text, l, c, message));
        }
        if let Some(rule) = k.value.rule.as_deref().filter(|r| !rules::is_rule_or_prefix(r)) {
            // Point at the entry's `rule:` (the first one from the entry's start).
            let (line, col) = text
                .lines()
                .enumerate()
                .skip(l.saturating_sub(1) as usize)
                .find_map(|(i, t)| t.find("rule:").map(|p| (i as u64 + 1, p as u64 + 1)))
                .unwrap_or((l, c));
            let d = Diagnostic::at(file, text, line, col, format!("unknown rule `{rule}` in a known divergence"));
            let help = match closest(rule, rules::RULES.iter().map(|r| r.id)) {
                Some(best) => format!("did you mean `{best}`? Rules are listed in the README (`compat rules`)"),
                None => "name a rule id, or a prefix of one at a `.` (`schema`, `stream.usage`); the README lists them".to_owned(),
            };
            return Err(d.with_help(help));
        }
    }
    Ok(())
}

/// Deserializes YAML into `T` with the project's options, mapping errors to [`Diagnostic`]s
/// (with a did-you-mean for unknown keys). Used for case files and for `targets.yaml`.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, Diagnostic> {
    // Strict booleans: `yes`/`on` stay strings, so a typo never silently becomes `true`.
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<T>(text, options).map_err(|e| {
        let plain = e.render_with_options(serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off });
        let message = with_did_you_mean(strip_location_suffix(&plain));
        match e.location() {
            Some(loc) if loc.line() > 0 => Diagnostic::at(file, text, loc.line(), loc.column(), message),
            _ => Diagnostic::whole_file(file, message),
        }
    })
}

fn strip_location_suffix(s: &str) -> String {
    static SUFFIX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r" at line \d+, column \d+$").unwrap());
    SUFFIX.replace(s.trim_end(), "").into_owned()
}

/// Rewrites "unknown field `x`, expected one of a, b" into "unknown key `x` (did you mean `a`?); expected one of …".
fn with_did_you_mean(message: String) -> String {
    static UNKNOWN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^unknown (field|variant) `([^`]*)`, expected (?:one of )?(.*)$").unwrap());
    let Some(c) = UNKNOWN.captures(&message) else { return message };
    let what = if &c[1] == "field" { "key" } else { "value" };
    let unknown = &c[2];
    let candidates: Vec<&str> = c[3].split(", ").map(|s| s.trim_matches('`')).filter(|s| !s.is_empty()).collect();
    let expected = candidates.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
    match closest(unknown, candidates.iter().copied()) {
        Some(cand) => {
            format!("unknown {what} `{unknown}`: did you mean `{cand}`? (expected one of {expected})")
        }
        _ => format!("unknown {what} `{unknown}` (expected one of {expected})"),
    }
}

fn id_line(text: &str) -> u64 {
    crate::diagnostic::yaml_key_position(text, &["id"]).map_or(1, |(line, _)| line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_names_the_schemas_its_checks_use() {
        use crate::case::ObjectKind;
        let kinds = |file: &str| {
            let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(file)).unwrap();
            parse_case(file, &text).unwrap().case.schema_kinds()
        };
        assert_eq!(kinds("cases/chat/basic.yaml"), [ObjectKind::ChatCompletion]);
        assert_eq!(kinds("cases/streaming/text.yaml"), [ObjectKind::ChatCompletionChunk]);
        assert_eq!(kinds("cases/batch/create_then_retrieve.yaml"), [ObjectKind::Batch, ObjectKind::Batch], "one per step");
    }

    #[test]
    fn did_you_mean_picks_the_closest_key() {
        let m = with_did_you_mean("unknown field `staus`, expected one of status, schema, assert".into());
        assert_eq!(m, "unknown key `staus`: did you mean `status`? (expected one of `status`, `schema`, `assert`)");
        let far = with_did_you_mean("unknown field `zzzzzz`, expected one of status, schema".into());
        assert_eq!(far, "unknown key `zzzzzz` (expected one of `status`, `schema`)");
    }
}
