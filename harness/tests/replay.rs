//! Replay end to end, on throwaway projects: an unmatched request is an error with a diff, a Gemini fixture
//! edited to lose its known difference turns the verdict `fixed`, and every case file in the repository
//! agrees with the published case schema (`cases/case.schema.json`).

use std::path::Path;

use compat::case::load::{load_case_file, parse_case};
use compat::outcome::{ErrorKind, Verdict};
use compat::suite::{Suite, default_root, replay_context};
use serde_json::{Value, json};

const TARGETS: &str = "targets:\n  t:\n    base_url: https://example.invalid/v1/\n    auth: { env: NO_KEY_NEEDED }\n    models: { chat: model-a }\n";
const CASE: &str = "id: hello\nfeature: selftest\ntitle: hello\ndoc: none\nrequest:\n  path: chat/completions\n  body: { model: \"{{model}}\", messages: [{ role: user, content: hi }] }\nexpect:\n  snapshot: false\n";

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn run_one(root: &Path, target: &str, filter: &str) -> compat::outcome::Outcome {
    let suite = Suite::load(root).unwrap_or_else(|e| panic!("{e}"));
    let ctx = replay_context(root).unwrap();
    let case = suite.cases.iter().find(|c| c.case.name() == filter).expect("case is in the suite").clone();
    let target = suite.target(target).unwrap().clone();
    tokio::runtime::Runtime::new().unwrap().block_on(compat::run::run_case(&ctx, &case, &target))
}

#[test]
fn an_unmatched_request_is_an_error_with_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cases/targets.yaml", TARGETS);
    write(dir.path(), "cases/selftest/hello.yaml", CASE);
    let fixture = json!({
        "origin": {"kind": "synthesized", "basis": "test"},
        "request": {"method": "POST", "path": "chat/completions", "body": {"model": "model-a", "messages": [{"role": "user", "content": "hello"}]}},
        "response": {"status": 200, "body": {"choices": []}}
    });
    write(dir.path(), "fixtures/t/selftest/hello.json", &serde_json::to_string_pretty(&fixture).unwrap());
    let o = run_one(dir.path(), "t", "selftest::hello");
    assert_eq!(o.verdict, Verdict::Error);
    let e = o.error.unwrap();
    assert_eq!(e.kind, ErrorKind::Unmatched);
    assert_eq!(e.message, "the request matches no fixture: fixtures/t/selftest/hello.json was recorded for a different request");
    assert_eq!(
        e.diff.unwrap(),
        "--- recorded\n+++ sent\n@@ -4,7 +4,7 @@\n   \"messages\": [\n     {\n       \"role\": \"user\",\n-      \"content\": \"hello\"\n+      \"content\": \"hi\"\n     }\n   ]\n }\n"
    );
    // With the recorded request fixed, the same case passes.
    let mut fixed = fixture.clone();
    fixed["request"]["body"]["messages"][0]["content"] = json!("hi");
    write(dir.path(), "fixtures/t/selftest/hello.json", &serde_json::to_string_pretty(&fixed).unwrap());
    assert_eq!(run_one(dir.path(), "t", "selftest::hello").verdict, Verdict::Pass);
}

#[test]
fn a_missing_fixture_is_an_error_naming_where_it_belongs() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cases/targets.yaml", TARGETS);
    write(dir.path(), "cases/selftest/hello.yaml", CASE);
    std::fs::create_dir_all(dir.path().join("fixtures/t")).unwrap();
    let o = run_one(dir.path(), "t", "selftest::hello");
    assert_eq!((o.verdict, o.error.as_ref().unwrap().kind), (Verdict::Error, ErrorKind::Fixture));
    assert!(o.error.unwrap().message.starts_with("no fixture at fixtures/t/selftest/hello.json"));
}

/// Copies the real streaming tool-call case and its Gemini fixture, then gives the tool-call delta its
/// `index`: the known divergence (gemini-compat.md #9) is no longer observed, so the verdict is `fixed`.
#[test]
fn removing_a_known_difference_from_a_gemini_fixture_turns_the_verdict_fixed() {
    let repo = default_root();
    let dir = tempfile::tempdir().unwrap();
    for rel in ["cases/targets.yaml", "cases/streaming/tool_call.yaml", "fixtures/gemini/streaming/tool_call.json"] {
        write(dir.path(), rel, &std::fs::read_to_string(repo.join(rel)).unwrap());
    }
    assert_eq!(run_one(dir.path(), "gemini", "streaming::tool_call").verdict, Verdict::Known, "the copy behaves as the original");

    let path = dir.path().join("fixtures/gemini/streaming/tool_call.json");
    let mut fixture: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let call = &mut fixture["response"]["events"][0]["data"]["choices"][0]["delta"]["tool_calls"][0];
    assert!(call.get("index").is_none(), "the fixture shows the known difference");
    call["index"] = json!(0);
    std::fs::write(&path, serde_json::to_string_pretty(&fixture).unwrap()).unwrap();

    let o = run_one(dir.path(), "gemini", "streaming::tool_call");
    assert_eq!(o.verdict, Verdict::Fixed);
    let gone: Vec<&str> = o.known.iter().filter(|k| k.observed == 0).map(|k| k.divergence.reason.as_str()).collect();
    assert_eq!(gone, vec!["Gemini's streamed tool-call deltas carry no `index`; openai-python raises a TypeError assembling them"]);
    let text = compat::report::terminal::render_outcome(&o);
    assert!(text.starts_with("fixed: cases/streaming/tool_call.yaml:2 — gemini::streaming::tool_call\n"), "{text}");
    assert!(text.contains("fixed: known divergence `schema.client at $.choices[*].delta.tool_calls[*].index`"), "{text}");
}

#[test]
fn every_case_file_agrees_with_the_case_schema() {
    let repo = default_root();
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(repo.join("cases/case.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the case schema compiles");
    let files = compat::case::load::discover(&repo).unwrap();
    assert!(files.len() >= 2, "cases were discovered");
    for rel in &files {
        load_case_file(&repo, rel).unwrap_or_else(|e| panic!("{e}"));
        let yaml: Value = serde_saphyr::from_str(&std::fs::read_to_string(repo.join(rel)).unwrap()).unwrap();
        let errors: Vec<String> = validator.iter_errors(&yaml).map(|e| format!("{}: {e}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{rel} does not match cases/case.schema.json: {errors:?}");
    }
    // And the schema rejects what the loader rejects.
    let bad = "id: t\nfeature: f\ntitle: x\ndoc: y\nrequest: { path: x }\nexpect: { staus: 200 }\n";
    assert!(parse_case("cases/f/t.yaml", bad).is_err());
    let yaml: Value = serde_saphyr::from_str(bad).unwrap();
    assert!(!validator.is_valid(&yaml), "the schema rejects unknown keys too");
}
