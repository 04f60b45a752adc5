//! Result files and report assembly: how a run's outcomes become `reports/{index.html, junit.xml,
//! results.json, summary.md}`.
//!
//! `compat run` holds every outcome at the end and calls [`write_reports`]. Under `cargo test` each trial may be
//! its own process (nextest), so a [`Collector`] makes each trial write its outcome as JSON into a run
//! directory, `reports/.results/<run id>/` (the run id is `NEXTEST_RUN_ID` under nextest, else one per
//! process), and the reports are assembled from those files:
//! - one process (`cargo test`): when all its trials have finished ([`Collector::finish`]);
//! - one process per trial (nextest): by whichever process writes the last expected result file
//!   ([`Collector::record`]); the expected set is every trial of the plan that is not skipped. A filtered
//!   nextest run never completes that set, so it leaves its results in the run directory and the reports as
//!   they were.
//!
//! Skipped cases never run as trials (they are `ignored`); their outcomes come from the plan. Every file is
//! written to a temporary name and renamed, so readers never see half a file and concurrent runs in one
//! checkout each leave whole reports. Run directories older than [`STALE_AFTER`] are removed.
//!
//! [`write_reports`] writes `results.json` first and renders the other formats from that document as read back
//! ([`crate::report::json::parse`]), so the file is the source of truth.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::case::LoadedCase;
use crate::outcome::{ErrorKind, Mode, Outcome, RunError, Verdict};
use crate::report::changes::{Changes, compare};
use crate::report::json::{self, Results, RunInfo, TargetInfo};
use crate::report::{html, junit, markdown};
use crate::suite::{Suite, broken_case_outcome};
use crate::target::Target;

/// The folder of run directories, under the reports folder.
pub const RESULTS_DIR: &str = ".results";

/// Run directories untouched for this long are removed when a later run assembles its reports.
pub const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Which trials a libtest-style filter selects (mirrors `cargo test NAME`, `--exact`, `--skip`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Substring (or, with `exact`, the whole name) a trial must have.
    pub filter: Option<String>,
    /// Match `filter` and `skip` exactly.
    pub exact: bool,
    /// Names (substrings unless `exact`) to leave out.
    pub skip: Vec<String>,
}

impl Selection {
    /// Whether the trial `name` runs.
    pub fn selects(&self, name: &str) -> bool {
        let hit = |p: &str| if self.exact { name == p } else { name.contains(p) };
        self.filter.as_deref().is_none_or(hit) && !self.skip.iter().any(|s| hit(s))
    }
}

/// One trial of a test run.
#[derive(Debug, Clone)]
pub struct PlannedTrial {
    /// `<target>::<feature>::<id>`.
    pub name: String,
    /// For a case the target skips: its outcome (the trial itself never runs).
    pub skipped: Option<Outcome>,
}

/// The trials of a replay test run, as the `conformance` target makes them: every replayable target × every
/// case, plus one `load::…` trial per broken case file.
pub fn plan_replay(suite: &Suite) -> Vec<PlannedTrial> {
    let mut plan = Vec::new();
    for target in suite.replayable_targets() {
        for loaded in &suite.cases {
            let name = format!("{}::{}::{}", target.name, loaded.case.feature, loaded.case.id);
            let skipped = target.skip_reason(&loaded.case.feature, &loaded.case.id).map(|r| skipped_outcome(loaded, &target.name, r));
            plan.push(PlannedTrial { name, skipped });
        }
    }
    plan.extend(suite.broken.iter().map(|b| PlannedTrial { name: broken_case_outcome(b).name(), skipped: None }));
    plan
}

fn skipped_outcome(loaded: &LoadedCase, target: &str, reason: &str) -> Outcome {
    let mut o = Outcome::new(&loaded.case, &loaded.file, loaded.line, target, Mode::Replay);
    o.verdict = Verdict::Skipped;
    o.skip_reason = Some(reason.to_owned());
    o
}

/// The header of a replay run of `suite`: its replayable targets with their configured base URLs.
pub fn replay_run_info(suite: &Suite, spec_version: &str) -> RunInfo {
    let targets: Vec<Target> = suite.replayable_targets().into_iter().cloned().collect();
    run_info(&targets, Mode::Replay, None, spec_version)
}

/// The header of a run of `targets`, dated now. `base_url` is the live `--base-url` override, if any.
pub fn run_info(targets: &[Target], mode: Mode, base_url: Option<&str>, spec_version: &str) -> RunInfo {
    RunInfo {
        date: crate::time::now_rfc3339(),
        harness_version: env!("CARGO_PKG_VERSION").to_owned(),
        spec_version: spec_version.to_owned(),
        targets: targets
            .iter()
            .map(|t| TargetInfo {
                name: t.name.clone(),
                base_url: base_url.filter(|_| mode == Mode::Live).unwrap_or(&t.config.base_url).to_owned(),
                mode,
                counts: Default::default(),
                control: t.config.control,
            })
            .collect(),
    }
}

/// Collects a test run's outcomes as files and assembles the reports once all trials have finished.
#[derive(Debug)]
pub struct Collector {
    reports: PathBuf,
    dir: PathBuf,
    shared: bool,
    info: RunInfo,
    expected: Vec<String>,
    skipped: Vec<Outcome>,
    baseline: Option<PathBuf>,
}

impl Collector {
    /// A collector writing under `reports` (normally `<root>/reports`). The run id is `NEXTEST_RUN_ID` when
    /// set (one process per trial, all sharing the directory), else unique to this process. `selection` is
    /// applied only to a one-process run: under nextest every process is handed one trial by name.
    /// `COMPAT_BASELINE`, when set, names a results document to report changes against.
    pub fn new(reports: &Path, info: RunInfo, plan: Vec<PlannedTrial>, selection: &Selection) -> Collector {
        let nextest = std::env::var("NEXTEST_RUN_ID").ok().filter(|id| !id.is_empty());
        let baseline = std::env::var_os("COMPAT_BASELINE").filter(|p| !p.is_empty()).map(PathBuf::from);
        Collector::with_run(reports, info, plan, selection, nextest.as_deref(), baseline)
    }

    /// As [`new`](Self::new), with the shared run id (`Some`: one process per trial, as under nextest;
    /// `None`: one process for the whole run) and the baseline given rather than read from the environment.
    pub fn with_run(
        reports: &Path,
        info: RunInfo,
        plan: Vec<PlannedTrial>,
        selection: &Selection,
        shared_run_id: Option<&str>,
        baseline: Option<PathBuf>,
    ) -> Collector {
        let shared = shared_run_id.is_some();
        let run_id = shared_run_id.map(sanitize).unwrap_or_else(|| format!("p{}-{}", std::process::id(), unique()));
        let plan: Vec<PlannedTrial> = plan.into_iter().filter(|p| shared || selection.selects(&p.name)).collect();
        Collector {
            dir: reports.join(RESULTS_DIR).join(run_id),
            reports: reports.to_owned(),
            shared,
            info,
            expected: plan.iter().filter(|p| p.skipped.is_none()).map(|p| p.name.clone()).collect(),
            skipped: plan.into_iter().filter_map(|p| p.skipped).collect(),
            baseline,
        }
    }

    /// The run directory.
    pub fn run_dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `outcome` to the run directory. Under nextest, the process that completes the expected set
    /// assembles the reports and returns the path of `index.html`.
    pub fn record(&self, outcome: &Outcome) -> Result<Option<PathBuf>, String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let text = serde_json::to_vec(outcome).map_err(|e| format!("cannot serialize {}: {e}", outcome.name()))?;
        write_atomic(&self.dir.join(result_file_name(&outcome.name())), &text)?;
        if self.shared && self.expected.iter().all(|n| self.dir.join(result_file_name(n)).is_file()) {
            return self.assemble().map(Some);
        }
        Ok(None)
    }

    /// Ends a one-process run: assembles the reports from the run directory and removes it. Under nextest it
    /// does nothing (the last trial's process assembles), nor when no trial ran.
    pub fn finish(&self) -> Result<Option<PathBuf>, String> {
        // A run in which no trial ran (`--ignored` with none ignored, a filter matching nothing) leaves the
        // last reports as they were rather than replacing them with an empty one.
        if self.shared || (!self.dir.exists() && self.skipped.is_empty()) {
            return Ok(None);
        }
        let index = self.assemble()?;
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(Some(index))
    }

    /// [`record`](Self::record), saying on stderr why a result could not be written (a trial never fails
    /// for its report) and where the reports went once assembled.
    pub fn record_logged(&self, outcome: &Outcome) {
        match self.record(outcome) {
            Ok(Some(index)) => eprintln!("reports written: {}", index.display()),
            Ok(None) => {}
            Err(e) => eprintln!("warning: reports: {e}"),
        }
    }

    /// [`finish`](Self::finish), saying where the reports went or why they could not be written.
    pub fn finish_logged(&self) {
        match self.finish() {
            Ok(Some(index)) => eprintln!("reports written: {}", index.display()),
            Ok(None) => {}
            Err(e) => eprintln!("warning: reports: {e}"),
        }
    }

    /// Reads the run directory, adds the skipped outcomes, writes the four reports and cleans stale runs.
    fn assemble(&self) -> Result<PathBuf, String> {
        let mut outcomes = read_run_dir(&self.dir);
        for s in &self.skipped {
            if !outcomes.iter().any(|o| o.name() == s.name()) {
                outcomes.push(s.clone());
            }
        }
        let mut info = self.info.clone();
        info.date = crate::time::now_rfc3339();
        let results = json::build(info, outcomes);
        let baseline = match &self.baseline {
            Some(p) => Some(load_results(p)?),
            None => None,
        };
        write_reports_owned(&self.reports, results, baseline.as_ref())?;
        clean_stale_runs(&self.reports.join(RESULTS_DIR), &self.dir);
        Ok(self.reports.join("index.html"))
    }
}

/// Every outcome in a run directory, by file name. A file that does not read as an outcome becomes an
/// `error` outcome naming it, so a broken file shows in the report rather than vanishing.
pub fn read_run_dir(dir: &Path) -> Vec<Outcome> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<Outcome>(&b).map_err(|e| e.to_string()))
                .unwrap_or_else(|e| unreadable(&p, &e))
        })
        .collect()
}

fn unreadable(path: &Path, error: &str) -> Outcome {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut o =
        broken_case_outcome(&crate::case::LoadError { file: path.display().to_string(), line: 0, col: 0, message: String::new(), source_line: None });
    o.target = "results".into();
    o.feature = "files".into();
    o.id = stem;
    o.title = "a result file does not read".into();
    o.error = Some(RunError { kind: ErrorKind::Config, message: format!("{}: {error}", path.display()), diff: None });
    o
}

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
    write_atomic(&reports.join("index.html"), html::render(&doc, changes.as_ref()).as_bytes())?;
    write_atomic(&reports.join("junit.xml"), junit::render(&doc).as_bytes())?;
    write_atomic(&reports.join("summary.md"), markdown::render(&doc, changes.as_ref()).as_bytes())?;
    Ok(changes)
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

/// The result file of a trial: its name with `:` as `~` and anything outside `[A-Za-z0-9._-]` as `%XX`.
pub fn result_file_name(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' => out.push(b as char),
            b':' => out.push('~'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out + ".json"
}

/// Removes run directories under `results_dir` untouched for [`STALE_AFTER`], except `keep`.
pub fn clean_stale_runs(results_dir: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(results_dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        let stale = e.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).is_some_and(|age| age > STALE_AFTER);
        if path != keep && path.is_dir() && stale {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

fn sanitize(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

/// A process-unique number (time in nanoseconds plus a counter).
fn unique() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    nanos.wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_mirrors_libtest() {
        let s = Selection { filter: Some("gemini::chat".into()), exact: false, skip: vec!["chat::n".into()] };
        assert!(s.selects("gemini::chat::basic"));
        assert!(!s.selects("gemini::chat::n"));
        assert!(!s.selects("openai-reference::chat::basic"));
        let exact = Selection { filter: Some("gemini::chat::basic".into()), exact: true, skip: vec![] };
        assert!(exact.selects("gemini::chat::basic") && !exact.selects("gemini::chat::basic2"));
        assert!(Selection::default().selects("anything"));
    }

    #[test]
    fn result_file_names_are_distinct_and_plain() {
        assert_eq!(result_file_name("gemini::chat::basic"), "gemini~~chat~~basic.json");
        assert_ne!(result_file_name("a/b"), result_file_name("a_b"));
        assert_eq!(result_file_name("../x"), "..%2Fx.json");
    }
}
