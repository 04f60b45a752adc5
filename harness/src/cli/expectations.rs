//! `compat expectations update --target T [--from results.json]`: writes the unexplained divergences a run
//! observed on a target into that target's expectations file (`cases/expectations/<T>.yaml`, see
//! [`compat::case::expectations`]) for review.
//!
//! Each finding no known divergence explains becomes one entry under its case: its rule, its path with
//! every index generalized to `[*]` (so the entry holds for any number of choices or chunks), its severity,
//! a draft reason quoting the evidence (message, expected, actual) and `link: TODO`. Entries already in the
//! file are kept as they are; duplicates are not added. Declared entries the run did not observe (`fixed`)
//! are listed for review, never removed. The file is rewritten in canonical form, keeping its leading comment.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use compat::case::PathPattern;
use compat::case::expectations::{Entries, Entry, default_header, expectations_file, parse, render};
use compat::outcome::Outcome;
use compat::report::write::load_results;

#[derive(clap::Args)]
pub struct ExpectationsArgs {
    #[command(subcommand)]
    command: ExpectationsCommand,
}

#[derive(clap::Subcommand)]
enum ExpectationsCommand {
    /// Add the unexplained divergences of a run on one target to `cases/expectations/<target>.yaml`.
    Update {
        /// The target whose expectations file is written.
        #[arg(long)]
        target: String,
        /// The results.json of the run. Default: <root>/reports/results.json.
        #[arg(long)]
        from: Option<PathBuf>,
    },
}

/// Exit 0 when the file was written (or nothing was to add), 2 on a usage or load error.
pub fn run(root: &Path, args: ExpectationsArgs) -> ExitCode {
    let ExpectationsCommand::Update { target, from } = args.command;
    match update(root, &target, from.as_deref()) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn update(root: &Path, target: &str, from: Option<&Path>) -> Result<String, String> {
    // The suite loads first, so a broken expectations file is reported (located) before it is rewritten.
    let suite = compat::suite::Suite::load(root).map_err(|e| e.to_string().trim_end().trim_start_matches("error: ").to_owned())?;
    if suite.target(target).is_none() {
        return Err(format!("no target `{target}` in {}", compat::target::TARGETS_FILE));
    }
    let from = from.map(Path::to_path_buf).unwrap_or_else(|| root.join("reports/results.json"));
    let results = load_results(&from)?;
    let outcomes: Vec<&Outcome> = results.outcomes.iter().filter(|o| o.target == target).collect();
    if outcomes.is_empty() {
        return Err(format!("{} has no outcome for target `{target}`", from.display()));
    }
    let rel = expectations_file(target);
    let path = root.join(&rel);
    let names: Vec<String> = suite.cases.iter().map(|c| c.case.name()).collect();
    let (header, mut entries) = match std::fs::read_to_string(&path) {
        Ok(text) => {
            let parsed = parse(&rel, &text, &names).map_err(|e| e.to_string())?;
            let entries: Entries = parsed.into_iter().map(|(k, v)| (k, v.into_iter().map(|s| s.value).collect())).collect();
            (leading_comment(&text).unwrap_or_else(|| default_header(target)), entries)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (default_header(target), Entries::new()),
        Err(e) => return Err(format!("cannot read {rel}: {e}")),
    };
    let mut added = 0;
    let mut cases_touched = std::collections::BTreeSet::new();
    for o in &outcomes {
        let case = format!("{}::{}", o.feature, o.id);
        for f in o.findings().iter().filter(|f| f.known.is_none()) {
            let entry = draft(f);
            let list = entries.entry(case.clone()).or_default();
            let same = |e: &Entry| e.rule == entry.rule && e.path == entry.path && e.severity == entry.severity && e.step == entry.step;
            if !list.iter().any(same) {
                list.push(entry);
                added += 1;
                cases_touched.insert(case.clone());
            }
        }
    }
    let mut report = String::new();
    for o in &outcomes {
        for k in o.known().iter().filter(|k| k.observed == 0 && k.due && k.file.as_deref() == Some(rel.as_str())) {
            let d = &k.divergence;
            let what = [d.rule.as_deref(), d.path.as_ref().map(PathPattern::as_str)].into_iter().flatten().collect::<Vec<_>>().join(" at ");
            report.push_str(&format!(
                "not observed (fixed): {rel}:{} {}::{} `{what}` — remove it if the target really changed\n",
                k.line, o.feature, o.id
            ));
        }
    }
    if added == 0 {
        report.push_str(&format!("{rel}: nothing to add; every divergence observed on `{target}` in {} is declared\n", from.display()));
        return Ok(report);
    }
    std::fs::create_dir_all(path.parent().expect("the file is under cases/"))
        .map_err(|e| format!("cannot create {EXPECTATIONS}: {e}", EXPECTATIONS = compat::case::expectations::EXPECTATIONS_DIR))?;
    std::fs::write(&path, render(&header, &entries)).map_err(|e| format!("cannot write {rel}: {e}"))?;
    report.push_str(&format!(
        "{rel}: added {added} entr{} for {} case{}; review each draft reason and replace `link: \"TODO\"` with the evidence\n",
        if added == 1 { "y" } else { "ies" },
        cases_touched.len(),
        if cases_touched.len() == 1 { "" } else { "s" }
    ));
    Ok(report)
}

/// The entry explaining one finding: its rule, path (indexes generalized), severity, and the evidence.
fn draft(f: &compat::outcome::Finding) -> Entry {
    let general = compat::case::generalize_indexes(&f.path);
    let mut reason = format!("TODO: why — observed: {}", f.message);
    if !f.expected.is_empty() || !f.actual.is_empty() {
        reason.push_str(&format!(" (expected {}, actual {})", clip(&f.expected), clip(&f.actual)));
    }
    Entry {
        rule: Some(f.rule.clone()),
        path: PathPattern::parse(&general).ok(),
        severity: Some(f.severity),
        reason,
        link: "TODO".into(),
        when: Default::default(),
        step: f.step.clone(),
    }
}

/// At most 200 characters of `s`, marked when cut.
fn clip(s: &str) -> String {
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// The comment lines opening a file (blank lines between them included), if it opens with one.
fn leading_comment(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().take_while(|l| l.starts_with('#') || l.trim().is_empty()).collect();
    let last = lines.iter().rposition(|l| l.starts_with('#'))?;
    Some(lines[..=last].iter().map(|l| format!("{l}\n")).collect())
}
