//! The `cargo test` entry: one libtest-mimic trial per (target, case), replayed from fixtures.
//!
//! Thin by design: discovery, running and rendering live in the library (`compat::suite`, `compat::run`,
//! `compat::report`); this file only turns them into trials named `<target>::<feature>::<id>`, in stable order.
//! A case file that does not load becomes one failing trial, `load::<feature>::<file stem>`. Each trial writes
//! its outcome as a result file; `compat::results` assembles `reports/` from them once all have finished.

use std::process::ExitCode;
use std::sync::Arc;

use compat::report::terminal::render_outcome;
use compat::suite::{Suite, broken_case_outcome, default_root, replay_context};
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
    let info = compat::results::replay_run_info(&suite, ctx.schemas.spec_version());
    let selection = compat::results::Selection { filter: args.filter.clone(), exact: args.exact, skip: args.skip.clone() };
    let plan = compat::results::plan_replay(&suite);
    let collector = Arc::new(compat::results::Collector::new(&root.join("reports"), info, plan, &selection));
    let mut trials = Vec::new();
    for target in suite.replayable_targets() {
        for case in &suite.cases {
            let (ctx, runtime, target, case) = (Arc::clone(&ctx), Arc::clone(&runtime), target.clone(), case.clone());
            let collector = Arc::clone(&collector);
            let name = format!("{}::{}::{}", target.name, case.case.feature, case.case.id);
            let skipped = target.skip_reason(&case.case.feature, &case.case.id).is_some();
            trials.push(
                Trial::test(name, move || {
                    let mut outcome = runtime.block_on(compat::run::run_case(&ctx, &case, &target));
                    compat::snapshot::settle(&ctx.root, &mut outcome); // insta: .snap.new, or accept under INSTA_UPDATE=always
                    collector.record_logged(&outcome); // result file for the reports (see compat::results)
                    if outcome.fails() { Err(render_outcome(&outcome).into()) } else { Ok(()) }
                })
                .with_ignored_flag(skipped),
            );
        }
    }
    for broken in &suite.broken {
        let outcome = broken_case_outcome(broken);
        let message = render_outcome(&outcome);
        let collector = Arc::clone(&collector);
        trials.push(Trial::test(outcome.name(), move || {
            collector.record_logged(&outcome);
            Err(message.into())
        }));
    }
    trials.sort_by(|a, b| a.name().cmp(b.name()));
    let conclusion = libtest_mimic::run(&args, trials);
    if !args.list {
        collector.finish_logged(); // one process: assemble reports/ now (under nextest the last trial did)
    }
    conclusion.exit_code()
}
