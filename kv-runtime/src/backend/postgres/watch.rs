//! Watching through `LISTEN/NOTIFY`: every write calls `pg_notify` in its own
//! statement, so a change is announced exactly when it commits. One listening
//! connection per pool, opened when the first watcher subscribes, feeds a
//! [`ChangeHub`] per store (per notification channel).
//!
//! A watch resolves once its channel is listened to *and* a marker notification it sent
//! itself came back: every change committed before the marker reached the hub before
//! the watcher joined it, every change committed after reaches the watcher. When the
//! listening connection drops, the listener reconnects with backoff, listens again, and
//! then sends every watcher a [`Change::Lagged`] with an unknown count: re-read after it
//! and nothing is missed.

use std::collections::HashMap;
use std::hash::{BuildHasher as _, RandomState};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::pool::{Shared, chain};
use crate::backend::{ChangeHub, ChangeStream};
use crate::change::Change;
use crate::error::{Error, Result};
use crate::version::Version;

/// The longest wait between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A handle to a pool's listening task.
#[derive(Debug)]
pub(super) struct Listener {
    requests: mpsc::UnboundedSender<Request>,
}

struct Request {
    channel: String,
    prefix: String,
    buffer: usize,
    reply: oneshot::Sender<Result<ChangeStream>>,
}

/// What the listening task needs to (re)connect, without holding the pool.
struct Context {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    timeout: Duration,
    target: String,
}

impl Listener {
    fn start(shared: &Shared) -> Self {
        let (requests, rx) = mpsc::unbounded_channel();
        let context = Context {
            config: shared.config.clone(),
            tls: shared.tls.clone(),
            timeout: shared.timeout,
            target: shared.target.clone(),
        };
        tokio::spawn(run(context, rx));
        Self { requests }
    }

    /// The changes on `channel` under `prefix` committed after this resolves.
    pub(super) async fn watch(
        shared: &Shared,
        channel: &str,
        prefix: &str,
        buffer: usize,
    ) -> Result<ChangeStream> {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            channel: channel.to_owned(),
            prefix: prefix.to_owned(),
            buffer,
            reply,
        };
        {
            let mut listener = shared
                .listener
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let running = listener.as_ref().filter(|l| !l.requests.is_closed());
            let listener = match running {
                Some(listener) => listener,
                None => listener.insert(Listener::start(shared)),
            };
            listener
                .requests
                .send(request)
                .map_err(|_| shared.fail("the listening task has stopped"))?;
        }
        match tokio::time::timeout(shared.timeout, answer).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(_)) => Err(shared.fail("the listening task has stopped")),
            Err(_) => Err(shared.timed_out("LISTEN")),
        }
    }
}

/// Work for the task that issues the listener's statements, in order.
enum Control {
    /// `LISTEN` on every channel again, after a reconnection.
    Relisten(Vec<String>),
    /// `LISTEN` on `channel`, then send the marker of watch `id`.
    Watch {
        channel: String,
        marker: String,
        id: u64,
    },
}

/// What the control task reports back.
enum Done {
    Relistened,
    Failed { id: Option<u64>, error: Error },
}

struct Pending {
    channel: String,
    prefix: String,
    buffer: usize,
    reply: oneshot::Sender<Result<ChangeStream>>,
}

struct State {
    hubs: HashMap<String, ChangeHub>,
    pending: HashMap<u64, Pending>,
    next_id: u64,
    /// Tells this process's markers from other processes'.
    token: u64,
    requests_open: bool,
    /// Whether the connection dropped while someone was watching: they get a
    /// `Lagged` once the channels are listened to again.
    lost: bool,
}

impl State {
    fn marker(&self, id: u64) -> String {
        format!("s:{:016x}:{id}", self.token)
    }

    fn add(&mut self, request: Request) -> Control {
        let id = self.next_id;
        self.next_id += 1;
        self.hubs.entry(request.channel.clone()).or_default();
        let control = Control::Watch {
            channel: request.channel.clone(),
            marker: self.marker(id),
            id,
        };
        self.pending.insert(
            id,
            Pending {
                channel: request.channel,
                prefix: request.prefix,
                buffer: request.buffer,
                reply: request.reply,
            },
        );
        control
    }

    fn done(&self) -> bool {
        !self.requests_open
            && self.pending.is_empty()
            && self.hubs.values().all(|hub| !hub.has_watchers())
    }

    fn notified(&mut self, channel: &str, payload: &str) {
        if let Some(marker) = payload.strip_prefix("s:") {
            let mine = marker
                .split_once(':')
                .filter(|(token, _)| u64::from_str_radix(token, 16).ok() == Some(self.token))
                .and_then(|(_, id)| id.parse::<u64>().ok());
            if let Some(pending) = mine.and_then(|id| self.pending.remove(&id)) {
                let hub = self.hubs.entry(pending.channel).or_default();
                let stream = hub.subscribe(pending.prefix, pending.buffer);
                let _ = pending.reply.send(Ok(stream));
            }
            return;
        }
        let Some(hub) = self.hubs.get(channel) else {
            return;
        };
        match parse(payload) {
            Some(change) => hub.publish(change),
            None => tracing::warn!(payload, "ignoring a notification that is not a change"),
        }
    }
}

/// A change from its notification payload: `p:{version}:{expiration}:{key}`,
/// `d:{key}` or `e:{key}`, with versions in hex and keys hex-encoded.
pub(super) fn parse(payload: &str) -> Option<Change> {
    let (kind, rest) = payload.split_once(':')?;
    match kind {
        "p" => {
            let mut parts = rest.splitn(3, ':');
            let version = u64::from_str_radix(parts.next()?, 16).ok()?;
            let expiration = match parts.next()? {
                "" => None,
                e => Some(e.parse::<i64>().ok()? as u64),
            };
            let key = unhex(parts.next()?)?;
            Some(Change::put(key, Version::from_u64(version), expiration))
        }
        "d" => Some(Change::delete(unhex(rest)?)),
        "e" => Some(Change::expired(unhex(rest)?)),
        _ => None,
    }
}

fn unhex(hex: &str) -> Option<String> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

async fn run(context: Context, mut requests: mpsc::UnboundedReceiver<Request>) {
    let mut state = State {
        hubs: HashMap::new(),
        pending: HashMap::new(),
        next_id: 0,
        token: RandomState::new().hash_one(std::process::id()),
        requests_open: true,
        lost: false,
    };
    let mut backoff = Duration::from_millis(50);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while !state.done() {
        let connected =
            tokio::time::timeout(context.timeout, context.config.connect(context.tls.clone()))
                .await;
        let (client, connection) = match connected {
            Ok(Ok(pair)) => pair,
            failure => {
                let reason = match failure {
                    Ok(Err(e)) => chain(&e),
                    _ => format!("no answer within {} ms", context.timeout.as_millis()),
                };
                tracing::warn!(target = %context.target, %reason, "the listening connection failed; retrying");
                state.pending.retain(|_, p| !p.reply.is_closed());
                let wait = tokio::time::sleep(backoff);
                tokio::pin!(wait);
                loop {
                    tokio::select! {
                        () = &mut wait => break,
                        request = requests.recv(), if state.requests_open => match request {
                            Some(request) => drop(state.add(request)),
                            None => state.requests_open = false,
                        },
                    }
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = Duration::from_millis(50);
        let (control, control_rx) = mpsc::unbounded_channel();
        let (done_tx, mut done) = mpsc::unbounded_channel();
        tokio::spawn(control_task(
            Arc::new(client),
            control_rx,
            done_tx,
            context.timeout,
            context.target.clone(),
        ));
        if state.lost {
            let _ = control.send(Control::Relisten(state.hubs.keys().cloned().collect()));
        }
        state.pending.retain(|_, p| !p.reply.is_closed());
        let mut again: Vec<(u64, String)> = state
            .pending
            .iter()
            .map(|(id, p)| (*id, p.channel.clone()))
            .collect();
        again.sort();
        for (id, channel) in again {
            let marker = state.marker(id);
            let _ = control.send(Control::Watch {
                channel,
                marker,
                id,
            });
        }
        let mut connection = connection;
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        loop {
            tokio::select! {
                message = messages.next() => match message {
                    Some(Ok(AsyncMessage::Notification(n))) => state.notified(n.channel(), n.payload()),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        tracing::warn!(target = %context.target, error = %chain(&e), "the listening connection was lost; reconnecting");
                        break;
                    }
                    None => break,
                },
                request = requests.recv(), if state.requests_open => match request {
                    Some(request) => {
                        let _ = control.send(state.add(request));
                    }
                    None => state.requests_open = false,
                },
                report = done.recv() => match report {
                    Some(Done::Relistened) => {
                        if std::mem::take(&mut state.lost) {
                            for hub in state.hubs.values() {
                                hub.publish(Change::lagged(None));
                            }
                        }
                    }
                    Some(Done::Failed { id: Some(id), error }) => {
                        if let Some(pending) = state.pending.remove(&id) {
                            let _ = pending.reply.send(Err(error));
                        }
                    }
                    Some(Done::Failed { id: None, .. }) | None => break,
                },
                _ = tick.tick() => {}
            }
            if state.done() {
                return;
            }
        }
        if state.hubs.values().any(ChangeHub::has_watchers) {
            state.lost = true;
        }
    }
}

/// Runs the listener's statements one after another on its connection (whose messages
/// the listening task reads meanwhile).
async fn control_task(
    client: Arc<tokio_postgres::Client>,
    mut work: mpsc::UnboundedReceiver<Control>,
    done: mpsc::UnboundedSender<Done>,
    timeout: Duration,
    target: String,
) {
    let fail = |e: &dyn std::fmt::Display| Error::backend(super::NAME, format!("{target}: {e}"));
    while let Some(item) = work.recv().await {
        let (sql, marker, id) = match &item {
            Control::Relisten(channels) => (
                channels
                    .iter()
                    .map(|c| format!("LISTEN \"{c}\";"))
                    .collect::<String>(),
                None,
                None,
            ),
            Control::Watch {
                channel,
                marker,
                id,
            } => (
                format!("LISTEN \"{channel}\""),
                Some((channel, marker)),
                Some(*id),
            ),
        };
        let result = tokio::time::timeout(timeout, async {
            if !sql.is_empty() {
                client.batch_execute(&sql).await?;
            }
            if let Some((channel, marker)) = marker {
                client
                    .execute("SELECT pg_notify($1, $2)", &[channel, marker])
                    .await?;
            }
            Ok::<(), tokio_postgres::Error>(())
        })
        .await;
        let report = match result {
            Ok(Ok(())) if id.is_none() => Done::Relistened,
            Ok(Ok(())) => continue,
            Ok(Err(e)) => Done::Failed {
                id,
                error: fail(&chain(&e)),
            },
            Err(_) => Done::Failed {
                id,
                error: fail(&format_args!(
                    "LISTEN: no answer within {} ms",
                    timeout.as_millis()
                )),
            },
        };
        if done.send(report).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse() {
        assert_eq!(
            parse("p:1f:1700000060:6b"),
            Some(Change::put("k", Version::from_u64(31), Some(1_700_000_060)))
        );
        assert_eq!(
            parse("p:2::c3a9"),
            Some(Change::put("é", Version::from_u64(2), None))
        );
        assert_eq!(
            parse("p:2:-1:6b"),
            Some(Change::put("k", Version::from_u64(2), Some(u64::MAX)))
        );
        assert_eq!(parse("d:6b3a31"), Some(Change::delete("k:1")));
        assert_eq!(parse("e:6b"), Some(Change::expired("k")));
        assert_eq!(parse("x:6b"), None);
        assert_eq!(parse("d:6"), None);
        assert_eq!(parse("d:ff"), None);
    }
}
