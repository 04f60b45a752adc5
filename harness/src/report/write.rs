//! Writing a run's reports: `results.json`, and `index.html`, `junit.xml` and `summary.md` rendered from the
//! same document. It reads back equal from the file ([`crate::report::json::parse`]; tested on every outcome
//! of the replay suite), so the renderings are functions of `results.json` — what `compat history` and
//! `compat diff` read. Every file is written to a temporary name and renamed, so readers never see half a file
//! and concurrent runs in one checkout each leave whole reports.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::changes::{Changes, compare};
use super::json::{self, Results};
use super::{html, junit, markdown};

/// Reads a results document from a file.
pub fn load_results(path: &Path) -> Result<Results, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    json::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes `results.json`, `index.html`, `junit.xml` and `summary.md`, each atomically. With a baseline, the
/// HTML and Markdown open with the changes since it, which are returned.
pub fn write_reports(reports: &Path, results: &Results, baseline: Option<&Results>) -> Result<Option<Changes>, String> {
    std::fs::create_dir_all(reports).map_err(|e| format!("cannot create {}: {e}", reports.display()))?;
    let changes = baseline.map(|b| compare(b, results));
    let c = changes.as_ref();
    // Each file is written as soon as it is rendered, beside the others: at thousands of outcomes the renderings
    // take their time, and for one outcome creating and renaming a file is most of the cost. `index.html`, the
    // longest, is rendered on this thread, at once: on a thread of its own it waited for a core behind the
    // others (0.1–0.9 ms of a 20-case live run on 2 cores, measured with probes).
    let written: Result<(), String> = std::thread::scope(|s| {
        let json = s.spawn(|| write_atomic_with(&reports.join("results.json"), |out| json::write_to(results, out)));
        let rest = s.spawn(|| {
            let junit = write_atomic(&reports.join("junit.xml"), junit::render(results).as_bytes());
            let markdown = write_atomic(&reports.join("summary.md"), markdown::render(results, c).as_bytes());
            junit.and(markdown)
        });
        let html = write_atomic(&reports.join("index.html"), html::render(results, c).as_bytes());
        for handle in [json, rest] {
            handle.join().unwrap_or_else(|_| Err("a report renderer panicked".to_owned()))?;
        }
        html
    });
    written.map(|()| changes)
}

/// Writes to a temporary sibling, then renames over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_atomic_with(path, |out| out.write_all(bytes))
}

/// As [`write_atomic`], the content being what `write` writes (buffered); a failed write leaves no file.
pub fn write_atomic_with(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), String> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}-{}.tmp", std::process::id(), unique()));
    let written = std::fs::File::create(&tmp).and_then(|file| {
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
        write(&mut out)?;
        out.flush()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", tmp.display()));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot rename {} to {}: {e}", tmp.display(), path.display())
    })
}

/// A process-unique number (time in nanoseconds plus a counter), for temporary names.
pub(crate) fn unique() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    nanos.wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write that fails part-way leaves neither the file nor its temporary sibling, and says which file.
    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        let err = write_atomic_with(&path, |out| {
            out.write_all(b"{\"half\": ")?;
            Err(std::io::Error::other("the renderer gave up"))
        })
        .unwrap_err();
        assert!(err.starts_with("cannot write ") && err.contains(".results.json.") && err.ends_with(": the renderer gave up"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no file, no temporary left");
        // The same path written whole, then replaced whole.
        write_atomic_with(&path, |out| out.write_all(b"one")).unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
