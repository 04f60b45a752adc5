//! Replay end to end, on throwaway projects: an unmatched request is an error with a diff, a Gemini fixture
//! edited to lose its known difference turns the verdict `fixed`, and every case file in the repository
//! agrees with the published case schema (`cases/case.schema.json`).

use std::path::Path;

use compat::case::load::{load_case_file, parse_case};
use compat::outcome::{ErrorKind, Verdict};
use compat::suite::{Suite, TargetScope, default_root};
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
    let ctx = compat::run::RunContext::replay(root.to_path_buf()).unwrap();
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
    assert_eq!(o.verdict(), Verdict::Error);
    let e = o.error().unwrap();
    assert_eq!(e.kind, ErrorKind::Unmatched);
    assert_eq!(e.message, "the request matches no fixture: fixtures/t/selftest/hello.json was recorded for a different request");
    assert_eq!(
        e.diff.as_deref().unwrap(),
        "--- recorded\n+++ sent\n@@ -4,7 +4,7 @@\n   \"messages\": [\n     {\n       \"role\": \"user\",\n-      \"content\": \"hello\"\n+      \"content\": \"hi\"\n     }\n   ]\n }\n"
    );
    // With the recorded request fixed, the same case passes.
    let mut fixed = fixture.clone();
    fixed["request"]["body"]["messages"][0]["content"] = json!("hi");
    write(dir.path(), "fixtures/t/selftest/hello.json", &serde_json::to_string_pretty(&fixed).unwrap());
    assert_eq!(run_one(dir.path(), "t", "selftest::hello").verdict(), Verdict::Pass);
}

#[test]
fn a_missing_fixture_is_an_error_naming_where_it_belongs() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cases/targets.yaml", TARGETS);
    write(dir.path(), "cases/selftest/hello.yaml", CASE);
    std::fs::create_dir_all(dir.path().join("fixtures/t")).unwrap();
    let o = run_one(dir.path(), "t", "selftest::hello");
    assert_eq!((o.verdict(), o.error().unwrap().kind), (Verdict::Error, ErrorKind::Fixture));
    assert!(o.error().unwrap().message.starts_with("no fixture at fixtures/t/selftest/hello.json"));
}

/// Copies the real streaming tool-call case and its Gemini fixture, then gives the tool-call delta its
/// `index`: the known divergence (gemini-compat.md #9) is no longer observed, so the verdict is `fixed`.
#[test]
fn removing_a_known_difference_from_a_gemini_fixture_turns_the_verdict_fixed() {
    let repo = default_root();
    let dir = tempfile::tempdir().unwrap();
    // Every case file (the targets file's overrides must each match a case), and the one fixture.
    let mut rels: Vec<String> = compat::case::load::discover(&repo).unwrap();
    rels.extend(["cases/targets.yaml", "cases/features.yaml", "fixtures/gemini/streaming/tool_call.json"].map(String::from));
    for rel in rels {
        write(dir.path(), &rel, &std::fs::read_to_string(repo.join(&rel)).unwrap());
    }
    assert_eq!(run_one(dir.path(), "gemini", "streaming::tool_call").verdict(), Verdict::Known, "the copy behaves as the original");

    let path = dir.path().join("fixtures/gemini/streaming/tool_call.json");
    let mut fixture: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let call = &mut fixture["response"]["events"][0]["data"]["choices"][0]["delta"]["tool_calls"][0];
    assert!(call.get("index").is_none(), "the fixture shows the known difference");
    call["index"] = json!(0);
    std::fs::write(&path, serde_json::to_string_pretty(&fixture).unwrap()).unwrap();

    let o = run_one(dir.path(), "gemini", "streaming::tool_call");
    assert_eq!(o.verdict(), Verdict::Fixed);
    let gone: Vec<&str> = o.known().iter().filter(|k| k.observed == 0).map(|k| k.divergence.reason.as_str()).collect();
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
        // As editors read it (YAML 1.2): `n`, `yes`, `on` are strings, as they are for the harness.
        let options = serde_saphyr::options! { strict_booleans: true };
        let yaml: Value = serde_saphyr::from_str_with_options(&std::fs::read_to_string(repo.join(rel)).unwrap(), options).unwrap();
        let errors: Vec<String> = validator.iter_errors(&yaml).map(|e| format!("{}: {e}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{rel} does not match cases/case.schema.json: {errors:?}");
    }
    // And the schema rejects what the loader rejects.
    let bad = "id: t\nfeature: f\ntitle: x\ndoc: y\nrequest: { path: x }\nexpect: { staus: 200 }\n";
    assert!(parse_case("cases/f/t.yaml", bad).is_err());
    let yaml: Value = serde_saphyr::from_str(bad).unwrap();
    assert!(!validator.is_valid(&yaml), "the schema rejects unknown keys too");
}

#[test]
fn a_changed_snapshot_fails_the_case_with_its_diff() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cases/targets.yaml", TARGETS);
    write(dir.path(), "cases/selftest/hello.yaml", &CASE.replace("  snapshot: false\n", "  status: 200\n"));
    let fixture = json!({
        "origin": {"kind": "synthesized", "basis": "test"},
        "request": {"method": "POST", "path": "chat/completions", "body": {"model": "model-a", "messages": [{"role": "user", "content": "hi"}]}},
        "response": {"status": 200, "body": {"object": "chat.completion", "choices": []}}
    });
    write(dir.path(), "fixtures/t/selftest/hello.json", &fixture.to_string());
    let o = run_one(dir.path(), "t", "selftest::hello");
    let snap = o.snapshot.clone().unwrap();
    assert_eq!((o.verdict(), snap.status), (Verdict::Pass, compat::outcome::SnapshotStatus::Missing));
    assert!(o.fails(), "a missing snapshot fails the case");

    let stored = snap.content.replace("chat.completion", "chat.completion.old");
    write(dir.path(), "snapshots/t/selftest__hello.snap", &format!("---\nsource: harness/src/snapshot.rs\n---\n{stored}\n"));
    let o = run_one(dir.path(), "t", "selftest::hello");
    let snap = o.snapshot.clone().unwrap();
    assert_eq!(snap.status, compat::outcome::SnapshotStatus::Changed);
    assert!(o.fails());
    assert_eq!(
        snap.diff.unwrap(),
        "--- snapshots/t/selftest__hello.snap (stored)\n+++ new\n@@ -1,7 +1,7 @@\n {\n   \"status\": 200,\n   \"body\": {\n-    \"object\": \"chat.completion.old\",\n+    \"object\": \"chat.completion\",\n     \"choices\": []\n   }\n }\n"
    );

    write(dir.path(), "snapshots/t/selftest__hello.snap", &format!("---\nsource: harness/src/snapshot.rs\n---\n{}\n", snap.content));
    let o = run_one(dir.path(), "t", "selftest::hello");
    assert_eq!(o.snapshot.unwrap().status, compat::outcome::SnapshotStatus::Matched);
}

/// The CLI on a project with one good and one broken case: the broken one is reported with file:line:col,
/// the good one still runs, and the exit status says something failed.
#[test]
fn a_broken_case_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cases/targets.yaml", TARGETS);
    write(dir.path(), "cases/selftest/hello.yaml", CASE);
    write(
        dir.path(),
        "cases/selftest/broken.yaml",
        "id: broken\nfeature: selftest\ntitle: x\ndoc: y\nrequest:\n  path: chat/completions\n  methd: GET\nexpect: {}\n",
    );
    let fixture = json!({
        "origin": {"kind": "synthesized", "basis": "test"},
        "request": {"method": "POST", "path": "chat/completions", "body": {"model": "model-a", "messages": [{"role": "user", "content": "hi"}]}},
        "response": {"status": 200, "body": {"choices": []}}
    });
    write(dir.path(), "fixtures/t/selftest/hello.json", &fixture.to_string());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_compat")).args(["--root"]).arg(dir.path()).arg("run").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("error: cases/selftest/broken.yaml:7:3: unknown key `methd`: did you mean `method`? (expected one of `method`, `path`, `body`, `raw_body`, `headers`, `auth`)"),
        "{stdout}"
    );
    assert!(stdout.contains("2 outcomes: 1 pass, 1 error; 1 failing"), "{stdout}");
}

/// The `llama-cpp` target's fixtures were all captured from the running server (scripts/llama-cpp/record.sh):
/// each says `recorded`, on loopback, naming llama-cpp-python and its version; and every case the target does
/// not skip has one.
#[test]
fn llama_cpp_fixtures_are_recorded_from_the_server() {
    let root = default_root();
    let suite = Suite::load(&root).unwrap_or_else(|e| panic!("{e}"));
    let target = suite.target("llama-cpp").expect("cases/targets.yaml has llama-cpp");
    let mut recorded = 0;
    for c in &suite.cases {
        let (feature, id) = (&c.case.feature, &c.case.id);
        let rel = compat::fixture::fixture_path(&target.fixtures_dir(), feature, id);
        let fixture = compat::fixture::load_fixture(&root, &rel).unwrap_or_else(|e| panic!("{e}"));
        match (target.planned_skip(&c.case, false), fixture) {
            (Some(_), _) => {}
            (None, None) => panic!("{rel} is missing: re-record with scripts/llama-cpp/record.sh"),
            (None, Some(f)) => match f.origin {
                compat::outcome::Origin::Recorded { base_url, server, .. } => {
                    assert!(base_url.starts_with("http://127.0.0.1:"), "{rel}: {base_url}");
                    assert!(server.as_deref().is_some_and(|s| s.starts_with("llama-cpp-python 0.3.")), "{rel}: {server:?}");
                    recorded += 1;
                }
                other => panic!("{rel} is {}, not recorded", other.kind()),
            },
        }
    }
    assert!(recorded >= 30, "only {recorded} recorded fixtures");
}

/// Replay servers are reset and refilled once no case holds them (so a long run does not keep every request
/// and fixture it served), and never while one does: a fixture held across three servers' worth of others
/// still answers, and fixtures served on a reset server answer their own requests.
#[test]
fn replay_servers_are_reused_only_when_no_case_holds_them() {
    use compat::fixture::Fixture;
    use compat::fixture::replay::{FIXTURES_PER_SERVER, ReplayServer};
    let fixture = |i: usize| -> Fixture {
        serde_json::from_value(json!({
            "origin": {"kind": "synthesized", "basis": "test"},
            "request": {"method": "GET", "path": format!("things/{i}")},
            "response": {"status": 200, "body": {"n": i}}
        }))
        .unwrap()
    };
    use compat::transport::{HttpClients, Proxy, WireRequest, send};
    let timeouts = compat::target::Timeouts::default();
    let http = HttpClients::default().client(&timeouts, Proxy::Direct, "http://127.0.0.1/");
    let replayer = compat::fixture::replay::Replayer::default();
    let get = |server: &ReplayServer, i: usize| {
        let request = WireRequest { method: compat::case::Method::Get, url: format!("{}things/{i}", server.base_url()), headers: vec![], body: None };
        let (http, timeouts) = (http.clone(), timeouts);
        async move {
            let r = send(&http, &request, &timeouts).await.unwrap();
            assert_eq!(r.status, 200, "{}: {}", request.url, String::from_utf8_lossy(&r.body));
            serde_json::from_slice::<Value>(&r.body).unwrap()
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let file = |i: usize| {
        let f = fixture(i);
        compat::fixture::FixtureFile { path: format!("recycle/{i}.json"), digest: compat::fixture::fixture_digest(&f), exchanges: vec![f] }
    };
    runtime.block_on(async {
        let held = replayer.serve(&file(0)).await;
        for i in 1..=3 * FIXTURES_PER_SERVER {
            let server = replayer.serve(&file(i)).await;
            assert_eq!(get(&server, i).await, json!({"n": i}), "fixture {i}");
        }
        assert_eq!(get(&held, 0).await, json!({"n": 0}), "the held fixture's server was never reset");
        drop(held);
        // Fixture 1's server has been reset since: starting it again mounts it afresh.
        let again = replayer.serve(&file(1)).await;
        assert_eq!(get(&again, 1).await, json!({"n": 1}));
    });
}

/// `Suite::load_beside` loads what `load_for` loads and gives back the work it ran beside the targets file,
/// also when the targets file is broken (then its error is the load's).
#[test]
fn load_beside_gives_the_suite_and_the_work_run_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cases/targets.yaml", TARGETS);
    write(dir.path(), "cases/selftest/hello.yaml", CASE);
    let names = |s: &Suite| s.cases.iter().map(|c| c.case.name()).chain(s.targets.iter().map(|t| t.name.clone())).collect::<Vec<_>>();
    let (suite, beside) = Suite::load_beside(dir.path(), &[], TargetScope::All, || "read beside");
    assert_eq!(beside, "read beside");
    let plain = Suite::load_for(dir.path(), &[], TargetScope::All).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(names(&suite.unwrap_or_else(|e| panic!("{e}"))), names(&plain));
    assert_eq!(names(&plain), ["selftest::hello", "t"]);
    write(dir.path(), "cases/targets.yaml", "targets:\n  t: [\n");
    let (broken, beside) = Suite::load_beside(dir.path(), &[], TargetScope::All, || 7);
    assert_eq!(beside, 7);
    let error = broken.err().expect("a broken targets file fails the load").to_string();
    assert!(error.contains("cases/targets.yaml:"), "{error}");
}

/// `compat run NAME…` reads only the case files a filter can select: an unrelated broken file neither fails
/// nor slows the run, its name still satisfies an override naming it, and a filter naming it reads it.
#[test]
fn a_filtered_load_reads_only_the_case_files_it_can_select() {
    let dir = tempfile::tempdir().unwrap();
    let targets = format!("{TARGETS}    overrides:\n      - cases: [\"other::broken\"]\n        skip: \"named by an override\"\n");
    write(dir.path(), "cases/targets.yaml", &targets);
    write(dir.path(), "cases/selftest/hello.yaml", CASE);
    write(dir.path(), "cases/other/broken.yaml", "id: broken\nfeature: other\nno_such_key: 1\n");
    let names = |s: &Suite| (s.cases.iter().map(|c| c.case.name()).collect::<Vec<_>>(), s.broken.len());
    let all = Suite::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(names(&all), (vec!["selftest::hello".to_owned()], 1), "unfiltered, the broken file is reported");
    let one = Suite::load_for(dir.path(), &["t::selftest::hello".to_owned()], TargetScope::All).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(names(&one), (vec!["selftest::hello".to_owned()], 0), "the broken file is not read");
    let by_load_name = Suite::load_for(dir.path(), &["load::other".to_owned()], TargetScope::All).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(names(&by_load_name), (vec![], 1), "its own filter reads it");
    let none = Suite::load_for(dir.path(), &["nothing-matches".to_owned()], TargetScope::All).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(names(&none), (vec![], 0));
    // A target's expectations file is read only when a filter can select one of its trials; its name is checked always.
    write(dir.path(), "cases/expectations/t.yaml", "selftest::hello: [ { rule: status\n");
    assert!(
        Suite::load_for(dir.path(), &["t::selftest".to_owned()], TargetScope::All).err().unwrap().to_string().contains("cases/expectations/t.yaml")
    );
    assert!(Suite::load_for(dir.path(), &["u::selftest".to_owned()], TargetScope::All).is_ok(), "no trial of `t` can be selected: not read");
    write(dir.path(), "cases/expectations/nobody.yaml", "");
    assert!(Suite::load_for(dir.path(), &["u::selftest".to_owned()], TargetScope::All).err().unwrap().to_string().contains("no target `nobody`"));
    std::fs::remove_dir_all(dir.path().join("cases/expectations")).unwrap();
    // A run of some targets reads only their expectations files, however its filters read: `selftest::hello`
    // names a trial of `t` and of `u`, and the broken file of `t` is not parsed for a run of `u` alone.
    let two = format!(
        "live_default: u\n{TARGETS}  u:\n    base_url: https://example.invalid/v2/\n    auth: {{ env: NO_KEY_NEEDED }}\n    models: {{ chat: model-a }}\n"
    );
    write(dir.path(), "cases/targets.yaml", &two);
    write(dir.path(), "cases/expectations/t.yaml", "selftest::hello: [ { rule: status\n");
    let hello = ["selftest::hello".to_owned()];
    let (t, u) = (["t".to_owned()], ["u".to_owned()]);
    let refused = |scope| Suite::load_for(dir.path(), &hello, scope).err().map(|e| e.to_string());
    assert!(refused(TargetScope::All).is_some_and(|e| e.contains("cases/expectations/t.yaml")), "every target: read");
    assert!(refused(TargetScope::Named(&t)).is_some_and(|e| e.contains("cases/expectations/t.yaml")), "its own target: read");
    assert_eq!(refused(TargetScope::Named(&u)), None, "another target: not read");
    assert_eq!(refused(TargetScope::LiveDefault), None, "the live default is `u`: not read");
    // A target in scope gets its entries merged; out of scope, the case carries none of them.
    let entry = "selftest::hello:\n  - rule: status\n    path: \"$\"\n    severity: breaking\n    reason: r\n    link: l\n";
    write(dir.path(), "cases/expectations/t.yaml", entry);
    let expected = |scope| Suite::load_for(dir.path(), &hello, scope).unwrap_or_else(|e| panic!("{e}")).cases[0].case.expected.len();
    assert_eq!((expected(TargetScope::Named(&t)), expected(TargetScope::Named(&u))), (1, 0));
    // A case file is read only for a trial of the run's targets: a filter naming `t`'s trial reads nothing for `u`.
    let t_hello = ["t::selftest::hello".to_owned()];
    let loaded = |scope| Suite::load_for(dir.path(), &t_hello, scope).map(|s| names(&s)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((loaded(TargetScope::Named(&t)), loaded(TargetScope::Named(&u))), ((vec!["selftest::hello".to_owned()], 0), (vec![], 0)));
    std::fs::remove_dir_all(dir.path().join("cases/expectations")).unwrap();
    // An override naming a case no file has is still an error, filtered or not.
    write(dir.path(), "cases/targets.yaml", &targets.replace("other::broken", "other::missing"));
    assert!(Suite::load_for(dir.path(), &["t::selftest::hello".to_owned()], TargetScope::All).err().unwrap().to_string().contains("other::missing"));
}
