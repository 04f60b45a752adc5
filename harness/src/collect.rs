//! Result files: how a test run's outcomes reach `reports/` when each trial may be its own process.
//!
//! Under `cargo test` each trial may be its own process (nextest), so a [`Collector`] makes each trial write its
//! outcome as JSON into a run directory, `reports/.results/<run id>/` (the run id is `NEXTEST_RUN_ID` under
//! nextest, else one per process), and the reports are assembled from those files:
//! - one process (`cargo test`): when all its trials have finished ([`Collector::finish`]);
//! - one process per trial (nextest): by whichever process writes the last expected result file
//!   ([`Collector::record`]); the expected set is every trial of the plan that is not skipped. A filtered
//!   nextest run never completes that set, so it leaves its results in the run directory and the reports as
//!   they were.
//!
//! Skipped cases never run as trials (they are `ignored`); their outcomes come from the plan. Run directories
//! older than [`STALE_AFTER`] are removed. The reports themselves are written by [`crate::report::write`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::outcome::{ErrorKind, Outcome};
use crate::plan::{PlannedTrial, Selection};
use crate::report::json::{self, RunInfo};
use crate::report::write::{load_results, unique, write_atomic, write_reports};

/// The folder of run directories, under the reports folder.
pub const RESULTS_DIR: &str = ".results";

/// Run directories untouched for this long are removed when a later run assembles its reports.
pub const STALE_AFTER: Duration = Duration::from_secs(3600);

/// What the collector needs of a planned trial: its name, and for a skipped case its outcome (skipped trials
/// write no result file).
#[derive(Debug, Clone)]
pub struct ResultSlot {
    /// The trial name.
    pub name: String,
    /// The skipped case's outcome, if it is skipped.
    pub skipped: Option<Outcome>,
}

impl ResultSlot {
    /// The slot of a planned trial.
    pub fn of(trial: &PlannedTrial) -> ResultSlot {
        let skipped = match trial {
            PlannedTrial::Case { skipped, .. } => skipped.clone(),
            PlannedTrial::Broken { .. } => None,
        };
        ResultSlot { name: trial.name(), skipped }
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
    pub fn new(reports: &Path, info: RunInfo, plan: &[PlannedTrial], selection: &Selection) -> Collector {
        let nextest = std::env::var("NEXTEST_RUN_ID").ok().filter(|id| !id.is_empty());
        let baseline = std::env::var_os("COMPAT_BASELINE").filter(|p| !p.is_empty()).map(PathBuf::from);
        let slots = plan.iter().map(ResultSlot::of).collect();
        Collector::with_run(reports, info, slots, selection, nextest.as_deref(), baseline)
    }

    /// As [`new`](Self::new), with the shared run id (`Some`: one process per trial, as under nextest;
    /// `None`: one process for the whole run) and the baseline given rather than read from the environment.
    pub fn with_run(
        reports: &Path,
        info: RunInfo,
        slots: Vec<ResultSlot>,
        selection: &Selection,
        shared_run_id: Option<&str>,
        baseline: Option<PathBuf>,
    ) -> Collector {
        let shared = shared_run_id.is_some();
        let run_id = shared_run_id.map(sanitize).unwrap_or_else(|| format!("p{}-{}", std::process::id(), unique()));
        let slots: Vec<ResultSlot> = slots.into_iter().filter(|s| shared || selection.selects(&s.name)).collect();
        Collector {
            dir: reports.join(RESULTS_DIR).join(run_id),
            reports: reports.to_owned(),
            shared,
            info,
            expected: slots.iter().filter(|s| s.skipped.is_none()).map(|s| s.name.clone()).collect(),
            skipped: slots.into_iter().filter_map(|s| s.skipped).collect(),
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
        write_reports(&self.reports, &results, baseline.as_ref())?;
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
    let file = path.display().to_string();
    Outcome::error_only(["results", "files", &stem], "a result file does not read", &file, 0, ErrorKind::Config, format!("{file}: {error}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_file_names_are_distinct_and_plain() {
        assert_eq!(result_file_name("gemini::chat::basic"), "gemini~~chat~~basic.json");
        assert_ne!(result_file_name("a/b"), result_file_name("a_b"));
        assert_eq!(result_file_name("../x"), "..%2Fx.json");
    }
}
