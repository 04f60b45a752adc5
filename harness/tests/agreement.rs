//! Severity agrees with the official SDKs: both client drivers against every fixture and the planted corpus.
//!
//! Starts `compat serve --port 0 --planted drivers/planted/corpus.json` (every fixture of every target, and every
//! planted divergence, each under its own base URL), runs `drivers/python/driver.py` (openai-python) and
//! `drivers/node/driver.mjs` (openai-node) against it, and checks each served case against the harness's own
//! verdict on the same bytes under the documented mapping:
//!
//! | harness's highest severity | drivers' worst outcome |
//! |---|---|
//! | none, `spec` or `typed` | `ok` |
//! | `breaking` | `degraded` or `breaks` |
//!
//! A case for whose endpoint neither SDK has a call (both drivers say `n/a`) is not counted either way. A
//! disagreement fails the test unless `drivers/exceptions.json` lists it with a reason; an exception that no
//! longer disagrees fails it too (stale data hides the next regression), and so does a committed
//! `drivers/evidence.json` that differs from what the drivers said (it is rewritten, to be reviewed and committed;
//! rerunning `cargo test --test agreement` then passes). `drivers/planted/corpus.json` must be what
//! `drivers/planted/generate.py` writes. The drivers' environments come from
//! `drivers/setup.sh`; without them the test prints a `skipped:` line, and fails under `CI=true`, where `.ci/run`
//! installs them. The evidence is written to `reports/agreement.json`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use compat::case::LoadedCase;
use compat::check::{Observed, evaluate};
use compat::clients::{CaseEvidence, EVIDENCE_FILE, Evidence};
use compat::fixture::{Fixture, fixture_digest, fixture_path, load_fixture};
use compat::outcome::ClientRun;
use compat::rules::Severity;
use compat::schema::SchemaSet;
use compat::suite::{Suite, default_root};
use serde_json::{Value, json};

mod serve_support;

/// What the harness says about one served case: its highest severity, or `error` for a cut stream.
fn harness_view(case: &LoadedCase, fixture: &Fixture, schemas: &SchemaSet) -> (String, Vec<String>) {
    let (bytes, content_type) = fixture.response.wire_body();
    let mut headers: Vec<(String, String)> = fixture.response.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect();
    if !headers.iter().any(|(k, _)| k == "content-type") {
        headers.push(("content-type".into(), content_type.into()));
    }
    let observed = Observed::from_bytes(fixture.response.status, headers, &bytes);
    let step = &case.case.steps[0].value;
    let ev = evaluate(&sent_as_written(&step.request), &step.expect, &observed, schemas);
    let findings: Vec<String> = ev.findings.iter().map(|f| format!("{} {} {} ({})", f.severity, f.rule, f.path, f.message)).collect();
    if ev.truncated {
        return ("error".into(), findings);
    }
    let top = ev.findings.iter().map(|f| f.severity).max();
    (top.map_or("pass".into(), |s| s.name().to_owned()), findings)
}

fn expected_client_outcome(harness: &str) -> &'static str {
    if harness == Severity::Breaking.name() || harness == "error" { "degraded or breaks" } else { "ok" }
}

fn agrees(harness: &str, worst: &str) -> bool {
    match expected_client_outcome(harness) {
        "ok" => worst == "ok",
        _ => worst == "degraded" || worst == "breaks",
    }
}

fn run_driver(program: &Path, script: &Path, url: &str) -> Value {
    let out = Command::new(program).arg(script).arg("--serve").arg(url).output().unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(out.status.success(), "{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{} printed no JSON document: {e}", script.display()))
}

#[test]
fn harness_severity_agrees_with_the_official_sdks() {
    let root = default_root();
    let python = root.join("drivers/python/.venv/bin/python");
    let node = root.join("drivers/node/node_modules/.bin/node");
    if !python.is_file() || !node.is_file() {
        let msg =
            format!("skipped: the client drivers are not installed ({} / {} absent; run `bash drivers/setup.sh`)", python.display(), node.display());
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}, and CI=true: .ci/run must install them");
        eprintln!("{msg}");
        return;
    }
    let planted_path = root.join("drivers/planted/corpus.json");
    let (_server, url) = serve_support::compat_serve(&root, &["--planted", planted_path.to_str().expect("a UTF-8 path")]);

    // The harness's view of every served case.
    let suite = Suite::load(&root).unwrap_or_else(|e| panic!("{e}"));
    let schemas = SchemaSet::builtin().unwrap();
    let mut harness: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let mut digests: BTreeMap<String, String> = BTreeMap::new();
    for target in suite.replayable_targets() {
        // A multi-step case (create, then poll) is a conversation, not one SDK call: the drivers make single calls.
        for case in suite.cases.iter().filter(|c| !c.case.is_multi_step()) {
            let rel = fixture_path(&target.fixtures_dir(), &case.case.feature, &case.case.id);
            // A fixture that does not load is a failure here, never a case silently left out.
            if let Some(fixture) = load_fixture(&root, &rel).unwrap_or_else(|e| panic!("{rel}: {e}")) {
                let name = format!("{}::{}::{}", target.name, case.case.feature, case.case.id);
                digests.insert(name.clone(), fixture_digest(&fixture));
                harness.insert(name, harness_view(case, &fixture, &schemas));
            }
        }
    }
    let corpus: Value = serde_json::from_str(&std::fs::read_to_string(&planted_path).unwrap()).unwrap();
    let mutations = corpus["mutations"].as_array().unwrap();
    assert!(mutations.len() >= 90, "the planted corpus has {} mutations; at least 90 are due", mutations.len());
    for m in mutations {
        let case = suite.cases.iter().find(|c| format!("{}/{}", c.case.feature, c.case.id) == m["case"].as_str().unwrap()).unwrap();
        let fixture: Fixture = serde_json::from_value(m["fixture"].clone()).unwrap();
        harness.insert(format!("planted::{}", m["name"].as_str().unwrap()), harness_view(case, &fixture, &schemas));
    }

    let drivers = [run_driver(&python, &root.join("drivers/python/driver.py"), &url), run_driver(&node, &root.join("drivers/node/driver.mjs"), &url)];
    let exceptions: Value = serde_json::from_str(&std::fs::read_to_string(root.join("drivers/exceptions.json")).unwrap()).unwrap();
    let excepted: BTreeMap<&str, &str> =
        exceptions["exceptions"].as_array().unwrap().iter().map(|e| (e["name"].as_str().unwrap(), e["reason"].as_str().unwrap())).collect();

    let mut served = Vec::new();
    let mut failures = Vec::new();
    let (mut agreed, mut total, mut not_applicable) = (0, 0, 0);
    for (name, (severity, findings)) in &harness {
        let per_driver: Vec<(String, String, Value)> = drivers
            .iter()
            .map(|d| {
                let r =
                    d["results"].as_array().unwrap().iter().find(|r| r["name"] == name.as_str()).cloned().unwrap_or(json!({"outcome": "missing"}));
                (
                    format!("{} {}", d["driver"].as_str().unwrap(), d["sdk_version"].as_str().unwrap()),
                    r["outcome"].as_str().unwrap_or("missing").to_owned(),
                    r,
                )
            })
            .collect();
        let rank = |o: &str| match o {
            "n/a" => -1,
            "ok" => 0,
            "degraded" => 1,
            "breaks" => 2,
            _ => 3,
        };
        let worst = per_driver.iter().map(|(_, o, _)| o.as_str()).max_by_key(|o| rank(o)).unwrap_or("missing").to_owned();
        if worst == "n/a" {
            // No SDK call exists for this endpoint: the SDKs say nothing about the harness's severity.
            not_applicable += 1;
            served.push(json!({
                "name": name, "harness": severity, "clients": per_driver.iter().map(|(d, _, r)| json!({"driver": d, "outcome": r["outcome"], "calls": r["calls"]})).collect::<Vec<_>>(),
                "agrees": Value::Null, "exception": excepted.get(name.as_str()),
            }));
            continue;
        }
        total += 1;
        let ok = agrees(severity, &worst);
        if ok {
            agreed += 1;
        }
        match (ok, excepted.get(name.as_str())) {
            (false, None) => failures.push(format!(
                "{name}: harness says {severity}, so the SDKs should give {}; they gave {}\n    harness findings: {}\n{}",
                expected_client_outcome(severity),
                worst,
                if findings.is_empty() { "none".to_owned() } else { findings.join("; ") },
                per_driver
                    .iter()
                    .map(|(d, o, r)| format!(
                        "    {d}: {o} {}",
                        r["calls"]
                            .as_array()
                            .map(|cs| cs
                                .iter()
                                .filter(|c| c["outcome"] != "ok")
                                .map(|c| format!("[{}: {}]", c["call"].as_str().unwrap_or(""), c["detail"].as_str().unwrap_or("")))
                                .collect::<Vec<_>>()
                                .join(" "))
                            .unwrap_or_default()
                    ))
                    .collect::<Vec<_>>()
                    .join("\n")
            )),
            (true, Some(reason)) => failures.push(format!(
                "{name}: listed in drivers/exceptions.json ({reason}) but harness ({severity}) and SDKs ({worst}) now agree; remove the entry"
            )),
            _ => {}
        }
        served.push(json!({
            "name": name, "harness": severity, "clients": per_driver.iter().map(|(d, _, r)| json!({"driver": d, "outcome": r["outcome"], "calls": r["calls"]})).collect::<Vec<_>>(),
            "agrees": ok, "exception": excepted.get(name.as_str()),
        }));
    }
    // The evidence replay outcomes carry (compat::clients): written only when it changed, so a run leaves no diff.
    let evidence = Evidence {
        drivers: drivers.iter().map(|d| format!("{} {}", d["driver"].as_str().unwrap(), d["sdk_version"].as_str().unwrap())).collect(),
        cases: served
            .iter()
            .filter_map(|e| {
                let name = e["name"].as_str().unwrap();
                let clients: Vec<ClientRun> = serde_json::from_value(e["clients"].clone()).ok()?;
                Some(CaseEvidence { name: name.to_owned(), fixture_sha256: digests.get(name)?.clone(), clients })
            })
            .collect(),
    };
    let text = serde_json::to_string_pretty(&evidence).unwrap() + "\n";
    if std::fs::read_to_string(root.join(EVIDENCE_FILE)).ok().as_deref() != Some(text.as_str()) {
        // Stale evidence is a failure (replay outcomes would carry what the SDKs no longer do); it is rewritten so
        // that the refresh is this very command.
        std::fs::write(root.join(EVIDENCE_FILE), text).expect("drivers/evidence.json is written");
        failures.push(format!(
            "{EVIDENCE_FILE} was stale ({} cases now): it has been rewritten; review and commit it (refresh: `cargo test --test agreement`)",
            evidence.cases.len()
        ));
    }
    let report = json!({"served": total, "agreed": agreed, "not_applicable": not_applicable, "drivers": drivers.iter().map(|d| json!({"driver": d["driver"], "sdk_version": d["sdk_version"]})).collect::<Vec<_>>(), "cases": served});
    let _ = std::fs::create_dir_all(root.join("reports"));
    let _ = std::fs::write(root.join("reports/agreement.json"), serde_json::to_string_pretty(&report).unwrap());
    eprintln!(
        "agreement: {agreed} of {total} served cases agree ({} planted), {not_applicable} with no SDK call (n/a), {} listed exceptions",
        mutations.len(),
        excepted.len()
    );
    assert!(failures.is_empty(), "{} disagreements between the harness's severity and the official SDKs:\n{}", failures.len(), failures.join("\n"));
}

/// A case's request as written (placeholders unresolved), as the checks take it.
fn sent_as_written(r: &compat::case::Request) -> compat::outcome::SentRequest {
    compat::outcome::SentRequest { method: r.method, path: r.path.clone(), body: r.body.clone(), raw_body: r.raw_body.clone() }
}

/// `drivers/planted/corpus.json` is what `drivers/planted/generate.py` writes (standard library only), so an edit
/// of either alone fails here.
#[test]
fn the_planted_corpus_is_what_generate_py_writes() {
    let root = default_root();
    let out = match Command::new("python3").arg(root.join("drivers/planted/generate.py")).arg("--stdout").output() {
        Ok(out) => out,
        Err(e) => {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "python3 is needed under CI=true: {e}");
            eprintln!("skipped: no python3 ({e})");
            return;
        }
    };
    assert!(out.status.success(), "generate.py failed: {}", String::from_utf8_lossy(&out.stderr));
    let committed = std::fs::read_to_string(root.join("drivers/planted/corpus.json")).unwrap();
    assert!(
        String::from_utf8(out.stdout).unwrap() == committed,
        "drivers/planted/corpus.json is not what generate.py writes: run `python3 drivers/planted/generate.py` and commit both"
    );
    let corpus: Value = serde_json::from_str(&committed).unwrap();
    let names: Vec<&str> = corpus["mutations"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    // The classes issue 19 measured severities on are planted.
    for class in [
        "tool_no_type",
        "embeddings_no_embedding",
        "error_string",
        "error_text_body",
        "error_html_body",
        "chat_no_finish_reason",
        "chat_no_prompt_tokens",
        "chat_created_string",
        "stream_chunk_no_id",
        "tool_finish_reason_stop",
    ] {
        assert!(names.contains(&class), "{class} is not planted");
    }
}
