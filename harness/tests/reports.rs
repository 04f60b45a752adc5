//! The reports: results.json against its schema, JUnit structure, Markdown table, HTML content and escaping,
//! determinism, changes since a baseline (`compat diff`, `--baseline`), and the assembly of result files.
//! Each check is shown both ways: it accepts what it should and refuses what it should not.

mod reports_support;

use std::collections::BTreeSet;

use compat::collect::{Collector, ResultSlot, result_file_name};
use compat::outcome::{Outcome, Verdict};
use compat::plan::Selection;
use compat::report::changes::compare;
use compat::report::json::{self, Results};
use compat::report::write::write_reports;
use compat::report::{html, junit, markdown};
use reports_support::*;
use serde_json::{Value, json};

fn schema() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(json::SCHEMA).expect("the results schema is JSON");
    jsonschema::validator_for(&schema).expect("the results schema compiles")
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

fn doc_value(r: &Results) -> Value {
    serde_json::from_str(&json::to_string(r)).expect("results.json is JSON")
}

#[test]
fn results_json_validates_against_its_schema() {
    let v = schema();
    let replay = json::build(info(), replay_once().clone());
    assert!(!replay.outcomes.is_empty());
    assert_eq!(errors(&v, &doc_value(&replay)), Vec::<String>::new(), "a replay of the suite");
    assert_eq!(errors(&v, &doc_value(&zoo_results())), Vec::<String>::new(), "every verdict and body kind");
}

#[test]
fn the_schema_refuses_what_the_harness_would_not_write() {
    let v = schema();
    let good = doc_value(&zoo_results());
    type Mutation = Box<dyn Fn(&mut Value)>;
    let bad: Vec<(&str, Mutation)> = vec![
        ("unknown verdict", Box::new(|d| d["outcomes"][0]["verdict"] = json!("maybe"))),
        ("missing counts", Box::new(|d| drop(d.as_object_mut().unwrap().remove("counts")))),
        ("other version", Box::new(|d| d["version"] = json!(2))),
        ("undocumented key", Box::new(|d| d["outcomes"][0]["surprise"] = json!(1))),
        ("negative duration", Box::new(|d| d["outcomes"][0]["timing"]["duration_ms"] = json!(-1))),
        ("unknown body kind", Box::new(|d| d["outcomes"][0]["exchange"]["body"] = json!({"kind": "xml"}))),
    ];
    for (what, mutate) in bad {
        let mut doc = good.clone();
        mutate(&mut doc);
        assert!(!errors(&v, &doc).is_empty(), "{what} should be refused");
    }
}

#[test]
fn results_json_reads_back_equal_and_counts_agree() {
    let r = zoo_results();
    assert_eq!(json::parse(&json::to_string(&r)).unwrap(), r);
    assert_eq!(r.counts.total(), r.outcomes.len());
    assert_eq!((r.counts.pass, r.counts.known, r.counts.diverges, r.counts.fixed, r.counts.error, r.counts.skipped), (2, 1, 1, 1, 1, 1));
    assert_eq!(r.counts.failing, 4, "diverges, fixed, error, and a pass with a missing snapshot");
    assert_eq!((r.fixtures.recorded, r.fixtures.synthesized, r.fixtures.none), (1, 1, 5));
    let names: Vec<String> = r.outcomes.iter().map(Outcome::name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "outcomes are sorted by name");
}

/// `results.json` is streamed to its file: byte for byte what serde_json renders of the document (pretty,
/// or compact past `PRETTY_UP_TO` outcomes), with a final newline.
#[test]
fn results_json_is_streamed_as_serde_json_renders_it() {
    let dir = tempfile::tempdir().unwrap();
    let small = zoo_results();
    let mut large = small.clone();
    large.outcomes = small.outcomes.iter().cycle().take(json::PRETTY_UP_TO + 1).cloned().collect();
    for (r, rendered) in [(&small, serde_json::to_string_pretty(&small)), (&large, serde_json::to_string(&large))] {
        write_reports(dir.path(), r, None).unwrap();
        let written = std::fs::read_to_string(dir.path().join("results.json")).unwrap();
        assert_eq!(written, rendered.unwrap() + "\n");
    }
}

/// The reports are rendered from the run's document rather than from `results.json` read back: that holds
/// only because every outcome of a real suite reads back equal, compact or pretty, and renders alike.
#[test]
fn every_replay_outcome_reads_back_equal_so_the_reports_are_functions_of_results_json() {
    let mut r = json::build(info(), replay_once().clone());
    assert!(r.outcomes.len() > 200, "the whole replay suite");
    let rendered = (html::render(&r, None), junit::render(&r), markdown::render(&r, None));
    // The one field not written: a new snapshot's text, kept only to write a `.snap.new` (compat run empties it).
    for snap in r.outcomes.iter_mut().filter_map(|o| o.snapshot.as_mut()) {
        snap.content.clear();
    }
    for text in [json::to_string(&r), serde_json::to_string(&r).unwrap()] {
        let back = json::parse(&text).unwrap();
        assert_eq!(back, r);
        assert_eq!((html::render(&back, None), junit::render(&back), markdown::render(&back, None)), rendered);
    }
}

fn junit_doc(xml: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("junit.xml does not parse: {e}\n{xml}"))
}

#[test]
fn junit_has_one_testcase_per_case_and_target_and_maps_verdicts() {
    for r in [zoo_results(), json::build(info(), replay_once().clone())] {
        let xml = junit::render(&r);
        let doc = junit_doc(&xml);
        let cases: Vec<roxmltree::Node> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
        assert_eq!(cases.len(), r.outcomes.len());
        let names: BTreeSet<&str> = cases.iter().filter_map(|n| n.attribute("name")).collect();
        assert_eq!(names.len(), r.outcomes.len(), "names are unique");
        let root = doc.root_element();
        assert_eq!(root.attribute("tests"), Some(r.outcomes.len().to_string().as_str()));
        let count = |tag: &str| doc.descendants().filter(|n| n.has_tag_name(tag)).count().to_string();
        assert_eq!(root.attribute("failures"), Some(count("failure").as_str()));
        assert_eq!(root.attribute("errors"), Some(count("error").as_str()));
        assert_eq!(root.attribute("skipped"), Some(count("skipped").as_str()));
        assert_eq!(doc.descendants().filter(|n| n.has_tag_name("testsuite")).count(), r.run.targets.len());
    }
    let r = zoo_results();
    let xml = junit::render(&r);
    let doc = junit_doc(&xml);
    let case = |name: &str| doc.descendants().find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name)).unwrap();
    let child = |name: &str, tag: &str| case(name).children().find(|n| n.has_tag_name(tag));
    let diverging = child("gemini::chat::diverging", "failure").expect("diverges is a failure");
    assert_eq!(diverging.attribute("type"), Some("diverges"));
    assert!(diverging.attribute("message").unwrap().starts_with("diverges (breaking)"));
    assert!(diverging.text().unwrap().contains(HOSTILE.trim_end_matches(['\u{1}', '\u{7f}'])), "the text keeps hostile content literally");
    assert_eq!(child("gemini::chat::fixed", "failure").unwrap().attribute("type"), Some("fixed"));
    assert_eq!(child("gemini::errors::broken", "error").unwrap().attribute("type"), Some("unmatched"));
    assert!(child("openai-reference::chat::diverging", "skipped").unwrap().attribute("message").unwrap().starts_with("not offered"));
    let known = case("gemini::streaming::known");
    assert!(known.children().all(|n| !n.has_tag_name("failure") && !n.has_tag_name("error")), "known passes");
    let prop = known.descendants().find(|n| n.has_tag_name("property")).unwrap();
    assert_eq!(prop.attribute("name"), Some("known_divergence"));
    assert!(prop.attribute("value").unwrap().starts_with("schema.client at $.choices[*].delta.tool_calls[*].index — no index"));
    // A pass carries nothing but a live run's snapshot note, as a property, never a failure.
    let pass = case("openai-reference::chat::fixed");
    assert!(pass.children().all(|n| !n.has_tag_name("failure") && !n.has_tag_name("error")), "a pass stays a pass");
    let props: Vec<_> = pass.descendants().filter(|n| n.has_tag_name("property")).map(|n| (n.attribute("name"), n.attribute("value"))).collect();
    assert_eq!(props, vec![(Some("snapshot_note"), Some("changed"))]);
    assert_eq!(child("openai-reference::errors::broken", "failure").unwrap().attribute("type"), Some("snapshot"));
}

#[test]
fn markdown_summary_is_a_table_hostile_text_cannot_break() {
    let r = zoo_results();
    let md = markdown::render(&r, None);
    assert!(md.starts_with("## compat report: 4 of 7 failing\n"));
    assert!(md.contains("| gemini | 0 | 1 | 1 | 1 | 1 | 0 |"), "{md}");
    assert!(md.contains("| openai-reference | 2 | 0 | 0 | 0 | 0 | 1 |"), "{md}");
    assert!(md.contains("| **all** | 2 | 1 | 1 | 1 | 1 | 1 |"), "{md}");
    assert!(!md.contains("<script") && !md.contains("<img"), "no raw HTML");
    for line in md.lines().filter(|l| l.starts_with("| gemini::") || l.starts_with("| openai-reference::")) {
        let cells = line.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 4, "three cells: {line}");
    }
    let clean = json::build(fixed_info(&["x"]), vec![]);
    assert!(markdown::render(&clean, None).starts_with("## compat report: all good"));
}

#[test]
fn html_shows_every_case_in_the_matrix_and_a_divergence_in_full() {
    let r = json::build(info(), replay_once().clone());
    let page = html::render(&r, None);
    let cases: BTreeSet<(&str, &str)> = r.outcomes.iter().map(|o| (o.feature.as_str(), o.id.as_str())).collect();
    assert_eq!(page.matches("<tr class=\"case\">").count(), cases.len(), "one matrix row per case");
    for o in &r.outcomes {
        assert!(page.contains(&format!("id=\"{}\"", html::anchor(&o.name()))), "a section for {}", o.name());
    }
    let page = html::render(&zoo_results(), None);
    let section = section_of(&page, "gemini::chat::diverging");
    assert!(section.contains("<details open>"), "a failing case is open");
    assert!(section.contains("<code class=\"path\">$.choices[0].message.role</code><span class=\"rule\">schema.client</span>"));
    assert!(section.contains("<span class=\"sev sev-breaking\">breaking</span>"));
    assert!(section.contains("<th>expected</th><td><code>&quot;assistant&quot;</code>"), "expected vs actual");
    assert!(section.contains("<span class=\"del\">-  &quot;a&quot;: 1,</span>"), "a structured expected/actual renders as a diff");
    assert!(section.contains("<h3>Snapshot changed</h3>") && section.contains("<span class=\"add\">+&lt;/pre&gt;&lt;script&gt;"));
    assert!(section.contains("why it matters: the SDKs cannot parse it"));
    assert!(section.contains("recorded 2025-01-01T00:00:00Z"), "fixture provenance");
    let known = section_of(&page, "gemini::streaming::known");
    assert!(known.contains("chunk 1, $.choices[0].delta.tool_calls[0].index") && known.contains("≈ known #0"));
    assert!(known.contains("<a href=\"https://github.com/openai/openai-python/issues/2806\""), "the link");
    assert!(known.contains("<ol class=\"chunks\" start=\"0\">") && known.contains("reassembled message:"));
    assert!(known.contains("synthesized from javascript:alert(1)") && !known.contains("href=\"javascript"));
    let error = section_of(&page, "gemini::errors::broken");
    assert!(error.contains("3 attempts · 2 retries · <b>flaky</b>"));
    assert!(section_of(&page, "openai-reference::chat::fixed").contains("pass^3: 3 of 3 runs passed"));
    for v in Verdict::ALL {
        assert!(page.contains(&format!("<td class=\"cell v v-{v}\"")) || v == Verdict::Skipped && page.contains("v-skipped"), "{v} cell");
    }
}

fn section_of<'a>(page: &'a str, name: &str) -> &'a str {
    let start = page.find(&format!("id=\"{}\"", html::anchor(name))).unwrap_or_else(|| panic!("no section for {name}"));
    let end = page[start..].find("</section>").unwrap();
    &page[start..start + end]
}

#[test]
fn html_escapes_everything_and_requests_nothing() {
    let page = html::render(&zoo_results(), Some(&compare(&zoo_results(), &zoo_results())));
    assert_eq!(page.matches("<script").count(), 1, "only the report's own script");
    assert_eq!(page.matches("</pre>").count(), page.matches("<pre").count(), "no content closes a <pre>");
    assert!(!page.contains("<img"), "no content opens an element");
    assert!(page.contains("&lt;img src=x onerror=&quot;document.title=&#39;PWNED-img&#39;"));
    for external in ["<link", "<iframe", "<object", "<embed", "@import", "url(", "http-equiv=\"refresh\""] {
        assert!(!page.contains(external), "no external request: {external}");
    }
    let fetching = regex::Regex::new(r"<[a-zA-Z][^>]*\s(src|srcset|poster|data|action)=").unwrap();
    assert!(!fetching.is_match(&page), "no element fetches anything");
    assert!(fetching.is_match("<img alt=\"\" src=\"x\">"), "the check would see one");
    assert!(page.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    // The converse: the escaping is what keeps it out — raw text would show up.
    assert!(!html::esc(HOSTILE).contains('<') && HOSTILE.contains('<'));
}

/// Two replays of the same fixtures: equal documents once the volatile values are masked, and byte-identical
/// reports once those values are equal; in the HTML they sit only in `<span data-volatile>`.
#[test]
fn two_replays_give_identical_reports_apart_from_volatile_values() {
    let (a, b) = (json::build(info(), replay_outcomes()), json::build(info(), replay_outcomes()));
    assert_eq!(json::mask_volatile(&doc_value(&a)), json::mask_volatile(&doc_value(&b)));
    let mask =
        |page: &str| regex::Regex::new(r"<span data-volatile>[^<]*</span>").unwrap().replace_all(page, "<span data-volatile>…</span>").into_owned();
    assert_eq!(mask(&html::render(&a, None)), mask(&html::render(&b, None)));
    let mask_xml = |x: &str| regex::Regex::new(r#" (time|timestamp)="[^"]*""#).unwrap().replace_all(x, "").into_owned();
    assert_eq!(mask_xml(&junit::render(&a)), mask_xml(&junit::render(&b)));
    let mut b2 = b.clone();
    b2.run.date = a.run.date.clone();
    for (x, y) in b2.outcomes.iter_mut().zip(&a.outcomes) {
        x.timing.duration_ms = y.timing.duration_ms;
    }
    assert_eq!(json::to_string(&a), json::to_string(&b2));
    assert_eq!(html::render(&a, None), html::render(&b2, None));
    assert_eq!(junit::render(&a), junit::render(&b2));
    assert_eq!(markdown::render(&a, None), markdown::render(&b2, None));
    // The mask is not blind: a change outside the marked places shows.
    let mut c = b2.clone();
    c.outcomes[0].title.push('!');
    assert_ne!(mask(&html::render(&a, None)), mask(&html::render(&c, None)));
}

fn with_verdict(r: &Results, name: &str, edit: impl Fn(&mut Outcome)) -> Results {
    let mut outcomes = r.outcomes.clone();
    edit(outcomes.iter_mut().find(|o| o.name() == name).unwrap());
    json::build(r.run.clone(), outcomes)
}

#[test]
fn changes_sort_regressions_fixes_new_and_removed() {
    let old = zoo_results();
    assert!(compare(&old, &old).is_empty(), "nothing changed");
    let new = with_verdict(&old, "openai-reference::chat::fixed", |o| {
        let j = o.judgement_mut().expect("a fixed case is judged");
        (j.verdict, j.severity) = (compat::outcome::Judged::Diverges, Some(compat::rules::Severity::Spec));
    });
    let c = compare(&old, &new);
    assert_eq!(c.regressions.len(), 1);
    assert_eq!(c.regressions[0].transition(), "pass → diverges (spec)");
    let back = compare(&new, &old);
    assert!(back.regressions.is_empty());
    assert_eq!(back.fixes.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["openai-reference::chat::fixed"]);
    // Still diverging, but on a new path: a regression; the same findings again: none.
    let worse = with_verdict(&old, "gemini::chat::diverging", |o| {
        let j = o.judgement_mut().expect("a diverging case is judged");
        let mut f = j.findings[0].clone();
        f.path = "$.id".into();
        j.findings.push(f);
    });
    let c = compare(&old, &worse);
    assert_eq!(c.regressions.len(), 1);
    assert!(c.regressions[0].note.contains("new: schema.client at $.id"), "{:?}", c.regressions[0]);
    assert!(compare(&worse, &old).regressions.is_empty());
    // New and removed cases.
    let mut fewer = old.outcomes.clone();
    let gone = fewer.remove(0);
    let fewer = json::build(old.run.clone(), fewer);
    let c = compare(&old, &fewer);
    assert_eq!((c.removed.len(), c.added.len(), c.regressions.len()), (1, 0, 0));
    assert_eq!(c.removed[0].name, gone.name());
    assert_eq!(compare(&fewer, &old).added[0].name, gone.name());
    // known → fixed is a fix; pass → known is another change.
    let fixed = with_verdict(&old, "gemini::streaming::known", |o| {
        o.judgement_mut().expect("a known case is judged").verdict = compat::outcome::Judged::Fixed
    });
    assert_eq!(compare(&old, &fixed).fixes.len(), 1);
    assert_eq!(compare(&fixed, &old).other.len(), 1);
}

fn compat_bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_compat"))
}

#[test]
fn compat_diff_fails_on_a_regression_only() {
    let dir = tempfile::tempdir().unwrap();
    let old = zoo_results();
    let new = with_verdict(&old, "openai-reference::chat::fixed", |o| {
        o.state = compat::outcome::State::Broken(compat::outcome::RunError {
            kind: compat::outcome::ErrorKind::Transport,
            message: "reset".into(),
            diff: None,
        })
    });
    let (p_old, p_new, p_bad) = (dir.path().join("old.json"), dir.path().join("new.json"), dir.path().join("bad.json"));
    std::fs::write(&p_old, json::to_string(&old)).unwrap();
    std::fs::write(&p_new, json::to_string(&new)).unwrap();
    std::fs::write(&p_bad, "{\"format\": \"compat-results\", \"version\": 99}").unwrap();
    let run = |a: &std::path::Path, b: &std::path::Path| compat_bin().arg("diff").arg(a).arg(b).output().unwrap();
    let same = run(&p_old, &p_old);
    assert_eq!(same.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&same.stdout).contains("0 regressions"));
    let worse = run(&p_old, &p_new);
    assert_eq!(worse.status.code(), Some(1));
    let text = String::from_utf8_lossy(&worse.stdout);
    assert!(text.contains("regressions:\n  openai-reference::chat::fixed: pass → error"), "{text}");
    let better = run(&p_new, &p_old);
    assert_eq!(better.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&better.stdout).contains("fixes:\n  openai-reference::chat::fixed: error → pass"));
    let bad = run(&p_old, &p_bad);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("version 99 is not supported"));
}

#[test]
fn a_baseline_puts_the_changes_at_the_top_of_html_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let old = zoo_results();
    let new = with_verdict(&old, "openai-reference::chat::fixed", |o| {
        o.state = compat::outcome::State::Broken(compat::outcome::RunError {
            kind: compat::outcome::ErrorKind::Transport,
            message: "reset".into(),
            diff: None,
        })
    });
    let changes = write_reports(dir.path(), &new, Some(&old)).unwrap().expect("changes with a baseline");
    assert_eq!(changes.regressions.len(), 1);
    let page = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    let (at, matrix) = (page.find("<h2>Changed since 2025-01-02T03:04:05Z: 1 regression").unwrap(), page.find("Compatibility matrix").unwrap());
    assert!(at < matrix);
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.find("### Changes since").unwrap() < md.find("### Failing").unwrap());
    assert!(md.contains("| regressions | openai-reference::chat::fixed | pass → error |"));
    // Without a baseline there is no such section.
    assert!(write_reports(dir.path(), &new, None).unwrap().is_none());
    assert!(!std::fs::read_to_string(dir.path().join("index.html")).unwrap().contains("Changed since"));
}

fn plan(outcomes: &[Outcome]) -> Vec<ResultSlot> {
    outcomes.iter().map(|o| ResultSlot { name: o.name(), skipped: (o.verdict() == Verdict::Skipped).then(|| o.clone()) }).collect()
}

#[test]
fn one_process_assembles_its_result_files_when_it_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let zoo = zoo();
    let c = Collector::with_run(dir.path(), fixed_info(&["gemini", "openai-reference"]), plan(&zoo), &Selection::default(), None, None);
    for o in zoo.iter().filter(|o| o.verdict() != Verdict::Skipped) {
        assert_eq!(c.record(o).unwrap(), None, "nothing is assembled before the end");
    }
    assert!(c.run_dir().join(result_file_name("gemini::chat::diverging")).is_file());
    assert!(!dir.path().join("index.html").exists());
    let index = c.finish().unwrap().unwrap();
    assert!(index.is_file() && !c.run_dir().exists(), "reports written, run directory removed");
    let r = compat::report::write::load_results(&dir.path().join("results.json")).unwrap();
    assert_eq!(r.outcomes.len(), zoo.len(), "the skipped case comes from the plan");
    for f in ["junit.xml", "summary.md"] {
        assert!(dir.path().join(f).is_file());
    }
    // A filter leaves out the skipped outcomes it does not select.
    let filtered = Selection { filter: Some("gemini::".into()), ..Selection::default() };
    let c = Collector::with_run(dir.path(), fixed_info(&["gemini"]), plan(&zoo), &filtered, None, None);
    c.record(&zoo[0]).unwrap();
    c.finish().unwrap();
    let r = compat::report::write::load_results(&dir.path().join("results.json")).unwrap();
    assert_eq!(r.outcomes.iter().map(Outcome::name).collect::<Vec<_>>(), [zoo[0].name()]);
}

#[test]
fn under_nextest_the_process_writing_the_last_result_assembles() {
    let dir = tempfile::tempdir().unwrap();
    let zoo = zoo();
    let running: Vec<&Outcome> = zoo.iter().filter(|o| o.verdict() != Verdict::Skipped).collect();
    // One collector per "process", all with the same run id, each recording one trial.
    let process = || Collector::with_run(dir.path(), fixed_info(&["gemini"]), plan(&zoo), &Selection::default(), Some("run-1"), None);
    for (i, o) in running.iter().enumerate() {
        let assembled = process().record(o).unwrap();
        assert_eq!(assembled.is_some(), i + 1 == running.len(), "only the last trial assembles ({})", o.name());
        assert_eq!(process().finish().unwrap(), None, "finish leaves it to the trials");
    }
    let r = compat::report::write::load_results(&dir.path().join("results.json")).unwrap();
    assert_eq!(r.outcomes.len(), zoo.len());
}

#[test]
fn a_broken_result_file_shows_as_an_error_not_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let c = Collector::with_run(dir.path(), fixed_info(&["gemini"]), vec![], &Selection::default(), None, None);
    c.record(&zoo()[0]).unwrap();
    std::fs::write(c.run_dir().join("half.json"), "{\"target\": ").unwrap();
    c.finish().unwrap();
    let r = compat::report::write::load_results(&dir.path().join("results.json")).unwrap();
    assert_eq!(r.outcomes.len(), 2);
    let broken = r.outcomes.iter().find(|o| o.id == "half").unwrap();
    assert_eq!(broken.verdict(), Verdict::Error);
    assert!(broken.error().unwrap().message.contains("half.json"));
}

#[test]
fn stale_run_directories_are_cleaned_and_fresh_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join(compat::collect::RESULTS_DIR);
    let (stale, fresh) = (results.join("old-run"), results.join("other-run"));
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::create_dir_all(&fresh).unwrap();
    let long_ago = std::time::SystemTime::now() - compat::collect::STALE_AFTER - std::time::Duration::from_secs(60);
    std::fs::File::open(&stale).unwrap().set_modified(long_ago).unwrap();
    let c = Collector::with_run(dir.path(), fixed_info(&["gemini"]), vec![], &Selection::default(), None, None);
    c.record(&zoo()[0]).unwrap();
    c.finish().unwrap();
    assert!(!stale.exists(), "a run directory untouched for long is removed");
    assert!(fresh.exists(), "another run's directory in progress is kept");
}

#[test]
fn compat_run_writes_the_four_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = compat_bin().args(["run", "--reports"]).arg(dir.path()).arg("chat::basic").output().unwrap();
    for f in ["index.html", "junit.xml", "results.json", "summary.md"] {
        assert!(dir.path().join(f).is_file(), "{f}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let r = compat::report::write::load_results(&dir.path().join("results.json")).unwrap();
    assert!(!r.outcomes.is_empty() && r.outcomes.iter().all(|o| o.name().contains("chat::basic")));
    // The exit code is the outcomes' own: 1 when one fails, 0 otherwise (never a crash's 101).
    let failing = r.outcomes.iter().any(|o| o.fails());
    assert_eq!(out.status.code(), Some(i32::from(failing)), "{}", String::from_utf8_lossy(&out.stdout));
    let bad = compat_bin().args(["run", "--baseline"]).arg(dir.path().join("missing.json")).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "an unreadable baseline stops the run before it starts");
}

#[test]
fn live_notes_show_in_the_html_and_markdown_without_failing() {
    let results = reports_support::zoo_results();
    let page = html::render(&results, None);
    for shown in [
        "queued behind the pacer <span data-volatile>1.20 s</span>; on the wire: first byte <span data-volatile>80",
        "≠ snapshot changed",
        "Snapshot changed (a note)",
        "not due on this answer (it shows only sometimes), in 0 of 3 runs",
    ] {
        assert!(page.contains(shown), "the page lacks `{shown}`");
    }
    let summary = markdown::render(&results, None);
    assert!(summary.contains("### Snapshot changes (notes, not failures)\n\nopenai-reference::chat::fixed"), "{summary}");
}

#[test]
fn the_census_escapes_servers_endpoints_and_names() {
    let mut doc = zoo_results();
    let mut ni = base("gemini", "video-generation", "create", "diverges");
    ni["severity"] = json!("breaking");
    ni["findings"] = json!([finding("status", "breaking", "$", "200", "404")]);
    ni["exchange"] = json!({"request": {"method": "POST", "path": "<img src=x onerror=alert(1)>"}, "status": 404, "body": {"kind": "empty"}});
    ni["fixture"] = json!({"path": "f.json", "origin": {"kind": "recorded", "date": "d", "model": "m", "base_url": "http://127.0.0.1/",
        "server": HOSTILE}});
    doc.outcomes.push(outcome(ni));
    let doc = compat::report::json::build(doc.run.clone(), doc.outcomes);
    let page = html::render(&doc, None);
    let census = &page[page.find("<section id=\"census\">").unwrap()..page.find("<header>").unwrap()];
    assert!(census.contains("∅ not implemented: &lt;img src=x onerror=alert(1)&gt;"), "the endpoint, escaped");
    assert!(census.contains("<small class=\"server\">&lt;/pre&gt;&lt;script&gt;"), "the server, escaped");
    assert_eq!(page.matches("<script").count(), 1, "only the report's own script");
    assert!(!page.contains("<img"));
}
