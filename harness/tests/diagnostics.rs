//! Loud failures: diagnostics point at the real line of nested keys, a response in any script ends in a verdict
//! (never a panic), and a panic that still happens lands on the case's own trial as a `harness` error.

use std::path::Path;
use std::process::Command;

use compat::case::load::parse_case;
use compat::check::{Observed, evaluate};
use compat::outcome::{ErrorKind, Verdict, decide};
use compat::schema::SchemaSet;
use compat::suite::Suite;
use serde_json::{Value, json};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const TARGETS: &str = "targets:\n  t:\n    base_url: https://example.invalid/v1/\n    auth: { env: NO_KEY_NEEDED }\n    models: { chat: model-a }\n";
const CASE: &str = "id: hello\nfeature: selftest\ntitle: hello\ndoc: none\nrequest:\n  path: chat/completions\n  body: { model: \"{{model}}\", messages: [{ role: user, content: hi }] }\nexpect:\n  snapshot: false\n";

#[test]
fn a_wrong_expect_schema_value_points_at_its_line() {
    let text =
        "id: t\nfeature: selftest\ntitle: t\ndoc: none\nrequest:\n  path: chat/completions\nexpect:\n  status: 200\n  schema: chat.completon\n";
    let e = parse_case("cases/selftest/t.yaml", text).unwrap_err();
    assert_eq!((e.line, e.col), (9, 11), "{e}");
    assert!(e.message.contains("unknown value `chat.completon`: did you mean `chat.completion`?"), "{e}");
    assert_eq!(e.source_line.as_deref(), Some("  schema: chat.completon"));
}

#[test]
fn a_cross_key_rule_points_at_the_nested_key_not_line_one() {
    let text = "id: t\nfeature: selftest\ntitle: t\ndoc: none\nrequest:\n  path: chat/completions\n  body: { stream: true }\nexpect:\n  status: 200\n  schema: chat.completion\n";
    let e = parse_case("cases/selftest/t.yaml", text).unwrap_err();
    assert_eq!((e.line, e.col), (10, 3), "{e}");
    let both = "id: t\nfeature: selftest\ntitle: t\ndoc: none\nrequest:\n  path: chat/completions\n  body: {}\n  raw_body: '{'\nexpect: {}\n";
    assert_eq!(parse_case("cases/selftest/t.yaml", both).unwrap_err().line, 8);
}

#[test]
fn a_known_divergence_naming_an_unknown_rule_does_not_load() {
    let text = format!("{CASE}known_divergences:\n  - targets: [t]\n    rule: schema.clinet\n    reason: r\n    link: l\n");
    let e = parse_case("cases/selftest/hello.yaml", &text).unwrap_err();
    assert_eq!((e.line, e.col, e.message.as_str()), (12, 5, "unknown rule `schema.clinet` in a known divergence"), "{e}");
    assert!(e.help.as_deref().unwrap().starts_with("did you mean `schema.client`?"), "{e}");
    // A prefix at a `.` boundary is a rule family, and loads.
    parse_case("cases/selftest/hello.yaml", &text.replace("schema.clinet", "schema")).unwrap();
}

#[test]
fn an_override_pattern_matching_no_case_is_a_load_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let targets = format!(
        "{TARGETS}    overrides:\n      - cases: [\"selftest::hello\"]\n        models: {{ chat: b }}\n      - cases: [\"selftest::helo\"]\n        skip: typo\n"
    );
    write(dir.path(), "cases/targets.yaml", &targets);
    write(dir.path(), "cases/selftest/hello.yaml", CASE);
    let e = Suite::load(dir.path()).err().expect("the typo is refused");
    assert_eq!((e.file.as_str(), e.line, e.col), ("cases/targets.yaml", 9, 17), "{e}");
    assert_eq!(e.message, "target `t`: override pattern `selftest::helo` matches no case");
    assert!(e.to_string().contains("= help: did you mean `selftest::hello`?"), "{e}");
    // Fixed, the suite loads.
    write(dir.path(), "cases/targets.yaml", &targets.replace("helo", "*"));
    Suite::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_fixture_with_two_bodies_points_at_the_second() {
    let text = "{\n  \"origin\": {\"kind\": \"synthesized\", \"basis\": \"t\"},\n  \"request\": {\"method\": \"GET\", \"path\": \"models\"},\n  \"response\": {\n    \"status\": 200,\n    \"body\": {},\n    \"raw_body\": \"x\"\n  }\n}\n";
    let e = compat::fixture::parse_fixture("fixtures/t/a/b.json", text).unwrap_err();
    assert_eq!((e.line, e.col), (7, 5), "{e}");
}

/// `load_fixtures` parses a well-formed file once, as either form at a time: for every fixture of the project it
/// returns what the form's own parser returns, and a broken file gets that parser's positioned error.
#[test]
fn the_fixture_loader_agrees_with_each_forms_parser() {
    use compat::fixture::{load_fixtures, parse_fixture, parse_sequence};
    let root = compat::suite::default_root();
    let mut seen = 0;
    let mut dirs = vec![root.join("fixtures")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let rel = path.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let sequence = serde_json::from_str::<Value>(&text).unwrap().get("exchanges").is_some();
            let by_form = if sequence { parse_sequence(&rel, &text).map(|s| s.into_fixtures()) } else { parse_fixture(&rel, &text).map(|f| vec![f]) };
            assert_eq!(load_fixtures(&root, &rel).map(Option::unwrap), by_form, "{rel}");
            seen += 1;
        }
    }
    assert!(seen > 400, "only {seen} fixtures found");

    let dir = tempfile::tempdir().unwrap();
    let origin = r#""origin": {"kind": "synthesized", "basis": "t"}"#;
    let broken = [
        (
            "two-bodies",
            format!(
                r#"{{{origin}, "request": {{"method": "GET", "path": "models"}}, "response": {{"status": 200, "body": {{}}, "raw_body": "x"}}}}"#
            ),
        ),
        ("no-response", format!(r#"{{{origin}, "request": {{"method": "GET", "path": "models"}}}}"#)),
        ("no-exchanges", format!(r#"{{{origin}, "exchanges": []}}"#)),
        ("both-forms", format!(r#"{{{origin}, "request": {{"method": "GET", "path": "models"}}, "exchanges": []}}"#)),
        (
            "sequence-two-bodies",
            format!(
                r#"{{{origin}, "exchanges": [{{"request": {{"method": "GET", "path": "m"}}, "response": {{"status": 200, "body": 1, "events": []}}}}]}}"#
            ),
        ),
        ("typo", format!(r#"{{{origin}, "request": {{"method": "GET", "path": "models"}}, "respons": {{"status": 200}}}}"#)),
    ];
    for (name, text) in broken {
        let rel = format!("fixtures/t/a/{name}.json");
        write(dir.path(), &rel, &text);
        let by_form = if text.contains("\"exchanges\"") { parse_sequence(&rel, &text).map(|_| ()) } else { parse_fixture(&rel, &text).map(|_| ()) };
        let expected = by_form.expect_err(name);
        assert_eq!(load_fixtures(dir.path(), &rel).map(|_| ()).expect_err(name), expected, "{name}");
    }
}

/// A structured-output answer in Japanese that violates its schema with a long string: the validation message
/// quotes it and is shortened — by characters, so the finding is made, not a panic.
#[test]
fn a_long_non_ascii_structured_output_violation_is_a_finding_not_a_panic() {
    let schema = json!({"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}}, "required": ["name"]});
    let body = json!({"model": "{{model}}", "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "E", "strict": true, "schema": schema}}});
    let text = format!(
        "id: t\nfeature: selftest\ntitle: t\ndoc: none\nrequest:\n  path: chat/completions\n  body: {body}\nexpect:\n  schema: chat.completion\n"
    );
    let c = parse_case("cases/selftest/t.yaml", &text).unwrap();
    let long = "東京の秋の祭りは十月に開かれ、多くの人々が集まります。".repeat(12);
    let content = json!({"name": long}).to_string();
    let response = json!({"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": [{"index": 0, "finish_reason": "stop",
        "logprobs": null, "message": {"role": "assistant", "content": content, "refusal": null}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
    let observed = Observed::from_bytes(200, vec![("content-type".into(), "application/json".into())], response.to_string().as_bytes());
    let step = &c.case.steps[0].value;
    let mut findings = evaluate(&sent_as_written(&step.request), &step.expect, &observed, &SchemaSet::builtin().unwrap()).findings;
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!((findings[0].rule.as_str(), findings[0].path.as_str()), ("semantic.structured_output", "$.choices[0].message.content → $.name"));
    assert!(findings[0].message.chars().count() <= 200 && findings[0].message.contains("東京"), "{}", findings[0].message);
    assert_eq!(Verdict::from(decide(&c.case, "t", &mut findings, |_, _| true).verdict), Verdict::Diverges);
}

/// `COMPAT_INJECT_PANIC` (builds with the `test-hooks` feature, as the tests' are) makes one case's checks panic: the run goes on, and the panic is that
/// case's own outcome — `error (harness)` under its trial name — in the terminal and in results.json.
#[test]
fn a_panic_in_one_case_is_a_harness_error_on_that_case() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cases/targets.yaml", TARGETS);
    write(dir.path(), "cases/selftest/hello.yaml", CASE);
    write(dir.path(), "cases/selftest/other.yaml", &CASE.replace("id: hello", "id: other"));
    let fixture = json!({
        "origin": {"kind": "synthesized", "basis": "test"},
        "request": {"method": "POST", "path": "chat/completions", "body": {"model": "model-a", "messages": [{"role": "user", "content": "hi"}]}},
        "response": {"status": 200, "body": {"choices": []}}
    });
    for id in ["hello", "other"] {
        write(dir.path(), &format!("fixtures/t/selftest/{id}.json"), &fixture.to_string());
    }
    let out = Command::new(env!("CARGO_BIN_EXE_compat"))
        .arg("--root")
        .arg(dir.path())
        .arg("run")
        .env("COMPAT_INJECT_PANIC", "t::selftest::hello")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("t::selftest::hello"), "{stdout}");
    let results: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("reports/results.json")).unwrap()).unwrap();
    let outcomes = results["outcomes"].as_array().unwrap();
    let hello = outcomes.iter().find(|o| o["id"] == "hello").unwrap();
    assert_eq!((hello["target"].as_str(), hello["verdict"].as_str()), (Some("t"), Some("error")));
    assert_eq!(hello["error"]["kind"], json!(ErrorKind::Harness.as_str()));
    assert!(hello["error"]["message"].as_str().unwrap().contains("injected by COMPAT_INJECT_PANIC"));
    let other = outcomes.iter().find(|o| o["id"] == "other").unwrap();
    assert_ne!(other["verdict"], json!("error"), "the other case ran on");
    assert!(outcomes.iter().all(|o| o["target"] != "load"), "no load:: outcome stands for the panic");
}

/// A case's request as written (placeholders unresolved), as the checks take it.
fn sent_as_written(r: &compat::case::Request) -> compat::outcome::SentRequest {
    compat::outcome::SentRequest { method: r.method, path: r.path.clone(), body: r.body.clone(), raw_body: r.raw_body.clone() }
}
