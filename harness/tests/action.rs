//! The reusable GitHub Action's script, `action/run.sh` (what `action.yml` runs after installing compat).
//!
//! 1. Against a stand-in `compat` that records its arguments: the inputs become `compat run --live` flags, the
//!    key travels only in the environment (its variable's name on the command line, its value nowhere in the
//!    output, the arguments or the summary), summary.md is appended to `$GITHUB_STEP_SUMMARY`, compat's exit
//!    status is the script's and lands in `$GITHUB_OUTPUT`, and a run that wrote no report still leaves a note
//!    in the summary.
//! 2. End to end: the real binary, from an empty directory (the built-in suite), against `compat serve`
//!    answering on loopback as OpenAI documents. PENDING the ad-hoc target flags of `compat run --live`
//!    (`--name`, `--api-key-env`, `--model`, `--profile`; issue 17 item 1): until `compat run --help` lists
//!    them, that test prints `skipped: …` and returns.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use compat::suite::default_root;
use serde_json::Value;

fn script() -> PathBuf {
    default_root().join("action/run.sh")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A stand-in `compat`: writes its arguments one a line to `$STUB_ARGS`, whether it saw `$COMPAT_API_KEY` to
/// `$STUB_ARGS.key`, a summary.md into the `--reports` folder unless `$STUB_NO_REPORT`, and exits `$STUB_EXIT`.
fn stub(dir: &Path) -> PathBuf {
    let path = dir.join("compat-stub");
    std::fs::write(
        &path,
        r#"#!/usr/bin/env bash
printf '%s\n' "$@" > "$STUB_ARGS"
if [ -n "${COMPAT_API_KEY:-}" ]; then echo seen > "$STUB_ARGS.key"; fi
reports=""; prev=""
for a in "$@"; do [ "$prev" = --reports ] && reports="$a"; prev="$a"; done
[ -n "${STUB_NO_REPORT:-}" ] || printf '## compat: 3 pass, 1 diverges\n' > "$reports/summary.md"
exit "${STUB_EXIT:-0}"
"#,
    )
    .unwrap();
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).unwrap();
    path
}

struct Run {
    out: Output,
    args: Vec<String>,
    key_seen: bool,
    summary: String,
    output: String,
}

fn run_script(dir: &Path, envs: &[(&str, &str)]) -> Run {
    let args_file = dir.join("args.txt");
    let _ = std::fs::remove_file(&args_file);
    let _ = std::fs::remove_file(dir.join("args.txt.key"));
    let summary = dir.join("step-summary.md");
    let output = dir.join("github-output");
    std::fs::write(&summary, "earlier steps' summary\n").unwrap();
    let _ = std::fs::remove_file(&output);
    let out = Command::new("bash")
        .arg(script())
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("COMPAT_BIN", stub(dir))
        .env("STUB_ARGS", &args_file)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &output)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    Run {
        args: std::fs::read_to_string(&args_file).unwrap_or_default().lines().map(String::from).collect(),
        key_seen: dir.join("args.txt.key").exists(),
        summary: std::fs::read_to_string(&summary).unwrap(),
        output: std::fs::read_to_string(&output).unwrap_or_default(),
        out,
    }
}

#[test]
fn inputs_become_flags_the_key_stays_in_the_environment_and_the_summary_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let key = "sk-test-0123456789abcdef";
    let r = run_script(
        dir.path(),
        &[
            ("COMPAT_BASE_URL", "http://127.0.0.1:9/v1/"),
            ("COMPAT_API_KEY", key),
            ("COMPAT_MODEL", "my-model, vision=my-vlm\nembedding=my-embed"),
            ("COMPAT_PROFILE", "openai"),
            ("COMPAT_NAME", "my-server"),
            ("COMPAT_ARGS", "--rpm 0  chat::"),
            ("COMPAT_REPORTS", "out/reports"),
            ("STUB_EXIT", "1"),
        ],
    );
    let expected = [
        "run",
        "--live",
        "--base-url",
        "http://127.0.0.1:9/v1/",
        "--reports",
        "out/reports",
        "--name",
        "my-server",
        "--api-key-env",
        "COMPAT_API_KEY",
        "--model",
        "my-model",
        "--model",
        "vision=my-vlm",
        "--model",
        "embedding=my-embed",
        "--profile",
        "openai",
        "--rpm",
        "0",
        "chat::",
    ];
    assert_eq!(r.args, expected, "{}", text(&r.out));
    assert!(r.key_seen, "the key reaches compat in its environment");
    for (what, s) in [("output", text(&r.out)), ("arguments", r.args.join(" ")), ("summary", r.summary.clone()), ("GITHUB_OUTPUT", r.output.clone())]
    {
        assert!(!s.contains(key), "the key is in the {what}: {s}");
    }
    assert_eq!(r.out.status.code(), Some(1), "compat's exit status: {}", text(&r.out));
    assert_eq!(r.summary, "earlier steps' summary\n## compat: 3 pass, 1 diverges\n", "summary.md appended");
    assert!(r.output.contains("exit-code=1\n") && r.output.contains("reports=out/reports\n"), "{}", r.output);
}

#[test]
fn no_key_no_auth_flag_and_a_run_without_report_still_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_script(dir.path(), &[("COMPAT_BASE_URL", "http://127.0.0.1:9/"), ("STUB_EXIT", "2"), ("STUB_NO_REPORT", "1")]);
    assert_eq!(r.args, ["run", "--live", "--base-url", "http://127.0.0.1:9/", "--reports", "compat-reports"], "{}", text(&r.out));
    assert!(!r.key_seen);
    assert_eq!(r.out.status.code(), Some(2));
    assert!(r.summary.starts_with("earlier steps' summary\n") && r.summary.contains("exited 2 before writing a report"), "{}", r.summary);

    let r = run_script(dir.path(), &[]);
    assert_eq!(r.out.status.code(), Some(2), "base-url is required: {}", text(&r.out));
    assert!(text(&r.out).contains("base-url"), "{}", text(&r.out));
    assert!(r.args.is_empty(), "compat is not started");
}

mod serve_support;

/// `compat serve --target openai-reference` on a free loopback port: its base URL.
fn serve() -> (serve_support::Served, String) {
    serve_support::compat_serve(&default_root(), &["--target", "openai-reference"])
}

#[test]
fn end_to_end_against_a_loopback_server_from_an_empty_directory() {
    let help = Command::new(env!("CARGO_BIN_EXE_compat")).args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let pending: Vec<&str> = ["--name", "--api-key-env", "--model", "--profile"].into_iter().filter(|f| !help.contains(f)).collect();
    if !pending.is_empty() {
        // PENDING (issue 17 item 1): remove this early return's reason once `compat run --live` has these flags.
        eprintln!("skipped: `compat run` has no {} yet (issue 17 item 1); action/run.sh passes them", pending.join(", "));
        return;
    }
    let (_server, url) = serve();
    let cwd = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let summary = cwd.path().join("step-summary.md");
    let run = |base: &str| {
        std::fs::write(&summary, "").unwrap();
        Command::new("bash")
            .arg(script())
            .current_dir(cwd.path())
            .env_remove("COMPAT_ROOT")
            .env("XDG_CACHE_HOME", cache.path())
            .env("COMPAT_BIN", env!("CARGO_BIN_EXE_compat"))
            .env("COMPAT_BASE_URL", base)
            .env("COMPAT_MODEL", "gpt-4o-mini")
            .env("COMPAT_NAME", "loopback")
            .env("COMPAT_ARGS", "chat::basic")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap()
    };
    // The chat::basic fixture answers chat/completions as OpenAI documents: the case passes.
    let out = run(&format!("{url}openai-reference/chat/basic/"));
    let written = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(written.contains("loopback") && written.contains("pass"), "{written}");
    assert!(cwd.path().join("compat-reports/results.json").is_file());
    // Under another case's prefix nothing answers chat/completions (404): the run fails, the summary is written.
    let out = run(&format!("{url}openai-reference/models/list/"));
    let written = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(written.contains("loopback"), "{written}");
}

#[test]
fn action_yml_hands_every_input_to_the_script_through_the_environment() {
    let text = std::fs::read_to_string(default_root().join("action.yml")).unwrap();
    let action: Value = serde_saphyr::from_str(&text).expect("action.yml is YAML");
    assert_eq!(action["runs"]["using"], "composite");
    let inputs = action["inputs"].as_object().unwrap();
    for name in ["base-url", "api-key", "model", "profile", "name", "args"] {
        assert!(inputs.contains_key(name), "input {name}");
    }
    assert_eq!(action["inputs"]["base-url"]["required"], true);
    let steps = action["runs"]["steps"].as_array().unwrap();
    let install = steps.iter().find_map(|s| s["run"].as_str().filter(|r| r.contains("cargo install"))).expect("an install step");
    assert!(install.contains("--locked --path \"$GITHUB_ACTION_PATH/harness\""), "from the action's own checkout: {install}");
    let run = steps.iter().find(|s| s["run"].as_str().is_some_and(|r| r.contains("action/run.sh"))).expect("a step running action/run.sh");
    assert_eq!(run["env"]["COMPAT_API_KEY"], "${{ inputs.api-key }}", "the key is handed over in the environment");
    for (name, value) in run["env"].as_object().unwrap() {
        assert!(name.starts_with("COMPAT_"), "{name}");
        assert!(value.as_str().is_some(), "{name}");
    }
    // No input is pasted into a shell command (where a value could run as code or be printed with the command).
    for step in steps {
        if let Some(cmd) = step["run"].as_str() {
            assert!(!cmd.contains("inputs."), "an input expanded into a command: {cmd}");
        }
    }
    let upload = steps.iter().find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("actions/upload-artifact@"))).expect("an upload step");
    assert_eq!(upload["if"], "always()", "the reports are uploaded when the suite fails too");
}
