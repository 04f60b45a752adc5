//! The reference material's pins (`scripts/shared-pins.txt`) and the script that fetches it
//! (`scripts/fetch-shared.sh`).
//!
//! 1. The pins are well formed, and the files the tests read are pinned as `tests` (fetch-shared.sh fails
//!    without them).
//! 2. Against `../shared/` when it is there: every pinned file is there with its sha256, and every file of
//!    `../shared/recordings/` is pinned (a new recording gets its pin). The cache, when filled, holds no file
//!    that differs from its pin.
//! 3. The script, offline: `--from DIR` fills an empty cache with every pinned file and refuses a wrong copy;
//!    the download path, against a loopback mirror laid out as raw.githubusercontent.com, fetches each
//!    `repository@commit:path` (percent-encoded) and derives the files that are not upstream files of their own.
//! 4. Where the tests look for the material ([`locate_shared`]): beside the checkout, then the cache; absent,
//!    a skip note outside CI and a failure naming the fetch command under it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use compat::suite::{FETCH_SHARED, default_root, locate_shared, shared_cache};

struct Pin {
    path: String,
    sha256: String,
    repo: String,
    commit: String,
    source_path: String,
    how: String,
    needed: String,
}

fn pins() -> Vec<Pin> {
    let text = std::fs::read_to_string(default_root().join("scripts/shared-pins.txt")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('|').map(str::trim).collect();
            assert_eq!(f.len(), 5, "path | sha256 | repository@commit:path | how | needed: {l}");
            let (repo, rest) = f[2].split_once('@').unwrap_or_else(|| panic!("no @ in {}", f[2]));
            let (commit, source_path) = rest.split_once(':').unwrap_or_else(|| panic!("no : in {}", f[2]));
            Pin {
                path: f[0].into(),
                sha256: f[1].into(),
                repo: repo.into(),
                commit: commit.into(),
                source_path: source_path.into(),
                how: f[3].into(),
                needed: f[4].into(),
            }
        })
        .collect()
}

fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() { files_under(&p, out) } else { out.push(p) }
    }
}

fn beside() -> PathBuf {
    default_root().join("../shared")
}

#[test]
fn pins_are_well_formed_and_cover_what_the_tests_read() {
    let pins = pins();
    assert!(!pins.is_empty());
    for p in &pins {
        assert!(
            p.sha256.len() == 64 && p.sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{}: sha256 {}",
            p.path,
            p.sha256
        );
        assert!(p.repo.split('/').count() == 2, "{}: repository {}", p.path, p.repo);
        assert!(p.commit.len() >= 7 && p.commit.bytes().all(|b| b.is_ascii_hexdigit()), "{}: a commit, not a branch: {}", p.path, p.commit);
        assert!(!p.source_path.is_empty());
        assert!(p.how == "copy" || p.how.starts_with("md-block ### ") || p.how.starts_with("ipynb-output "), "{}: how {}", p.path, p.how);
        assert!(p.needed == "tests" || p.needed == "later", "{}: needed {}", p.path, p.needed);
    }
    // What harness/tests/official_spec.rs, openai_examples.rs and check_traffic.rs read.
    let needed: Vec<&str> = pins.iter().filter(|p| p.needed == "tests").map(|p| p.path.as_str()).collect();
    assert!(needed.contains(&"reference/openai-openapi.json"), "{needed:?}");
    let top_level_recordings = needed.iter().filter(|p| p.starts_with("recordings/") && p.matches('/').count() == 1).count();
    assert_eq!(top_level_recordings, 4, "check_traffic.rs reads every file directly under recordings/: {needed:?}");
}

#[test]
fn pins_match_the_reference_material_beside_the_project() {
    let dir = beside();
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent; nothing to check the pins against", dir.display());
        return;
    }
    let pins = pins();
    let mut wrong = Vec::new();
    for p in &pins {
        let file = dir.join(&p.path);
        if !file.is_file() {
            wrong.push(format!("{}: pinned but absent from {}", p.path, dir.display()));
        } else if sha256(&file) != p.sha256 {
            wrong.push(format!("{}: sha256 {} in {}, pinned {}", p.path, sha256(&file), dir.display(), p.sha256));
        }
    }
    let mut recordings = Vec::new();
    files_under(&dir.join("recordings"), &mut recordings);
    for file in recordings.iter().filter(|f| f.file_name().is_some_and(|n| n != "README.md")) {
        let rel = file.strip_prefix(&dir).unwrap().to_string_lossy().replace('\\', "/");
        if !pins.iter().any(|p| p.path == rel) {
            wrong.push(format!("{rel}: in {} but not pinned in scripts/shared-pins.txt", dir.display()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_cache_holds_no_file_that_differs_from_its_pin() {
    let Some(cache) = shared_cache().filter(|c| c.is_dir()) else {
        eprintln!("skipped: no cache of reference material ({FETCH_SHARED} fills one)");
        return;
    };
    for p in pins() {
        let file = cache.join(&p.path);
        if file.is_file() {
            assert_eq!(sha256(&file), p.sha256, "{} in the cache differs from its pin: rerun {FETCH_SHARED}", file.display());
        }
    }
}

fn fetch(cache: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new("bash")
        .arg(default_root().join("scripts/fetch-shared.sh"))
        .args(args)
        .env("COMPAT_SHARED_CACHE", cache)
        .envs(envs.iter().copied())
        .output()
        .expect("bash runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A folder laid out like ../shared with every pinned file a test reads: ../shared itself, or a cache
/// fetch-shared.sh filled (which may lack a file no test reads yet, when its source could not be fetched).
fn a_local_copy() -> Option<PathBuf> {
    let pins = pins();
    let complete = |d: &Path| pins.iter().filter(|p| p.needed == "tests").all(|p| d.join(&p.path).is_file());
    if let Some(dir) = [Some(beside()), shared_cache()].into_iter().flatten().find(|d| complete(d)) {
        return Some(dir);
    }
    let message = format!("no complete copy of the pinned material beside the project or in the cache; {FETCH_SHARED} fetches it");
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
    eprintln!("skipped: {message}");
    None
}

#[test]
fn fetch_script_fills_a_cache_from_a_local_copy_and_refuses_a_wrong_one() {
    let Some(source) = a_local_copy() else { return };
    let pins = pins();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let out = fetch(&cache, &["--from", source.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let present: Vec<&Pin> = pins.iter().filter(|p| source.join(&p.path).is_file()).collect();
    for p in &present {
        assert_eq!(sha256(&cache.join(&p.path)), p.sha256, "{}", p.path);
    }
    assert!(text(&out).contains(&format!("{} of {} pinned files", present.len(), pins.len())), "{}", text(&out));
    let out = fetch(&cache, &["--check"], &[]);
    assert!(out.status.success(), "{}", text(&out));

    // A copy whose file a test reads was altered: exit 1, the file named, and not left in the cache.
    let bad = tmp.path().join("bad");
    let victim = pins.iter().find(|p| p.needed == "tests").unwrap();
    std::fs::create_dir_all(bad.join(&victim.path).parent().unwrap()).unwrap();
    let mut altered = std::fs::read(source.join(&victim.path)).unwrap();
    altered.push(b'\n');
    std::fs::write(bad.join(&victim.path), altered).unwrap();
    let fresh = tmp.path().join("fresh");
    let out = fetch(&fresh, &["--from", bad.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains(&format!("error: {}: sha256", victim.path)), "{}", text(&out));
    assert!(!fresh.join(&victim.path).exists(), "a file that differs from its pin is not kept");
    // A cached file that was altered afterwards: --check says so.
    std::fs::write(cache.join(&victim.path), b"{}").unwrap();
    let out = fetch(&cache, &["--check"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // … and a fetch that cannot replace it removes it, so that no test reads it as the pinned file.
    let out = fetch(&cache, &["--from", bad.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!cache.join(&victim.path).exists(), "a cached file that differs from its pin is removed");
}

/// Serves `root/<path>` over loopback HTTP/1.1 (GET only, one connection at a time) until the process ends;
/// returns its base URL and a log of the request paths.
fn mirror(root: PathBuf) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            reader.read_line(&mut first).unwrap();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let raw = first.split_whitespace().nth(1).unwrap_or("/").to_owned();
            seen.lock().unwrap().push(raw.clone());
            let decoded = percent_decode(&raw);
            let mut stream = stream;
            match std::fs::read(root.join(decoded.trim_start_matches('/'))) {
                Ok(body) => {
                    let _ = write!(stream, "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                    let _ = stream.write_all(&body);
                }
                Err(_) => {
                    let _ = write!(stream, "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                }
            }
        }
    });
    (url, log)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn fetch_script_downloads_each_pinned_source_and_derives_what_is_not_a_file_upstream() {
    let Some(source) = a_local_copy() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    // The mirror: each `copy` at <repo>/<commit>/<path>; for a derived file, an upstream file it derives from,
    // built here with the layout its recipe reads (the real record.md and notebook are not on this machine).
    let pins = pins();
    let mut markdown: std::collections::BTreeMap<PathBuf, String> = Default::default();
    let pins: Vec<Pin> = pins.into_iter().filter(|p| source.join(&p.path).is_file()).collect();
    for p in &pins {
        let at = site.join(&p.repo).join(&p.commit).join(&p.source_path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        let bytes = std::fs::read(source.join(&p.path)).unwrap();
        if p.how == "copy" {
            std::fs::write(&at, bytes).unwrap();
        } else if let Some(heading) = p.how.strip_prefix("md-block ") {
            let doc = markdown.entry(at).or_insert_with(|| "# notes\n\nprose first\n".into());
            doc.push_str(&format!("\n{heading}\n\n{}\n", String::from_utf8(bytes).unwrap()));
        } else if let Some(cell) = p.how.strip_prefix("ipynb-output ") {
            let cell: usize = cell.parse().unwrap();
            let numbered: Vec<String> = String::from_utf8(bytes).unwrap().lines().enumerate().map(|(i, l)| format!("{} {l}\n", i + 1)).collect();
            let mut cells = vec![serde_json::json!({"cell_type": "markdown", "source": []}); cell];
            cells.push(serde_json::json!({"cell_type": "code", "outputs": [{"output_type": "stream", "name": "stdout", "text": numbered}]}));
            std::fs::write(&at, serde_json::to_vec(&serde_json::json!({ "cells": cells })).unwrap()).unwrap();
        }
    }
    for (at, doc) in &markdown {
        // The last block ends the file with no newline, as record.md's does.
        std::fs::write(at, doc.trim_end_matches('\n')).unwrap();
    }
    let (url, requests) = mirror(site);
    let cache = tmp.path().join("cache");
    let out = fetch(&cache, &[], &[("COMPAT_SHARED_BASE_URL", &url)]);
    assert!(out.status.success(), "{}", text(&out));
    for p in &pins {
        assert_eq!(sha256(&cache.join(&p.path)), p.sha256, "{} ({})", p.path, p.how);
    }
    let fetched = requests.lock().unwrap().clone();
    if pins.iter().any(|p| p.source_path.ends_with("[Say hello!-output_types0-str].yaml")) {
        assert!(fetched.iter().any(|l| l.contains("%5BSay%20hello%21-output_types0-str%5D.yaml")), "paths are percent-encoded: {fetched:?}");
    }
    // Nothing the cache holds is fetched again (a file the local copy lacks, and so the mirror, is tried again).
    let out = fetch(&cache, &[], &[("COMPAT_SHARED_BASE_URL", &url)]);
    assert!(out.status.success(), "{}", text(&out));
    let not_held = self::pins().len() - pins.len();
    assert_eq!(requests.lock().unwrap().len(), fetched.len() + not_held, "a second run fetches only what the cache lacks");
}

#[test]
fn absent_material_skips_outside_ci_and_fails_with_the_fetch_command_under_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("project");
    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(&root).unwrap();
    let rel = "reference/openai-openapi.json";
    assert_eq!(locate_shared(&root, rel, Some(&cache), false), Ok(None));
    let err = locate_shared(&root, rel, Some(&cache), true).unwrap_err();
    assert!(err.contains("bash scripts/fetch-shared.sh") && err.contains(rel) && err.contains("CI=true"), "{err}");

    std::fs::create_dir_all(cache.join("reference")).unwrap();
    std::fs::write(cache.join(rel), "{}").unwrap();
    assert_eq!(locate_shared(&root, rel, Some(&cache), true), Ok(Some(cache.join(rel))), "the cache, when ../shared is absent");
    let beside = tmp.path().join("shared").join(rel);
    std::fs::create_dir_all(beside.parent().unwrap()).unwrap();
    std::fs::write(&beside, "{}").unwrap();
    assert_eq!(locate_shared(&root, rel, Some(&cache), true), Ok(Some(root.join("../shared").join(rel))), "../shared first");
}
