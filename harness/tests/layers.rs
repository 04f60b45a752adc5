//! The crate's layers, enforced: every `crate::…` path in `harness/src` (outside comments) must name a module
//! the importing module may depend on. Data flows one way — case model → outcome model → check → run → reports
//! and recording — so a report never reaches into running, fixtures or transport, and the case model never
//! imports anything above it. A new module must be given its place in [`LAYERS`] (and in `lib.rs`'s list and
//! `docs/internals.md`'s table, which a test holds to it).

use std::collections::BTreeSet;
use std::path::Path;

use compat::suite::default_root;

/// A top-level module and the modules it may import.
type Module = (&'static str, &'static [&'static str]);

/// The library's layers, bottom up, each with its top-level modules and the modules each may import. `*`
/// marks the wiring modules, which join the layers for the two entry points and may import anything. The
/// layer names and their modules are the ones `lib.rs` lists and `docs/internals.md`'s table shows (tested
/// below).
const LAYERS: &[(&str, &[Module])] = &[
    ("beneath all", &[("diagnostic", &[]), ("rules", &[]), ("sse", &[]), ("secrets", &[]), ("time", &[])]),
    ("case model", &[("case", &["diagnostic", "rules"]), ("target", &["case", "diagnostic"])]),
    ("outcome model", &[("outcome", &["case", "rules", "sse"])]),
    ("check", &[("check", &["case", "outcome", "rules", "schema", "sse"]), ("schema", &["case"])]),
    (
        "run",
        &[
            (
                "run",
                &[
                    "case",
                    "check",
                    "clients",
                    "fixture",
                    "outcome",
                    "pacing",
                    "rules",
                    "schema",
                    "secrets",
                    "snapshot",
                    "target",
                    "transport",
                    "time",
                ],
            ),
            ("fixture", &["case", "diagnostic", "outcome"]),
            ("transport", &["case", "target"]),
            ("pacing", &["target", "time", "transport"]),
            ("snapshot", &["outcome"]),
            // The client drivers' evidence for a fixture (what the official SDKs did with it): beside fixture.
            ("clients", &["fixture", "outcome"]),
        ],
    ),
    // `compat check` in place of a run: recordings parsed into exchanges, checked into outcomes.
    ("recorded traffic", &[("import", &["case", "check", "diagnostic", "outcome", "rules", "schema", "secrets", "sse"])]),
    (
        "consumers",
        &[("report", &["case", "outcome", "rules", "time"]), ("record", &["case", "fixture", "outcome", "secrets", "sse", "target", "time"])],
    ),
    ("wiring", &[("suite", &["*"]), ("plan", &["*"]), ("session", &["*"]), ("collect", &["*"]), ("bundle", &["*"])]),
];

/// What `module` may import, or `None` when it has no place in [`LAYERS`].
fn allowed(module: &str) -> Option<&'static [&'static str]> {
    LAYERS.iter().flat_map(|(_, modules)| modules.iter()).find(|(m, _)| *m == module).map(|(_, a)| *a)
}

/// Each layer's name with its modules, sorted, as [`LAYERS`] has them.
fn layer_table() -> Vec<(String, Vec<String>)> {
    LAYERS
        .iter()
        .map(|(layer, modules)| {
            let mut names: Vec<String> = modules.iter().map(|(m, _)| (*m).to_owned()).collect();
            names.sort();
            ((*layer).to_owned(), names)
        })
        .collect()
}

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
    let Some(allowed) = allowed(module) else {
        return vec![format!("{file}: module `{module}` has no place in the layer table (tests/layers.rs LAYERS)")];
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

/// The layers `lib.rs`'s doc lists: each `**layer** ([`a`], [`b`])` item, with the module links in its
/// parentheses.
fn layers_in_lib_doc(source: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for line in source.lines().filter_map(|l| l.strip_prefix("//!")) {
        let Some((_, rest)) = line.split_once("**") else { continue };
        let Some((layer, rest)) = rest.split_once("** (") else { continue };
        let inside = rest.split(')').next().unwrap_or("");
        let mut modules: Vec<String> = inside.split(", ").map(|m| m.trim_start_matches("[`").trim_end_matches("`]").to_owned()).collect();
        modules.sort();
        out.push((layer.to_owned(), modules));
    }
    out
}

/// The layers `docs/internals.md`'s table shows: each row's layer and the modules its second cell names at the
/// top level (`x.rs` or `x/`, not the files listed in parentheses after a folder), the binary's own (`main.rs`,
/// `cli/`) left out.
fn layers_in_internals(markdown: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rows = markdown.lines().skip_while(|l| !l.starts_with("| layer | modules |")).skip(2);
    while let Some(row) = rows.next().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let (layer, cell) = (cells[0].trim_start_matches("| "), cells[1]);
        let (mut depth, mut modules) = (0, Vec::new());
        for (i, piece) in cell.split('`').enumerate() {
            if i % 2 == 1 {
                if depth == 0 && piece != "main.rs" && piece != "cli/" {
                    modules.push(piece.trim_end_matches(".rs").trim_end_matches('/').to_owned());
                }
            } else {
                depth += piece.matches('(').count() as i32 - piece.matches(')').count() as i32;
            }
        }
        modules.sort();
        out.push((layer.to_owned(), modules));
    }
    out
}

#[test]
fn lib_rs_and_the_internals_table_list_the_layers_the_checker_enforces() {
    let root = default_root();
    let lib = std::fs::read_to_string(root.join("harness/src/lib.rs")).unwrap();
    assert_eq!(layers_in_lib_doc(&lib), layer_table(), "harness/src/lib.rs's layer list differs from tests/layers.rs LAYERS");
    let internals = std::fs::read_to_string(root.join("docs/internals.md")).unwrap();
    assert_eq!(layers_in_internals(&internals), layer_table(), "docs/internals.md's layer table differs from tests/layers.rs LAYERS");
    let declared: BTreeSet<&str> = lib.lines().filter_map(|l| l.strip_prefix("pub mod ")).map(|l| l.trim_end_matches(';')).collect();
    let placed: BTreeSet<&str> = LAYERS.iter().flat_map(|(_, modules)| modules.iter().map(|(m, _)| *m)).collect();
    assert_eq!(declared, placed, "every `pub mod` of lib.rs has one place in LAYERS, and nothing else has");
}

#[test]
fn the_document_readers_catch_a_module_in_the_wrong_layer() {
    let lib = "//! 1. **case model** ([`case`], [`target`]): text\n//! 3. **check** ([`check`]): more\n";
    assert_eq!(layers_in_lib_doc(lib), vec![("case model".into(), vec!["case".into(), "target".into()]), ("check".into(), vec!["check".into()])]);
    let table = "| layer | modules | owns |\n|---|---|---|\n| run | `run/` (`mod.rs`, `step.rs` (x)), `fixture/` (`replay.rs`), `pacing.rs` | y |\n| wiring | `suite.rs`; `main.rs` + `cli/` (z) | w |\n\nafter";
    assert_eq!(
        layers_in_internals(table),
        vec![("run".into(), vec!["fixture".into(), "pacing".into(), "run".into()]), ("wiring".into(), vec!["suite".into()])]
    );
    assert_ne!(layers_in_internals(table), layer_table(), "a table that leaves modules out is caught");
}
