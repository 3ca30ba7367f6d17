//! The parent's side of a child: start it, kill it at the chosen moment, and read what
//! it reported before it died.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::child::ChildArgs;
use crate::history::History;
use crate::workload::Op;

/// A child's run, as the parent saw it.
pub(crate) struct Killed {
    pub(crate) history: History,
    /// Whether the child reported the store open before the kill.
    pub(crate) ready: bool,
    /// When each operation's acknowledgement arrived.
    pub(crate) acked_at: HashMap<u64, Instant>,
    /// When the kill was sent.
    pub(crate) at: Instant,
    /// From "open" to the kill.
    pub(crate) writing: Duration,
}

/// Starts a child, kills it `delay` after it reported the store open (or after its
/// start, if `early`), and collects what it reported.
pub(crate) fn kill_child(args: &ChildArgs, early: bool, delay: Duration) -> Result<Killed, String> {
    let exe = std::env::current_exe().map_err(|e| format!("no current executable: {e}"))?;
    let spawned = Instant::now();
    let mut child = Command::new(exe)
        .args(args.to_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the child: {e}"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (lines, received) = mpsc::channel::<(Instant, String)>();
    let reader = std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut line = Vec::new();
        loop {
            line.clear();
            match stdout.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                // A line the kill cut short has no newline: it never happened.
                Ok(_) if line.last() != Some(&b'\n') => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                    if lines.send((Instant::now(), text)).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    let mut seen = Vec::new();
    let mut opened = None;
    if early {
        std::thread::sleep(delay.saturating_sub(spawned.elapsed()));
    } else {
        let deadline = spawned + Duration::from_secs(60);
        while opened.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(left) {
                Ok((at, line)) => {
                    if line == "R" {
                        opened = Some(at);
                    }
                    seen.push((at, line));
                }
                Err(_) => break,
            }
        }
        let Some(at) = opened else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the child did not open the store within 60 s; it said {:?}, stderr {:?}",
                seen.last().map(|(_, l)| l),
                errors.join().unwrap_or_default()
            ));
        };
        std::thread::sleep(delay.saturating_sub(at.elapsed()));
    }
    let exited = child.try_wait().map_err(|e| e.to_string())?;
    let at = Instant::now();
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    let stderr = errors.join().unwrap_or_default();
    seen.extend(received.try_iter());
    if let Some(status) = exited {
        return Err(format!(
            "the child exited before the kill ({status}); it said {:?}, stderr {stderr:?}",
            seen.iter()
                .rev()
                .find(|(_, l)| l.starts_with('X'))
                .map(|(_, l)| l)
        ));
    }

    let mut history = History::default();
    let mut acked_at = HashMap::new();
    let mut ready = false;
    for (when, line) in seen {
        let (tag, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match tag {
            "R" => {
                ready = true;
                opened = opened.or(Some(when));
            }
            "S" => {
                let op: Op = serde_json::from_str(rest)
                    .map_err(|e| format!("unreadable start line {line:?}: {e}"))?;
                history.start(op);
            }
            "A" => {
                let (id, versions) = rest.split_once(' ').unwrap_or((rest, ""));
                let id: u64 = id
                    .parse()
                    .map_err(|_| format!("unreadable acknowledgement {line:?}"))?;
                let versions = versions
                    .split(',')
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
                    .collect();
                history.ack(id, versions)?;
                acked_at.insert(id, when);
            }
            "X" => return Err(format!("the child failed: {rest}")),
            _ => return Err(format!("the child said {line:?}; stderr {stderr:?}")),
        }
    }
    Ok(Killed {
        history,
        ready,
        acked_at,
        at,
        writing: opened.map_or(Duration::ZERO, |o| at.saturating_duration_since(o)),
    })
}
