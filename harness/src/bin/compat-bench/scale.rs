//! `compat-bench scale`: do the run and its reports hold at thousands of outcomes, and what does one case
//! cost next to a bare HTTP client?
//!
//! **Scale.** It generates a suite in a temporary folder from the project's own: the real cases copied until
//! there are `--cases` of them (copy k of `<id>` is `<id>_<k>`), and the real replayable targets copied until
//! there are `--targets` of them (copy k of `gemini` is `gemini-<k>`, with its fixtures, snapshots, overrides,
//! known divergences and expectations file renamed along), so every outcome is a real one — embeddings
//! vectors, streams and all. Then it runs `compat run` on it as a child process `--runs` times and prints the wall time, the peak
//! resident memory of the child (`getrusage(RUSAGE_CHILDREN).ru_maxrss`: the largest child waited for) and the
//! size of each report. The issue's bar, for 10 targets × 500 cases: ≤ 3 s, ≤ 300 MB, index.html ≤ 8 MB.
//!
//! **One case, live.** On the project itself: start-up (`compat run` with a filter that selects nothing: the
//! suite loads and the schemas are read, then the run is refused, exit 2, before any request or report), then `compat run --live` of one case and of 20 cases against a loopback server
//! serving their fixtures, next to `curl` sending the same requests (one process; for 20, one process with
//! `--next`) and Hurl, when one is installed (`hurl` on `PATH`, or `$COMPAT_HURL`), running one file of the
//! same requests with four asserts each. `curl` is the floor: a libcurl client without asserts. The live runs
//! lift the pacing quota with `--rpm 0 --concurrency 64`, and each starts without the last one's reports.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::replay::{median, min};
use compat::case::expectations;
use compat::fixture::replay::{request_mock, response_template};
use compat::fixture::{fixture_path, load_fixture};
use compat::run::resolve_request;
use compat::target::Target;
use wiremock::MockServer;

/// Arguments of `compat-bench scale`.
#[derive(clap::Args)]
pub struct ScaleArgs {
    /// Targets in the generated suite (copies of the project's replayable targets).
    #[arg(long, default_value_t = 10)]
    targets: usize,
    /// Cases in the generated suite (copies of the project's cases).
    #[arg(long, default_value_t = 500)]
    cases: usize,
    /// Runs of `compat run` on the generated suite (the minimum and median wall time are printed).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Generate the suite into this folder and keep it (default: a temporary folder, removed afterwards).
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Repetitions of each live measurement (the median is printed).
    #[arg(long, default_value_t = 10)]
    live_runs: usize,
}

/// Runs `compat-bench scale`.
pub fn run(root: &Path, args: ScaleArgs) -> ExitCode {
    let suite = match crate::load_suite(root) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let dir = args.keep.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("compat-bench-scale-{}", std::process::id())));
    let generated = match generate(&suite, &dir, args.targets, args.cases) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: generating the suite in {}: {e}", dir.display());
            return ExitCode::from(2);
        }
    };
    println!(
        "compat-bench scale — {} cases × {} targets = {} outcomes, generated in {}",
        generated.0,
        generated.1,
        generated.0 * generated.1,
        dir.display()
    );
    let exe = compat_binary();
    let reports = dir.join("reports");
    let (mut walls, mut cpus) = (Vec::new(), Vec::new());
    for _ in 0..args.runs.max(1) {
        let cpu_before = children_usage().1;
        let t = Instant::now();
        let status = Command::new(&exe)
            .arg("--root")
            .arg(&dir)
            .args(["run", "--reports"])
            .arg(&reports)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status();
        walls.push(t.elapsed());
        cpus.push(children_usage().1.saturating_sub(cpu_before));
        if let Err(e) = status {
            eprintln!("error: cannot run {}: {e}", exe.display());
            return ExitCode::from(2);
        }
    }
    let peak_mb = children_usage().0 as f64 / 1024.0;
    println!(
        "compat run (replay, reports written), {} runs: wall min {}, median {}; CPU (user + system) median {}; peak RSS {peak_mb:.0} MB",
        walls.len(),
        fmt(min(&walls)),
        fmt(median(&mut walls)),
        fmt(median(&mut cpus))
    );
    let mut sizes = Vec::new();
    for name in ["results.json", "index.html", "junit.xml", "summary.md"] {
        let size = std::fs::metadata(reports.join(name)).map(|m| m.len()).unwrap_or(0);
        sizes.push(format!("{name} {}", mb(size)));
    }
    let (bytes, files) = dir_size(&reports);
    sizes.push(format!("reports/ in all {} in {files} files", mb(bytes)));
    println!("reports: {}", sizes.join(", "));
    if let Ok(doc) = compat::report::write::load_results(&reports.join("results.json")) {
        let c = doc.counts;
        println!(
            "verdicts: {} pass, {} known, {} diverges, {} fixed, {} error, {} skipped ({} failing)",
            c.pass, c.known, c.diverges, c.fixed, c.error, c.skipped, c.failing
        );
    }
    if args.keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    // The live runs use the project itself, as a user runs it, with the pacing quota lifted on the command line
    // (`--rpm 0 --concurrency 64`): a paced run waits for its quota by design, and the question here is what
    // the harness itself costs. A live run writes nothing into the project (snapshots are only noted, no
    // recording is asked for); its reports go to a temporary folder.
    // The files written and removed so far are flushed first: their write-back would otherwise land on the
    // timed runs. SAFETY: sync takes no argument and only schedules and waits for write-back.
    unsafe { libc::sync() };
    live(root, &suite, &exe, args.live_runs.max(1));
    ExitCode::SUCCESS
}

/// Writes the generated suite under `dir`; returns (cases, targets).
fn generate(suite: &compat::suite::Suite, dir: &Path, n_targets: usize, n_cases: usize) -> Result<(usize, usize), String> {
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("cases")).map_err(|e| io(dir, e))?;
    for file in ["cases/features.yaml", "cases/case.schema.json"] {
        let from = suite.root.join(file);
        if from.is_file() {
            std::fs::copy(&from, dir.join(file)).map_err(|e| io(&from, e))?;
        }
    }
    // Target copies: (copy name, original), round robin over the replayable targets.
    let bases: Vec<&Target> = suite.replayable_targets();
    if bases.is_empty() || suite.cases.is_empty() {
        return Err("the project has no replayable target or no case".into());
    }
    let copies: Vec<(String, &Target)> = (0..n_targets.max(1))
        .map(|i| {
            let base = bases[i % bases.len()];
            let k = i / bases.len();
            (if k == 0 { base.name.clone() } else { format!("{}-{k}", base.name) }, base)
        })
        .collect();
    // Case copies: (copy k, case), copy 0 keeping the original id.
    let plan: Vec<(usize, &compat::case::LoadedCase)> = (0..).flat_map(|k| suite.cases.iter().map(move |c| (k, c))).take(n_cases.max(1)).collect();
    let id_of = |k: usize, id: &str| if k == 0 { id.to_owned() } else { format!("{id}_{k}") };
    let copies_of = |base: &str| copies.iter().filter(|(_, b)| b.name == base).map(|(n, _)| n.clone()).collect::<Vec<_>>();
    let targets_list = regex::Regex::new(r"targets:\s*\[([^\]]*)\]").expect("a valid regex");
    for (k, c) in &plan {
        let text = std::fs::read_to_string(suite.root.join(&c.file)).map_err(|e| io(Path::new(&c.file), e))?;
        let id = id_of(*k, &c.case.id);
        let text = text.replacen(&format!("\nid: {}\n", c.case.id), &format!("\nid: {id}\n"), 1);
        let text = targets_list.replace_all(&text, |caps: &regex::Captures| {
            let names: Vec<String> = caps[1].split(',').map(str::trim).flat_map(copies_of).collect();
            format!("targets: [{}]", names.join(", "))
        });
        let path = dir.join("cases").join(&c.case.feature).join(format!("{id}.yaml"));
        write(&path, text.as_bytes())?;
    }
    let mut config = serde_json::Map::new();
    for (name, base) in &copies {
        let mut t = base.config.clone();
        t.fixtures = None;
        for o in &mut t.overrides {
            o.cases = o
                .cases
                .iter()
                .flat_map(|p| match p.split_once("::") {
                    Some((f, id)) if id != "*" => {
                        plan.iter().filter(|(_, c)| c.case.feature == f && c.case.id == id).map(|(k, _)| format!("{f}::{}", id_of(*k, id))).collect()
                    }
                    _ => vec![p.clone()],
                })
                .collect();
            // A small generated suite may lack every case a pattern names (`thought-signatures::*`); the
            // loader rejects a pattern that matches no case.
            o.cases.retain(|p| {
                let (f, i) = p.split_once("::").unwrap_or((p, "*"));
                plan.iter().any(|(k, c)| (f == "*" || f == c.case.feature) && (i == "*" || *i == id_of(*k, &c.case.id)))
            });
        }
        t.overrides.retain(|o| !o.cases.is_empty());
        config.insert(name.clone(), serde_json::to_value(&t).map_err(|e| e.to_string())?);
        for (k, c) in &plan {
            let (f, id) = (&c.case.feature, &c.case.id);
            let from = suite.root.join(fixture_path(&base.fixtures_dir(), f, id));
            if from.is_file() {
                let to = dir.join(fixture_path(&format!("fixtures/{name}"), f, &id_of(*k, id)));
                std::fs::create_dir_all(to.parent().expect("a fixture path has a folder")).map_err(|e| io(&to, e))?;
                std::fs::copy(&from, &to).map_err(|e| io(&from, e))?;
            }
            let snap = |t: &str, id: &str| format!("snapshots/{t}/{f}__{id}.snap");
            let from = suite.root.join(snap(&base.name, id));
            if from.is_file() {
                let to = dir.join(snap(name, &id_of(*k, id)));
                std::fs::create_dir_all(to.parent().expect("a snapshot path has a folder")).map_err(|e| io(&to, e))?;
                std::fs::copy(&from, &to).map_err(|e| io(&from, e))?;
            }
        }
    }
    // Expectations files: each copy of a target gets its base's entries, keyed by the copied case names.
    let names: Vec<String> = suite.cases.iter().map(|c| c.case.name()).collect();
    for (name, base) in &copies {
        let rel = expectations::expectations_file(&base.name);
        let Ok(text) = std::fs::read_to_string(suite.root.join(&rel)) else { continue };
        let parsed = expectations::parse(&rel, &text, &names).map_err(|d| d.to_string())?;
        let mut entries = expectations::Entries::new();
        for (case, list) in parsed {
            let list: Vec<expectations::Entry> = list.into_iter().map(|e| e.value).collect();
            for (k, c) in plan.iter().filter(|(_, c)| c.case.name() == case) {
                entries.insert(format!("{}::{}", c.case.feature, id_of(*k, &c.case.id)), list.clone());
            }
        }
        write(&dir.join(expectations::expectations_file(name)), expectations::render(&expectations::default_header(name), &entries).as_bytes())?;
    }
    // JSON is YAML: the targets file is written as JSON from the loaded configuration.
    let targets = serde_json::json!({ "targets": config });
    write(&dir.join(compat::target::TARGETS_FILE), serde_json::to_string_pretty(&targets).map_err(|e| e.to_string())?.as_bytes())?;
    Ok((plan.len(), copies.len()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Start-up, and one and 20 cases live against loopback, next to curl.
fn live(root: &Path, suite: &compat::suite::Suite, exe: &Path, runs: usize) {
    let Some(target) = suite.target("gemini").or_else(|| suite.replayable_targets().first().copied()).cloned() else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a tokio runtime starts");
    let server = runtime.block_on(MockServer::start());
    // Cases sent with the target's own key (not `auth: invalid`), each with its fixture mounted once; none a
    // live run skips, so that compat, curl and Hurl send the same requests.
    let mut picked = Vec::new();
    for c in &suite.cases {
        if picked.len() == 20 || c.case.first_request().auth != compat::case::AuthMode::Target || target.planned_skip(&c.case, true).is_some() {
            continue;
        }
        let rel = fixture_path(&target.fixtures_dir(), &c.case.feature, &c.case.id);
        let (Ok(Some(fixture)), Ok(sent)) = (load_fixture(root, &rel), resolve_request(c, &target)) else { continue };
        runtime.block_on(request_mock(&fixture, "/").respond_with(response_template(&fixture)).named(c.case.name()).mount(&server));
        picked.push((format!("{}::{}::{}", target.name, c.case.feature, c.case.id), sent, fixture.response.status));
    }
    if picked.is_empty() {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("compat-bench-live-{}", std::process::id()));
    // Request bodies as files, written once, before any timing: `body-<i>.json` for the i-th picked case,
    // sent by curl (`--data-binary @…`) and Hurl (`file,…;`) alike.
    for (i, (_, s, _)) in picked.iter().enumerate() {
        if let Some(b) = &s.body
            && let Err(e) = write(&tmp.join(body_file(i)), b.to_string().as_bytes())
        {
            eprintln!("warning: live measurements skipped: {e}");
            return;
        }
    }
    let base = format!("{}/", server.uri());
    // Every tool runs from a copy made here, alike: how a file came into the page cache counts — the same
    // compat bytes took 844 page faults a one-case run as the linker had written them and 732 as a copy
    // (0.3 ms here), while Hurl ran from its installed file.
    let installed = |program: &Path, name: &str| {
        let Some(found) = program_path(program) else { return program.to_owned() }; // not here: said where it is run
        match std::fs::copy(&found, tmp.join(name)) {
            Ok(_) => tmp.join(name),
            Err(e) => {
                eprintln!("warning: {} runs from where it is, not from a copy ({e}): its times are not like the others'", found.display());
                found
            }
        }
    };
    let exe = &installed(exe, "compat-under-test");
    let curl_program = installed(Path::new("curl"), "curl-under-test");
    let hurl = hurl_program().map(|program| installed(&program, "hurl-under-test"));
    let compat_run = |names: &[String]| {
        // Each run starts without the last one's reports, as each Hurl run does (below): replacing a file costs
        // freeing the old one (on this machine's ext4, mounted with `discard`, ~0.3 ms a file), which only
        // compat would otherwise pay inside the clock.
        let _ = std::fs::remove_dir_all(tmp.join("reports"));
        let mut cmd = Command::new(exe);
        cmd.arg("--root")
            .arg(root)
            .args(["run", "--live", "--target", &target.name, "--base-url", &base, "--rpm", "0", "--concurrency", "64", "--reports"])
            .arg(tmp.join("reports"));
        cmd.args(names);
        cmd.env(&target.config.auth.env, "compat-bench-key-not-secret").stdout(Stdio::null()).stderr(Stdio::null());
        cmd
    };
    let curl = |sents: &[Picked]| {
        let mut cmd = Command::new(&curl_program);
        cmd.arg("-s");
        for (i, (_, s, _)) in sents.iter().enumerate() {
            if i > 0 {
                cmd.arg("--next");
            }
            cmd.args(["-o", "/dev/null", "-X", s.method.as_str(), "-H", "authorization: Bearer compat-bench-key-not-secret"]);
            if s.body.is_some() {
                cmd.args(["-H", "content-type: application/json", "--data-binary"]).arg(format!("@{}", tmp.join(body_file(i)).display()));
            }
            cmd.arg(format!("{base}{}", s.path));
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        cmd
    };
    let one: Vec<String> = picked.iter().take(1).map(|p| p.0.clone()).collect();
    let all: Vec<String> = picked.iter().map(|p| p.0.clone()).collect();
    println!(
        "\nlive against a loopback server; {runs} rounds (after one to warm the page cache), each tool once per round in turn, a fresh process each time; median (min):"
    );
    let nothing = ["no-such-case-so-nothing-runs".to_owned()];
    if let Some(times) = interleaved(runs, &mut [&mut || compat_run(&nothing)]).pop().flatten() {
        println!(
            "  start-up (compat run of a filter that selects nothing: load suite, read schemas, refused with exit 2, no report): {}",
            spread(times)
        );
    }
    for (label, names, sents) in [(format!("1 case ({})", one[0]), &one, &picked[..1]), (format!("{} cases", all.len()), &all, &picked[..])] {
        let hurl_file = hurl.as_ref().map(|program| match hurl_file(&tmp, sents, &base) {
            Ok(file) if hurl_passes(program, &file) => Ok((program, file)),
            Ok(file) => Err(format!("Hurl: {} does not pass (not timed)", file.display())),
            Err(e) => Err(format!("Hurl: {e}")),
        });
        let timed_hurl = match &hurl_file {
            Some(Ok((program, file))) => Some((program.as_path(), file.as_path())),
            _ => None,
        };
        let hurl_cmd = |reports: bool| {
            let (program, file) = timed_hurl.expect("timed only when it passes");
            let mut cmd = Command::new(program);
            cmd.arg("--no-output");
            if reports {
                // What compat writes on every run, written by Hurl too: an HTML, a JUnit and a JSON report. Hurl
                // adds to reports it finds, where compat replaces its own: each run starts without them (removed
                // here, before the clock starts).
                let dir = tmp.join("hurl-reports");
                let _ = std::fs::remove_dir_all(&dir);
                cmd.arg("--report-html").arg(dir.join("html")).arg("--report-junit").arg(dir.join("junit.xml"));
                cmd.arg("--report-json").arg(dir.join("json"));
            }
            cmd.arg(file).stdout(Stdio::null()).stderr(Stdio::null());
            cmd
        };
        let (mut hurl_run, mut hurl_reporting) = (|| hurl_cmd(false), || hurl_cmd(true));
        let (mut compat_cmd, mut curl_cmd) = (|| compat_run(names), || curl(sents));
        let mut tools: Vec<&mut dyn FnMut() -> Command> = vec![&mut compat_cmd, &mut curl_cmd];
        // Timed only when its run passes with the report flags (an older Hurl may not know one of them).
        let reporting = timed_hurl.is_some() && hurl_cmd(true).status().is_ok_and(|s| s.success());
        if timed_hurl.is_some() {
            tools.push(&mut hurl_run);
        }
        if reporting {
            tools.push(&mut hurl_reporting);
        }
        let times = interleaved(runs, &mut tools);
        let shown = |i: usize| times.get(i).cloned().flatten().map_or("failed to start".to_owned(), spread);
        let mut line = format!("  {label}: compat run --live (reports written) {} · curl {} (same requests, no asserts)", shown(0), shown(1));
        line += &match &hurl_file {
            Some(Ok(_)) => {
                let with_reports =
                    if reporting { shown(3) } else { "not timed (its run with --report-html, --report-junit, --report-json fails)".into() };
                format!(" · Hurl {} (same requests, 4 asserts each, no report) · Hurl writing HTML, JUnit and JSON reports {with_reports}", shown(2))
            }
            Some(Err(e)) => format!(" · {e}"),
            None => " · Hurl not found (put `hurl` on PATH or name it in $COMPAT_HURL)".into(),
        };
        println!("{line}");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Wall times of each command of `tools` over `runs` rounds, the tools taking turns within a round so that a
/// drift of the machine's load weighs on all alike; a first round warms the page cache and is not counted.
/// `None` for a tool that failed to start.
fn interleaved(runs: usize, tools: &mut [&mut dyn FnMut() -> Command]) -> Vec<Option<Vec<Duration>>> {
    let mut times: Vec<Option<Vec<Duration>>> = vec![Some(Vec::new()); tools.len()];
    for round in 0..=runs {
        for (make, times) in tools.iter_mut().zip(times.iter_mut()) {
            let Some(list) = times else { continue };
            let mut command = make(); // built (and its leftovers cleared) before the clock starts
            let t = Instant::now();
            match command.status() {
                Ok(_) if round > 0 => list.push(t.elapsed()),
                Ok(_) => {}
                Err(_) => *times = None,
            }
        }
    }
    times
}

/// "median (min)" of `times`.
fn spread(mut times: Vec<Duration>) -> String {
    format!("{} ({})", fmt(median(&mut times)), fmt(min(&times)))
}

/// A case picked for the live measurements: its trial name, its request, and the status its fixture answers.
type Picked = (String, compat::outcome::SentRequest, u16);

/// The Hurl binary to compare with: `$COMPAT_HURL`, else `hurl` when it runs.
/// The `compat` binary beside this one (both are built and installed together).
fn compat_binary() -> PathBuf {
    let here = std::env::current_exe().expect("the running binary has a path");
    here.with_file_name(format!("compat{}", std::env::consts::EXE_SUFFIX))
}

fn hurl_program() -> Option<PathBuf> {
    let program = std::env::var_os("COMPAT_HURL").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("hurl"));
    Command::new(&program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().ok().filter(|s| s.success()).map(|_| program)
}

/// `program` as a file: itself when it names one, else the first match on `PATH`.
fn program_path(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return program.is_file().then(|| program.to_owned());
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// The file in the measurements' folder holding the request body of the i-th picked case.
fn body_file(i: usize) -> String {
    format!("body-{i}.json")
}

/// A Hurl file in `dir` (beside the body files) sending `sents` to `base` as compat does (same method, path,
/// key header and JSON body), each with four asserts, as the issue measures Hurl: the status, a
/// `content-type` header, a non-empty body, and an answer within the first-byte timeout.
fn hurl_file(dir: &Path, sents: &[Picked], base: &str) -> Result<PathBuf, String> {
    let mut text = String::new();
    for (i, (_, s, status)) in sents.iter().enumerate() {
        text += &format!("{} {base}{}\nauthorization: Bearer compat-bench-key-not-secret\n", s.method.as_str(), s.path);
        if s.body.is_some() {
            text += &format!("content-type: application/json\nfile,{};\n", body_file(i));
        }
        text += &format!("HTTP {status}\n[Asserts]\nheader \"content-type\" exists\nbytes count > 0\nduration < 120000\n\n");
    }
    let file = dir.join(format!("requests-{}.hurl", sents.len()));
    write(&file, text.as_bytes())?;
    Ok(file)
}

/// Whether Hurl runs `file` with every assert holding (a failing run is not a fair time).
fn hurl_passes(program: &Path, file: &Path) -> bool {
    Command::new(program).arg("--no-output").arg(file).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// The peak resident set of the largest child process waited for, in KiB (Linux `ru_maxrss`), and the CPU
/// time (user + system) of all children waited for so far.
fn children_usage() -> (i64, Duration) {
    // SAFETY: getrusage writes one plain struct we own; RUSAGE_CHILDREN needs no other state.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) != 0 {
            return (0, Duration::ZERO);
        }
        usage
    };
    let time = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    (usage.ru_maxrss, time(usage.ru_utime) + time(usage.ru_stime))
}

/// Bytes and file count under `dir`, recursively.
fn dir_size(dir: &Path) -> (u64, usize) {
    let Ok(entries) = std::fs::read_dir(dir) else { return (0, 0) };
    entries.flatten().fold((0, 0), |(bytes, files), e| match e.metadata() {
        Ok(m) if m.is_dir() => {
            let (b, f) = dir_size(&e.path());
            (bytes + b, files + f)
        }
        Ok(m) => (bytes + m.len(), files + 1),
        Err(_) => (bytes, files),
    })
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1_048_576.0)
}

fn fmt(d: Duration) -> String {
    if d.as_millis() >= 10 { format!("{:.0} ms", d.as_secs_f64() * 1e3) } else { format!("{:.1} ms", d.as_secs_f64() * 1e3) }
}
