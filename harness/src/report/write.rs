//! Writing a run's reports: `results.json` first, then `index.html`, `junit.xml` and `summary.md` rendered from
//! that document as read back ([`crate::report::json::parse`]), so the file is the source of truth. Every file
//! is written to a temporary name and renamed, so readers never see half a file and concurrent runs in one
//! checkout each leave whole reports.

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

/// Writes `results.json`, then `index.html`, `junit.xml` and `summary.md` rendered from that document as read
/// back, each atomically. With a baseline, the HTML and Markdown open with the changes since it, which are
/// returned.
pub fn write_reports(reports: &Path, results: &Results, baseline: Option<&Results>) -> Result<Option<Changes>, String> {
    write_text(reports, json::to_string(results), baseline)
}

/// [`write_reports`], consuming the document: it is dropped once serialized, so a run's outcomes and the
/// document read back are never in memory together (at thousands of outcomes that pair was the peak).
pub fn write_reports_owned(reports: &Path, results: Results, baseline: Option<&Results>) -> Result<Option<Changes>, String> {
    let text = json::to_string(&results);
    drop(results);
    write_text(reports, text, baseline)
}

fn write_text(reports: &Path, text: String, baseline: Option<&Results>) -> Result<Option<Changes>, String> {
    std::fs::create_dir_all(reports).map_err(|e| format!("cannot create {}: {e}", reports.display()))?;
    write_atomic(&reports.join("results.json"), text.as_bytes())?;
    let doc = json::parse(&text).map_err(|e| format!("results.json does not read back: {e}"))?;
    drop(text);
    let changes = baseline.map(|b| compare(b, &doc));
    // The three renderings are independent; each written at once on its own thread (creating and renaming a
    // file costs about a millisecond on some file systems, a fifth of a one-case run).
    let (doc, c) = (&doc, changes.as_ref());
    let written: Result<(), String> = std::thread::scope(|s| {
        let html = s.spawn(|| write_atomic(&reports.join("index.html"), html::render(doc, c).as_bytes()));
        let junit = s.spawn(|| write_atomic(&reports.join("junit.xml"), junit::render(doc).as_bytes()));
        let markdown = write_atomic(&reports.join("summary.md"), markdown::render(doc, c).as_bytes());
        for handle in [html, junit] {
            handle.join().unwrap_or_else(|_| Err("a report renderer panicked".to_owned()))?;
        }
        markdown
    });
    written.map(|()| changes)
}

/// Writes to a temporary sibling, then renames over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}-{}.tmp", std::process::id(), unique()));
    std::fs::write(&tmp, bytes).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
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
