//! Crash harness for the fjall backend: a child process writes, the parent kills it
//! with SIGKILL at a random moment, reopens the data directory and checks it.
//!
//! ```text
//! cargo run --release -p kv-runtime --features audit --example crash -- --trials 1000
//! cargo run --release -p kv-runtime --features audit --example crash -- --trials 200 --power-loss   # as root
//! ```
//!
//! Options: `--trials N` kills per durability (default 40); `--durability
//! sync|buffered|both` (default both); `--power-loss` (the store on a loop-mounted ext4
//! image that is copied at the kill: see `disk.rs`); `--cycles N` kills per data
//! directory before a fresh one (default 10); `--writers N` (4) and `--keys N` (8 per
//! writer); `--max-delay-ms N` (300): how long after the store opened the kill may
//! come; `--early PERCENT` (10): kills that come instead within 60 ms of the child's
//! start, while it may still be opening (or creating) the store; `--seed N` (default:
//! from the clock; printed, so a failure can be replayed);
//! `--keep`: keep the data directory of a failed trial.
//!
//! Each trial: the child opens the store (`durability` as asked, a `ManualClock`, one
//! data directory in five with 1 MiB memtables so that flushes and journal rotations
//! happen), and writers each own a few keys and run small puts, chunked puts (over
//! 256 KiB, some streamed), bulk puts, deletes and bulk deletes, reporting each
//! operation's start and acknowledgement on a pipe. One kill in ten (`--early`) comes
//! within 60 ms of the start, while the store may still be opening. After the kill the parent opens
//! the store, which must open; reads every key, lists and counts; checks every value
//! whole and the state against the history (`check.rs`); closes it and audits the
//! keyspaces on disk (`kv_runtime::__audit`): no orphaned chunk, no pending marker
//! left, every chunked record's chunks there. The next trial continues on the same
//! data directory, so recovery from a recovered crash is tested too.
//!
//! What must hold: after a SIGKILL, in both modes, every acknowledged operation (the
//! OS has its writes), and each operation in flight wholly or not at all. After a
//! simulated power loss, the same with `sync`; with `buffered`, a prefix of history:
//! operations may be lost, but never one acknowledged before another that survived
//! started, and never part of one.

// A harness: a failed unwrap is a broken harness and should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod check;
mod child;
mod disk;
mod history;
mod kill;
mod solve;
mod trial;
mod workload;

use std::time::{Duration, Instant};

use crate::trial::{Settings, Totals};

struct Options {
    trials: u64,
    durabilities: Vec<&'static str>,
    power_loss: bool,
    seed: u64,
    cycles: u64,
    writers: u64,
    keys: u64,
    max_delay: Duration,
    early_percent: u64,
    keep: bool,
}

fn usage(message: &str) -> ! {
    eprintln!("crash: {message}");
    eprintln!(
        "usage: crash [--trials N] [--durability sync|buffered|both] [--power-loss] [--cycles N] [--writers N] [--keys N] [--max-delay-ms N] [--early PERCENT] [--seed N] [--keep]"
    );
    std::process::exit(2);
}

fn parse(mut args: impl Iterator<Item = String>) -> Options {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut options = Options {
        trials: 40,
        durabilities: vec!["sync", "buffered"],
        power_loss: false,
        seed,
        cycles: 10,
        writers: 4,
        keys: 8,
        max_delay: Duration::from_millis(300),
        early_percent: 10,
        keep: false,
    };
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(&format!("{name} takes a number")))
        };
        match arg.as_str() {
            "--trials" => options.trials = number("--trials"),
            "--cycles" => options.cycles = number("--cycles").max(1),
            "--writers" => options.writers = number("--writers").max(1),
            "--keys" => options.keys = number("--keys").max(2),
            "--max-delay-ms" => options.max_delay = Duration::from_millis(number("--max-delay-ms")),
            "--seed" => options.seed = number("--seed"),
            "--early" => options.early_percent = number("--early").min(100),
            "--power-loss" => options.power_loss = true,
            "--keep" => options.keep = true,
            "--durability" => {
                options.durabilities = match args.next().as_deref() {
                    Some("sync") => vec!["sync"],
                    Some("buffered") => vec!["buffered"],
                    Some("both") => vec!["sync", "buffered"],
                    _ => usage("--durability takes sync, buffered or both"),
                }
            }
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    options
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        match child::ChildArgs::from_args(&args[1..]) {
            Some(child) => child::run(&child),
            None => usage("bad --child arguments"),
        }
    }
    let options = parse(args.into_iter());
    if options.power_loss
        && let Err(e) = disk::available()
    {
        eprintln!("crash: --power-loss: {e}");
        std::process::exit(2);
    }
    println!(
        "crash: {} trials per durability, {}, seed {}",
        options.trials,
        if options.power_loss {
            "power loss (SIGKILL, then the disk image as fsync left it)"
        } else {
            "SIGKILL"
        },
        options.seed
    );
    let mut failed = false;
    for durability in &options.durabilities {
        let settings = Settings {
            durability,
            power_loss: options.power_loss,
            seed: options.seed,
            cycles: options.cycles,
            writers: options.writers,
            keys_per_writer: options.keys,
            max_delay: options.max_delay,
            early_percent: options.early_percent,
            keep: options.keep,
        };
        let started = Instant::now();
        let totals: Totals = trial::run_all(&settings, options.trials);
        println!("{}", totals.summary(durability, started.elapsed()));
        failed |= totals.failures > 0;
    }
    std::process::exit(i32::from(failed));
}
