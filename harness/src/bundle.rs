//! The built-in suite, and where the `compat` binary finds its project root.
//!
//! `build.rs` builds `cases/` (the cases, `targets.yaml`, `features.yaml`, `case.schema.json`, the expectations)
//! and the control target's fixtures and snapshots into a release binary (a debug build reads them from its
//! checkout instead, see [`files`]); the OpenAI schemas the checks use are built in already
//! (`schema::SchemaSet::builtin`). So an installed `compat` runs from any directory:
//!
//! 1. `--root DIR`, else `$COMPAT_ROOT`;
//! 2. else the current directory or the nearest parent holding `cases/targets.yaml` (a checkout, or a project
//!    `compat init` wrote);
//! 3. else the built-in suite. The loaders read files, so it is written once, on first use, into a cache folder
//!    named after the binary's version and the digest of its files ([`materialize`]); reports then go to
//!    `./reports` of the current directory, not into that cache.
//!
//! `compat init DIR` writes the same files into DIR as a project to edit ([`write_to`]). Wiring, beside `suite`.

use std::borrow::Cow;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::target::TARGETS_FILE;

mod generated {
    include!(concat!(env!("OUT_DIR"), "/bundle_files.rs"));
}

/// One built-in file: its path under a project root (`cases/chat/basic.yaml`) and its bytes.
pub struct BundledFile {
    pub path: Cow<'static, str>,
    pub bytes: Cow<'static, [u8]>,
}

/// The built-in suite and its digest. A release build (what `cargo install` makes) holds the files in the binary;
/// a debug build reads the same folders from the checkout it was built from, once, on first use (see build.rs:
/// embedding would rebuild every test target on each edit of a case).
pub fn files() -> Result<&'static [BundledFile], String> {
    static FILES: OnceLock<Result<Vec<BundledFile>, String>> = OnceLock::new();
    let files = FILES.get_or_init(|| {
        if generated::EMBEDDED {
            return Ok(generated::FILES.iter().map(|(p, b)| BundledFile { path: Cow::Borrowed(*p), bytes: Cow::Borrowed(*b) }).collect());
        }
        let project = Path::new(generated::PROJECT);
        let mut out = Vec::new();
        for dir in generated::DIRS {
            read_dir_into(project, &project.join(dir), &mut out)
                .map_err(|e| format!("this debug build reads its built-in suite from {}: {e}", project.display()))?;
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    });
    files.as_deref().map_err(Clone::clone)
}

/// FNV-1a of every built-in path and its bytes, in hex: the name of the folder they are materialized into.
pub fn digest() -> Result<&'static str, String> {
    if generated::EMBEDDED {
        return Ok(generated::DIGEST);
    }
    static DIGEST: OnceLock<String> = OnceLock::new();
    let files = files()?;
    Ok(DIGEST.get_or_init(|| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325; // as build.rs computes it
        for f in files {
            for b in f.path.as_bytes().iter().chain([0u8].iter()).chain(f.bytes.iter()) {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{h:016x}")
    }))
}

/// Every file under `dir` (hidden ones left out), with its path relative to `project`, as build.rs lists them.
fn read_dir_into(project: &Path, dir: &Path, out: &mut Vec<BundledFile>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.file_name().and_then(|n| n.to_str()).is_none_or(|n| n.starts_with('.')) {
            continue;
        }
        if path.is_dir() {
            read_dir_into(project, &path, out)?;
        } else {
            let rel = path.strip_prefix(project).unwrap_or(&path).components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            out.push(BundledFile { path: Cow::Owned(rel), bytes: Cow::Owned(std::fs::read(&path)?) });
        }
    }
    Ok(())
}

/// Where the root came from (what `compat` says when it is not the obvious one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSource {
    /// `--root DIR`.
    Flag,
    /// `$COMPAT_ROOT`.
    Env,
    /// The current directory or a parent with `cases/targets.yaml`.
    Discovered,
    /// The built-in suite, materialized in a cache folder.
    BuiltIn,
}

/// A project root and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    pub path: PathBuf,
    pub source: RootSource,
}

/// Resolves the project root (see the module doc): `flag` is `--root`, `env` is `$COMPAT_ROOT`, `cwd` the current
/// directory. The built-in suite is materialized on demand; an error says why it could not be.
pub fn resolve_root(flag: Option<PathBuf>, env: Option<OsString>, cwd: &Path) -> Result<Root, String> {
    if let Some(path) = flag {
        return Ok(Root { path, source: RootSource::Flag });
    }
    if let Some(path) = env.filter(|v| !v.is_empty()) {
        return Ok(Root { path: PathBuf::from(path), source: RootSource::Env });
    }
    if let Some(path) = discover(cwd) {
        return Ok(Root { path, source: RootSource::Discovered });
    }
    Ok(Root { path: materialize(&cache_base())?, source: RootSource::BuiltIn })
}

/// `dir` or its nearest ancestor holding `cases/targets.yaml`.
pub fn discover(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|d| d.join(TARGETS_FILE).is_file()).map(Path::to_path_buf)
}

/// The folder the built-in suite is materialized under: `$XDG_CACHE_HOME/compat`, else `~/.cache/compat`, else
/// `compat` in the temporary directory.
pub fn cache_base() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("XDG_CACHE_HOME")
        .map(|d| d.join("compat"))
        .or_else(|| var("HOME").map(|d| d.join(".cache/compat")))
        .unwrap_or_else(|| std::env::temp_dir().join("compat"))
}

/// The folder of this binary's built-in suite under `base`: `suite-<version>-<digest>`, so a binary never reads
/// files another build wrote.
pub fn suite_dir(base: &Path) -> Result<PathBuf, String> {
    Ok(base.join(format!("suite-{}-{}", env!("CARGO_PKG_VERSION"), digest()?)))
}

/// The marker written last into a materialized suite: a folder without it is incomplete.
const COMPLETE: &str = ".complete";

/// Writes the built-in suite under `base` unless a complete copy is there, and returns its folder. Written into a
/// temporary sibling and renamed, so two runs starting at once never read a half-written suite.
pub fn materialize(base: &Path) -> Result<PathBuf, String> {
    let dir = suite_dir(base)?;
    if dir.join(COMPLETE).is_file() {
        return Ok(dir);
    }
    let fail = |e: std::io::Error| format!("cannot write the built-in suite under {}: {e} (pass --root DIR, or `compat init DIR`)", base.display());
    std::fs::create_dir_all(base).map_err(fail)?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let tmp = base.join(format!(".suite-tmp-{}-{nanos}", std::process::id()));
    write_to(&tmp).map_err(|e| match e {
        WriteError::Io(e) => fail(e),
        WriteError::Bundle(e) => e,
    })?;
    std::fs::write(tmp.join(COMPLETE), digest()?).map_err(fail)?;
    if let Err(e) = std::fs::rename(&tmp, &dir) {
        let _ = std::fs::remove_dir_all(&tmp);
        // Another run won the race: its copy is as good as ours.
        if !dir.join(COMPLETE).is_file() {
            return Err(fail(e));
        }
    }
    Ok(dir)
}

/// Why [`write_to`] failed: the built-in files could not be read (a debug build away from its checkout), or
/// written.
#[derive(Debug)]
pub enum WriteError {
    Bundle(String),
    Io(std::io::Error),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Bundle(e) => f.write_str(e),
            WriteError::Io(e) => e.fmt(f),
        }
    }
}

/// Writes every built-in file under `dir` (creating folders; overwriting files of the same name) and returns how
/// many were written.
pub fn write_to(dir: &Path) -> Result<usize, WriteError> {
    let files = files().map_err(WriteError::Bundle)?;
    for file in files {
        let path = dir.join(&*file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(WriteError::Io)?;
        }
        std::fs::write(&path, &file.bytes).map_err(WriteError::Io)?;
    }
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_holds_the_suite_and_the_control_fixtures() {
        let files = files().unwrap();
        let has = |p: &str| files.iter().any(|f| f.path == p);
        for p in [TARGETS_FILE, "cases/features.yaml", "cases/case.schema.json", "cases/chat/basic.yaml", "fixtures/openai-reference/chat/basic.json"]
        {
            assert!(has(p), "{p} is not built in");
        }
        assert!(!files.iter().any(|f| f.path.starts_with("fixtures/gemini/")), "only the control target's fixtures are built in");
    }

    #[test]
    fn root_resolution_order() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p");
        let nested = project.join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::create_dir_all(project.join("cases")).unwrap();
        std::fs::write(project.join(TARGETS_FILE), "targets: {}\n").unwrap();
        let r = resolve_root(Some("/x".into()), Some("/y".into()), &nested).unwrap();
        assert_eq!(r, Root { path: "/x".into(), source: RootSource::Flag });
        let r = resolve_root(None, Some("/y".into()), &nested).unwrap();
        assert_eq!(r, Root { path: "/y".into(), source: RootSource::Env });
        let r = resolve_root(None, Some("".into()), &nested).unwrap();
        assert_eq!(r, Root { path: project.clone(), source: RootSource::Discovered });
    }

    #[test]
    fn materialize_writes_once_and_completely() {
        let base = tempfile::tempdir().unwrap();
        let dir = materialize(base.path()).unwrap();
        assert!(dir.join(TARGETS_FILE).is_file() && dir.join(COMPLETE).is_file());
        std::fs::write(dir.join("cases/marker"), "kept").unwrap();
        assert_eq!(materialize(base.path()).unwrap(), dir);
        assert!(dir.join("cases/marker").is_file(), "a complete copy is reused, not rewritten");
        let leftovers: Vec<_> =
            std::fs::read_dir(base.path()).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(".suite-tmp")).collect();
        assert!(leftovers.is_empty());
    }
}
