//! Expectations files end to end, on throwaway projects: an entry in `cases/expectations/<target>.yaml`
//! explains a finding (`known`, reported with that file's line) on its target only; an entry the response no
//! longer shows gives `fixed`; a broken file stops the suite with `file:line:col`; and
//! `compat expectations update` writes a run's unexplained divergences into the file, which then explains them.

use std::path::Path;
use std::process::Command;

use compat::outcome::{Outcome, Verdict};
use compat::suite::Suite;
use serde_json::json;

const TARGETS: &str = "targets:\n  t:\n    base_url: https://example.invalid/v1/\n    auth: { env: NO_KEY_NEEDED }\n    models: { embedding: e-1 }\n  other:\n    base_url: https://example.invalid/v1/\n    auth: { env: NO_KEY_NEEDED }\n    models: { embedding: e-1 }\n";
const CASE: &str = "id: list\nfeature: models\ntitle: list\ndoc: none\nmodel: embedding\nrequest:\n  method: GET\n  path: models\nexpect:\n  schema: model.list\n  snapshot: false\n";
/// A model list whose entry lacks `created` (a `schema.spec` finding) — as llama-cpp-python serves it.
const EXPECTATIONS: &str = "# header kept\nmodels::list:\n  - rule: schema.spec\n    path: $.data[*].created\n    severity: spec\n    reason: no created\n    link: fixtures/t/models/list.json\n";

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn project(model: serde_json::Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cases/targets.yaml", TARGETS);
    write(dir.path(), "cases/models/list.yaml", CASE);
    for target in ["t", "other"] {
        let fixture = json!({
            "origin": {"kind": "synthesized", "basis": "test"},
            "request": {"method": "GET", "path": "models"},
            "response": {"status": 200, "body": {"object": "list", "data": [model]}}
        });
        write(dir.path(), &format!("fixtures/{target}/models/list.json"), &serde_json::to_string_pretty(&fixture).unwrap());
    }
    dir
}

fn run(root: &Path, target: &str) -> Outcome {
    let suite = Suite::load(root).unwrap_or_else(|e| panic!("{e}"));
    let ctx = compat::run::RunContext::replay(root.to_path_buf()).unwrap();
    let case = suite.cases[0].clone();
    let target = suite.target(target).unwrap().clone();
    tokio::runtime::Runtime::new().unwrap().block_on(compat::run::run_case(&ctx, &case, &target))
}

fn without_created() -> serde_json::Value {
    json!({"id": "m", "object": "model", "owned_by": "me"})
}

#[test]
fn an_entry_explains_its_finding_on_its_target_only() {
    let dir = project(without_created());
    assert_eq!(run(dir.path(), "t").verdict(), Verdict::Diverges, "without the file the finding is unexplained");
    write(dir.path(), "cases/expectations/t.yaml", EXPECTATIONS);
    let o = run(dir.path(), "t");
    assert_eq!(o.verdict(), Verdict::Known);
    let k = &o.known()[0];
    assert_eq!((k.file.as_deref(), k.line, k.observed, k.index), (Some("cases/expectations/t.yaml"), 3, 1, 0));
    assert_eq!(k.divergence.targets, ["t"]);
    assert_eq!(o.findings()[0].known, Some(0));
    assert_eq!(run(dir.path(), "other").verdict(), Verdict::Diverges, "the file of `t` says nothing about `other`");
}

#[test]
fn an_entry_the_response_no_longer_shows_is_fixed_and_names_the_file() {
    let dir = project(json!({"id": "m", "object": "model", "owned_by": "me", "created": 1}));
    write(dir.path(), "cases/expectations/t.yaml", EXPECTATIONS);
    let o = run(dir.path(), "t");
    assert_eq!(o.verdict(), Verdict::Fixed);
    let text = compat::report::terminal::render_outcome(&o);
    assert!(text.contains("fixed: known divergence `schema.spec at $.data[*].created` (cases/expectations/t.yaml:3) was not observed"), "{text}");
    assert!(text.contains("remove the entry from cases/expectations/t.yaml"), "{text}");
}

#[test]
fn a_broken_file_stops_the_suite_with_its_location() {
    let dir = project(without_created());
    write(dir.path(), "cases/expectations/t.yaml", &EXPECTATIONS.replace("models::list:", "models::lists:"));
    let e = Suite::load(dir.path()).err().expect("an unknown case is a load error");
    assert_eq!(
        e.headline(),
        "cases/expectations/t.yaml:2:1: no case `models::lists` in this suite: did you mean `models::list`? (keys are `<feature>::<id>`)"
    );
    assert_eq!(e.source_line.as_deref(), Some("models::lists:"));

    write(dir.path(), "cases/expectations/t.yaml", &EXPECTATIONS.replace("    link:", "    lnk:"));
    let e = Suite::load(dir.path()).err().expect("an unknown key is a load error");
    assert_eq!((e.file.as_str(), e.line), ("cases/expectations/t.yaml", 7));
    assert!(e.message.contains("did you mean `link`?"), "{e}");

    std::fs::remove_file(dir.path().join("cases/expectations/t.yaml")).unwrap();
    write(dir.path(), "cases/expectations/tt.yaml", EXPECTATIONS);
    let e = Suite::load(dir.path()).err().expect("a file named after no target is a load error");
    assert!(e.to_string().contains("cases/expectations/tt.yaml: no target `tt`") && e.message.contains("did you mean `t.yaml`?"), "{e}");
}

#[test]
fn update_writes_the_unexplained_divergences_of_a_run_for_review() {
    let dir = project(without_created());
    write(dir.path(), "cases/expectations/t.yaml", "# header kept\n");
    let compat = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_compat")).arg("--root").arg(dir.path()).args(args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, ..) = compat(&["run", "--target", "t"]);
    assert_eq!(code, Some(1), "the finding is unexplained");
    let (code, stdout, stderr) = compat(&["expectations", "update", "--target", "t"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("cases/expectations/t.yaml: added 1 entry for 1 case"), "{stdout}");
    let text = std::fs::read_to_string(dir.path().join("cases/expectations/t.yaml")).unwrap();
    assert!(
        text.starts_with("# header kept\n\nmodels::list:\n  - rule: \"schema.spec\"\n    path: \"$.data[*].created\"\n    severity: spec\n"),
        "{text}"
    );
    assert!(text.contains("    link: \"TODO\"\n"), "{text}");
    // The file now explains the finding: the same run is `known`, and a second update adds nothing.
    assert_eq!(run(dir.path(), "t").verdict(), Verdict::Known);
    let (code, ..) = compat(&["run", "--target", "t"]);
    assert_eq!(code, Some(0));
    let (_, stdout, _) = compat(&["expectations", "update", "--target", "t"]);
    assert!(stdout.contains("nothing to add"), "{stdout}");
    // An unknown target is a usage error.
    let (code, _, stderr) = compat(&["expectations", "update", "--target", "nope"]);
    assert_eq!((code, stderr.trim()), (Some(2), "error: no target `nope` in cases/targets.yaml"));
}
