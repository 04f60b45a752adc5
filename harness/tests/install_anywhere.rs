//! An installed `compat` runs from any directory: the built binary, started in an empty temporary directory with
//! no checkout above it and no `$COMPAT_ROOT`, finds the suite built into it (materialized once into its cache
//! folder), replays the control target from it and writes the reports to `./reports`. `compat init DIR` writes
//! the same suite as a project, which `compat` then finds from DIR or any folder below it; `$COMPAT_ROOT` and
//! `--root` take precedence.

use std::path::Path;
use std::process::{Command, Output};

fn compat(cwd: &Path, cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_compat"))
        .args(args)
        .current_dir(cwd)
        .env_remove("COMPAT_ROOT")
        .env("XDG_CACHE_HOME", cache)
        .env("HOME", cache)
        .env_remove("CI")
        .output()
        .expect("compat starts")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// An empty folder with no `cases/targets.yaml` in it or above it (the temporary directory's parents have none).
fn empty_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    assert!(compat::bundle::discover(dir.path()).is_none(), "a project above {}", dir.path().display());
    dir
}

#[test]
fn from_an_empty_directory_the_built_in_suite_replays_and_reports_land_here() {
    let cwd = empty_dir();
    let cache = tempfile::tempdir().unwrap();
    let out = compat(cwd.path(), cache.path(), &["run", "--target", "openai-reference", "chat::"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("using the suite built into compat"), "says which suite it runs: {all}");
    assert!(all.contains("0 failing") && all.contains(" pass"), "{all}");
    assert!(cwd.path().join("reports/summary.md").is_file(), "reports go to ./reports: {all}");
    assert!(cwd.path().join("reports/results.json").is_file());
    let suite = compat::bundle::suite_dir(&cache.path().join("compat")).unwrap();
    assert!(suite.join("cases/targets.yaml").is_file(), "materialized in the cache: {all}");
    assert!(!suite.join("reports").exists(), "no report written into the cache");
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 1, "only ./reports is written here");

    // `compat serve` serves the control target's fixtures from the built-in suite too (exit 2 only on a bad target).
    let out = compat(cwd.path(), cache.path(), &["serve", "--target", "no-such-target", "--port", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no target `no-such-target`"), "{}", text(&out));
}

#[test]
fn init_writes_an_editable_project_that_compat_then_finds_from_below() {
    let cwd = empty_dir();
    let cache = tempfile::tempdir().unwrap();
    let out = compat(cwd.path(), cache.path(), &["init", "proj"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let proj = cwd.path().join("proj");
    for file in
        ["cases/targets.yaml", "cases/features.yaml", "cases/case.schema.json", "cases/chat/basic.yaml", "fixtures/openai-reference/chat/basic.json"]
    {
        assert!(proj.join(file).is_file(), "{file}: {}", text(&out));
    }
    let again = compat(cwd.path(), cache.path(), &["init", "proj"]);
    assert_eq!(again.status.code(), Some(2), "an existing project is not overwritten without --force: {}", text(&again));

    // Edited, it is what runs: from a folder below it, with no note about the built-in suite.
    let basic = proj.join("cases/chat/basic.yaml");
    std::fs::write(&basic, std::fs::read_to_string(&basic).unwrap() + "\nthis is not: [valid\n").unwrap();
    let below = proj.join("cases/chat");
    let out = compat(&below, cache.path(), &["run", "--target", "openai-reference", "chat::basic"]);
    assert!(!text(&out).contains("built into compat"), "{}", text(&out));
    assert_ne!(out.status.code(), Some(0), "the edited (broken) case is the one loaded: {}", text(&out));
    assert!(text(&out).contains("cases/chat/basic.yaml"), "{}", text(&out));
    assert!(proj.join("reports/summary.md").is_file(), "reports under the project found: {}", text(&out));

    // $COMPAT_ROOT and --root win over discovery and the built-in suite.
    let fresh = empty_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_compat"))
        .args(["run", "--target", "openai-reference", "chat::basic"])
        .current_dir(fresh.path())
        .env("COMPAT_ROOT", &proj)
        .env("XDG_CACHE_HOME", cache.path())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "$COMPAT_ROOT names the edited project: {}", text(&out));
    let out = compat(fresh.path(), cache.path(), &["run", "--root", proj.to_str().unwrap(), "--target", "openai-reference", "chat::basic"]);
    assert_ne!(out.status.code(), Some(0), "--root names the edited project: {}", text(&out));
}
