//! Actors: stateful objects addressed by id, in the spirit of Raindrop actors and
//! Durable Objects.
//!
//! An [`Actor`] is created on first use of its id, handles its messages one at a time
//! (so its `&mut self` state needs no locks), and is dropped after an idle timeout. An
//! actor that must outlive its process keeps its state in a [`KvStore`](crate::KvStore)
//! of its `Env`: [`Actor::start`] loads it, [`Actor::handle`] writes it back.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use kv_runtime::actor::{Actor, Context, Namespace};
//! use kv_runtime::KvStore;
//!
//! /// A counter per id, kept in a store so that it survives restarts.
//! struct Counter { count: u64 }
//!
//! impl Actor for Counter {
//!     type Env = KvStore;          // usually the generated `Env`
//!     type Message = u64;          // how much to add
//!     type Reply = kv_runtime::Result<u64>;
//!
//!     async fn start(ctx: &Context<KvStore>) -> kv_runtime::Result<Self> {
//!         let count = ctx.env().get(ctx.id()).json().await?.unwrap_or(0);
//!         Ok(Counter { count })
//!     }
//!
//!     async fn handle(&mut self, add: u64, ctx: &Context<KvStore>) -> Self::Reply {
//!         self.count += add;
//!         ctx.env().put(ctx.id(), self.count.to_string()).await?;
//!         Ok(self.count)
//!     }
//! }
//!
//! let counters = Namespace::<Counter>::new(KvStore::in_memory("counters"));
//! let room = counters.get("room-1");
//! room.call(2).await??;
//! assert_eq!(room.call(3).await??, 5);
//! # Ok(())
//! # }
//! ```
//!
//! Actors need a tokio runtime with its timer enabled (what `#[tokio::main]` builds),
//! for their idle timeout.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

/// How long an actor without messages stays in memory, by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Messages waiting for one actor, at most.
const MAILBOX: usize = 256;

/// A stateful object addressed by id. See the [module docs](self).
pub trait Actor: Sized + Send + 'static {
    /// What every actor of the namespace shares: usually the generated `Env`.
    type Env: Clone + Send + Sync + 'static;
    /// What callers send.
    type Message: Send + 'static;
    /// What `handle` answers.
    type Reply: Send + 'static;

    /// Creates the actor for `ctx.id()` on its first message (again after it went
    /// idle), typically loading its state from a store of `ctx.env()`.
    ///
    /// # Errors
    ///
    /// An error fails the message that caused the start, with
    /// [`ActorError::Start`]; the next message tries again.
    fn start(ctx: &Context<Self::Env>) -> impl Future<Output = crate::Result<Self>> + Send;

    /// Handles one message. Messages to one actor are handled one at a time, in order.
    fn handle(
        &mut self,
        msg: Self::Message,
        ctx: &Context<Self::Env>,
    ) -> impl Future<Output = Self::Reply> + Send;
}

/// What an actor knows about itself: its id and its namespace's `Env`.
#[derive(Debug, Clone)]
pub struct Context<E> {
    id: Arc<str>,
    env: E,
}

impl<E> Context<E> {
    /// The actor's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The namespace's `Env`.
    pub fn env(&self) -> &E {
        &self.env
    }
}

/// Why a call did not get a reply.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActorError {
    /// [`Actor::start`] failed.
    #[error("actor {id:?} failed to start: {source}")]
    Start {
        /// The actor's id.
        id: String,
        /// What `start` returned.
        #[source]
        source: crate::Error,
    },
    /// The actor stopped (it panicked) before replying.
    #[error("actor {id:?} stopped before replying")]
    Stopped {
        /// The actor's id.
        id: String,
    },
    /// `call` ran outside a tokio runtime.
    #[error("actors need a tokio runtime")]
    NoRuntime,
}

/// A reply, or the message back because the actor was closing: send it again.
enum Outcome<A: Actor> {
    Reply(A::Reply),
    Closing(A::Message),
}

type Envelope<A> = (
    <A as Actor>::Message,
    oneshot::Sender<Result<Outcome<A>, ActorError>>,
);

struct Slot<A: Actor> {
    mailbox: mpsc::Sender<Envelope<A>>,
    generation: u64,
}

struct Shared<A: Actor> {
    env: A::Env,
    idle_timeout: Duration,
    actors: Mutex<HashMap<Arc<str>, Slot<A>>>,
    generations: AtomicU64,
}

/// All actors of one type, by id. Cheap to clone; clones share the actors.
pub struct Namespace<A: Actor> {
    shared: Arc<Shared<A>>,
}

impl<A: Actor> Clone for Namespace<A> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<A: Actor> fmt::Debug for Namespace<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("actor", &std::any::type_name::<A>())
            .field("active", &self.active())
            .field("idle_timeout", &self.shared.idle_timeout)
            .finish()
    }
}

impl<A: Actor> Namespace<A> {
    /// A namespace whose actors share `env`, with the default idle timeout (60 s).
    pub fn new(env: A::Env) -> Self {
        Self::with_idle_timeout(env, DEFAULT_IDLE_TIMEOUT)
    }

    /// A namespace whose actors are dropped from memory after `timeout` without
    /// messages; the next message starts the actor again.
    pub fn with_idle_timeout(env: A::Env, timeout: Duration) -> Self {
        Self {
            shared: Arc::new(Shared {
                env,
                idle_timeout: timeout,
                actors: Mutex::new(HashMap::new()),
                generations: AtomicU64::new(0),
            }),
        }
    }

    /// A handle to the actor `id`. The actor itself starts on the first call.
    pub fn get(&self, id: impl Into<String>) -> ActorRef<A> {
        ActorRef {
            namespace: self.clone(),
            id: Arc::from(id.into()),
        }
    }

    /// How many actors are in memory now.
    pub fn active(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Slot<A>>> {
        self.shared
            .actors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The mailbox of actor `id`, starting its task if it has none.
    fn mailbox(&self, id: &Arc<str>) -> Result<mpsc::Sender<Envelope<A>>, ActorError> {
        let mut actors = self.lock();
        if let Some(slot) = actors.get(id).filter(|slot| !slot.mailbox.is_closed()) {
            return Ok(slot.mailbox.clone());
        }
        let handle = tokio::runtime::Handle::try_current().map_err(|_| ActorError::NoRuntime)?;
        let (mailbox, inbox) = mpsc::channel(MAILBOX);
        let generation = self.shared.generations.fetch_add(1, Ordering::Relaxed);
        actors.insert(
            Arc::clone(id),
            Slot {
                mailbox: mailbox.clone(),
                generation,
            },
        );
        let context = Context {
            id: Arc::clone(id),
            env: self.shared.env.clone(),
        };
        handle.spawn(run::<A>(
            Arc::downgrade(&self.shared),
            context,
            generation,
            inbox,
        ));
        Ok(mailbox)
    }
}

/// Removes actor `id`'s slot if it is still the one of `generation`.
fn forget<A: Actor>(shared: &Weak<Shared<A>>, id: &Arc<str>, generation: u64) {
    if let Some(shared) = shared.upgrade() {
        let mut actors = shared.actors.lock().unwrap_or_else(PoisonError::into_inner);
        if actors
            .get(id)
            .is_some_and(|slot| slot.generation == generation)
        {
            actors.remove(id);
        }
    }
}

/// One actor's life: start on the first message, handle messages in order, stop when
/// idle (or when its namespace is gone).
async fn run<A: Actor>(
    shared: Weak<Shared<A>>,
    ctx: Context<A::Env>,
    generation: u64,
    mut inbox: mpsc::Receiver<Envelope<A>>,
) {
    let idle_timeout = match shared.upgrade() {
        Some(shared) => shared.idle_timeout,
        None => return,
    };
    let mut actor: Option<A> = None;
    loop {
        let Ok(Some((msg, reply))) = tokio::time::timeout(idle_timeout, inbox.recv()).await else {
            break;
        };
        let current = match &mut actor {
            Some(actor) => actor,
            None => match A::start(&ctx).await {
                Ok(started) => actor.insert(started),
                Err(source) => {
                    let _ = reply.send(Err(ActorError::Start {
                        id: ctx.id().to_owned(),
                        source,
                    }));
                    break;
                }
            },
        };
        let answer = current.handle(msg, &ctx).await;
        let _ = reply.send(Ok(Outcome::Reply(answer)));
    }
    // Stop taking messages; those already queued are told to send again, to whichever
    // actor the namespace starts next for this id.
    forget(&shared, &ctx.id, generation);
    inbox.close();
    while let Ok((msg, reply)) = inbox.try_recv() {
        let _ = reply.send(Ok(Outcome::Closing(msg)));
    }
}

/// A handle to one actor. Cheap to clone.
pub struct ActorRef<A: Actor> {
    namespace: Namespace<A>,
    id: Arc<str>,
}

impl<A: Actor> Clone for ActorRef<A> {
    fn clone(&self) -> Self {
        Self {
            namespace: self.namespace.clone(),
            id: Arc::clone(&self.id),
        }
    }
}

impl<A: Actor> fmt::Debug for ActorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorRef").field("id", &self.id).finish()
    }
}

impl<A: Actor> ActorRef<A> {
    /// Sends `msg` and waits for the reply. Messages from all callers to one actor are
    /// handled one at a time, in the order they arrive.
    ///
    /// # Errors
    ///
    /// [`ActorError::Start`] if the actor could not start; [`ActorError::Stopped`] if
    /// it panicked; [`ActorError::NoRuntime`] outside a tokio runtime.
    pub async fn call(&self, mut msg: A::Message) -> Result<A::Reply, ActorError> {
        loop {
            let mailbox = self.namespace.mailbox(&self.id)?;
            let (reply, answer) = oneshot::channel();
            if let Err(mpsc::error::SendError((returned, _))) = mailbox.send((msg, reply)).await {
                // The actor closed between lookup and send: the next lookup starts a new one.
                msg = returned;
                continue;
            }
            match answer.await {
                Ok(Ok(Outcome::Reply(reply))) => return Ok(reply),
                Ok(Ok(Outcome::Closing(returned))) => msg = returned,
                Ok(Err(error)) => return Err(error),
                Err(_) => {
                    return Err(ActorError::Stopped {
                        id: self.id.to_string(),
                    });
                }
            }
        }
    }

    /// The actor's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}
