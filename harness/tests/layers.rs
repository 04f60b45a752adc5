//! The crate's layers, enforced: every `crate::…` path in `harness/src` (outside comments) must name a module
//! the importing module may depend on. Data flows one way — case model → outcome model → check → run → reports
//! and recording — so a report never reaches into running, fixtures or transport, and the case model never
//! imports anything above it. A new module must be given its place in [`ALLOWED`].

use std::collections::BTreeSet;
use std::path::Path;

use compat::suite::default_root;

/// Each top-level module of the library and the modules it may import. `*` marks the wiring modules, which
/// join the layers for the two entry points and may import anything.
const ALLOWED: &[(&str, &[&str])] = &[
    // beneath the case model: no dependencies
    ("diagnostic", &[]),
    ("rules", &[]),
    ("sse", &[]),
    ("secrets", &[]),
    ("time", &[]),
    // case model
    ("case", &["diagnostic", "rules"]),
    ("target", &["case", "diagnostic"]),
    // outcome model
    ("outcome", &["case", "rules", "sse"]),
    // checks
    ("schema", &["case"]),
    ("check", &["case", "outcome", "rules", "schema", "sse"]),
    // run
    ("fixture", &["case", "diagnostic", "outcome"]),
    ("transport", &["case", "target"]),
    ("pacing", &["target", "time", "transport"]),
    ("snapshot", &["outcome"]),
    // The client drivers' evidence for a fixture (what the official SDKs did with it): run layer, beside fixture.
    ("clients", &["fixture", "outcome"]),
    ("run", &["case", "check", "clients", "fixture", "outcome", "pacing", "rules", "schema", "secrets", "snapshot", "target", "transport", "time"]),
    // recorded traffic in place of a run (`compat check`): parsed into exchanges, checked into outcomes
    ("import", &["case", "check", "diagnostic", "outcome", "rules", "schema", "secrets", "sse"]),
    // consumers of outcomes
    ("report", &["case", "outcome", "rules", "time"]),
    ("record", &["case", "fixture", "outcome", "secrets", "sse", "target", "time"]),
    // wiring
    ("suite", &["*"]),
    ("plan", &["*"]),
    ("session", &["*"]),
    ("collect", &["*"]),
    ("bundle", &["*"]),
];

/// The modules `source` names through `crate::…` outside comments.
fn imports(source: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if name.is_empty() && after.starts_with('{') {
                // `use crate::{a, b::c}`: every first segment in the braces.
                let inner = after[1..].split('}').next().unwrap_or("");
                out.extend(inner.split(',').map(|p| p.trim().split("::").next().unwrap_or("").to_owned()).filter(|n| !n.is_empty()));
            } else if !name.is_empty() {
                out.insert(name);
            }
            rest = &after[1..];
        }
    }
    out
}

/// The violations of `module` importing what `source` imports, as `module → imported` lines.
fn violations(module: &str, file: &str, source: &str) -> Vec<String> {
    let Some((_, allowed)) = ALLOWED.iter().find(|(m, _)| *m == module) else {
        return vec![format!("{file}: module `{module}` has no place in the layer table (tests/layers.rs ALLOWED)")];
    };
    if allowed.contains(&"*") {
        return Vec::new();
    }
    imports(source)
        .into_iter()
        .filter(|i| i != module && !allowed.contains(&i.as_str()))
        .map(|i| format!("{file}: `{module}` imports `crate::{i}`, a layer it may not depend on (allowed: {})", allowed.join(", ")))
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_imports_only_layers_beneath_it() {
    let src = default_root().join("harness/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut seen = 0;
    for path in files {
        let rel = path.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        // The binaries (`main.rs` + `cli/`, `bin/compat-bench/`) are wiring outside the library: they reach it as
        // `compat::…`.
        if rel == "main.rs" || rel == "lib.rs" || rel.starts_with("cli/") || rel.starts_with("bin/") {
            continue;
        }
        let module = rel.split('/').next().unwrap().trim_end_matches(".rs").to_owned();
        problems.extend(violations(&module, &rel, &std::fs::read_to_string(&path).unwrap()));
        seen += 1;
    }
    assert!(seen > 30, "the walk found the library's files ({seen})");
    assert!(problems.is_empty(), "layer violations:\n{}", problems.join("\n"));
}

#[test]
fn the_checker_catches_a_report_importing_run_code_and_a_case_importing_upwards() {
    let report = "use crate::outcome::Outcome;\nuse crate::fixture::Origin;\n// use crate::run::x; (a comment)\n";
    assert_eq!(
        violations("report", "report/html/case.rs", report),
        vec!["report/html/case.rs: `report` imports `crate::fixture`, a layer it may not depend on (allowed: case, outcome, rules, time)"]
    );
    let case = "use crate::{rules::Severity, outcome::Finding};\nfn f() { crate::transport::send(); }\n";
    let found = violations("case", "case/mod.rs", case);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("`crate::outcome`") && found[1].contains("`crate::transport`"), "{found:?}");
    assert!(violations("suite", "suite.rs", "use crate::run::run_case;").is_empty(), "wiring may import anything");
}
