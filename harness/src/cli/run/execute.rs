//! Running the selected trials: the run's runtime, progress on stderr, and a clean stop on SIGINT / SIGTERM.

use std::io::{IsTerminal, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use compat::session::{RunControl, Session};

use super::{RunArgs, Selection};

/// How long the requests in flight of an interrupted run may take to finish before they are cut.
const INTERRUPT_GRACE: Duration = Duration::from_secs(5);

/// Set by the first SIGINT or SIGTERM (its number); a second one ends the process at once.
pub(super) static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    // Async-signal-safe only: an atomic swap, and _exit.
    if SIGNAL.swap(signal, Ordering::SeqCst) != 0 {
        unsafe { libc::_exit(128 + signal) };
    }
}

/// From now on, SIGINT and SIGTERM stop the run (see [`execute`]) instead of killing it; a second one kills it.
fn catch_signals() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only touches an atomic and calls _exit, both async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Runs the selected trials on a runtime of the run's own, showing progress on stderr and stopping cleanly on
/// SIGINT / SIGTERM: no trial starts after it, those in flight have [`INTERRUPT_GRACE`] to finish, and every
/// trial gets an outcome (those not run say so).
pub(super) fn execute(session: &Arc<Session>, selection: &Selection, args: &RunArgs) -> Vec<compat::outcome::Outcome> {
    catch_signals();
    // A run of one trial has nothing to run beside it: it runs on this thread, without handing its task to a
    // worker and its outcome back (0.2–0.5 ms of a one-case run on 2 cores, measured).
    let one_trial = session.plan.iter().filter(|t| selection.selects(&t.name())).nth(1).is_none();
    let runtime = if one_trial { tokio::runtime::Builder::new_current_thread() } else { tokio::runtime::Builder::new_multi_thread() }
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let control = Arc::new(RunControl::default());
    let outcomes = runtime.block_on(async {
        let watch = {
            let (control, session) = (Arc::clone(&control), Arc::clone(session));
            tokio::spawn(async move { watch_run(&session, &control).await })
        };
        let outcomes = session.run_controlled(|name| selection.selects(name), args.jobs, &control, INTERRUPT_GRACE).await;
        watch.abort();
        outcomes
    });
    clear_progress_line();
    // Nothing is left to wait for but what a case cut in flight left behind: the workers drop it as they stop,
    // while the reports are written (joining them cost a one-case run a few tenths of a millisecond).
    runtime.shutdown_background();
    outcomes
}

/// Whether the progress line is on screen (to clear it before anything else is printed).
static PROGRESS_SHOWN: AtomicBool = AtomicBool::new(false);

fn clear_progress_line() {
    if PROGRESS_SHOWN.swap(false, Ordering::SeqCst) {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
}

/// Shows the run's progress on stderr — one updating line on a terminal, a line every few seconds in a log — and
/// turns the first signal into a stop.
async fn watch_run(session: &Session, control: &RunControl) {
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let (tick, every) = (Duration::from_millis(50), if tty { Duration::from_millis(250) } else { Duration::from_secs(5) });
    let mut last_shown = Instant::now();
    loop {
        tokio::time::sleep(tick).await;
        let signal = SIGNAL.load(Ordering::SeqCst);
        if signal != 0 && !control.stopped() {
            control.stop();
            clear_progress_line();
            let name = if signal == libc::SIGTERM { "SIGTERM" } else { "SIGINT" };
            eprintln!(
                "interrupted ({name}): no new case starts; the requests in flight have {} s to finish, then the reports are written \
                 (Ctrl-C again quits at once, without them)",
                INTERRUPT_GRACE.as_secs()
            );
        }
        if last_shown.elapsed() < every {
            continue;
        }
        last_shown = Instant::now();
        let line = progress_line(session, control, started.elapsed());
        if tty {
            PROGRESS_SHOWN.store(true, Ordering::SeqCst);
            let _ = write!(std::io::stderr(), "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }
}

/// `37/120 done · 2 failing · 3 waiting for the rate budget · 1 retrying after a 429 · 12 s`.
fn progress_line(session: &Session, control: &RunControl, elapsed: Duration) -> String {
    let p = control.progress();
    let mut parts = vec![format!("{}/{} done", p.done, p.total), format!("{} failing", p.failing)];
    let (mut waiting, mut backing_off, mut limited) = (0, 0, 0);
    for pacer in session.ctx.pacers.values() {
        let a = pacer.activity();
        (waiting, backing_off, limited) = (waiting + a.waiting_slot, backing_off + a.backing_off, limited + a.rate_limited);
    }
    if waiting > 0 {
        parts.push(format!("{waiting} waiting for the rate budget"));
    }
    if backing_off > 0 {
        parts.push(format!("{backing_off} waiting to retry"));
    }
    if limited > 0 {
        parts.push(format!("{limited} × 429 so far"));
    }
    if control.stopped() {
        parts.push("interrupted: finishing the requests in flight".to_owned());
    }
    parts.push(format!("{} s", elapsed.as_secs()));
    format!("compat: {}", parts.join(" · "))
}

/// The 429s the run's pacers met (retries and waits are counted per outcome).
pub(super) fn pacer_totals(session: &Session) -> u32 {
    session.ctx.pacers.values().map(|p| p.activity().rate_limited).sum()
}
