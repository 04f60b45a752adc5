//! The tiers and the interop score: recomputed by hand from a results document — a small one whose figures are
//! worked out below, and the project's own replay, whose results.json is read as plain JSON and counted here
//! independently of `report::interop` and `report::tiers` — and compared with what index.html's census,
//! summary.md, the badges and `compat diff` show.

mod reports_support;

use std::collections::{BTreeMap, BTreeSet};

use compat::report::interop::{self, TierCounts};
use compat::report::json::{self, Results};
use compat::report::write::write_reports;
use reports_support::*;
use serde_json::{Value, json};

/// An outcome with findings of these severities (`known` verdict: every one declared known).
fn with(target: &str, feature: &str, id: &str, verdict: &str, severities: &[&str]) -> Value {
    let mut v = base(target, feature, id, verdict);
    v["findings"] = json!(severities.iter().map(|s| finding("schema.spec", s, "$.x", "1", "2")).collect::<Vec<_>>());
    if let Some(worst) = severities.iter().max_by_key(|s| ["spec", "typed", "breaking"].iter().position(|x| x == *s)) {
        v["severity"] = json!(worst);
    }
    v
}

/// `a`'s answer to `POST videos`: 404 `{"detail": "Not Found"}` where 200 was due — no route.
fn no_videos(target: &str, feature: &str, id: &str) -> Value {
    let mut v = base(target, feature, id, "diverges");
    v["severity"] = json!("breaking");
    v["findings"] = json!([finding("status", "breaking", "$", "200", "404 with body {\"detail\":\"Not Found\"}")]);
    v["exchange"] = json!({"request": {"method": "POST", "path": "videos", "body": {"model": "m", "prompt": "p"}}, "status": 404,
        "content_type": "application/json", "body": {"kind": "json", "value": {"detail": "Not Found"}}});
    v
}

/// Targets a, b and the control c; cases f1::w, f1::x, f1::y, f2::v, f2::z, and f2::broken (a case file that
/// did not load).
///
/// | case       | a                       | b               | c (control) |
/// |------------|-------------------------|-----------------|-------------|
/// | f1::w      | diverges (typed): S     | skipped         | pass: E     |
/// | f1::x      | pass: E                 | pass: E         | pass: E     |
/// | f1::y      | known (spec): T         | known (breaking)| pass: E     |
/// | f2::broken | —                       | —               | —           |  (only `load::f2::broken`, an error)
/// | f2::v      | not implemented (videos)| error           | pass: E     |
/// | f2::z      | pass: E                 | —               | pass: E     |
///
/// Overall (S/T/E over the cases run): a runs 6 (a missing outcome runs and fails), meets S 4 (w x y z), T 3
/// (x y z), E 2 (x z), 1 not implemented; b runs 5 (w skipped), meets 1/1/1 (x); c runs 6, meets 5/5/5.
/// Interop is over the 5 cases neither a nor b skipped (all but w): only x meets a tier on both, 1/1/1 of 5.
/// f1: a 3 run, 3/2/1; b 2 run, 1/1/1; interop 2 run, 1/1/1. f2: a 3 run, 1/1/1 and `videos` not
/// implemented; b 3 run, 0/0/0; interop 3 run, 0/0/0, 1 not implemented.
/// The verdict score (pass over all cases, version 1 of history) stays: a 2 of 6, b 1, c 5, interop 1.
fn small() -> Results {
    let mut info = fixed_info(&["a", "b", "c"]);
    info.targets[2].control = true;
    let mut outcomes: Vec<Value> = vec![
        with("a", "f1", "w", "diverges", &["typed", "spec"]),
        base("a", "f1", "x", "pass"),
        with("a", "f1", "y", "known", &["spec"]),
        no_videos("a", "f2", "v"),
        base("a", "f2", "z", "pass"),
        base("b", "f1", "w", "skipped"),
        base("b", "f1", "x", "pass"),
        with("b", "f1", "y", "known", &["breaking", "spec"]),
        base("b", "f2", "v", "error"),
        base("load", "f2", "broken", "error"),
    ];
    outcomes.extend(["f1::w", "f1::x", "f1::y", "f2::v", "f2::z"].map(|c| {
        let (f, id) = c.split_once("::").unwrap();
        base("c", f, id, "pass")
    }));
    json::build(info, outcomes.into_iter().map(outcome).collect())
}

fn tc(ran: usize, sdk_safe: usize, typed: usize, exact: usize, not_implemented: usize) -> Option<TierCounts> {
    Some(TierCounts { ran, sdk_safe, typed, exact, not_implemented })
}

#[test]
fn the_small_document_scores_as_worked_out_by_hand() {
    let s = interop::scores(&small());
    let names: Vec<(&str, bool)> = s.implementations.iter().map(|i| (i.name.as_str(), i.control)).collect();
    assert_eq!(names, [("a", false), ("b", false), ("c", true)], "`load` is no implementation; c is the control");
    assert_eq!(s.overall.cases, 6);
    let tiers: Vec<Option<TierCounts>> = s.overall.targets.iter().map(|t| t.tiers).collect();
    assert_eq!(tiers, [tc(6, 4, 3, 2, 1), tc(5, 1, 1, 1, 0), tc(6, 5, 5, 5, 0)]);
    assert_eq!(s.overall.interop_tiers, tc(5, 1, 1, 1, 1));
    assert_eq!(s.overall.interop, Some(1), "the verdict score is kept");
    assert_eq!(s.overall.targets.iter().map(|t| t.pass).collect::<Vec<_>>(), [2, 1, 5]);
    let f1 = &s.areas[0];
    assert_eq!(
        (f1.feature.as_str(), f1.targets[0].tiers, f1.targets[1].tiers, f1.interop_tiers),
        ("f1", tc(3, 3, 2, 1, 0), tc(2, 1, 1, 1, 0), tc(2, 1, 1, 1, 0))
    );
    let f2 = &s.areas[1];
    assert_eq!((f2.targets[0].tiers, f2.targets[1].tiers, f2.interop_tiers), (tc(3, 1, 1, 1, 1), tc(3, 0, 0, 0, 0), tc(3, 0, 0, 0, 1)));
    assert_eq!(f2.not_implemented, [vec!["videos".to_owned()], vec![], vec![]], "the endpoint, once");
    assert!(f1.not_implemented.is_empty());
    // Without a non-control implementation there is no interop score.
    let mut alone = small();
    alone.run.targets.retain(|t| t.name == "c" || t.name == "load");
    let alone = interop::scores(&alone);
    assert_eq!((alone.overall.interop, alone.overall.interop_tiers), (None, None));
}

#[test]
fn index_summary_badges_and_diff_show_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    write_reports(dir.path(), &small(), None).unwrap();
    let page = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    let (census, matrix) = (page.find("<section id=\"census\">").expect("a census section"), page.find("Compatibility matrix").unwrap());
    assert!(census < matrix && census < page.find("<header>").unwrap(), "the census opens the report");
    assert!(page.contains(
        "<td class=\"tiers \" data-target=\"a\" data-ran=\"6\" data-sdk-safe=\"4\" data-typed=\"3\" data-exact=\"2\" data-not-implemented=\"1\">"
    ));
    assert!(page.contains("∅ not implemented: videos"));
    assert!(
        page.contains("<td class=\"tiers interop\" data-target=\"interop\" data-ran=\"5\" data-sdk-safe=\"1\" data-typed=\"1\" data-exact=\"1\"")
    );
    assert!(page.contains("<th class=\"control\" data-target=\"c\">c<br><small><b>control</b>"), "the control apart");
    // The control is the last column, after the implementations.
    assert!(page.find("<th class=\"control\" data-target=\"c\">").unwrap() > page.find("<th data-target=\"b\">").unwrap());
    // The matrix shows the answer, not the status finding behind it.
    assert!(page.contains("<td class=\"cell v v-ni\" data-verdict=\"diverges\""));
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("| **all** | 6 | 20.0% · 20.0% · 20.0%<br>1/1/1 of 5 | 66.7% · 50.0% · 33.3%<br>4/3/2 of 6<br>"), "{md}");
    assert!(md.contains("∅ not implemented: videos"), "{md}");

    // compat diff: b now passes f2::z, so b meets 2 of 5 everywhere and interop stays 1 of 5 (a's f2::z and b's).
    let mut better = small();
    better.outcomes.push(outcome(base("b", "f2", "z", "pass")));
    let better = json::build(better.run.clone(), better.outcomes);
    let (old, new) = (dir.path().join("old.json"), dir.path().join("new.json"));
    std::fs::write(&old, json::to_string(&small())).unwrap();
    std::fs::write(&new, json::to_string(&better)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_compat")).arg("diff").arg(&old).arg(&new).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("interop: SDK-safe 20.0% → 40.0% (+20.0 points) · typed 20.0% → 40.0% (+20.0 points) · exact 20.0% → 40.0% (+20.0 points)"),
        "{text}"
    );
    assert!(text.contains("b: SDK-safe 20.0% → 40.0% (+20.0 points)"), "{text}");
    assert!(text.contains("c (control): SDK-safe 83.3% → 83.3% (+0.0 points)"), "{text}");

    let badges = compat::report::badge::badges(&interop::scores(&small()));
    let a = badges.iter().find(|b| b.name == "a").unwrap();
    assert!(a.json.contains("\"message\":\"SDK-safe 66% · typed 50% · exact 33%\""), "{}", a.json);
    assert!(badges.iter().any(|b| b.name == "interop" && b.json.contains("SDK-safe 20% · typed 20% · exact 20%")));
}

/// `data-*` figures of index.html's census: (area, target or "interop") → [ran, SDK-safe, typed, exact,
/// not implemented].
fn shown(page: &str) -> BTreeMap<(String, String), [usize; 5]> {
    let section = &page[page.find("<section id=\"census\">").unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    let attr = |s: &str, name: &str| -> Option<String> {
        let at = s.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(s[at..at + s[at..].find('"')?].to_owned())
    };
    let mut out = BTreeMap::new();
    for row in section.split("<tr data-area=").skip(1) {
        let area = row[1..row[1..].find('"').unwrap() + 1].to_owned();
        for cell in row.split("<td class=\"tiers").skip(1) {
            let cell = &cell[..cell.find('>').unwrap()];
            let n = |name: &str| attr(cell, name).map(|v| v.parse::<usize>().unwrap());
            if let (Some(t), Some(ran)) = (attr(cell, "data-target"), n("data-ran")) {
                let figures =
                    [ran, n("data-sdk-safe").unwrap(), n("data-typed").unwrap(), n("data-exact").unwrap(), n("data-not-implemented").unwrap()];
                out.insert((area.clone(), t), figures);
            }
        }
    }
    out
}

/// What one outcome of results.json counts as, recounted from its JSON: `s`kipped, `e`rror, `n`ot implemented,
/// or the number of tiers it meets (3 exact, 2 typed, 1 SDK-safe, 0 none).
fn recount(o: &Value) -> char {
    match o["verdict"].as_str().unwrap() {
        "skipped" => return 's',
        "error" => return 'e',
        _ => {}
    }
    let findings = o["findings"].as_array().unwrap();
    let x = &o["exchange"];
    if let Some(status) = findings.iter().find(|f| f["rule"] == "status") {
        let observed = x["status"].as_u64().unwrap();
        let body = x["body"].to_string().to_lowercase();
        let mut named: Vec<String> = x["request"]["body"]["model"].as_str().map(|m| m.to_lowercase()).into_iter().collect();
        named.extend(x["request"]["path"].as_str().unwrap().split('/').skip(1).filter(|s| s.len() > 2).map(str::to_lowercase));
        if [404, 405, 501].contains(&observed)
            && status["expected"].as_str().unwrap() != observed.to_string()
            && !named.iter().any(|n| n.len() > 2 && body.contains(n.as_str()))
        {
            return 'n';
        }
    }
    let has = |sev: &str| findings.iter().any(|f| f["severity"] == sev);
    if has("breaking") {
        '0'
    } else if has("typed") {
        '1'
    } else if findings.is_empty() {
        '3'
    } else {
        '2'
    }
}

#[test]
fn index_html_matches_a_recount_of_the_projects_results_json() {
    let dir = tempfile::tempdir().unwrap();
    write_reports(dir.path(), &json::build(info(), replay_once().clone()), None).unwrap();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap()).unwrap();
    // The recount, from the JSON alone: the case list, what each outcome counts as, which targets are controls.
    let targets: Vec<(String, bool)> = doc["run"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] != "load")
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t["control"] == true))
        .collect();
    assert!(targets.iter().any(|t| t.1), "targets.yaml marks a control");
    assert!(targets.iter().any(|t| !t.1));
    let mut cases: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut standing: BTreeMap<(String, String, String), char> = BTreeMap::new();
    for o in doc["outcomes"].as_array().unwrap() {
        let (t, f, id) = (o["target"].as_str().unwrap(), o["feature"].as_str().unwrap(), o["id"].as_str().unwrap());
        cases.entry(f.to_owned()).or_default().insert(id.to_owned());
        standing.insert((t.to_owned(), f.to_owned(), id.to_owned()), recount(o));
    }
    let at = |t: &str, (f, i): &(String, String)| standing.get(&(t.to_owned(), f.clone(), i.clone())).copied().unwrap_or('0');
    let meets = |c: char, tier: usize| c.to_digit(10).is_some_and(|d| d as usize >= tier);
    let mut expected = BTreeMap::new();
    let all: Vec<(String, String)> = cases.iter().flat_map(|(f, ids)| ids.iter().map(move |i| (f.clone(), i.clone()))).collect();
    for (area, list) in
        cases.iter().map(|(f, ids)| (f.clone(), ids.iter().map(|i| (f.clone(), i.clone())).collect::<Vec<_>>())).chain([("all".to_owned(), all)])
    {
        for (t, _) in &targets {
            let ran: Vec<char> = list.iter().map(|c| at(t, c)).filter(|c| *c != 's').collect();
            let count = |tier| ran.iter().filter(|c| meets(**c, tier)).count();
            expected.insert((area.clone(), t.clone()), [ran.len(), count(1), count(2), count(3), ran.iter().filter(|c| **c == 'n').count()]);
        }
        let judged: Vec<&String> = targets.iter().filter(|t| !t.1).map(|t| &t.0).collect();
        let rows: Vec<Vec<char>> =
            list.iter().map(|c| judged.iter().map(|t| at(t, c)).collect::<Vec<char>>()).filter(|r| !r.contains(&'s')).collect();
        let everywhere = |tier| rows.iter().filter(|r| r.iter().all(|c| meets(*c, tier))).count();
        let ni = rows.iter().filter(|r| r.contains(&'n')).count();
        expected.insert((area, "interop".to_owned()), [rows.len(), everywhere(1), everywhere(2), everywhere(3), ni]);
    }
    let page = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    let shown = shown(&page);
    // Cells of areas nobody ran show "none run" with their zeros; compare all figures.
    assert_eq!(shown, expected);
    // Print the recount of the overall row, for the record.
    for (key, v) in expected.iter().filter(|(k, _)| k.0 == "all") {
        eprintln!("recount {key:?}: ran {} · SDK-safe {} · typed {} · exact {} · not implemented {}", v[0], v[1], v[2], v[3], v[4]);
    }
}
