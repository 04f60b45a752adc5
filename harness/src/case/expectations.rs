//! Per-target expectations files: known divergences kept beside the cases instead of inside them.
//!
//! `cases/expectations/<target>.yaml` maps a case name (`<feature>::<id>`) to a list of entries shaped like a
//! case's `known_divergences` without `targets` (the file name is the target): `rule`, `path`, `severity`,
//! `reason`, `link`. The suite loader merges each entry into its case for that target
//! ([`crate::case::Case::expected`]), where it explains findings exactly as an entry in the case file does
//! (`known` when observed, `fixed` when not) and is reported with this file's name and line. This is
//! web-platform-tests' metadata model: a new implementation is added with one file of expectations, without
//! editing every case. Problems — YAML, an unknown key, a file named after no target, an entry naming no case
//! (with a did-you-mean) — are [`Diagnostic`]s with `file:line:col`, fatal like a broken `targets.yaml`.
//!
//! [`render`] writes such a file back in canonical form; `compat expectations update` uses it to add the
//! unexplained divergences of a run for review.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::load::{LoadedCase, parse_yaml};
use super::{KnownDivergence, PathPattern, Severity, Spanned, When};
use crate::diagnostic::{Diagnostic, closest};

/// The root-relative folder of expectations files.
pub const EXPECTATIONS_DIR: &str = "cases/expectations";

/// The root-relative expectations file of a target.
pub fn expectations_file(target: &str) -> String {
    format!("{EXPECTATIONS_DIR}/{target}.yaml")
}

/// A known divergence merged into a case from an expectations file.
#[derive(Debug, Clone)]
pub struct Expected {
    /// The root-relative file declaring it.
    pub file: String,
    /// The declaration, with `targets` set to the file's target and its position in that file.
    pub divergence: Spanned<KnownDivergence>,
}

/// One entry of an expectations file, as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Rule id or prefix, as in a case's `known_divergences`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// JSON path pattern (`[*]` matches any index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathPattern>,
    /// Only findings of this severity are explained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Why the target behaves so, with the evidence.
    pub reason: String,
    /// Where it was documented, reported or recorded.
    pub link: String,
    /// When it is due, as in a case's `known_divergences` (`always` by default, `sometimes`, `{present: …}`).
    #[serde(default, skip_serializing_if = "When::is_always")]
    pub when: When,
    /// In a multi-step case, the step (by name) whose findings it explains; absent, any step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

impl Entry {
    fn for_target(&self, target: &str) -> KnownDivergence {
        KnownDivergence {
            targets: vec![target.to_owned()],
            rule: self.rule.clone(),
            path: self.path.clone(),
            reason: self.reason.clone(),
            link: self.link.clone(),
            severity: self.severity,
            when: self.when.clone(),
            step: self.step.clone(),
        }
    }
}

/// The entries of one file, by case name.
pub type Entries = BTreeMap<String, Vec<Entry>>;

/// Reads every `cases/expectations/*.yaml` under `root` and merges its entries into `cases`. `names` are all
/// the suite's case names, those of case files that did not load included: entries for those are checked but
/// have nothing to merge into (the broken file is reported on its own). A missing folder is no expectations.
/// The file of a target `read` declines is not read (a run that cannot reach that target); its name is
/// still checked against `targets`.
pub fn load_into(root: &Path, targets: &[&str], read: impl Fn(&str) -> bool, names: &[String], cases: &mut [LoadedCase]) -> Result<(), Diagnostic> {
    let dir = root.join(EXPECTATIONS_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(()) };
    let mut files: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect();
    files.sort();
    for name in files {
        let rel = format!("{EXPECTATIONS_DIR}/{name}");
        let target = name.trim_end_matches(".yaml").trim_end_matches(".yml");
        if !targets.contains(&target) {
            let hint = closest(target, targets.iter().copied()).map(|t| format!(" (did you mean `{t}.yaml`?)")).unwrap_or_default();
            return Err(Diagnostic::whole_file(
                &rel,
                // The targets file's name is spelled out: the case model sits beneath `target` and may not import it.
                format!("no target `{target}` in cases/targets.yaml: an expectations file is named after its target{hint}"),
            ));
        }
        if !read(target) {
            continue;
        }
        let text = std::fs::read_to_string(root.join(&rel)).map_err(|e| Diagnostic::whole_file(&rel, format!("cannot read: {e}")))?;
        for (case, entries) in parse(&rel, &text, names)? {
            let Some(i) = cases.iter().position(|c| c.case.name() == case) else { continue };
            let merged = entries
                .into_iter()
                .map(|e| Expected { file: rel.clone(), divergence: Spanned::new(e.value.for_target(target), e.referenced, e.defined) });
            cases[i].case.expected.extend(merged);
        }
    }
    Ok(())
}

/// Parses the text of an expectations file; `cases` are the suite's case names. Entries come back with
/// their positions; a case name not in `cases` is an error at its line, with a did-you-mean.
pub fn parse(file: &str, text: &str, cases: &[String]) -> Result<BTreeMap<String, Vec<Spanned<Entry>>>, Diagnostic> {
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Ok(BTreeMap::new()); // comments only: YAML's empty document
    }
    let parsed: BTreeMap<String, Vec<Spanned<Entry>>> = parse_yaml(file, text)?;
    for (case, entries) in &parsed {
        if !cases.contains(case) {
            let line = key_line(text, case).unwrap_or(1);
            let hint = closest(case, cases.iter().map(String::as_str)).map(|c| format!(": did you mean `{c}`?")).unwrap_or_default();
            return Err(Diagnostic::at(file, text, line, 1, format!("no case `{case}` in this suite{hint} (keys are `<feature>::<id>`)")));
        }
        for e in entries {
            if e.value.rule.is_none() && e.value.path.is_none() {
                let (l, c) = (e.referenced.line(), e.referenced.column());
                return Err(Diagnostic::at(file, text, l, c, "an expectation needs a `rule`, a `path`, or both"));
            }
        }
    }
    Ok(parsed)
}

/// Line of a top-level key, written plain or quoted.
fn key_line(text: &str, key: &str) -> Option<u64> {
    let forms = [format!("{key}:"), format!("\"{key}\":"), format!("'{key}':")];
    text.lines().position(|l| forms.iter().any(|f| l.starts_with(f.as_str()))).map(|i| i as u64 + 1)
}

/// The header written atop a new expectations file.
pub fn default_header(target: &str) -> String {
    format!(
        "# Known divergences of target `{target}`, merged into the cases named here for that target only\n\
         # (README: \"Expectations files\"). Case `<feature>::<id>` -> entries {{rule, path, severity, reason, link}},\n\
         # matched as a case's `known_divergences` are. `compat expectations update --target {target}` adds the\n\
         # unexplained divergences of a run for review; it rewrites the file, keeping this leading comment only.\n"
    )
}

/// Renders entries in canonical form after `header` (comment lines): cases sorted, every string
/// double-quoted (a JSON string is a valid YAML double-quoted scalar, so any text round-trips).
pub fn render(header: &str, entries: &Entries) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let mut out = header.to_owned();
    for (case, list) in entries.iter().filter(|(_, l)| !l.is_empty()) {
        let _ = writeln!(out, "\n{case}:");
        for e in list {
            let mut first = true;
            let mut field = |key: &str, value: String| {
                let _ = writeln!(out, "  {} {key}: {value}", if first { "-" } else { " " });
                first = false;
            };
            if let Some(r) = &e.rule {
                field("rule", q(r));
            }
            if let Some(p) = &e.path {
                field("path", q(p.as_str()));
            }
            if let Some(s) = e.severity {
                field("severity", s.name().to_owned());
            }
            if let Some(step) = &e.step {
                field("step", q(step));
            }
            field("reason", q(&e.reason));
            field("link", q(&e.link));
            if !e.when.is_always() {
                field("when", serde_json::to_string(&e.when).expect("a When serializes")); // JSON is YAML flow style
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases() -> Vec<String> {
        vec!["chat::basic".into(), "models::list".into()]
    }

    const GOOD: &str = "# header\nmodels::list:\n  - rule: schema.spec\n    path: $.data[*].created\n    severity: spec\n    reason: no created\n    link: fixtures/x/models/list.json\n";

    #[test]
    fn entries_parse_with_their_lines() {
        let parsed = parse("cases/expectations/x.yaml", GOOD, &cases()).unwrap();
        let e = &parsed["models::list"][0];
        assert_eq!(e.referenced.line(), 3);
        assert_eq!(e.value.path.as_ref().unwrap().as_str(), "$.data[*].created");
        assert_eq!(e.value.severity, Some(Severity::Spec));
    }

    #[test]
    fn an_unknown_case_is_located_with_a_did_you_mean() {
        let text = GOOD.replace("models::list:", "models::lsit:");
        let e = parse("cases/expectations/x.yaml", &text, &cases()).unwrap_err();
        assert_eq!(
            e.headline(),
            "cases/expectations/x.yaml:2:1: no case `models::lsit` in this suite: did you mean `models::list`? (keys are `<feature>::<id>`)"
        );
    }

    #[test]
    fn bad_keys_and_paths_are_located() {
        let e = parse("f.yaml", &GOOD.replace("reason:", "reasn:"), &cases()).unwrap_err();
        assert_eq!((e.line, e.message.contains("did you mean `reason`?")), (6, true), "{e}");
        let e = parse("f.yaml", &GOOD.replace("$.data[*].created", "data.created"), &cases()).unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        let e = parse("f.yaml", "chat::basic:\n  - reason: r\n    link: l\n", &cases()).unwrap_err();
        assert_eq!(e.headline(), "f.yaml:2:5: an expectation needs a `rule`, a `path`, or both");
    }

    #[test]
    fn render_round_trips() {
        let mut entries = Entries::new();
        let e = Entry {
            rule: Some("status".into()),
            path: Some(PathPattern::parse("$[\"a: b\"]").unwrap()),
            severity: Some(Severity::Breaking),
            reason: "it said \"no\" # not a comment\nand more".into(),
            link: "https://example.invalid/x?y=1#z".into(),
            when: When::Sometimes,
            step: Some("create".into()),
        };
        entries.insert("chat::basic".into(), vec![e.clone()]);
        let text = render(&default_header("x"), &entries);
        let back = parse("f.yaml", &text, &cases()).unwrap();
        assert_eq!(back["chat::basic"].iter().map(|s| s.value.clone()).collect::<Vec<_>>(), vec![e]);
        assert_eq!(parse("f.yaml", &default_header("x"), &cases()).unwrap().len(), 0);
    }
}
