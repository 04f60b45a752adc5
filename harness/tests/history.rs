//! History and badges: two results documents added to a history render a timeline; a night with another case
//! list is rescored against today's and marked; records refuse what they cannot be; badges carry the score.

mod reports_support;

use compat::report::history::{self, night, rescore};
use compat::report::json::{self, Results};
use compat::report::{badge, history_html, interop};
use reports_support::*;

/// Night 1: cases f1::x, f1::y; night 2 adds f2::z. Targets a, b and the control c.
fn nights() -> (Results, Results) {
    let mut info = fixed_info(&["a", "b", "c"]);
    info.targets[2].control = true;
    let mut first_info = info.clone();
    first_info.date = "2025-01-01T03:00:00Z".into();
    let first = json::build(
        first_info,
        vec![
            outcome(base("a", "f1", "x", "known")),
            outcome(base("a", "f1", "y", "pass")),
            outcome(base("b", "f1", "x", "pass")),
            outcome(base("b", "f1", "y", "pass")),
            outcome(base("c", "f1", "x", "pass")),
            outcome(base("c", "f1", "y", "pass")),
        ],
    );
    let second = json::build(
        info,
        vec![
            outcome(base("a", "f1", "x", "pass")),
            outcome(base("a", "f1", "y", "pass")),
            outcome(base("a", "f2", "z", "diverges")),
            outcome(base("b", "f1", "x", "pass")),
            outcome(base("b", "f1", "y", "error")),
            outcome(base("b", "f2", "z", "pass")),
            outcome(base("c", "f1", "x", "pass")),
            outcome(base("c", "f1", "y", "pass")),
            outcome(base("c", "f2", "z", "pass")),
        ],
    );
    (first, second)
}

#[test]
fn a_night_keeps_one_letter_per_case_and_target_and_reads_back() {
    let (first, _) = nights();
    let n = night(&first);
    assert_eq!(n.cases, ["f1::x", "f1::y"]);
    let letters: Vec<(&str, &str, bool)> = n.targets.iter().map(|t| (t.name.as_str(), t.verdicts.as_str(), t.control)).collect();
    assert_eq!(letters, [("a", "kp", false), ("b", "pp", false), ("c", "pp", true)]);
    // The scores, stated: a passes f1::y and knows f1::x; b and c pass both; only f1::y passes on every non-control
    // target (c is the control).
    let names: Vec<(&str, bool)> = n.scores.implementations.iter().map(|i| (i.name.as_str(), i.control)).collect();
    assert_eq!(names, [("a", false), ("b", false), ("c", true)]);
    let overall = &n.scores.overall;
    assert_eq!((overall.feature.as_str(), overall.cases, overall.interop), ("all", 2, Some(1)));
    let tallies: Vec<(usize, usize, usize)> = overall.targets.iter().map(|t| (t.pass, t.known, t.total())).collect();
    assert_eq!(tallies, [(1, 1, 2), (2, 0, 2), (2, 0, 2)]);
    assert_eq!(n.scores.areas.iter().map(|a| (a.feature.as_str(), a.cases)).collect::<Vec<_>>(), [("f1", 2)]);
    let text = serde_json::to_string(&n).unwrap();
    assert_eq!(history::parse(&text).unwrap(), n);
    assert!(history::parse("{}").unwrap_err().contains("not a compat-history record"));
    let short = text.replace("\"kp\"", "\"k\"");
    assert!(history::parse(&short).unwrap_err().contains("target `a` has 1 verdicts for 2 cases"));
}

#[test]
fn past_nights_are_rescored_against_todays_case_list_and_marked() {
    let (first, second) = nights();
    let r = rescore(&[night(&second), night(&first)]);
    assert_eq!(r.iter().map(|n| n.date.as_str()).collect::<Vec<_>>(), ["2025-01-01T03:00:00Z", "2025-01-02T03:04:05Z"], "oldest first");
    // Night 1 over today's three cases: f2::z did not exist, so it is missing for everyone.
    assert_eq!((r[0].added, r[0].dropped, r[0].differs()), (1, 0, true));
    assert_eq!(r[0].scores.overall.cases, 3);
    assert_eq!(r[0].scores.overall.targets[0].pass, 1); // a: f1::y
    assert_eq!(r[0].scores.overall.targets[0].missing, 1);
    assert_eq!(r[0].scores.overall.interop, Some(1)); // f1::y passes on a and b
    // Night 2 is today: its own scores.
    assert!(!r[1].differs());
    assert_eq!(r[1].scores, interop::scores(&second));
    assert_eq!(r[1].scores.overall.interop, Some(1)); // f1::x
}

#[test]
fn the_timeline_is_inline_svg_with_no_script_and_marks_the_changed_night() {
    let (first, second) = nights();
    let page = history_html::render(&rescore(&[night(&first), night(&second)]));
    assert!(page.contains("<svg") && page.contains("<polyline"));
    assert!(!page.contains("<script"), "no script at all");
    assert!(!page.contains("src=\"http"), "nothing fetched");
    for area in ["<h3>f1 ", "<h3>f2 ", "<h3>a</h3>", "<h3>c <span class=\"muted\">(control)</span></h3>"] {
        assert!(page.contains(area), "{area}");
    }
    assert!(page.contains("differed: 1 added since, 0 dropped"));
    assert!(page.contains("case list differed that night"));
    assert!(history_html::render(&[]).contains("No night recorded yet"));
}

#[test]
fn compat_history_add_twice_then_render_and_badge() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = nights();
    let (p1, p2) = (dir.path().join("1.json"), dir.path().join("2.json"));
    std::fs::write(&p1, json::to_string(&first)).unwrap();
    std::fs::write(&p2, json::to_string(&second)).unwrap();
    let hist = dir.path().join("history");
    let compat = || std::process::Command::new(env!("CARGO_BIN_EXE_compat"));
    for p in [&p1, &p2, &p2] {
        let out = compat().args(["history", "add"]).arg(p).arg("--history").arg(&hist).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(std::fs::read_dir(&hist).unwrap().count(), 2, "adding a run twice replaces it");
    let page = dir.path().join("site/history.html");
    let out = compat().arg("history").arg("--history").arg(&hist).arg("--out").arg(&page).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("rendered 2 nights (1 with another case list"));
    assert!(std::fs::read_to_string(&page).unwrap().contains("<svg"));
    // A corrupt record is an error naming it, not a silent gap.
    std::fs::write(hist.join("2099.json"), "{").unwrap();
    let out = compat().args(["history", "render"]).arg("--history").arg(&hist).arg("--out").arg(&page).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2099.json"));

    let badges = dir.path().join("badges");
    let out = compat().arg("badge").arg(&p2).arg("--out").arg(&badges).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let a = std::fs::read_to_string(badges.join("a.svg")).unwrap();
    assert!(a.contains("OpenAI compat · a: 66.7% (2/3)"), "{a}");
    let i = std::fs::read_to_string(badges.join("interop.json")).unwrap();
    assert!(i.contains("\"message\":\"33.3% (1/3)\""), "{i}");
    assert_eq!(badge::badges(&interop::scores(&second)).len(), 4);
}
