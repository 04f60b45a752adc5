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
    let letters: Vec<(&str, &str, &str, bool)> =
        n.targets.iter().map(|t| (t.name.as_str(), t.verdicts.as_str(), t.tiers.as_str(), t.control)).collect();
    // `known` with no finding meets exact: the tier letters are the findings', not the verdict's.
    assert_eq!(letters, [("a", "kp", "33", false), ("b", "pp", "33", false), ("c", "pp", "33", true)]);
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
    let short = text.replacen("\"tiers\":\"33\"", "\"tiers\":\"3\"", 1);
    assert!(history::parse(&short).unwrap_err().contains("target `a` has 1 tier letters for 2 cases"));
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
    // a: f1::x and f1::y exact, f2::z diverges with no finding (so exact too: the tiers read findings); b: f1::y
    // errors, so 2 of 3; interop: f1::x and f2::z on both, 2 of 3.
    let a = std::fs::read_to_string(badges.join("a.svg")).unwrap();
    assert!(a.contains("OpenAI compat · a: SDK-safe 100% · typed 100% · exact 100%"), "{a}");
    let b = std::fs::read_to_string(badges.join("b.json")).unwrap();
    assert!(b.contains("\"message\":\"SDK-safe 66% · typed 66% · exact 66%\""), "{b}");
    let i = std::fs::read_to_string(badges.join("interop.json")).unwrap();
    assert!(i.contains("\"message\":\"SDK-safe 66% · typed 66% · exact 66%\""), "{i}");
    assert_eq!(badge::badges(&interop::scores(&second)).len(), 4);
}

/// A night as version 1 of history wrote it before tiers: verdict letters and the verdict scores, no `tiers`.
const OLD_NIGHT: &str = r#"{"format":"compat-history","version":1,"date":"2024-12-31T03:00:00Z","harness_version":"0.1.0",
"spec_version":"s","suite_id":"0123456789ab","cases":["f1::x","f1::y","f2::z"],
"targets":[{"name":"a","mode":"replay","verdicts":"kpd"},{"name":"b","mode":"replay","verdicts":"ppp"},
{"name":"c","control":true,"mode":"replay","verdicts":"ppp"}],
"scores":{"suite_id":"0123456789ab","implementations":[{"name":"a","control":false},{"name":"b","control":false},{"name":"c","control":true}],
"areas":[],"overall":{"feature":"all","cases":3,"targets":[{"pass":1,"known":1,"diverges":1,"fixed":0,"error":0,"skipped":0,"missing":0},
{"pass":3,"known":0,"diverges":0,"fixed":0,"error":0,"skipped":0,"missing":0},{"pass":3,"known":0,"diverges":0,"fixed":0,"error":0,"skipped":0,"missing":0}],
"interop":1}}}"#;

#[test]
fn a_night_written_before_tiers_still_reads_and_shows_no_tiers() {
    let old = history::parse(OLD_NIGHT).expect("an old record reads");
    assert!(old.targets.iter().all(|t| t.tiers.is_empty()));
    assert_eq!(old.scores.overall.targets[0].tiers, None);
    let (_, second) = nights();
    let r = rescore(&[old, night(&second)]);
    // Rescored against today's list: the verdicts count as before; the tiers are unknown, not zero.
    assert_eq!(r[0].scores.overall.targets[0].pass, 1);
    assert_eq!(r[0].scores.overall.targets[0].tiers, None);
    assert_eq!(r[0].scores.overall.interop_tiers, None);
    assert!(r[1].scores.overall.targets[0].tiers.is_some());
    let page = history_html::render(&r);
    assert!(page.contains("<td>no tiers</td>"), "the old night's row says so");
    assert!(page.contains("<h3>typed "), "a chart per tier");
    // And through the CLI: an old file beside a new one renders.
    let dir = tempfile::tempdir().unwrap();
    let hist = dir.path().join("history");
    std::fs::create_dir_all(&hist).unwrap();
    std::fs::write(hist.join("2024-12-31T03-00-00Z.json"), OLD_NIGHT).unwrap();
    std::fs::write(hist.join(history::file_name(&night(&second))), serde_json::to_string(&night(&second)).unwrap()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_compat"))
        .args(["history", "render", "--history"])
        .arg(&hist)
        .arg("--out")
        .arg(dir.path().join("h.html"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
