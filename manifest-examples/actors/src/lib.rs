//! Chat rooms as actors.
//!
//! Each room is a [`ChatRoom`] actor addressed by its id ("room-1"): created on the
//! first message to it, handling messages one at a time, dropped from memory when
//! idle, and keeping its members and recent messages in `env.ROOMS` under `room:<id>`,
//! so a restarted process finds them again. Every change is written with
//! compare-and-set on the stored room, so instances of the application on a shared
//! store (Redis, PostgreSQL) — each with an actor for the same room — lose no post.
//! [`follow`] watches a room and yields its new posts as they are written, by this
//! process or, on a shared store, by any other.
//!
//! `Env` is the checked-in output of `kv build generate` (`src/generated/env.rs`); CI
//! regenerates it and fails if it differs.

use std::collections::VecDeque;

use futures_util::{Stream, StreamExt as _};
use kv_runtime::actor::{Actor, Context, Namespace};
use kv_runtime::{Change, KvStore};
use serde::{Deserialize, Serialize};

#[rustfmt::skip]
#[path = "generated/env.rs"]
mod env;
pub use env::Env;

/// How many messages a room keeps.
pub const HISTORY: usize = 50;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// Who wrote it.
    pub user: String,
    /// What they wrote.
    pub text: String,
}

/// A room's state, as stored in `env.ROOMS`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomState {
    /// Who joined, in order.
    pub members: Vec<String>,
    /// The last [`HISTORY`] posts, oldest first.
    pub posts: Vec<Post>,
    /// Posts ever made, including those dropped from `posts`.
    pub total_posts: u64,
}

/// What a room can be asked.
#[derive(Debug, Clone)]
pub enum RoomMessage {
    /// Adds a member (once).
    Join(String),
    /// Adds a post by a member, joining them if needed.
    Post(Post),
    /// Asks for the state.
    Get,
}

/// A chat room actor.
#[derive(Debug)]
pub struct ChatRoom {
    state: RoomState,
}

fn room_key(id: &str) -> String {
    format!("room:{id}")
}

impl Actor for ChatRoom {
    type Env = Env;
    type Message = RoomMessage;
    type Reply = kv_runtime::Result<RoomState>;

    async fn start(ctx: &Context<Env>) -> kv_runtime::Result<Self> {
        let state = ctx
            .env()
            .ROOMS
            .get(room_key(ctx.id()))
            .json()
            .await?
            .unwrap_or_default();
        Ok(Self { state })
    }

    async fn handle(&mut self, msg: RoomMessage, ctx: &Context<Env>) -> Self::Reply {
        if let RoomMessage::Get = msg {
            return Ok(self.state.clone());
        }
        // A compare-and-set on the stored room: another process's actor for the same
        // room may have written since, and `update` then applies the change to what it
        // wrote. Stored before it becomes the actor's state: a failed write changes
        // nothing.
        let next = ctx
            .env()
            .ROOMS
            .update(room_key(ctx.id()), move |state: Option<RoomState>| {
                let mut state = state.unwrap_or_default();
                apply(&mut state, &msg);
                Some(state)
            })
            .await?
            .unwrap_or_default();
        self.state = next;
        Ok(self.state.clone())
    }
}

/// What a message changes in a room.
fn apply(state: &mut RoomState, msg: &RoomMessage) {
    match msg {
        RoomMessage::Get => {}
        RoomMessage::Join(user) => join(state, user.clone()),
        RoomMessage::Post(post) => {
            join(state, post.user.clone());
            state.posts.push(post.clone());
            state.total_posts += 1;
            let excess = state.posts.len().saturating_sub(HISTORY);
            state.posts.drain(..excess);
        }
    }
}

fn join(state: &mut RoomState, user: String) {
    if !state.members.contains(&user) {
        state.members.push(user);
    }
}

/// All chat rooms of an `Env`.
pub fn rooms(env: Env) -> Namespace<ChatRoom> {
    Namespace::new(env)
}

/// The posts made to room `id` from now on, as they are stored — by this process, or by
/// any process sharing the store — in order. If the watch falls behind, the posts it
/// missed are recovered from the room's history (the last [`HISTORY`]).
///
/// # Errors
///
/// The store's, if the watch cannot be set up; the stream yields the store's errors.
pub async fn follow(
    rooms: &KvStore,
    id: &str,
) -> kv_runtime::Result<impl Stream<Item = kv_runtime::Result<Post>> + Send + use<>> {
    let key = room_key(id);
    // Subscribe before reading where the room is, so no post falls in between.
    let changes = rooms.watch().prefix(key.clone()).await?;
    let seen = rooms
        .get(key.as_str())
        .json::<RoomState>()
        .await?
        .map_or(0, |s| s.total_posts);
    let follower = Follower {
        rooms: rooms.clone(),
        key,
        seen,
        changes,
        ready: VecDeque::new(),
    };
    Ok(futures_util::stream::try_unfold(follower, Follower::next))
}

/// Where a [`follow`] is.
struct Follower {
    rooms: KvStore,
    key: String,
    /// Posts ever made to the room that were yielded or were there before.
    seen: u64,
    changes: kv_runtime::WatchStream,
    ready: VecDeque<Post>,
}

impl Follower {
    async fn next(mut self) -> kv_runtime::Result<Option<(Post, Self)>> {
        loop {
            if let Some(post) = self.ready.pop_front() {
                return Ok(Some((post, self)));
            }
            let Some(change) = self.changes.next().await else {
                return Ok(None);
            };
            match change? {
                // `room:1` is a prefix of `room:10` too: only this room's key counts.
                Change::Put { key, .. } if key == self.key => {}
                Change::Lagged { .. } => {}
                _ => continue,
            }
            let state: RoomState = self
                .rooms
                .get(self.key.as_str())
                .json()
                .await?
                .unwrap_or_default();
            // `posts` holds the last posts of `total_posts`: number them to find the new.
            let before_kept = state.total_posts.saturating_sub(state.posts.len() as u64);
            let new = state
                .posts
                .iter()
                .zip(before_kept..)
                .filter(|(_, number)| *number >= self.seen)
                .map(|(post, _)| post.clone());
            self.ready.extend(new);
            self.seen = self.seen.max(state.total_posts);
        }
    }
}
