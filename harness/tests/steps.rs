//! Multi-step cases end to end, on throwaway projects: captures substituted into later requests (as text and
//! as whole JSON values), a poll that completes on its Nth replayed answer without waiting, a poll that gives up
//! as an `error` instead of hanging, an unknown capture refused at load with `file:line:col`, a finding that
//! names its step in the terminal report, a known divergence scoped to one step, recording writing the whole
//! sequence back — and the repository's own multi-step cases replaying green on both targets.

use std::path::Path;
use std::time::Instant;

use compat::case::load::parse_case;
use compat::outcome::{ErrorKind, Outcome, Verdict};
use compat::suite::{Suite, default_root};
use serde_json::{Value, json};

/// One runtime for every test of this file: the transport's HTTP client is shared by the process, and a pooled
/// connection opened on a runtime that was since dropped fails ("dispatch task is gone").
static RUNTIME: std::sync::LazyLock<tokio::runtime::Runtime> =
    std::sync::LazyLock::new(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap());

const TARGETS: &str = "targets:\n  t:\n    base_url: https://example.invalid/v1/\n    auth: { env: NO_KEY_NEEDED }\n    models: { chat: model-a }\n";

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn run_one(root: &Path, target: &str, name: &str) -> Outcome {
    let suite = Suite::load(root).unwrap_or_else(|e| panic!("{e}"));
    let ctx = compat::run::RunContext::replay(root.to_path_buf()).unwrap();
    let case = suite.cases.iter().find(|c| c.case.name() == name).expect("case is in the suite").clone();
    let target = suite.target(target).unwrap().clone();
    let o = RUNTIME.block_on(compat::run::run_case(&ctx, &case, &target));
    if let Some(e) = &o.error() {
        eprintln!("{name} on {}: error {e:?}", target.name);
    }
    o
}

fn exchange(method: &str, path: &str, body: Option<Value>, answer: Value) -> Value {
    let mut request = json!({"method": method, "path": path});
    if let Some(b) = body {
        request["body"] = b;
    }
    json!({"request": request, "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": answer}})
}

fn project(case_rel: &str, case: &str, fixture_rel: &str, exchanges: Vec<Value>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cases/targets.yaml", TARGETS);
    write(dir.path(), case_rel, case);
    let fixture = json!({"origin": {"kind": "synthesized", "basis": "test"}, "exchanges": exchanges});
    write(dir.path(), fixture_rel, &serde_json::to_string_pretty(&fixture).unwrap());
    dir
}

const CAPTURE_CASE: &str = r#"id: chain
feature: selftest
title: chain
doc: none
steps:
  - name: first
    request:
      path: items
      body: { model: "{{model}}" }
    expect: { snapshot: false }
    captures:
      item_id: $.id
      item: $.item
  - name: second
    request:
      path: "items/{{item_id}}"
      body: { echo: "{{item}}", note: "id={{item_id}}", model: "{{model}}" }
    expect:
      snapshot: false
      assert:
        - path: $.status
          equals: done
"#;

fn capture_project(second_status: &str) -> tempfile::TempDir {
    project(
        "cases/selftest/chain.yaml",
        CAPTURE_CASE,
        "fixtures/t/selftest/chain.json",
        vec![
            exchange("POST", "items", Some(json!({"model": "model-a"})), json!({"id": "it_42", "item": {"k": [1, 2], "s": "x"}})),
            exchange(
                "POST",
                "items/it_42",
                Some(json!({"echo": {"k": [1, 2], "s": "x"}, "note": "id=it_42", "model": "model-a"})),
                json!({"status": second_status}),
            ),
        ],
    )
}

#[test]
fn captures_fill_later_requests_as_text_and_as_whole_values() {
    let dir = capture_project("done");
    let o = run_one(dir.path(), "t", "selftest::chain");
    assert_eq!(o.verdict(), Verdict::Pass, "{o:#?}");
    assert_eq!(o.steps.iter().map(|s| s.name.as_deref().unwrap()).collect::<Vec<_>>(), ["first", "second"]);
    assert_eq!(o.steps[0].captured["item_id"], json!("it_42"));
    assert_eq!(o.steps[0].captured["item"], json!({"k": [1, 2], "s": "x"}));
    let sent = &o.steps[1].exchanges[0].request;
    assert_eq!(sent.path, "items/it_42");
    assert_eq!(sent.body.as_ref().unwrap()["echo"], json!({"k": [1, 2], "s": "x"}), "a whole-string placeholder sends the value itself");
    assert_eq!(sent.body.as_ref().unwrap()["note"], json!("id=it_42"));
    assert_eq!(o.exchange.as_ref(), o.steps[1].exchanges.last(), "the outcome's exchange is the last step's");

    // Recording writes the sequence back, and it parses as the fixture it came from.
    let origin = compat::outcome::Origin::Synthesized { basis: "test".into() };
    let written = compat::record::sequence_from_steps(&o.steps, origin);
    let text = serde_json::to_string_pretty(&written).unwrap();
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("fixtures/t/selftest/chain.json")).unwrap()).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), stored);
    compat::fixture::parse_sequence("x.json", &text).unwrap();
}

#[test]
fn a_finding_names_its_step_in_the_terminal_report() {
    let dir = capture_project("pending");
    let o = run_one(dir.path(), "t", "selftest::chain");
    assert_eq!(o.verdict(), Verdict::Diverges);
    assert_eq!(o.findings().len(), 1);
    assert_eq!(o.findings()[0].step.as_deref(), Some("second"));
    let text = compat::report::terminal::render_outcome(&o);
    assert!(text.contains("  step first: POST items → 200\n  step second: POST items/it_42 → 200\n"), "{text}");
    assert!(text.contains("  step second, $.status: value differs\n    --> cases/selftest/chain.yaml:21\n"), "{text}");
    assert_eq!(o.findings()[0].rule_at_path(), "assert.equals at $.status in step second");
}

#[test]
fn a_known_divergence_naming_a_step_explains_only_that_step() {
    let scoped = |step: &str| {
        format!("{CAPTURE_CASE}known_divergences:\n  - targets: [t]\n    step: {step}\n    rule: assert.equals\n    reason: r\n    link: l\n")
    };
    for (step, verdict) in [("second", Verdict::Known), ("first", Verdict::Diverges)] {
        let dir = capture_project("pending");
        write(dir.path(), "cases/selftest/chain.yaml", &scoped(step));
        assert_eq!(run_one(dir.path(), "t", "selftest::chain").verdict(), verdict, "divergence scoped to step {step}");
    }
    let err = parse_case("cases/selftest/chain.yaml", &scoped("third")).unwrap_err();
    assert!(err.message.contains("names step `third`, which the case does not have (steps: first, second)"), "{err}");
}

const POLL_CASE: &str = r#"id: job
feature: selftest
title: job
doc: none
steps:
  - name: create
    request: { path: jobs, body: { prompt: p } }
    expect: { snapshot: false }
    captures: { job_id: $.id }
  - name: wait
    request: { method: GET, path: "jobs/{{job_id}}" }
    poll:
      until: { path: $.status, one_of: [completed, failed] }
      interval_ms: 600000
      max_attempts: MAX
    expect:
      snapshot: false
      assert:
        - path: $.status
          equals: completed
"#;

fn poll_project(max_attempts: u32, statuses: &[&str]) -> tempfile::TempDir {
    let mut exchanges = vec![exchange("POST", "jobs", Some(json!({"prompt": "p"})), json!({"id": "j1", "status": "queued"}))];
    exchanges.extend(statuses.iter().map(|s| exchange("GET", "jobs/j1", None, json!({"id": "j1", "status": s}))));
    project("cases/selftest/job.yaml", &POLL_CASE.replace("MAX", &max_attempts.to_string()), "fixtures/t/selftest/job.json", exchanges)
}

#[test]
fn a_poll_completes_on_its_nth_replayed_answer_without_waiting() {
    let dir = poll_project(5, &["queued", "in_progress", "in_progress", "completed"]);
    let started = Instant::now();
    let o = run_one(dir.path(), "t", "selftest::job");
    assert!(started.elapsed().as_secs() < 30, "replay does not wait the 10-minute interval");
    assert_eq!(o.verdict(), Verdict::Pass, "{o:#?}");
    let statuses: Vec<Value> =
        o.steps[1].exchanges.iter().map(|x| x.json_body().unwrap_or_else(|| panic!("{:?}", x.body))["status"].clone()).collect();
    assert_eq!(statuses, [json!("queued"), json!("in_progress"), json!("in_progress"), json!("completed")]);
    assert_eq!(o.timing.attempts, 5);
    assert!(compat::report::terminal::render_outcome(&o).contains("  step wait: GET jobs/j1 → 200 (4 attempts)\n"));
    // A second run gets the whole sequence again (each run mounts its own copy).
    let again = run_one(dir.path(), "t", "selftest::job");
    assert_eq!(again.verdict(), Verdict::Pass, "{:?}", again.error());
}

#[test]
fn a_poll_that_never_ends_within_max_attempts_is_an_error_not_a_hang() {
    let dir = poll_project(3, &["queued", "in_progress", "in_progress", "in_progress"]);
    let o = run_one(dir.path(), "t", "selftest::job");
    assert_eq!(o.verdict(), Verdict::Error);
    let e = o.error().unwrap();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert_eq!(
        e.message,
        "step `wait`: the poll gave up: `$.status one of [\"completed\",\"failed\"]` did not hold after 3 attempts (every 600000 ms); \
         the last answer has \"in_progress\""
    );
    assert_eq!(o.steps[1].exchanges.len(), 3, "every attempt is kept");
}

#[test]
fn a_poll_longer_than_the_recorded_sequence_is_an_unmatched_error() {
    let dir = poll_project(10, &["queued", "in_progress"]);
    let o = run_one(dir.path(), "t", "selftest::job");
    let e = o.error().unwrap();
    assert_eq!(e.kind, ErrorKind::Unmatched, "{e:?}");
    assert_eq!(e.message, "step `wait`: fixtures/t/selftest/job.json holds 3 exchanges and the case sent a request after the last one");
}

#[test]
fn an_unknown_capture_is_a_load_error_at_its_placeholder() {
    let text = CAPTURE_CASE.replace("note: \"id={{item_id}}\"", "note: \"id={{itemid}}\"");
    let e = parse_case("cases/selftest/chain.yaml", &text).unwrap_err();
    assert_eq!((e.line, e.col), (17, 43), "{e}");
    assert_eq!(e.message, "step `second` uses `{{itemid}}`, which no earlier step captures");
    assert_eq!(e.help.as_deref(), Some("did you mean `{{item_id}}`?"));
    let rendered = e.to_string();
    assert!(rendered.contains("cases/selftest/chain.yaml:17:43"), "{rendered}");

    // A capture is usable only after the step that takes it.
    let early = CAPTURE_CASE.replace("path: items\n", "path: \"items/{{item_id}}\"\n");
    let e = parse_case("cases/selftest/chain.yaml", &early).unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (8, "step `first` uses `{{item_id}}`, which no earlier step captures"));

    // `steps` and a top-level `request` do not mix; a case needs one of them.
    let both = format!("{CAPTURE_CASE}request: {{ path: x }}\n");
    let e = parse_case("cases/selftest/chain.yaml", &both).unwrap_err();
    assert!(e.message.starts_with("a case with `steps` gives each step its own `request`"), "{e}");
    let neither = "id: chain\nfeature: selftest\ntitle: t\ndoc: d\n";
    let e = parse_case("cases/selftest/chain.yaml", neither).unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (1, "a case needs `request` (with `expect`) or `steps`"));
}

#[test]
fn the_repositorys_multi_step_cases_replay_green_on_both_targets() {
    let root = default_root();
    let names = ["function-calling::tool_loop_with_signature", "video-generation::create_and_poll", "batch::create_then_retrieve"];
    for target in ["gemini", "openai-reference"] {
        for name in names {
            let o = run_one(&root, target, name);
            assert!(!o.fails(), "{target}::{name}: {}", compat::report::terminal::render_outcome(&o));
            assert!(o.steps.len() >= 2, "{target}::{name} ran its steps");
        }
    }
    // The tool loop sends back what the first answer gave: on Gemini, the call with its thought signature.
    let o = run_one(&root, "gemini", "function-calling::tool_loop_with_signature");
    let call = &o.steps[0].captured["tool_call"];
    let signature = call.pointer("/extra_content/google/thought_signature").expect("the captured call carries its signature");
    let sent = o.steps[1].exchanges[0].request.body.as_ref().unwrap();
    assert_eq!(sent.pointer("/messages/1/tool_calls/0/extra_content/google/thought_signature"), Some(signature));
    assert_eq!(sent.pointer("/messages/2/tool_call_id"), call.get("id"));
    // The video job is polled until completed: create, then three polls.
    let o = run_one(&root, "gemini", "video-generation::create_and_poll");
    assert_eq!(o.steps[1].exchanges.len(), 3);
}

#[test]
fn reports_group_findings_per_step() {
    use compat::outcome::Finding;
    let f = |step: &str| Finding::new(&compat::rules::SCHEMA_SPEC, "$.choices[0].logprobs", "required property is missing").in_step(step);
    let findings = [f("call"), f("answer"), f("answer")];
    let groups = compat::report::group_findings(&findings);
    let shape: Vec<(Option<&str>, usize)> = groups.iter().map(|g| (g.first.step.as_deref(), g.count)).collect();
    assert_eq!(shape, [(Some("call"), 1), (Some("answer"), 2)], "the same path in two steps is two findings");
}

#[test]
fn a_broken_sequence_fixture_is_located() {
    let text = "{\n  \"origin\": { \"kind\": \"synthesized\", \"basis\": \"t\" },\n  \"exchanges\": [\n    { \"request\": { \"method\": \"GET\", \"path\": \"x\" }, \"respons\": {} }\n  ]\n}\n";
    let e = compat::fixture::parse_sequence("fixtures/t/a/b.json", text).unwrap_err();
    assert_eq!(e.line, 4, "{e}");
    assert!(e.message.starts_with("unknown field `respons`"), "{e}");
    let empty = "{ \"origin\": { \"kind\": \"synthesized\", \"basis\": \"t\" }, \"exchanges\": [] }";
    let e = compat::fixture::parse_sequence("fixtures/t/a/b.json", empty).unwrap_err();
    assert_eq!(e.message, "`exchanges` needs at least one exchange");
}

/// A multi-step case whose known divergence lives in the target's expectations file (not in the case): the
/// per-run tally counts it like the case's own (it once sized its counters by the case's own list only).
#[test]
fn an_expectations_file_entry_explains_a_multi_step_finding() {
    let dir = capture_project("pending");
    let entry = "selftest::chain:\n  - rule: assert.equals\n    path: $.status\n    step: second\n    reason: r\n    link: l\n";
    write(dir.path(), "cases/expectations/t.yaml", entry);
    let o = run_one(dir.path(), "t", "selftest::chain");
    assert_eq!(o.verdict(), Verdict::Known, "{:#?}", o.known());
    assert_eq!(o.known().len(), 1);
}
