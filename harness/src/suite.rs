//! The suite: every case and target of a project, as loaded. Shared by the `compat` CLI and the `conformance`
//! test target so both see the same cases, names and targets.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

use crate::case::LoadedCase;
use crate::case::features::{FEATURES_FILE, Features, load_features};
use crate::case::load::{discover, load_case_file};
use crate::diagnostic::Diagnostic;
use crate::outcome::{ErrorKind, Outcome, write_trial_name};
use crate::target::{Target, load_targets};

/// Everything under a project root.
pub struct Suite {
    /// The project root.
    pub root: PathBuf,
    /// Cases that loaded, sorted by file.
    pub cases: Vec<LoadedCase>,
    /// `<feature>::<id>` of every case file under `cases/`, read or not (see [`Suite::load_for`]), sorted.
    pub case_names: Vec<String>,
    /// Case files that did not.
    pub broken: Vec<Diagnostic>,
    /// Targets, sorted by name.
    pub targets: Vec<Target>,
    /// The target `compat run --live` runs when none is named (`live_default` in the targets file).
    pub live_default: Option<String>,
    /// The documented features (`cases/features.yaml`), in documentation order; empty when there is none.
    pub features: Features,
}

impl Suite {
    /// Loads cases, targets and features, and merges the expectations files (`cases/expectations/`) into the
    /// cases. A broken targets, features or expectations file is fatal; broken cases are kept as
    /// [`Suite::broken`], and so is a case whose feature `cases/features.yaml` does not list.
    pub fn load(root: &Path) -> Result<Suite, Diagnostic> {
        Self::load_for(root, &[], TargetScope::All)
    }

    /// [`Suite::load`], reading only the case files that can make a trial one of `filters` selects (a trial
    /// `<target>::<feature>::<id>`, or `load::<feature>::<id>` for a broken file, containing a filter), as
    /// `compat run NAME…` selects them; no filter reads every file. The other files are not read at all, so
    /// a run of one case starts in a few milliseconds whatever the size of the suite; their names (from
    /// their paths) still check the overrides of `targets.yaml` and the expectations files. Only the
    /// expectations files of targets in `scope` are read (a run of one target does not parse the others').
    pub fn load_for(root: &Path, filters: &[String], scope: TargetScope) -> Result<Suite, Diagnostic> {
        Self::load_beside(root, filters, scope, || ()).0
    }

    /// [`Suite::load_for`], and `beside` run on the thread that parses the targets file, once it has: the
    /// caller's own start-up work (the CLI reads its schemas there) without one more thread for the two cores
    /// a run may have — a thread started while both are busy waits for one (0.2–0.9 ms, measured), even after
    /// the other is free. That thread then helps load the case files.
    pub fn load_beside<R: Send>(
        root: &Path,
        filters: &[String],
        scope: TargetScope,
        beside: impl FnOnce() -> R + Send,
    ) -> (Result<Suite, Diagnostic>, R) {
        let case_files = &CaseFiles::default();
        std::thread::scope(|s| {
            let (sent, targets) = std::sync::mpsc::sync_channel(1);
            let helper = s.spawn(move || {
                let _ = sent.send(std::panic::catch_unwind(|| load_targets(root)));
                let beside = beside();
                case_files.help_once_known(root);
                beside
            });
            let suite = {
                // However the loading ends (an error before the case files, a panic), the helper stops waiting.
                let _closing = Closing(case_files);
                Self::load_with(root, filters, scope, case_files, || match targets.recv() {
                    Ok(Ok(loaded)) => loaded,
                    Ok(Err(panic)) => std::panic::resume_unwind(panic),
                    Err(_) => unreachable!("the thread sends the targets file before anything else"),
                })
            };
            (suite, helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        })
    }

    /// The loading of [`Suite::load_beside`], `targets` giving the parsed targets file when it is needed.
    fn load_with(
        root: &Path,
        filters: &[String],
        scope: TargetScope,
        case_files: &CaseFiles,
        targets: impl FnOnce() -> Result<crate::target::Targets, Diagnostic>,
    ) -> Result<Suite, Diagnostic> {
        let filters = TrialFilters::new(filters);
        // The targets file is parsed on another thread while the features file is parsed and the case files
        // are found — and, when the run names its targets, read: YAML at about 30 ns a byte makes the targets
        // file most of a one-case run's start-up (0.6–1 ms).
        let (loaded_targets, features, discovered, read_early) = {
            let features = load_features(root);
            let discovered = discover(root);
            let read_early = match (scope, &discovered) {
                (TargetScope::Named(names), Ok(files)) => {
                    Some(case_files.load(root, &wanted_files(files, names.iter().map(String::as_str), &filters)))
                }
                _ => None,
            };
            (targets(), features, discovered, read_early)
        };
        let loaded_targets = loaded_targets?;
        let targets = loaded_targets.list.clone();
        let in_scope = |t: &str| match scope {
            TargetScope::All => true,
            TargetScope::Named(names) => names.iter().any(|n| n == t),
            TargetScope::LiveDefault => loaded_targets.live_default.as_deref().is_none_or(|d| d == t),
        };
        let features = features?;
        let (files, mut broken) = match discovered {
            Ok(files) => (files, Vec::new()),
            Err(e) => (Vec::new(), vec![e]),
        };
        // Every case file's name, read or not (a case's id and feature are its path: the loader checks it).
        let names: Vec<String> = files.iter().filter_map(|f| case_name_of_path(f)).collect();
        let read = read_early.unwrap_or_else(|| {
            let in_scope = targets.iter().map(|t| t.name.as_str()).filter(|t| in_scope(t));
            case_files.load(root, &wanted_files(&files, in_scope, &filters))
        });
        let mut cases = Vec::new();
        for loaded in read {
            match loaded {
                Ok(c) => cases.push(c),
                Err(e) => broken.push(e),
            }
        }
        if files.is_empty() && broken.is_empty() {
            return Err(Diagnostic::whole_file("cases/", "no case files found under cases/<feature>/"));
        }
        if let Some(features) = &features {
            let (listed, unlisted): (Vec<_>, Vec<_>) = cases.into_iter().partition(|c| features.iter().any(|(name, _)| *name == c.case.feature));
            cases = listed;
            broken.extend(unlisted.into_iter().map(|c| {
                let message = format!("feature `{}` is not listed in {FEATURES_FILE}; add it there with its documented request", c.case.feature);
                Diagnostic::at_key(&c.file, &c.source, &["feature"], message)
            }));
            broken.sort_by(|a, b| a.file.cmp(&b.file));
        }
        loaded_targets.check_override_patterns(&names)?;
        let target_names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        // A target's expectations are read when it is in scope and a filter can select one of its trials (all of
        // them, unfiltered): parsing YAML is most of a one-case run's start-up (about 30 ns a byte).
        let reads_target = |t: &str| {
            let mut trial = String::new();
            in_scope(t) && names.iter().filter_map(|n| n.split_once("::")).any(|(feature, id)| filters.selects_parts(&mut trial, t, feature, id))
        };
        crate::case::expectations::load_into(root, &target_names, reads_target, &names, &mut cases)?;
        Ok(Suite {
            root: root.to_owned(),
            cases,
            case_names: names,
            broken,
            targets,
            live_default: loaded_targets.live_default,
            features: features.unwrap_or_default(),
        })
    }

    /// Targets that have a fixtures folder, so they can run in replay.
    pub fn replayable_targets(&self) -> Vec<&Target> {
        self.targets.iter().filter(|t| self.root.join(t.fixtures_dir()).is_dir()).collect()
    }

    /// A target by name.
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }
}

/// The targets a run can reach, as far as loading the suite needs to know: only their expectations files are
/// read, and only case files one of their trials (or a broken file's `load::…` trial) could name.
#[derive(Debug, Clone, Copy)]
pub enum TargetScope<'a> {
    /// Every configured target.
    All,
    /// The targets named (`--target`, an ad-hoc target, the targets of a `--failed` re-run).
    Named(&'a [String]),
    /// The targets file's `live_default` (every target when it names none: the run then stops on its own).
    LiveDefault,
}

/// The checkout this crate was compiled in (the workspace root, parent of `harness/`): what the tests read the
/// project from. The `compat` binary does not fall back to it — an installed binary outlives its checkout — but
/// resolves its root with [`crate::bundle::resolve_root`].
pub fn default_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// The command that fills the cache of reference material, quoted by a test that misses it.
pub const FETCH_SHARED: &str = "bash scripts/fetch-shared.sh";

/// The cache `scripts/fetch-shared.sh` fills from the pinned sources of `scripts/shared-pins.txt`:
/// `$COMPAT_SHARED_CACHE`, else `$XDG_CACHE_HOME/compat/shared`, else `~/.cache/compat/shared`.
pub fn shared_cache() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("COMPAT_SHARED_CACHE")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("compat/shared")))
        .or_else(|| var("HOME").map(|d| d.join(".cache/compat/shared")))
}

/// A file of the reference material (third-party documents and captures, never part of the project) for the
/// tests that compare against it: `../shared/<rel>` beside the project root, as on the project's CI, else
/// `<rel>` in [`shared_cache`]. When it is in neither, the test is skipped with a one-line `skipped: …` on
/// stderr — except under `CI=true`, where its absence fails the test with the command that fetches it.
pub fn shared_material(root: &Path, rel: &str) -> Option<PathBuf> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    match locate_shared(root, rel, shared_cache().as_deref(), ci) {
        Ok(found) => found,
        Err(message) => panic!("{message}"),
    }
}

/// [`shared_material`] with its inputs explicit: `Ok(Some(path))` when found, `Ok(None)` (after printing the
/// skip note) when absent outside CI, `Err` with the fetch command when absent under CI.
pub fn locate_shared(root: &Path, rel: &str, cache: Option<&Path>, ci: bool) -> Result<Option<PathBuf>, String> {
    let beside = root.join("../shared").join(rel);
    let cached = cache.map(|c| c.join(rel));
    if let Some(found) = std::iter::once(&beside).chain(cached.as_ref()).find(|p| p.exists()) {
        return Ok(Some(found.clone()));
    }
    let looked = match &cached {
        Some(c) => format!("{} and {}", beside.display(), c.display()),
        None => beside.display().to_string(),
    };
    let message = format!("reference material `{rel}` is absent (looked in {looked}); `{FETCH_SHARED}` fetches it from its pinned sources");
    if ci {
        return Err(format!("{message}. CI=true: run it before the tests (`{FETCH_SHARED} --from DIR` copies a local folder)"));
    }
    eprintln!("skipped: {message}");
    Ok(None)
}

/// `compat run NAME…`'s filters, each compiled once: the suite's loader asks them about every case file on
/// every target, hundreds of times more often than there are filters.
pub struct TrialFilters {
    names: Vec<String>,
    finders: Vec<memchr::memmem::Finder<'static>>,
}

impl TrialFilters {
    /// The filters `names` (none: every trial runs).
    pub fn new(names: &[String]) -> TrialFilters {
        let finders = names.iter().map(|n| memchr::memmem::Finder::new(n.as_bytes()).into_owned()).collect();
        TrialFilters { names: names.to_vec(), finders }
    }

    /// The filters as given.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether `compat run NAME…` runs the trial named `trial`: when no NAME is given, or one it contains.
    pub fn selects(&self, trial: &str) -> bool {
        self.finders.is_empty() || self.finders.iter().any(|f| f.find(trial.as_bytes()).is_some())
    }

    /// [`TrialFilters::selects`] of the trial of case `feature::id` on `target`, its name written into
    /// `buffer` (only when there is a filter to match).
    fn selects_parts(&self, buffer: &mut String, target: &str, feature: &str, id: &str) -> bool {
        if self.finders.is_empty() {
            return true;
        }
        write_trial_name(buffer, target, feature, id);
        self.selects(buffer)
    }
}

/// The case files of `files` one of `filters` can select: a trial of one of `targets`, or the `load::…` trial
/// of a file that does not load.
fn wanted_files<'f, 't>(files: &'f [String], targets: impl Iterator<Item = &'t str> + Clone, filters: &TrialFilters) -> Vec<&'f String> {
    let mut trial = String::new();
    files
        .iter()
        .filter(|file| {
            let Some(name) = case_name_of_path(file) else { return true };
            let (feature, id) = name.split_once("::").expect("a case name has a feature");
            std::iter::once("load").chain(targets.clone()).any(|t| filters.selects_parts(&mut trial, t, feature, id))
        })
        .collect()
}

/// A case file as loaded: its case, or why it does not load.
type Loaded = Result<LoadedCase, Diagnostic>;

/// The case files a load reads, shared by the loading thread and the targets file's thread, which helps once its
/// own work is done: each takes the next file as soon as it is free. (A thread of their own, started while both
/// cores were busy, waited 0.5–0.9 ms for one in a 20-case run, probes — longer than half the files take.)
#[derive(Default)]
struct CaseFiles {
    /// The files, once the loading thread knows them.
    files: OnceLock<Vec<String>>,
    /// The next file to take.
    next: AtomicUsize,
    /// Each file's result, in order.
    loaded: OnceLock<Vec<Mutex<Option<Loaded>>>>,
    /// Whether the list is known (or will never be), and how many files are finished; `changed` signals both.
    progress: Mutex<Progress>,
    changed: Condvar,
}

/// What the threads of a [`CaseFiles`] wait on.
#[derive(Default)]
struct Progress {
    /// The list is known, or the load ended without one.
    settled: bool,
    /// Files taken and finished, or abandoned by a panic.
    finished: usize,
}

impl CaseFiles {
    /// Loads `files` (root-relative), with the help of the other thread; results in order. Called once a load.
    fn load(&self, root: &Path, files: &[&String]) -> Vec<Loaded> {
        let _ = self.loaded.set(files.iter().map(|_| Mutex::new(None)).collect());
        assert!(self.files.set(files.iter().map(|f| (*f).clone()).collect()).is_ok(), "a suite load reads its case files once");
        self.settle();
        self.help(root);
        let mut progress = self.progress();
        while progress.finished < files.len() {
            progress = self.changed.wait(progress).unwrap_or_else(|e| e.into_inner());
        }
        drop(progress);
        let loaded = self.loaded.get().expect("set above");
        let take = |l: &Mutex<Option<_>>| l.lock().unwrap_or_else(|e| e.into_inner()).take();
        loaded.iter().map(|l| take(l).expect("a file taken is loaded unless its thread panicked")).collect()
    }

    /// Waits until the list is known (or the load ended without one), then takes files until none is left.
    fn help_once_known(&self, root: &Path) {
        let mut progress = self.progress();
        while !progress.settled {
            progress = self.changed.wait(progress).unwrap_or_else(|e| e.into_inner());
        }
        drop(progress);
        self.help(root);
    }

    /// Takes files until none is left (none when the list is not known).
    fn help(&self, root: &Path) {
        let (Some(files), Some(loaded)) = (self.files.get(), self.loaded.get()) else { return };
        while let Some(i) = Some(self.next.fetch_add(1, Ordering::Relaxed)).filter(|&i| i < files.len()) {
            // Counted as finished even if loading it panics, so that the loading thread never waits forever.
            let _counted = Finished(self);
            let case = load_case_file(root, &files[i]);
            *loaded[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(case);
        }
    }

    /// Says the list is known, or will never be.
    fn settle(&self) {
        self.progress().settled = true;
        self.changed.notify_all();
    }

    fn progress(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counts one file of a [`CaseFiles`] as finished when dropped.
struct Finished<'a>(&'a CaseFiles);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.progress().finished += 1;
        self.0.changed.notify_all();
    }
}

/// Settles a [`CaseFiles`] when dropped: the load is over, with its list or without.
struct Closing<'a>(&'a CaseFiles);

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        self.0.settle();
    }
}

/// `<feature>::<id>` of a case file, read from its path (`cases/<feature>/<id>.yaml`): what its case is named
/// once loaded, and the name an override or expectation gives a file that did not load or was not read.
fn case_name_of_path(file: &str) -> Option<String> {
    let mut parts = file.rsplit('/');
    let stem = parts.next()?.trim_end_matches(".yaml").trim_end_matches(".yml");
    Some(format!("{}::{stem}", parts.next()?))
}

/// The outcome standing for a case file that did not load: an `error` named `load::<feature>::<file stem>`
/// that quotes the diagnostic.
pub fn broken_case_outcome(error: &Diagnostic) -> Outcome {
    let name = case_name_of_path(&error.file).unwrap_or_else(|| format!("cases::{}", error.file.trim_end_matches(".yaml").trim_end_matches(".yml")));
    let (feature, stem) = name.split_once("::").expect("a case name has a feature");
    Outcome::error_only(["load", feature, stem], "case file does not load", &error.file, error.line, ErrorKind::Config, error.to_string())
}

/// Replays every case on every target that has fixtures (a runtime of its own); outcomes sorted by name.
pub fn replay_all(suite: &Suite) -> Result<Vec<Outcome>, String> {
    let session = std::sync::Arc::new(crate::session::Session::replay(suite, crate::session::SnapshotSink::Policy)?);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| e.to_string())?;
    Ok(runtime.block_on(session.run(|_| true, 16)))
}

/// The coverage table of a suite from its replay outcomes, followed by one table per target of the known
/// divergences observed, grouped by source (see [`crate::report::coverage`]).
pub fn coverage_table(suite: &Suite, outcomes: &[Outcome]) -> String {
    let targets: Vec<String> = suite.replayable_targets().iter().map(|t| t.name.clone()).collect();
    let mut out = crate::report::coverage::render(&suite.features, &suite.cases, outcomes, &targets);
    for t in &targets {
        if outcomes.iter().any(|o| o.target == *t && o.known().iter().any(|k| k.observed > 0)) {
            out.push_str(&format!("\nKnown divergences observed on `{t}`, by source:\n\n"));
            out.push_str(&crate::report::coverage::render_known(outcomes, t));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{CaseFiles, TrialFilters};
    use crate::case::load::load_case_file;

    /// Case files loaded by two threads taking turns give what one thread gives, in the same order, broken
    /// files included; a helper that comes after the list is done does nothing, and one waiting for a list that
    /// never comes is let go.
    #[test]
    fn case_files_shared_by_two_threads_load_as_one_thread_does() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for i in 0..24 {
            let rel = format!("cases/f/c{i:02}.yaml");
            let text = if i % 5 == 3 {
                format!("id: c{i:02}\nfeature: f\nno_such_key: 1\n")
            } else {
                format!("id: c{i:02}\nfeature: f\ntitle: t\ndoc: d\nrequest: {{ path: chat/completions, body: {{ n: {i} }} }}\n")
            };
            std::fs::create_dir_all(dir.path().join("cases/f")).unwrap();
            std::fs::write(dir.path().join(&rel), text).unwrap();
            files.push(rel);
        }
        let refs: Vec<&String> = files.iter().collect();
        let show = |r: &Result<crate::case::LoadedCase, crate::diagnostic::Diagnostic>| match r {
            Ok(c) => format!("{} {} {}", c.file, c.line, c.case.name()),
            Err(e) => e.to_string(),
        };
        let alone: Vec<String> = refs.iter().map(|f| show(&load_case_file(dir.path(), f))).collect();
        assert_eq!(alone.iter().filter(|s| s.contains("no_such_key")).count(), 5);
        for _ in 0..20 {
            let shared = CaseFiles::default();
            shared.help(dir.path()); // nothing to help with yet
            let loaded = std::thread::scope(|s| {
                s.spawn(|| shared.help_once_known(dir.path()));
                shared.load(dir.path(), &refs)
            });
            shared.help(dir.path()); // nothing left
            assert_eq!(loaded.iter().map(show).collect::<Vec<_>>(), alone);
        }
        // A load that ends without a list (a broken targets file) lets a waiting helper go.
        let never = CaseFiles::default();
        std::thread::scope(|s| {
            s.spawn(|| never.help_once_known(dir.path()));
            never.settle();
        });
    }

    #[test]
    fn trial_filters_select_by_substring_as_compat_run_names_them() {
        let none = TrialFilters::new(&[]);
        assert!(none.selects("gemini::chat::basic") && none.names().is_empty(), "no filter: every trial");
        let some = TrialFilters::new(&["chat::basic".into(), "llama".into()]);
        assert!(some.selects("gemini::chat::basic") && some.selects("llama-cpp::embeddings::dimensions"));
        assert!(some.selects("vllm::chat::basic_stream"), "a substring, not a whole name");
        assert!(!some.selects("gemini::chat::n") && !some.selects("vllm::chat::basi"));
        assert!(TrialFilters::new(&[String::new()]).selects("anything"), "the empty filter is in every name");
        let mut buffer = String::from("left over");
        assert!(some.selects_parts(&mut buffer, "gemini", "chat", "basic") && buffer == "gemini::chat::basic");
        assert!(!some.selects_parts(&mut buffer, "gemini", "chat", "n"));
        assert_eq!(some.names(), ["chat::basic", "llama"]);
    }
}
