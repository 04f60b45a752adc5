//! The `cargo test` entry: one libtest-mimic trial per (target, case), replayed from fixtures.
//!
//! Thin by design: the trials are the replay plan the CLI uses too (`compat::plan::plan_replay`), named
//! `<target>::<feature>::<id>` in stable order; a case file that does not load is one failing trial,
//! `load::<feature>::<file stem>`. Each trial writes its outcome as a result file; `compat::collect` assembles
//! `reports/` from them once all have finished.

use std::process::ExitCode;
use std::sync::Arc;

use compat::collect::Collector;
use compat::plan::{PlannedTrial, Selection, plan_replay, replay_run_info};
use compat::report::terminal::render_outcome;
use compat::suite::{Suite, default_root, replay_context};
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
    let ctx = Arc::new(replay_context(&root).expect("the builtin schemas compile"));
    let runtime = Arc::new(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime starts"));
    let info = replay_run_info(&suite, ctx.schemas.spec_version());
    let selection = Selection { filter: args.filter.clone(), exact: args.exact, skip: args.skip.clone() };
    let plan = plan_replay(&suite);
    let collector = Arc::new(Collector::new(&root.join("reports"), info, &plan, &selection));
    let mut trials: Vec<Trial> = plan
        .into_iter()
        .map(|planned| {
            let collector = Arc::clone(&collector);
            match planned {
                PlannedTrial::Case { name, target, case, skipped } => {
                    let (ctx, runtime) = (Arc::clone(&ctx), Arc::clone(&runtime));
                    Trial::test(name, move || {
                        let mut outcome = runtime.block_on(compat::run::run_case_catching(&ctx, &case, &target));
                        compat::snapshot::settle(&ctx.root, &mut outcome); // insta: .snap.new, or accept under INSTA_UPDATE=always
                        collector.record_logged(&outcome); // result file for the reports (see compat::collect)
                        if outcome.fails() { Err(render_outcome(&outcome).into()) } else { Ok(()) }
                    })
                    .with_ignored_flag(skipped.is_some())
                }
                PlannedTrial::Broken { outcome } => Trial::test(outcome.name(), move || {
                    collector.record_logged(&outcome);
                    Err(render_outcome(&outcome).into())
                }),
            }
        })
        .collect();
    trials.sort_by(|a, b| a.name().cmp(b.name()));
    let conclusion = libtest_mimic::run(&args, trials);
    if !args.list {
        collector.finish_logged(); // one process: assemble reports/ now (under nextest the last trial did)
    }
    conclusion.exit_code()
}
