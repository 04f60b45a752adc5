//! Builds the suite into the `compat` binary (see `src/bundle.rs`): in a release build (what `cargo install`
//! makes), lists every file under the project's `cases/` and the control target's fixtures and snapshots, and
//! writes `$OUT_DIR/bundle_files.rs`, one `include_bytes!` per file, with a digest of them all (the name of the
//! folder an installed binary materializes them into).
//!
//! A debug build (`cargo build`, `cargo test`) embeds nothing and reads those folders from this checkout at run
//! time instead: embedding makes cargo rebuild the crate and every test target whenever a case, fixture or
//! snapshot changes, which is most edits in this project, and a debug binary is not installed.
//!
//! The files are read from the checkout beside this crate (`../cases`, …): `cargo install --path harness` and
//! `cargo install --git URL` both build from a full checkout. A packaged crate (crates.io) would not have them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The folders built in, relative to the project root. `cases/` is the suite (cases, targets.yaml, features.yaml,
/// case.schema.json, expectations); the control target's fixtures and snapshots let it replay and be served
/// (`compat serve --target openai-reference`) from anywhere. Other targets' fixtures stay in the checkout.
const DIRS: &[&str] = &["cases", "fixtures/openai-reference", "snapshots/openai-reference"];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let project = manifest.parent().expect("harness/ has a parent").to_path_buf();
    let embed = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    println!("cargo::rerun-if-changed=build.rs");
    let mut out = String::new();
    writeln!(out, "/// Whether the files are in the binary (a release build) or read from the checkout at run time.").unwrap();
    writeln!(out, "pub(crate) const EMBEDDED: bool = {embed};").unwrap();
    writeln!(out, "/// The folders built in, relative to the project root.\npub(crate) const DIRS: &[&str] = &{DIRS:?};").unwrap();
    writeln!(
        out,
        "/// The checkout this was built from (read at run time when not embedded).\npub(crate) const PROJECT: &str = {:?};",
        project.display().to_string()
    )
    .unwrap();
    let mut files = Vec::new();
    if embed {
        for dir in DIRS {
            let abs = project.join(dir);
            // A folder given to rerun-if-changed is scanned whole: any added, removed or edited file rebuilds.
            println!("cargo::rerun-if-changed={}", abs.display());
            walk(&project, &abs, &mut files);
        }
    }
    files.sort();
    let mut digest = Fnv::default();
    out.push_str("/// Every embedded file: its path under the project root, and its bytes.\npub(crate) static FILES: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        digest.file(rel, &std::fs::read(abs).unwrap_or_else(|e| panic!("{}: {e}", abs.display())));
        writeln!(out, "    ({rel:?}, include_bytes!({:?})),", abs.display().to_string()).unwrap();
    }
    out.push_str("];\n");
    writeln!(out, "/// FNV-1a of every embedded path and its bytes, in hex (bundle.rs computes the same at run time).").unwrap();
    writeln!(out, "pub(crate) const DIGEST: &str = \"{:016x}\";", digest.0).unwrap();
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("bundle_files.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
}

/// FNV-1a 64 over each path, a zero byte and the file's bytes: stable, and no dependency for a build script.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn file(&mut self, rel: &str, bytes: &[u8]) {
        for b in rel.as_bytes().iter().chain([0u8].iter()).chain(bytes) {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Every file under `dir` (hidden ones left out), as (path relative to `project` with `/`, absolute path).
fn walk(project: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e} (the suite is built into the binary from the checkout)", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path();
        if path.file_name().and_then(|n| n.to_str()).is_none_or(|n| n.starts_with('.')) {
            continue;
        }
        if path.is_dir() {
            walk(project, &path, out);
        } else {
            let rel = path
                .strip_prefix(project)
                .expect("under the project")
                .components()
                .map(|c| c.as_os_str().to_str().expect("a UTF-8 path"))
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        }
    }
}
