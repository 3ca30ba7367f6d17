//! Watching a store: every write script `PUBLISH`es its change on the store's channel,
//! in the same atomic step as the write, numbered per shard (see [`messages`]). A store
//! handle starts, on its first `watch`, one task holding one pub/sub connection
//! subscribed to that channel; it puts what arrives in order (see [`order`]) and feeds
//! it to a [`ChangeHub`], which fans changes out to the watchers by prefix. In a
//! cluster a `PUBLISH` reaches every node, so the task subscribes on one of them.
//!
//! A new watcher reads the shards' counters once the subscription is up, and joins the
//! hub once every change numbered up to them has gone by: it sees exactly the changes
//! made after `watch` returned. A lost connection is re-established (with backoff);
//! watchers get [`Change::Lagged`] when it is lost, and again once it is back if
//! changes were made meanwhile. The task stops when the backend is dropped.
//!
//! [`messages`]: super::messages
//! [`order`]: super::order

use std::pin::pin;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::future::{Either, select};
use redis::Value;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::NAME;
use super::connection::{Redis, within};
use super::messages;
use super::order::Sequencer;
use crate::backend::{ChangeHub, ChangeStream};
use crate::change::Change;
use crate::error::{Error, Result};

/// The first pause before reconnecting; it doubles up to [`MAX_DELAY`].
const MIN_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_secs(2);

/// After this long without a message, the connection is checked with a `PING`.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// How often changes waiting for their dependencies are looked at, without messages.
const HOLD_CHECK: Duration = Duration::from_millis(100);

/// Where the subscription stands.
#[derive(Debug, Clone)]
enum Status {
    /// Connecting, after the error of the last attempt if there was one.
    Connecting(Option<String>),
    /// Subscribed: `SUBSCRIBE` was acknowledged and the counters read.
    Ready,
}

/// A watcher waiting to join the hub once the changes numbered up to `after` went by.
struct Join {
    prefix: String,
    buffer: usize,
    after: Vec<u64>,
    reply: oneshot::Sender<ChangeStream>,
}

/// Aborts the task when dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Running {
    status: watch::Receiver<Status>,
    joins: mpsc::UnboundedSender<Join>,
    _task: AbortOnDrop,
}

/// One store handle's subscription to its change channel, started on first use.
pub(super) struct Watch {
    redis: Redis,
    channel: String,
    /// The shards' counters, in shard order.
    counters: Vec<String>,
    hub: ChangeHub,
    running: Mutex<Option<Running>>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("channel", &self.channel)
            .field("hub", &self.hub)
            .finish_non_exhaustive()
    }
}

impl Watch {
    pub(super) fn new(redis: Redis, channel: String, counters: Vec<String>) -> Self {
        Self {
            redis,
            channel,
            counters,
            hub: ChangeHub::new(),
            running: Mutex::new(None),
        }
    }

    /// A watcher of the keys under `prefix` that sees every change made after this
    /// returns (waiting at most the timeout for the subscription).
    pub(super) async fn subscribe(&self, prefix: &str, buffer: usize) -> Result<ChangeStream> {
        let (mut status, joins) = self.start()?;
        let timeout = self.redis.timeout();
        let ready = tokio::time::timeout(timeout, status.wait_for(|s| matches!(s, Status::Ready)))
            .await
            .map(|waited| waited.is_ok());
        match ready {
            Ok(true) => {}
            Ok(false) => return Err(self.failed("the watch task stopped")),
            Err(_) => {
                let last = match &*status.borrow() {
                    Status::Connecting(Some(error)) => format!(": {error}"),
                    _ => String::new(),
                };
                let message = format!(
                    "could not subscribe to the store's changes within {} ms{last}",
                    timeout.as_millis()
                );
                return Err(self.failed(&message));
            }
        }
        let after = read_counters(&self.redis, &self.counters)
            .await
            .map_err(|e| self.redis.error(e))?;
        let (reply, joined) = oneshot::channel();
        let join = Join {
            prefix: prefix.to_owned(),
            buffer,
            after,
            reply,
        };
        joins
            .send(join)
            .map_err(|_| self.failed("the watch task stopped"))?;
        match tokio::time::timeout(timeout, joined).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(_)) => Err(self.failed("the watch task stopped")),
            Err(_) => Err(self.failed("the subscription did not catch up within the timeout")),
        }
    }

    fn failed(&self, message: &str) -> Error {
        Error::backend(NAME, format!("{}: {message}", self.redis.endpoint()))
    }

    /// The task's status and request queue, starting it if it is not running.
    fn start(&self) -> Result<(watch::Receiver<Status>, mpsc::UnboundedSender<Join>)> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(running) = &*running {
            return Ok((running.status.clone(), running.joins.clone()));
        }
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::backend(NAME, "watch needs a tokio runtime".to_owned()))?;
        let (status_tx, status) = watch::channel(Status::Connecting(None));
        let (joins, joins_rx) = mpsc::unbounded_channel();
        let task = Task {
            redis: self.redis.clone(),
            channel: self.channel.clone(),
            counters: self.counters.clone(),
            hub: self.hub.clone(),
            status: status_tx,
            joins: joins_rx,
            sequencer: Sequencer::default(),
            waiting: Vec::new(),
        };
        let task = handle.spawn(task.run());
        *running = Some(Running {
            status: status.clone(),
            joins: joins.clone(),
            _task: AbortOnDrop(task.abort_handle()),
        });
        Ok((status, joins))
    }
}

/// The shards' counters now (0 for a shard that never changed).
async fn read_counters(redis: &Redis, counters: &[String]) -> redis::RedisResult<Vec<u64>> {
    let mut cmd = redis::cmd("MGET");
    cmd.arg(counters);
    let values: Vec<Option<u64>> = cmd.query_async(&mut redis.clone()).await?;
    if values.len() != counters.len() {
        return Err(redis::RedisError::from((
            redis::ErrorKind::Parse,
            "MGET of the change counters answered another number of values",
        )));
    }
    Ok(values.into_iter().map(Option::unwrap_or_default).collect())
}

/// The background task of one [`Watch`].
struct Task {
    redis: Redis,
    channel: String,
    counters: Vec<String>,
    hub: ChangeHub,
    status: watch::Sender<Status>,
    joins: mpsc::UnboundedReceiver<Join>,
    sequencer: Sequencer,
    waiting: Vec<Join>,
}

/// What `follow` waited for.
enum Event {
    Message(Option<redis::Msg>),
    Join(Option<Join>),
    Quiet,
}

/// What `follow` stopped for.
enum Stop {
    Lost,
    Dropped,
}

impl Task {
    /// Subscribes, forwards, and reconnects, until aborted or the [`Watch`] is gone.
    async fn run(mut self) {
        let mut delay = MIN_DELAY;
        loop {
            match self.connect().await {
                Ok((mut sink, mut stream, counters)) => {
                    delay = MIN_DELAY;
                    if self.sequencer.restart(counters) {
                        self.hub.publish(Change::lagged(None));
                    }
                    // A reconnection is a fresh starting point for everyone waiting.
                    for join in std::mem::take(&mut self.waiting) {
                        let _ = join
                            .reply
                            .send(self.hub.subscribe(join.prefix, join.buffer));
                    }
                    self.status.send_replace(Status::Ready);
                    if let Stop::Dropped = self.follow(&mut sink, &mut stream).await {
                        return;
                    }
                    self.status.send_replace(Status::Connecting(Some(
                        "the pub/sub connection was lost".to_owned(),
                    )));
                    tracing::warn!(
                        endpoint = self.redis.endpoint(),
                        "redis pub/sub connection lost; reconnecting"
                    );
                    self.hub.publish(Change::lagged(None));
                }
                Err(err) => {
                    let error = self.redis.error(err).to_string();
                    self.status.send_replace(Status::Connecting(Some(error)));
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_DELAY);
        }
    }

    async fn connect(&self) -> redis::RedisResult<(PubSubSink, PubSubStream, Vec<u64>)> {
        let mut pubsub = self.redis.pubsub().await?;
        within(self.redis.timeout(), pubsub.subscribe(&self.channel)).await?;
        let counters = read_counters(&self.redis, &self.counters).await?;
        let (sink, stream) = pubsub.split();
        Ok((sink, stream, counters))
    }

    /// Forwards changes and admits watchers until the connection is lost.
    async fn follow(&mut self, sink: &mut PubSubSink, stream: &mut PubSubStream) -> Stop {
        loop {
            let event = {
                let message = pin!(stream.next());
                let join = pin!(self.joins.recv());
                let wait = if self.sequencer.holding() {
                    HOLD_CHECK
                } else {
                    KEEPALIVE
                };
                match tokio::time::timeout(wait, select(message, join)).await {
                    Ok(Either::Left((message, _))) => Event::Message(message),
                    Ok(Either::Right((join, _))) => Event::Join(join),
                    Err(_) => Event::Quiet,
                }
            };
            match event {
                Event::Message(Some(message)) => self.forward(message.get_payload_bytes()),
                Event::Message(None) => return Stop::Lost,
                Event::Join(Some(join)) => self.admit(join),
                Event::Join(None) => return Stop::Dropped,
                Event::Quiet if self.sequencer.holding() => self.release(),
                Event::Quiet => {
                    if within(self.redis.timeout(), sink.ping::<Value>())
                        .await
                        .is_err()
                    {
                        return Stop::Lost;
                    }
                }
            }
        }
    }

    fn forward(&mut self, payload: &[u8]) {
        let Some(message) = messages::parse(payload) else {
            return;
        };
        let mut out = Vec::new();
        self.sequencer.push(message, &mut out);
        self.sequencer.release(self.redis.timeout(), &mut out);
        self.pass_on(out);
    }

    /// Gives up on changes that waited too long for their dependencies.
    fn release(&mut self) {
        let mut out = Vec::new();
        self.sequencer.release(self.redis.timeout(), &mut out);
        self.pass_on(out);
    }

    fn pass_on(&mut self, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        for change in changes {
            self.hub.publish(change);
        }
        for join in std::mem::take(&mut self.waiting) {
            self.admit(join);
        }
    }

    /// Subscribes `join` to the hub if every change it must not see went by; keeps it
    /// waiting otherwise.
    fn admit(&mut self, join: Join) {
        if self.sequencer.caught_up(&join.after) {
            // A watcher that gave up waiting is simply dropped.
            let _ = join
                .reply
                .send(self.hub.subscribe(join.prefix, join.buffer));
        } else {
            self.waiting.push(join);
        }
    }
}
