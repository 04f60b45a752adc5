//! The interop score: recomputed by hand from a results document — a small one whose figures are worked
//! out below, and the project's own replay, whose results.json is read as plain JSON and counted here
//! independently of `report::interop` — and compared with what index.html, summary.md and `compat diff` show.

mod reports_support;

use std::collections::{BTreeMap, BTreeSet};

use compat::report::interop::{self, Tally};
use compat::report::json::{self, Results};
use compat::report::write::write_reports;
use reports_support::*;
use serde_json::Value;

/// Targets a, b and the control c; cases f1::x, f1::y, f2::z, and f2::broken, a case file that did not load.
///
/// | case       | a     | b       | c (control) |
/// |------------|-------|---------|-------------|
/// | f1::x      | pass  | pass    | pass        |
/// | f1::y      | known | pass    | pass        |
/// | f2::z      | pass  | —       | pass        |
/// | f2::broken | —     | —       | —           |  (only `load::f2::broken`, an error)
///
/// So: a passes 2 of 4 (50 %), b 2 of 4, c 3 of 4; only f1::x passes on both a and b: interop 1 of 4 (25 %);
/// per area f1: a 1/2, b 2/2, interop 1/2; f2: a 1/2, b 0/2, interop 0/2.
fn small() -> Results {
    let mut info = fixed_info(&["a", "b", "c"]);
    info.targets[2].control = true;
    let outcomes = vec![
        outcome(base("a", "f1", "x", "pass")),
        outcome(base("a", "f1", "y", "known")),
        outcome(base("a", "f2", "z", "pass")),
        outcome(base("b", "f1", "x", "pass")),
        outcome(base("b", "f1", "y", "pass")),
        outcome(base("c", "f1", "x", "pass")),
        outcome(base("c", "f1", "y", "pass")),
        outcome(base("c", "f2", "z", "pass")),
        outcome(base("load", "f2", "broken", "error")),
    ];
    json::build(info, outcomes)
}

#[test]
fn the_small_document_scores_as_worked_out_by_hand() {
    let s = interop::scores(&small());
    let names: Vec<(&str, bool)> = s.implementations.iter().map(|i| (i.name.as_str(), i.control)).collect();
    assert_eq!(names, [("a", false), ("b", false), ("c", true)], "`load` is no implementation; c is the control");
    assert_eq!(s.overall.cases, 4);
    assert_eq!(s.overall.interop, Some(1));
    let t = |pass, known, missing| Tally { pass, known, missing, ..Tally::default() };
    assert_eq!(s.overall.targets, [t(2, 1, 1), t(2, 0, 2), t(3, 0, 1)]);
    let areas: Vec<(&str, usize, Option<usize>)> = s.areas.iter().map(|a| (a.feature.as_str(), a.cases, a.interop)).collect();
    assert_eq!(areas, [("f1", 2, Some(1)), ("f2", 2, Some(0))]);
    assert_eq!(s.areas[0].targets[0], t(1, 1, 0));
    assert_eq!(s.areas[1].targets[1], t(0, 0, 2));
    // Without a non-control implementation there is no interop score.
    let mut alone = small();
    alone.run.targets.retain(|t| t.name == "c" || t.name == "load");
    assert_eq!(interop::scores(&alone).overall.interop, None);
}

#[test]
fn index_summary_and_diff_show_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    write_reports(dir.path(), &small(), None).unwrap();
    let page = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    let (scores, matrix) = (page.find("<section id=\"scores\">").expect("a scores section"), page.find("Compatibility matrix").unwrap());
    assert!(scores < matrix, "the scores open the report");
    assert!(page.contains(
        "<tr data-area=\"all\" data-cases=\"4\"><th><b>all</b></th><td>4</td><td class=\"score\" data-interop=\"1\"><b>25.0%</b> 1/4</td>"
    ));
    assert!(page.contains("data-target=\"a\" data-pass=\"2\" data-known=\"1\" data-diverges=\"0\" data-fixed=\"0\" data-error=\"0\" data-skipped=\"0\" data-missing=\"1\"><b>50.0%</b> 2/4"));
    assert!(page.contains("<th data-target=\"c\">c (control)</th>"));
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        md.contains("| **all** | 4 | 25.0% (1) | 50.0% (2)<br>≈ 1 known · – 1 missing | 50.0% (2)<br>– 2 missing | 75.0% (3)<br>– 1 missing |"),
        "{md}"
    );
    assert!(md.contains("| f2 | 2 | 0.0% (0) |"), "{md}");

    // compat diff: b now passes f2::z, so interop goes from 1 to 2 of 4.
    let mut better = small();
    better.outcomes.push(outcome(base("b", "f2", "z", "pass")));
    let better = json::build(better.run.clone(), better.outcomes);
    let (old, new) = (dir.path().join("old.json"), dir.path().join("new.json"));
    std::fs::write(&old, json::to_string(&small())).unwrap();
    std::fs::write(&new, json::to_string(&better)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_compat")).arg("diff").arg(&old).arg(&new).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("interop: 25.0% → 50.0% (+25.0 points)"), "{text}");
    assert!(text.contains("b: 50.0% → 75.0% (+25.0 points)"), "{text}");
    assert!(text.contains("c (control): 75.0% → 75.0% (+0.0 points)"), "{text}");
}

/// `data-*` figures of index.html's scores table: (area, target or "interop") → passing cases.
fn shown(page: &str) -> BTreeMap<(String, String), usize> {
    let section = &page[page.find("<section id=\"scores\">").unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    let attr = |s: &str, name: &str| -> Option<String> {
        let at = s.find(&format!("{name}=\""))? + name.len() + 2;
        Some(s[at..at + s[at..].find('"')?].to_owned())
    };
    let mut out = BTreeMap::new();
    for row in section.split("<tr data-area=").skip(1) {
        let area = row[1..row[1..].find('"').unwrap() + 1].to_owned();
        for cell in row.split("<td ").skip(1) {
            if let Some(n) = attr(cell, "data-interop") {
                out.insert((area.clone(), "interop".to_owned()), n.parse().unwrap());
            }
            if let (Some(t), Some(n)) = (attr(cell, "data-target"), attr(cell, "data-pass")) {
                out.insert((area.clone(), t), n.parse().unwrap());
            }
        }
    }
    out
}

#[test]
fn index_html_matches_a_recount_of_the_projects_results_json() {
    let dir = tempfile::tempdir().unwrap();
    write_reports(dir.path(), &json::build(info(), replay_once().clone()), None).unwrap();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap()).unwrap();
    // The recount, from the JSON alone: the case list, who passes what, and which targets are controls.
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
    let mut passing: BTreeSet<(String, String, String)> = BTreeSet::new();
    for o in doc["outcomes"].as_array().unwrap() {
        let (t, f, id) = (o["target"].as_str().unwrap(), o["feature"].as_str().unwrap(), o["id"].as_str().unwrap());
        cases.entry(f.to_owned()).or_default().insert(id.to_owned());
        if o["verdict"] == "pass" {
            passing.insert((t.to_owned(), f.to_owned(), id.to_owned()));
        }
    }
    let mut expected = BTreeMap::new();
    let all: Vec<(String, String)> = cases.iter().flat_map(|(f, ids)| ids.iter().map(move |i| (f.clone(), i.clone()))).collect();
    for (area, list) in
        cases.iter().map(|(f, ids)| (f.clone(), ids.iter().map(|i| (f.clone(), i.clone())).collect::<Vec<_>>())).chain([("all".to_owned(), all)])
    {
        for (t, _) in &targets {
            let n = list.iter().filter(|(f, i)| passing.contains(&(t.clone(), f.clone(), i.clone()))).count();
            expected.insert((area.clone(), t.clone()), n);
        }
        let everywhere =
            list.iter().filter(|(f, i)| targets.iter().filter(|t| !t.1).all(|(t, _)| passing.contains(&(t.clone(), f.clone(), i.clone())))).count();
        expected.insert((area, "interop".to_owned()), everywhere);
    }
    let page = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert_eq!(shown(&page), expected);
}
