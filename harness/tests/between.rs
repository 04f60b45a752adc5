//! `compat diff --between A B`: two implementations compared tier by tier, each case where one meets a tier and
//! the other does not listed once, with the findings that make the difference.

mod reports_support;

use compat::outcome::Tier;
use compat::report::between::{between, render_text};
use compat::report::json::{self, Results};
use reports_support::*;
use serde_json::{Value, json};

fn with(target: &str, id: &str, verdict: &str, findings: &[(&str, &str)]) -> Value {
    let mut v = base(target, "chat", id, verdict);
    v["findings"] = json!(findings.iter().map(|(rule, sev)| finding(rule, sev, "$.usage", "an object", "null")).collect::<Vec<_>>());
    v
}

/// a and b on five cases: same (both exact), typed (a typed, b only SDK-safe), breaking (a exact, b breaking),
/// skipped on b, and errored on a.
fn doc() -> Results {
    let outcomes = vec![
        base("a", "chat", "same", "pass"),
        base("b", "chat", "same", "pass"),
        with("a", "typed", "known", &[("schema.spec", "spec")]),
        with("b", "typed", "diverges", &[("schema.client", "typed"), ("schema.spec", "spec")]),
        base("a", "chat", "breaking", "pass"),
        with("b", "breaking", "known", &[("stream.role", "breaking"), ("schema.spec", "spec")]),
        base("a", "chat", "skip", "pass"),
        base("b", "chat", "skip", "skipped"),
        base("a", "chat", "broke", "error"),
        with("b", "broke", "known", &[("schema.spec", "spec")]),
    ];
    json::build(fixed_info(&["a", "b"]), outcomes.into_iter().map(outcome).collect())
}

#[test]
fn the_cases_where_they_part_come_with_the_findings_that_make_the_difference() {
    let c = between(&doc(), "a", &doc(), "b").unwrap();
    assert_eq!((c.compared, c.not_compared), (4, 1), "skip is not compared");
    let parts: Vec<(&str, Tier, bool)> = c.partings.iter().map(|p| (p.case.as_str(), p.tier, p.a_meets)).collect();
    assert_eq!(parts, [("chat::breaking", Tier::SdkSafe, true), ("chat::broke", Tier::SdkSafe, false), ("chat::typed", Tier::Typed, true)]);
    // Only the findings that keep b out of the tier: the breaking one for SDK-safe, the typed one for typed.
    assert_eq!(c.partings[0].why.len(), 1);
    assert!(c.partings[0].why[0].starts_with("stream.role at $.usage (breaking)"), "{:?}", c.partings[0].why);
    assert!(c.partings[1].why[0].starts_with("error: connection reset"), "{:?}", c.partings[1].why);
    assert_eq!(c.partings[2].why.len(), 1);
    assert!(c.partings[2].why[0].starts_with("schema.client at $.usage (typed)"));
    // SDK-safe: same, typed on both; breaking only a; broke only b.
    let s = c.splits[0];
    assert_eq!((s.both, s.only_a, s.only_b, s.neither), (2, 1, 1, 0));
    let text = render_text(&c);
    assert!(text.contains("chat::breaking: a meets SDK-safe, b does not  [a: exact; b: no tier]"), "{text}");
    assert!(text.contains("    b: stream.role at $.usage (breaking): message of stream.role"), "{text}");
    assert!(!text.contains("chat::same"), "a case where they agree is not listed");
}

#[test]
fn one_implementation_against_itself_parts_nowhere_and_unknown_targets_are_refused() {
    let c = between(&doc(), "a", &doc(), "a").unwrap();
    assert!(c.partings.is_empty());
    assert!(render_text(&c).contains("No compared case meets a tier on one side and not on the other."));
    assert!(between(&doc(), "a", &doc(), "nope").unwrap_err().contains("no target `nope`"));
}

#[test]
fn compat_diff_between_two_targets_of_one_document_and_of_two() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.json");
    std::fs::write(&path, json::to_string(&doc())).unwrap();
    let compat = || std::process::Command::new(env!("CARGO_BIN_EXE_compat"));
    let out = compat().arg("diff").arg(&path).args(["--between", "a", "b"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("a vs b: 4 cases compared (1 not compared"), "{text}");
    assert!(text.contains("typed — one meets it, the other does not (1):"), "{text}");
    // Two documents: a of the first against b of the second.
    let out = compat().arg("diff").arg(&path).arg(&path).args(["--between", "b", "a"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("b vs a: 4 cases compared"));
    let out = compat().arg("diff").arg(&path).args(["--between", "a", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no target `x`"));
    let out = compat().arg("diff").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "one document and no --between");
}
