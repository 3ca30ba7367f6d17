//! One data directory's life: a child writes, is killed, the parent checks; again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kv_runtime::{ManualClock, Runtime};

use crate::check::{self, Ledger, Verdict};
use crate::child::{self, ChildArgs, STORE};
use crate::disk::Mounted;
use crate::history::{History, Model};
use crate::kill::kill_child;
use crate::workload::{self, Rng};

/// How a run of trials is set up.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) durability: &'static str,
    pub(crate) power_loss: bool,
    pub(crate) seed: u64,
    pub(crate) cycles: u64,
    pub(crate) writers: u64,
    pub(crate) keys_per_writer: u64,
    pub(crate) max_delay: Duration,
    pub(crate) early_percent: u64,
    pub(crate) keep: bool,
}

/// What the trials of one durability saw.
#[derive(Debug, Default)]
pub(crate) struct Totals {
    pub(crate) trials: u64,
    pub(crate) failures: u64,
    /// Kills that came before the child reported the store open.
    pub(crate) killed_opening: u64,
    pub(crate) started: u64,
    pub(crate) acked: u64,
    pub(crate) in_flight: u64,
    pub(crate) in_flight_applied: u64,
    /// Acknowledged operations a power loss surely took (`buffered` only), and per
    /// trial that lost any, how long before the cut the oldest of them was acknowledged.
    pub(crate) lost: u64,
    pub(crate) loss_windows: Vec<Duration>,
    pub(crate) present: u64,
    pub(crate) chunked: u64,
    pub(crate) chunks_audited: u64,
    pub(crate) writing: Duration,
}

impl Totals {
    pub(crate) fn summary(&self, durability: &str, elapsed: Duration) -> String {
        let verdict = if self.failures == 0 { "PASS" } else { "FAIL" };
        let rate = self.acked as f64 / self.writing.as_secs_f64().max(1e-9);
        let mut out = format!(
            "{durability}: {verdict}: {} trials in {:.0} s, {} failed; {} killed while opening; \
             {} operations started, {} acknowledged ({rate:.0}/s while writing), all checked; \
             {} in flight at the kill, {} of them took effect; {} values read back whole ({} chunked), \
             {} chunks audited, none orphaned",
            self.trials,
            elapsed.as_secs_f64(),
            self.failures,
            self.killed_opening,
            self.started,
            self.acked,
            self.in_flight,
            self.in_flight_applied,
            self.present,
            self.chunked,
            self.chunks_audited,
        );
        if self.lost > 0 {
            let mut windows = self.loss_windows.clone();
            windows.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            out.push_str(&format!(
                "; the power cuts took {} acknowledged operations in {} trials: the oldest acknowledged \
                 {:.0} ms before the cut (median of those trials), {:.0} ms at most",
                self.lost,
                windows.len(),
                ms(windows[windows.len() / 2]),
                ms(windows[windows.len() - 1]),
            ));
        }
        out
    }
}

/// Runs `trials` kills in data directories of `settings.cycles` kills each.
pub(crate) fn run_all(settings: &Settings, trials: u64) -> Totals {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut totals = Totals::default();
    let mut sequence = 0u64;
    while totals.trials < trials {
        let cycles = settings.cycles.min(trials - totals.trials);
        let seed = settings.seed ^ (sequence + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let before = totals.trials;
        if let Err(problems) = run_sequence(settings, &tokio, seed, cycles, &mut totals) {
            totals.failures += 1;
            // A trial that failed before its kill counts too, so the run ends.
            totals.trials = totals.trials.max(before + 1);
            eprintln!(
                "{}: FAILED (directory {sequence}, seed {seed}, --seed {}):",
                settings.durability, settings.seed
            );
            for problem in problems {
                eprintln!("  {problem}");
            }
        }
        sequence += 1;
        if totals.trials % 100 < cycles || totals.trials >= trials {
            eprintln!(
                "{}: {}/{trials} trials, {} failed, {} acknowledged operations checked",
                settings.durability, totals.trials, totals.failures, totals.acked
            );
        }
    }
    totals
}

/// Where a sequence's store lives: a plain directory, or a loop-mounted filesystem.
enum Home {
    Plain(PathBuf),
    Mounted(Mounted),
}

impl Home {
    fn data(&self) -> PathBuf {
        match self {
            Self::Plain(dir) => dir.join("data"),
            Self::Mounted(mounted) => mounted.path().join("data"),
        }
    }
}

fn run_sequence(
    settings: &Settings,
    tokio: &tokio::runtime::Runtime,
    seed: u64,
    cycles: u64,
    totals: &mut Totals,
) -> Result<(), Vec<String>> {
    let work = tempfile::Builder::new()
        .prefix("kv-crash.")
        .tempdir()
        .map_err(|e| vec![format!("no temporary directory: {e}")])?;
    let mut home = if settings.power_loss {
        Home::Mounted(Mounted::create(work.path(), "disk-0").map_err(|e| vec![e])?)
    } else {
        Home::Plain(work.path().to_path_buf())
    };
    let result = run_cycles(
        settings,
        tokio,
        seed,
        cycles,
        totals,
        work.path(),
        &mut home,
    );
    match result {
        Err(mut problems) if settings.keep => {
            problems.push(format!("kept: {}", home.data().display()));
            let _ = work.keep();
            // Left mounted, for a look at it.
            std::mem::forget(home);
            Err(problems)
        }
        other => other,
    }
}

fn run_cycles(
    settings: &Settings,
    tokio: &tokio::runtime::Runtime,
    seed: u64,
    cycles: u64,
    totals: &mut Totals,
    work: &Path,
    home: &mut Home,
) -> Result<(), Vec<String>> {
    let mut rng = Rng::new(seed);
    let memtable = rng.chance(20).then_some(1 << 20);
    let keys: Vec<String> = (0..settings.writers)
        .flat_map(|w| workload::keys_of(w, settings.keys_per_writer))
        .collect();
    let model = if settings.power_loss && settings.durability == "buffered" {
        Model::Prefix
    } else {
        Model::Acknowledged
    };
    let mut ledger = Ledger::default();
    for cycle in 0..cycles {
        let args = ChildArgs {
            dir: home.data(),
            durability: settings.durability.to_owned(),
            memtable_bytes: memtable,
            seed: rng.next_u64(),
            writers: settings.writers,
            keys_per_writer: settings.keys_per_writer,
            first_op: (cycle + 1) * 10_000_000,
        };
        let early = rng.chance(settings.early_percent);
        let delay = Duration::from_micros(if early {
            rng.below(60_000)
        } else {
            rng.below(settings.max_delay.as_micros() as u64 + 1)
        });
        let when = format!(
            "cycle {cycle}, killed {delay:?} after {}",
            if early {
                "the start"
            } else {
                "the store opened"
            }
        );
        let killed = kill_child(&args, early, delay).map_err(|e| vec![format!("{when}: {e}")])?;
        totals.trials += 1;
        totals.killed_opening += u64::from(!killed.ready);
        totals.writing += killed.writing;
        if let Home::Mounted(_) = home {
            let Home::Mounted(mounted) = std::mem::replace(home, Home::Plain(work.to_path_buf()))
            else {
                unreachable!("matched above");
            };
            let cut = mounted
                .power_cut(work, &format!("disk-{}", cycle + 1))
                .map_err(|e| vec![e])?;
            *home = Home::Mounted(cut);
        }
        let with_when = |problems: Vec<String>| {
            let mut out = vec![format!("{when}:")];
            out.extend(problems);
            out
        };
        let verdict = tokio
            .block_on(verify(
                &home.data(),
                settings,
                memtable,
                &keys,
                &killed.history,
                &mut ledger,
                model,
            ))
            .map_err(with_when)?;
        let audit = kv_runtime::__audit::audit_fjall_store(&home.data(), STORE)
            .map_err(|e| with_when(vec![format!("the audit cannot read the store: {e}")]))?;
        if !audit.problems.is_empty() {
            let mut out = vec!["the audit after reopening found:".to_owned()];
            out.extend(audit.problems);
            return Err(with_when(out));
        }
        totals.chunks_audited += audit.chunks;
        totals.started += killed.history.ops.len() as u64;
        totals.acked += verdict.acked;
        totals.in_flight += verdict.in_flight;
        totals.in_flight_applied += verdict.in_flight_applied;
        totals.present += verdict.present;
        totals.chunked += verdict.chunked;
        totals.lost += verdict.lost.len() as u64;
        let window = verdict
            .lost
            .iter()
            .filter_map(|id| killed.acked_at.get(id))
            .map(|at| killed.at.duration_since(*at))
            .max();
        totals.loss_windows.extend(window);
    }
    Ok(())
}

/// Opens the store after the crash and checks it against the history.
async fn verify(
    data: &Path,
    settings: &Settings,
    memtable: Option<u64>,
    keys: &[String],
    history: &History,
    ledger: &mut Ledger,
    model: Model,
) -> Result<Verdict, Vec<String>> {
    let config = child::config(data, settings.durability, memtable);
    let rt = Runtime::builder()
        .config(config)
        .clock(ManualClock::new(workload::T0))
        .open()
        .await
        .map_err(|e| vec![format!("the store does not open after the crash: {e}")])?;
    let store = rt
        .store(STORE)
        .map_err(|e| vec![format!("the store does not open after the crash: {e}")])?;
    let observed = check::observe(&store, keys).await.map_err(|e| vec![e])?;
    let verdict = ledger.check(history, &observed, model)?;
    drop(store);
    drop(rt);
    Ok(verdict)
}
