//! The `cargo test` entry: one libtest-mimic trial per (target, case), replayed from fixtures.
//!
//! Thin by design: discovery, running and rendering live in the library (`compat::suite`, `compat::run`,
//! `compat::report`); this file only turns them into trials named `<target>::<feature>::<id>`, in stable order.
//! A case file that does not load becomes one failing trial, `load::<feature>::<file stem>`.

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
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime starts"),
    );
    let mut trials = Vec::new();
    for target in suite.replayable_targets() {
        for case in &suite.cases {
            let (ctx, runtime, target, case) = (Arc::clone(&ctx), Arc::clone(&runtime), target.clone(), case.clone());
            let name = format!("{}::{}::{}", target.name, case.case.feature, case.case.id);
            let skipped = target.skip_reason(&case.case.feature, &case.case.id).is_some();
            trials.push(
                Trial::test(name, move || {
                    let mut outcome = runtime.block_on(compat::run::run_case(&ctx, &case, &target));
                    if let Some(snap) = &outcome.snapshot {
                        if compat::snapshot::sync_with_insta(&ctx.root, &target.name, snap, &case.file) {
                            outcome.snapshot = None; // accepted by INSTA_UPDATE=always
                        }
                    }
                    if outcome.fails() { Err(render_outcome(&outcome).into()) } else { Ok(()) }
                })
                .with_ignored_flag(skipped),
            );
        }
    }
    for broken in &suite.broken {
        let outcome = broken_case_outcome(broken);
        let message = render_outcome(&outcome);
        trials.push(Trial::test(outcome.name(), move || Err(message.into())));
    }
    trials.sort_by(|a, b| a.name().cmp(b.name()));
    libtest_mimic::run(&args, trials).exit_code()
}
