//! Reports that scale: a body past the limit is cut with its size and a pointer into results.json that
//! resolves to the whole value; past 1,000 outcomes, passing sections are compact and failing ones complete,
//! every matrix link still has its section, and results.json is written compact yet reads back equal.

mod reports_support;

use compat::outcome::Outcome;
use compat::report::html;
use compat::report::json::{self, Results};
use reports_support::*;
use serde_json::{Value, json};

/// An outcome with a JSON response body of `numbers` floats.
fn with_body(target: &str, id: &str, verdict: &str, numbers: usize) -> Outcome {
    let mut v = base(target, "embeddings", id, verdict);
    let vector: Vec<f64> = (0..numbers).map(|i| i as f64 / 7.0).collect();
    v["exchange"] = json!({
        "request": {"method": "POST", "path": "embeddings", "body": {"model": "m", "input": "x"}},
        "status": 200,
        "body": {"kind": "json", "value": {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": vector}]}}
    });
    outcome(v)
}

#[test]
fn a_long_body_is_cut_with_its_size_and_a_pointer_that_resolves() {
    let r = json::build(fixed_info(&["a"]), vec![with_body("a", "big", "pass", 20_000), with_body("a", "small", "pass", 3)]);
    let page = html::render(&r, None);
    let big = section(&page, "a::embeddings::big");
    let note = regex::Regex::new(r"cut at (\d+) of (\d+) bytes; the whole value is in <code>results.json</code> at <code>([^<]+)</code>").unwrap();
    let caps = note.captures(big).expect("a cut note");
    let (cut, total): (usize, usize) = (caps[1].parse().unwrap(), caps[2].parse().unwrap());
    assert!(cut <= 64 * 1024 && total > cut, "{cut} of {total}");
    let doc: Value = serde_json::from_str(&json::to_string(&r)).unwrap();
    let whole = doc.pointer(&caps[3]).expect("the pointer resolves in results.json");
    assert_eq!(serde_json::to_string_pretty(whole).unwrap().len(), total, "the size is the whole pretty body's");
    assert!(!section(&page, "a::embeddings::small").contains("cut at"), "a short body is whole");
}

fn section<'a>(page: &'a str, name: &str) -> &'a str {
    let start = page.find(&format!("id=\"{}\"", html::anchor(name))).unwrap_or_else(|| panic!("no section for {name}"));
    &page[start..start + page[start..].find("</section>").unwrap()]
}

/// 1,200 outcomes: 1,100 passing, 100 diverging.
fn large() -> Results {
    let mut outcomes = Vec::new();
    for i in 0..1200 {
        let verdict = if i % 12 == 0 { "diverges" } else { "pass" };
        let mut o = with_body(["a", "b", "c"][i % 3], &format!("case_{i:04}"), verdict, 600);
        if verdict == "diverges" {
            let j = o.judgement_mut().expect("a diverging outcome is judged");
            j.findings.push(serde_json::from_value(finding("schema.client", "breaking", "$.data", "array", "null")).unwrap());
            j.severity = serde_json::from_value(json!("breaking")).unwrap(); // the type is named nowhere: it is moving modules
        }
        outcomes.push(o);
    }
    json::build(fixed_info(&["a", "b", "c"]), outcomes)
}

#[test]
fn past_a_thousand_outcomes_passing_sections_are_compact_and_failing_ones_complete() {
    let r = large();
    let page = html::render(&r, None);
    for o in &r.outcomes {
        let s = section(&page, &o.name());
        let index = r.outcomes.iter().position(|x| x.name() == o.name()).unwrap();
        if o.verdict().fails() {
            assert!(s.contains("<h3>Findings</h3>") && s.contains("Response: 200"), "complete: {}", o.name());
            assert!(s.contains(&format!("at <code>/outcomes/{index}/exchange/body/value</code>")), "cut at 2 KB: {}", o.name());
        } else {
            assert!(!s.contains("Response:"), "compact: {}", o.name());
            assert!(s.contains(&format!("in full: <code>results.json</code> at <code>/outcomes/{index}/</code>")), "{}", o.name());
        }
    }
    let small = html::render(&json::build(fixed_info(&["a"]), r.outcomes.iter().filter(|o| o.target == "a").take(50).cloned().collect()), None);
    assert!(!small.contains("in full: <code>results.json</code>"), "a small report is complete");
    assert_eq!(page.matches("</pre>").count(), page.matches("<pre").count());
    assert!(page.len() < 1200 * 2500, "{} bytes", page.len());
}

#[test]
fn a_large_results_json_is_compact_and_reads_back_equal() {
    let r = large();
    let text = json::to_string(&r);
    assert!(!text.contains("\n  "), "no indentation past 1,000 outcomes");
    assert_eq!(json::parse(&text).unwrap(), r);
    let small = json::build(fixed_info(&["a"]), vec![with_body("a", "x", "pass", 3)]);
    assert!(json::to_string(&small).contains("\n  \"format\""), "a small document stays pretty");
}

/// The census at the scale issue 18 aims for: 10 implementations and a control × 100 cases in 10 areas, with
/// every standing (exact, typed, SDK-safe, none, not implemented, error, skipped) and fixtures recorded from a
/// named server or synthesized.
fn census_scale() -> Results {
    let mut names: Vec<String> = (0..10).map(|i| format!("impl-{i}")).collect();
    names.push("control".into());
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut info = fixed_info(&refs);
    info.targets[10].control = true;
    let mut outcomes = Vec::new();
    for (t, name) in names.iter().enumerate() {
        for c in 0..100 {
            let (feature, id) = (format!("area-{}", c / 10), format!("case_{c:02}"));
            let kind = if t == 10 { 0 } else { (c + t * 3) % 7 };
            let mut v = match kind {
                5 => base(name, &feature, &id, "error"),
                6 => base(name, &feature, &id, "skipped"),
                _ => base(name, &feature, &id, if kind == 0 { "pass" } else { "known" }),
            };
            let sev = ["", "spec", "typed", "breaking"];
            if (1..4).contains(&kind) {
                v["severity"] = json!(sev[kind]);
                v["findings"] = json!([finding("schema.spec", sev[kind], "$.x", "1", "2")]);
            }
            if kind == 4 {
                v["verdict"] = json!("diverges");
                v["severity"] = json!("breaking");
                v["findings"] = json!([finding("status", "breaking", "$", "200", "404")]);
                v["exchange"] = json!({"request": {"method": "POST", "path": "videos"}, "status": 404, "body": {"kind": "empty"}});
            }
            v["fixture"] = if t % 2 == 0 {
                json!({"path": "f.json", "origin": {"kind": "recorded", "date": "2026-01-01T00:00:00Z", "model": "m", "base_url": "http://127.0.0.1:8000/v1/", "server": format!("server-{t} 1.{t}")}})
            } else {
                json!({"path": "f.json", "origin": {"kind": "synthesized", "basis": "docs"}})
            };
            outcomes.push(outcome(v));
        }
    }
    json::build(info, outcomes)
}

#[test]
fn the_census_of_ten_implementations_by_a_hundred_cases_is_small_fast_and_first() {
    let doc = census_scale();
    let started = std::time::Instant::now();
    let page = compat::report::html::render(&doc, None);
    let elapsed = started.elapsed();
    let census = &page[page.find("<section id=\"census\">").unwrap()..];
    let census = &census[..census.find("</section>").unwrap()];
    // 11 rows (all and 10 areas) × (interop, 10 implementations, the control).
    assert_eq!(census.matches("<td class=\"tiers").count(), 11 * 12);
    assert!(census.len() < 120 * 1024, "census {} bytes", census.len());
    let at = page.find("<section id=\"census\">").unwrap();
    assert!(at - page.find("<body>").unwrap() < 1024, "the census is on the first screen: {}", &page[page.find("<body>").unwrap()..at]);
    assert!(census.contains("server-4 1.4") && census.contains("100 recorded") && census.contains("100 synthesized"));
    assert!(census.contains("∅ not implemented: videos"));
    // Debug build, two shared cores: the whole page (1,100 outcomes) renders well under this.
    assert!(elapsed < std::time::Duration::from_secs(5), "rendered in {elapsed:?}");
    // Kept under target/ for a look (`target/tmp/census-10x100.html`).
    std::fs::write(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("census-10x100.html"), &page).unwrap();
    eprintln!("10 × 100: page {} KB, census {} KB, rendered in {elapsed:?}", page.len() / 1024, census.len() / 1024);
}
