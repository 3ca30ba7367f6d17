//! What long commands show on standard error: a progress bar (keys, bytes, rate) on a
//! terminal, nothing when standard error is piped or with `--quiet`; and Ctrl-C, which
//! stops the work at the next key so the command can say how far it got.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where the user is: whether standard error is a terminal, and `--quiet`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ui {
    terminal: bool,
    quiet: bool,
}

impl Ui {
    pub(crate) fn new(quiet: bool) -> Self {
        Self {
            terminal: std::io::stderr().is_terminal(),
            quiet,
        }
    }

    /// Whether to print status lines (summaries, confirmations): a terminal, not quiet.
    pub(crate) fn chatty(self) -> bool {
        self.terminal && !self.quiet
    }

    /// Whether warnings (skipped or missing keys) are printed: unless `--quiet`.
    pub(crate) fn warnings(self) -> bool {
        !self.quiet
    }

    /// Prints a status line on a terminal.
    pub(crate) fn status(self, line: impl std::fmt::Display) {
        if self.chatty() {
            eprintln!("{line}");
        }
    }

    /// Prints a warning unless `--quiet`.
    pub(crate) fn warn(self, line: impl std::fmt::Display) {
        if self.warnings() {
            eprintln!("warning: {line}");
        }
    }

    /// A progress display for work whose output goes to `stdout` (when `to_stdout`) or
    /// elsewhere: shown on a terminal, unless quiet, and unless the output itself is
    /// printed on the terminal it would garble.
    pub(crate) fn progress(
        self,
        to_stdout: bool,
        what: &str,
        total_bytes: Option<u64>,
    ) -> Progress {
        let shown = self.chatty() && !(to_stdout && std::io::stdout().is_terminal());
        if !shown {
            return Progress { bar: None };
        }
        let (bar, template) = match total_bytes {
            Some(total) => (
                ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
                "{prefix} [{bar:30}] {bytes}/{total_bytes} · {msg} · {bytes_per_sec} · {elapsed}",
            ),
            None => (
                ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
                "{spinner} {prefix} {msg} · {elapsed}",
            ),
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress {
            bar: Some(Shown {
                bar,
                keys: 0,
                bytes: 0,
                by_bytes: total_bytes.is_some(),
                started: std::time::Instant::now(),
            }),
        }
    }
}

/// A progress bar, or nothing.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<Shown>,
}

#[derive(Debug)]
struct Shown {
    bar: ProgressBar,
    keys: u64,
    bytes: u64,
    /// The bar's position is bytes (of an input file) rather than keys.
    by_bytes: bool,
    started: std::time::Instant,
}

impl Progress {
    /// Counts `keys` more keys and `bytes` more bytes of values.
    pub(crate) fn add(&mut self, keys: u64, bytes: u64) {
        let Some(shown) = &mut self.bar else { return };
        shown.keys += keys;
        shown.bytes += bytes;
        // The message is redrawn at most every few hundred keys: formatting is not free.
        if shown.keys % 512 < keys || keys == 0 {
            shown.refresh();
        }
    }

    /// Moves a byte-sized bar (import) to `position` bytes of its input.
    pub(crate) fn set_position(&self, position: u64) {
        if let Some(shown) = &self.bar {
            shown.bar.set_position(position);
        }
    }

    /// Clears the bar.
    pub(crate) fn finish(&mut self) {
        if let Some(shown) = self.bar.take() {
            shown.bar.finish_and_clear();
        }
    }
}

impl Shown {
    fn refresh(&self) {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        #[allow(clippy::cast_precision_loss, reason = "a rate for display")]
        let rate = self.keys as f64 / secs;
        let message = if self.by_bytes {
            format!("{} keys · {rate:.0} keys/s", self.keys)
        } else {
            format!(
                "{} keys · {} · {rate:.0} keys/s",
                self.keys,
                HumanBytes(self.bytes)
            )
        };
        self.bar.set_message(message);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Ctrl-C: the first press asks the work to stop at the next key; a second one exits
/// at once.
#[derive(Debug, Clone)]
pub(crate) struct Interrupt {
    flag: Arc<AtomicBool>,
}

impl Interrupt {
    /// Listens for Ctrl-C (call inside the tokio runtime).
    pub(crate) fn install() -> Self {
        let flag = Arc::new(AtomicBool::new(false));
        let listener = Arc::clone(&flag);
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                if listener.swap(true, Ordering::SeqCst) {
                    eprintln!("interrupted again: stopping now");
                    std::process::exit(130);
                }
            }
        });
        Self { flag }
    }

    /// One that is never set.
    pub(crate) fn never() -> Self {
        Self {
            flag: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether Ctrl-C was pressed.
    pub(crate) fn requested(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}
