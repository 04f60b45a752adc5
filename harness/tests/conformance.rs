//! The `cargo test` entry: one libtest-mimic trial per (target, case), replayed from fixtures.
//!
//! Thin by design: the trials are the plan of a replay [`Session`], the path `compat run` takes too, named
//! `<target>::<feature>::<id>` in stable order; a case file that does not load is one failing trial,
//! `load::<feature>::<file stem>`. Each trial writes its outcome as a result file; `compat::collect` assembles
//! `reports/` from them once all have finished.

use std::process::ExitCode;
use std::sync::Arc;

use compat::collect::Collector;
use compat::plan::{PlannedTrial, Selection};
use compat::report::terminal::render_outcome;
use compat::session::{Session, SnapshotSink};
use compat::suite::{Suite, default_root};
use libtest_mimic::{Arguments, Trial};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let root = default_root();
    let suite = match Suite::load(&root) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    // insta settles a changed snapshot: .snap.new, a failure under CI, or acceptance under INSTA_UPDATE=always.
    let session = match Session::replay(&suite, SnapshotSink::Insta) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = Arc::new(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime starts"));
    let selection = Selection { filter: args.filter.clone(), exact: args.exact, skip: args.skip.clone() };
    let collector = Arc::new(Collector::new(&root.join("reports"), session.info.clone(), &session.plan, &selection));
    let mut trials: Vec<Trial> = (0..session.plan.len())
        .map(|index| {
            let (collector, session, runtime) = (Arc::clone(&collector), Arc::clone(&session), Arc::clone(&runtime));
            let trial = &session.plan[index];
            let ignored = matches!(trial, PlannedTrial::Case { skipped: Some(_), .. });
            Trial::test(trial.name(), move || {
                let outcome = runtime.block_on(session.run_trial(&session.plan[index]));
                collector.record_logged(&outcome); // result file for the reports (see compat::collect)
                if outcome.fails() { Err(render_outcome(&outcome).into()) } else { Ok(()) }
            })
            .with_ignored_flag(ignored)
        })
        .collect();
    trials.sort_by(|a, b| a.name().cmp(b.name()));
    let conclusion = libtest_mimic::run(&args, trials);
    if !args.list {
        collector.finish_logged(); // one process: assemble reports/ now (under nextest the last trial did)
    }
    conclusion.exit_code()
}
