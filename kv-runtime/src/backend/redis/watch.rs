//! Watching a store: every write script `PUBLISH`es its change on the store's channel,
//! in the same atomic step as the write. A store handle starts, on its first `watch`,
//! one task holding one pub/sub connection subscribed to that channel; it feeds what
//! arrives to a [`ChangeHub`], which fans changes out to the watchers by prefix. In a
//! cluster a `PUBLISH` reaches every node, so the task subscribes on one of them.
//!
//! A lost connection is re-established (with backoff), and watchers get
//! [`Change::Lagged`] both when it is lost and once it is back — changes published in
//! between are gone. The task stops when the backend is dropped.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt as _;
use redis::Value;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::watch;

use super::NAME;
use super::connection::{Redis, within};
use crate::backend::{ChangeHub, ChangeStream};
use crate::change::Change;
use crate::error::{Error, Result};
use crate::version::Version;

/// The first pause before reconnecting; it doubles up to [`MAX_DELAY`].
const MIN_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_secs(2);

/// After this long without a message, the connection is checked with a `PING`.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// Where the subscription stands.
#[derive(Debug, Clone)]
enum Status {
    /// Connecting, after the error of the last attempt if there was one.
    Connecting(Option<String>),
    /// Subscribed: `SUBSCRIBE` was acknowledged.
    Ready,
}

/// Aborts the task when dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Debug)]
struct Running {
    status: watch::Receiver<Status>,
    _task: AbortOnDrop,
}

/// One store handle's subscription to its change channel, started on first use.
#[derive(Debug)]
pub(super) struct Watch {
    redis: Redis,
    channel: String,
    hub: ChangeHub,
    running: Mutex<Option<Running>>,
}

impl Watch {
    pub(super) fn new(redis: Redis, channel: String) -> Self {
        Self {
            redis,
            channel,
            hub: ChangeHub::new(),
            running: Mutex::new(None),
        }
    }

    /// A watcher of the keys under `prefix`, once the subscription is acknowledged
    /// (waiting at most the timeout for it).
    pub(super) async fn subscribe(&self, prefix: &str, buffer: usize) -> Result<ChangeStream> {
        let mut status = self.start()?;
        let ready = tokio::time::timeout(
            self.redis.timeout(),
            status.wait_for(|s| matches!(s, Status::Ready)),
        )
        .await
        .map(|waited| waited.map(|_| ()));
        match ready {
            Ok(Ok(())) => Ok(self.hub.subscribe(prefix, buffer)),
            Ok(Err(_)) => Err(Error::backend(NAME, "the watch task stopped".to_owned())),
            Err(_) => {
                let last = match &*status.borrow() {
                    Status::Connecting(Some(error)) => format!(": {error}"),
                    _ => String::new(),
                };
                Err(Error::backend(
                    NAME,
                    format!(
                        "{}: could not subscribe to the store's changes within {} ms{last}",
                        self.redis.endpoint(),
                        self.redis.timeout().as_millis()
                    ),
                ))
            }
        }
    }

    /// The task's status, starting it if it is not running.
    fn start(&self) -> Result<watch::Receiver<Status>> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(running) = &*running {
            return Ok(running.status.clone());
        }
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::backend(NAME, "watch needs a tokio runtime".to_owned()))?;
        let (tx, rx) = watch::channel(Status::Connecting(None));
        let task = handle.spawn(run(
            self.redis.clone(),
            self.channel.clone(),
            self.hub.clone(),
            tx,
        ));
        *running = Some(Running {
            status: rx.clone(),
            _task: AbortOnDrop(task.abort_handle()),
        });
        Ok(rx)
    }
}

/// Subscribes, forwards, and reconnects, until aborted.
async fn run(redis: Redis, channel: String, hub: ChangeHub, status: watch::Sender<Status>) {
    let mut delay = MIN_DELAY;
    let mut subscribed_before = false;
    loop {
        match subscribe(&redis, &channel).await {
            Ok((mut sink, mut stream)) => {
                delay = MIN_DELAY;
                status.send_replace(Status::Ready);
                if subscribed_before {
                    hub.publish(Change::lagged(None));
                }
                subscribed_before = true;
                follow(&hub, &mut sink, &mut stream, redis.timeout()).await;
                status.send_replace(Status::Connecting(Some(
                    "the pub/sub connection was lost".to_owned(),
                )));
                tracing::warn!(
                    endpoint = redis.endpoint(),
                    "redis pub/sub connection lost; reconnecting"
                );
                hub.publish(Change::lagged(None));
            }
            Err(err) => {
                status.send_replace(Status::Connecting(Some(err.to_string())));
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_DELAY);
    }
}

async fn subscribe(redis: &Redis, channel: &str) -> redis::RedisResult<(PubSubSink, PubSubStream)> {
    let mut pubsub = redis.pubsub().await?;
    within(redis.timeout(), pubsub.subscribe(channel)).await?;
    Ok(pubsub.split())
}

/// Forwards changes until the connection is lost.
async fn follow(
    hub: &ChangeHub,
    sink: &mut PubSubSink,
    stream: &mut PubSubStream,
    timeout: Duration,
) {
    loop {
        match tokio::time::timeout(KEEPALIVE, stream.next()).await {
            Ok(Some(message)) => {
                if let Some(change) = parse(message.get_payload_bytes()) {
                    hub.publish(change);
                }
            }
            Ok(None) => return,
            Err(_) => {
                if within(timeout, sink.ping::<Value>()).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A change as the scripts publish it: `p <version> <expiration or -> <key>`,
/// `d <key>` (deleted) or `x <key>` (purged after expiring).
fn parse(payload: &[u8]) -> Option<Change> {
    let text = std::str::from_utf8(payload).ok()?;
    let (kind, rest) = text.split_once(' ')?;
    match kind {
        "p" => {
            let (version, rest) = rest.split_once(' ')?;
            let (expiration, key) = rest.split_once(' ')?;
            let expiration = match expiration {
                "-" => None,
                e => Some(e.parse().ok()?),
            };
            Some(Change::put(
                key,
                Version::from_u64(version.parse().ok()?),
                expiration,
            ))
        }
        "d" => Some(Change::delete(rest)),
        "x" => Some(Change::expired(rest)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse() {
        assert_eq!(
            parse(b"p 1025 - room:1 a b"),
            Some(Change::put("room:1 a b", Version::from_u64(1025), None))
        );
        assert_eq!(
            parse(b"p 7 1700000060 k"),
            Some(Change::put("k", Version::from_u64(7), Some(1_700_000_060)))
        );
        assert_eq!(parse(b"d a b"), Some(Change::delete("a b")));
        assert_eq!(parse(b"x k"), Some(Change::expired("k")));
        assert_eq!(parse(b"p x - k"), None);
        assert_eq!(parse(b"?"), None);
    }
}
