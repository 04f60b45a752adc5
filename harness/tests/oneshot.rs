//! Issue 17, items 1–5, end to end with the real `compat` binary:
//!
//! - one command against a loopback server that answers every case as OpenAI documents (the control target's
//!   fixtures, served at one base URL whatever model is named): every case `pass` or `skipped` with a reason,
//!   exit 0, with a one-letter key and with none; models discovered from `GET models` when none is named;
//! - bad input exits 2 at once with nothing sent: a base URL without scheme, with port 99999, not http(s); a key
//!   variable named but unset; an unknown role; a filter that selects nothing (did-you-mean, the reports kept);
//!   an expectations entry still marked TODO;
//! - `compat run | head -1` ends quietly;
//! - SIGINT mid-run: no new case starts, every report is written with the cases not run marked so, exit 130;
//!   progress lines in a log; `--failed` re-runs the failing trials of the last results.json.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use compat::case::Method;
use compat::fixture::load_fixtures;
use compat::fixture::replay::response_template;
use compat::suite::{Suite, default_root};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Matches a request to a fixture's: method, path under `/v1/`, and the JSON body — but `model` when the case
/// fills it from the target (`{{model}}`): a server answers whatever model it is asked for.
struct Exchange {
    method: Method,
    path: String,
    body: Option<Value>,
    raw_body: Option<String>,
    any_model: bool,
}

impl wiremock::Match for Exchange {
    fn matches(&self, request: &Request) -> bool {
        if request.method.as_str() != self.method.as_str() || request.url.path() != self.path {
            return false;
        }
        if let Some(raw) = &self.raw_body {
            return request.body == raw.as_bytes();
        }
        let Some(want) = &self.body else { return true };
        let Ok(mut got) = serde_json::from_slice::<Value>(&request.body) else { return false };
        let mut want = want.clone();
        if self.any_model {
            for v in [&mut got, &mut want] {
                if let Some(o) = v.as_object_mut() {
                    o.remove("model");
                }
            }
        }
        got == want
    }
}

/// A loopback server answering every case of the suite as OpenAI documents (the control target's fixtures).
async fn openai_server() -> MockServer {
    let root = default_root();
    let suite = Suite::load(&root).unwrap();
    let target = suite.target("openai-reference").unwrap();
    let server = MockServer::start().await;
    for c in &suite.cases {
        let rel = compat::fixture::fixture_path(&target.fixtures_dir(), &c.case.feature, &c.case.id);
        let Ok(Some(exchanges)) = load_fixtures(&root, &rel) else { continue };
        let first = c.case.first_request();
        let any_model = first.body.as_ref().is_some_and(|b| b["model"] == "{{model}}");
        let invalid_key = first.auth == compat::case::AuthMode::Invalid;
        // The most particular request first: a wrong key, a model named by the case; then one exchange; then
        // the exchanges of a sequence (which answer in order).
        let literal_model = first.body.as_ref().is_some_and(|b| b["model"].is_string() && !any_model);
        let priority = match (invalid_key || literal_model, exchanges.len()) {
            (true, _) => 1,
            (false, 1) => 3,
            _ => 4,
        };
        for (i, f) in exchanges.iter().enumerate() {
            let m = Exchange {
                method: f.request.method,
                path: format!("/v1/{}", f.request.path.trim_start_matches('/')),
                body: f.request.body.clone(),
                raw_body: f.request.raw_body.clone(),
                any_model,
            };
            let repeated = exchanges[i + 1..].iter().any(|l| l.request.method == f.request.method && l.request.path == f.request.path);
            let mut mock = Mock::given(m);
            if invalid_key {
                mock = mock.and(wiremock::matchers::header("authorization", "Bearer compat-harness-invalid-key"));
            }
            let mock = mock.respond_with(response_template(f)).with_priority(priority);
            if repeated { mock.up_to_n_times(1).mount(&server).await } else { mock.mount(&server).await }
        }
    }
    server
}

fn compat_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_compat"));
    cmd.args(args).env_remove("CI").env("NO_COLOR", "1").env_remove("COMPAT_ONESHOT_KEY");
    cmd
}

async fn run(args: Vec<String>, key: Option<&str>) -> (Output, Duration) {
    let key = key.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = compat_cmd(&args);
        if let Some(k) = key {
            cmd.env("COMPAT_ONESHOT_KEY", k);
        }
        let started = Instant::now();
        let out = cmd.output().unwrap();
        (out, started.elapsed())
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn root_arg() -> String {
    default_root().display().to_string()
}

/// Every outcome `pass`, or `skipped` with a reason.
fn all_pass_or_skipped(results: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for o in results["outcomes"].as_array().unwrap() {
        let ok = o["verdict"] == "pass" || (o["verdict"] == "skipped" && o["skip_reason"].as_str().is_some_and(|r| !r.is_empty()));
        if !ok {
            bad.push(format!("{}::{}::{} {} {}", o["target"], o["feature"], o["id"], o["verdict"], o["error"]));
        }
    }
    bad
}

const MODELS: [&str; 8] = [
    "--model=gpt-4o-mini",
    "--model=audio=gpt-4o-audio-preview",
    "--model=reasoning=o4-mini",
    "--model=reasoning_none=gpt-5.1",
    "--model=reasoning_minimal=gpt-5",
    "--model=embedding=text-embedding-3-small",
    "--model=image=gpt-image-1",
    "--model=video=sora-2",
];

#[tokio::test(flavor = "multi_thread")]
async fn one_command_against_a_conformant_server_passes_or_skips_every_case_with_a_one_letter_key() {
    one_command(Some("k")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_command_against_a_conformant_server_passes_or_skips_every_case_without_a_key() {
    one_command(None).await;
}

/// The whole suite, one command, against [`openai_server`], with `key` (or none).
async fn one_command(key: Option<&str>) {
    {
        // A server of its own for each run: a sequence (a tool loop, a poll) answers each exchange once.
        let server = openai_server().await;
        let base = format!("{}/v1", server.uri());
        let reports = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = vec!["--root".into(), root_arg(), "run".into(), "--live".into(), "--base-url".into(), base.clone()];
        args.extend(["--reports".into(), reports.path().display().to_string()]);
        args.extend(MODELS.iter().map(|s| s.to_string()));
        if key.is_some() {
            args.extend(["--api-key-env".into(), "COMPAT_ONESHOT_KEY".into()]);
        }
        let (out, _) = run(args, key).await;
        let results = read_json(&reports.path().join("results.json"));
        let bad = all_pass_or_skipped(&results);
        assert!(bad.is_empty(), "key {key:?}: {bad:#?}\n{}", text(&out));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let outcomes = results["outcomes"].as_array().unwrap();
        let target = results["run"]["targets"][0]["name"].as_str().unwrap();
        assert!(target.starts_with("127.0.0.1-"), "named after host and port: {target}");
        let reason = |id: &str| outcomes.iter().find(|o| o["id"] == id).unwrap()["skip_reason"].as_str().unwrap_or("").to_owned();
        assert!(reason("images_aspect_ratio").starts_with("profile `gemini`"), "{}", reason("images_aspect_ratio"));
        let passed = outcomes.iter().filter(|o| o["verdict"] == "pass").count();
        assert!(passed > 60, "{passed} passed");
        match key {
            Some(_) => assert_eq!(outcomes.iter().find(|o| o["id"] == "bad_key").unwrap()["verdict"], "pass"),
            None => assert!(reason("bad_key").contains("takes no key"), "{}", reason("bad_key")),
        }
        // Without a key, no auth header was sent at all.
        let requests = server.received_requests().await.unwrap_or_default();
        if key.is_none() {
            let with_auth = requests.iter().rev().take(20).filter(|r| r.headers.contains_key("authorization")).count();
            assert_eq!(with_auth, 0);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ad_hoc_target_without_models_takes_them_from_get_models_and_says_so() {
    let server = MockServer::start().await;
    let list = json!({"object": "list", "data": [
        {"id": "text-embedding-3-small", "object": "model", "created": 1, "owned_by": "o"},
        {"id": "my-chat", "object": "model", "created": 1, "owned_by": "o"}]});
    Mock::given(method("GET")).and(path("/v1/models")).respond_with(ResponseTemplate::new(200).set_body_json(list)).mount(&server).await;
    let completion = json!({"id": "c", "object": "chat.completion", "created": 1, "model": "my-chat",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi", "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion))
        .mount(&server)
        .await;
    let reports = tempfile::tempdir().unwrap();
    let args = [
        "--root",
        &root_arg(),
        "run",
        "--live",
        "--base-url",
        &format!("{}/v1/", server.uri()),
        "--name",
        "mine",
        "--api-key-env",
        "COMPAT_ONESHOT_KEY",
        "--reports",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([reports.path().display().to_string(), "chat::basic".into()])
    .collect();
    let (out, _) = run(args, Some("key-for-discovery")).await;
    let t = text(&out);
    assert!(t.contains("using my-chat for ") && t.contains("text-embedding-3-small for embedding"), "{t}");
    assert_eq!(out.status.code(), Some(0), "{t}");
    let results = read_json(&reports.path().join("results.json"));
    assert_eq!(results["outcomes"][0]["target"], "mine");
    assert_eq!(results["outcomes"][0]["verdict"], "pass", "{t}");
}

#[test]
fn bad_input_exits_2_at_once_with_nothing_sent() {
    let root = root_arg();
    let reports = tempfile::tempdir().unwrap();
    std::fs::write(reports.path().join("results.json"), "kept").unwrap();
    let rep = reports.path().display().to_string();
    let cases: [(&[&str], &str); 8] = [
        (&["--live", "--base-url", "localhost:8080/v1"], "did you mean `http://localhost:8080/v1`?"),
        (&["--live", "--base-url", "127.0.0.1:8080"], "no http:// or https:// scheme"),
        (&["--live", "--base-url", "http://127.0.0.1:99999/v1"], "port"),
        (&["--live", "--base-url", "ftp://example.com/v1"], "http or https"),
        (&["--live", "--base-url", "http://127.0.0.1:9/v1", "--api-key-env", "COMPAT_ONESHOT_UNSET"], "$COMPAT_ONESHOT_UNSET, which is not set"),
        (&["--live", "--base-url", "http://127.0.0.1:9/v1", "--model", "resoning=o4"], "unknown role `resoning` (did you mean `reasoning`?"),
        (&["chat::basci"], "did you mean `chat::basic`?"),
        (&["--profile", "gemni"], "did you mean `gemini`?"),
    ];
    for (args, expected) in cases {
        let started = Instant::now();
        let out = compat_cmd(&["--root", &root, "run", "--reports", &rep]).args(args).output().unwrap();
        let elapsed = started.elapsed();
        let bound = Duration::from_secs(1);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {t}");
        assert!(t.contains(expected) && t.contains("nothing was sent"), "{args:?}: {t}");
        assert!(elapsed < bound, "{args:?} took {elapsed:?}");
    }
    assert_eq!(std::fs::read_to_string(reports.path().join("results.json")).unwrap(), "kept", "reports left as they were");
}

/// The schemas are read beside the suite's loading: a `--spec` that cannot be read or is not JSON is an error
/// of the run's input (exit 2, nothing sent, the reports left as they were), said once.
#[test]
fn a_spec_that_cannot_be_read_exits_2() {
    let root = root_arg();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("results.json"), "kept").unwrap();
    let not_json = dir.path().join("openapi.yaml");
    std::fs::write(&not_json, "openapi: 3.1.0\n").unwrap();
    let missing = dir.path().join("missing.json");
    for (spec, expected) in [(&missing, "cannot read"), (&not_json, "is not JSON")] {
        let out = compat_cmd(&["--root", &root, "run", "--reports", &dir.path().display().to_string(), "--spec", &spec.display().to_string()])
            .output()
            .unwrap();
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{t}");
        assert_eq!(t.matches(expected).count(), 1, "{t}");
        assert!(t.contains(&spec.display().to_string()), "{t}");
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("results.json")).unwrap(), "kept");
}

#[test]
fn an_expectations_entry_still_marked_todo_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("cases/targets.yaml", "targets:\n  t:\n    base_url: http://127.0.0.1:9/v1/\n    models: { chat: m }\n");
    write(
        "cases/chat/basic.yaml",
        "id: basic\nfeature: chat\ntitle: t\ndoc: d\nrequest: { path: chat/completions, body: { model: \"{{model}}\" } }\n",
    );
    write("cases/expectations/t.yaml", "chat::basic:\n  - rule: status\n    reason: \"TODO: why — observed: 500\"\n    link: \"TODO\"\n");
    let out = compat_cmd(&["--root", &dir.path().display().to_string(), "run", "--live", "--target", "t"]).output().unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("cases/expectations/t.yaml:2") && t.contains("still a draft marked TODO"), "{t}");
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    let reports = tempfile::tempdir().unwrap();
    let mut child = compat_cmd(&["--root", &root_arg(), "run", "--reports", &reports.path().display().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap(); // `| head -1`: one line, then closed
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
    assert!(matches!(out.status.code(), Some(0 | 1)), "the run's own exit code: {:?} {stderr}", out.status);
    assert!(reports.path().join("results.json").is_file(), "the reports are still written");
}

/// A project of `n` chat cases on target `t` at `base`.
fn slow_project(base: &str, n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "cases/targets.yaml",
        &format!(
            "targets:\n  t:\n    base_url: {base}\n    auth: {{ env: COMPAT_ONESHOT_KEY }}\n    models: {{ chat: m }}\n    pacing: {{ concurrency: 1 }}\n"
        ),
    );
    for i in 0..n {
        write(
            &format!("cases/chat/c{i:02}.yaml"),
            &format!(
                "id: c{i:02}\nfeature: chat\ntitle: t\ndoc: d\nrequest: {{ path: chat/completions, body: {{ model: \"{{{{model}}}}\", user: u{i} }} }}\nexpect: {{ status: 200, snapshot: false }}\n"
            ),
        );
    }
    dir
}

fn ok_completion() -> Value {
    json!({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi", "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_mid_run_writes_every_report_and_exits_130() {
    let server = MockServer::start().await;
    let slow = ResponseTemplate::new(200).set_body_json(ok_completion()).set_delay(Duration::from_millis(1500));
    Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(slow).mount(&server).await;
    let dir = slow_project(&format!("{}/v1/", server.uri()), 12);
    let reports = dir.path().join("reports");
    let mut child = compat_cmd(&["--root", &dir.path().display().to_string(), "run", "--live", "--target", "t"])
        .env("COMPAT_ONESHOT_KEY", "k")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(6500)).await; // about 4 cases done, one in flight, a progress line
    let sent_at = Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = tokio::task::spawn_blocking(move || {
        let _ = &mut child;
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let t = text(&out);
    assert!(sent_at.elapsed() < Duration::from_secs(6), "stopped within the grace period: {:?}", sent_at.elapsed());
    assert_eq!(out.status.code(), Some(130), "{t}");
    assert!(t.contains("interrupted (SIGINT)"), "{t}");
    assert!(t.contains("compat: ") && t.contains("/12 done"), "a progress line in a log: {t}");
    let results = read_json(&reports.join("results.json"));
    let outcomes = results["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 12, "every case has an outcome");
    let passed = outcomes.iter().filter(|o| o["verdict"] == "pass").count();
    let not_run = outcomes.iter().filter(|o| o["skip_reason"].as_str().is_some_and(|r| r.starts_with("not run: the run was interrupted"))).count();
    assert!(passed >= 3 && not_run >= 5 && passed + not_run == 12, "{passed} passed, {not_run} not run: {t}");
    for f in ["index.html", "junit.xml", "summary.md"] {
        assert!(reports.join(f).is_file(), "{f}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_reruns_only_the_failing_trials_of_the_last_results() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(wiremock::matchers::body_partial_json(json!({"user": "u1"})))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"message": "no", "type": "invalid_request_error", "param": null, "code": null}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_completion()))
        .mount(&server)
        .await;
    let dir = slow_project(&format!("{}/v1/", server.uri()), 3);
    let root = dir.path().display().to_string();
    let first = compat_cmd(&["--root", &root, "run", "--live", "--target", "t"]).env("COMPAT_ONESHOT_KEY", "k").output().unwrap();
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    // A target named with --target is a typo when unknown, not an ad-hoc target of the results.
    let typo = compat_cmd(&["--root", &root, "run", "--live", "--target", "tt", "--failed"]).env("COMPAT_ONESHOT_KEY", "k").output().unwrap();
    let t = text(&typo);
    assert_eq!(typo.status.code(), Some(2), "{t}");
    assert!(t.contains("no target `tt`") && t.contains("did you mean `t`?") && !t.contains("ad-hoc"), "{t}");
    let again = compat_cmd(&["--root", &root, "run", "--live", "--failed"]).env("COMPAT_ONESHOT_KEY", "k").output().unwrap();
    let t = text(&again);
    assert_eq!(again.status.code(), Some(1), "{t}");
    assert!(t.contains("re-running the 1 failing trial"), "{t}");
    let results = read_json(&dir.path().join("reports/results.json"));
    let names: Vec<String> = results["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| format!("{}::{}", o["feature"].as_str().unwrap(), o["id"].as_str().unwrap()))
        .collect();
    assert_eq!(names, ["chat::c01"]);
}

/// `--base-url` without `--target` is an ad-hoc target even at a configured target's base URL (the usual
/// loopback ports are shared by several reference servers): the run says which configured targets share it,
/// sends no configured key, and a name that is a configured target's is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_configured_targets_base_url_still_runs_ad_hoc_and_names_that_target() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_completion()))
        .mount(&server)
        .await;
    let url = format!("{}/v1/", server.uri());
    let dir = slow_project(&url, 1);
    let root = dir.path().display().to_string();
    let out = compat_cmd(&["--root", &root, "run", "--live", "--base-url", &url, "--model", "m"]).output().unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains(&format!("{url} is also the base URL of `t` in cases/targets.yaml; this run is ad hoc")), "{t}");
    let port = server.address().port();
    let results = read_json(&dir.path().join("reports/results.json"));
    assert_eq!(results["outcomes"][0]["target"], format!("127.0.0.1-{port}"));
    assert_eq!(results["outcomes"][0]["verdict"], "pass", "{t}");
    let named = compat_cmd(&["--root", &root, "run", "--live", "--base-url", &url, "--name", "t"]).output().unwrap();
    let t = text(&named);
    assert_eq!(named.status.code(), Some(2), "{t}");
    assert!(t.contains(&format!("`t` is a configured target: run it with --target t --base-url {url}")) && t.contains("nothing was sent"), "{t}");
}

/// On a terminal the progress is one line, rewritten in place (`\r` and erase-line, no newline) a few times a
/// second, and erased before the run ends, so the summary starts on a clean line.
#[tokio::test(flavor = "multi_thread")]
async fn progress_on_a_terminal_is_one_line_rewritten_in_place_then_erased() {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let server = MockServer::start().await;
    let slow = ResponseTemplate::new(200).set_body_json(ok_completion()).set_delay(Duration::from_millis(600));
    Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(slow).mount(&server).await;
    let dir = slow_project(&format!("{}/v1/", server.uri()), 3);
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors we then own; the other arguments may be null.
    let opened = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(opened, 0, "a pseudo-terminal");
    // SAFETY: both descriptors were just opened and are owned here alone.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut child = compat_cmd(&["--root", &dir.path().display().to_string(), "run", "--live", "--target", "t"])
        .env("COMPAT_ONESHOT_KEY", "a-key-long-enough")
        .stdout(Stdio::null())
        .stderr(Stdio::from(slave))
        .spawn()
        .unwrap();
    let reader = std::thread::spawn(move || {
        // Until the child's side closes (EIO on Linux).
        let (mut file, mut seen, mut buf) = (std::fs::File::from(master), Vec::new(), [0u8; 4096]);
        while let Ok(n @ 1..) = file.read(&mut buf) {
            seen.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    assert_eq!(status.code(), Some(0));
    let tty = reader.join().unwrap();
    let updates = tty.matches("\r\x1b[2K").count();
    assert!(tty.contains("/3 done") && updates >= 3, "progress shown and rewritten: {tty:?}");
    assert!(!tty.contains('\n'), "never a new line for progress: {tty:?}");
    assert!(tty.ends_with("\r\x1b[2K"), "the line erased at the end: {tty:?}");
}
