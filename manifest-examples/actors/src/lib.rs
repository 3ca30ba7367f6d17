//! Chat rooms as actors.
//!
//! Each room is a [`ChatRoom`] actor addressed by its id ("room-1"): created on the
//! first message to it, handling messages one at a time (so two posts never race on
//! its state), dropped from memory when idle, and keeping its members and recent
//! messages in `env.ROOMS` under `room:<id>`, so a restarted process finds them again.
//!
//! `Env` is the checked-in output of `kv build generate` (`src/generated/env.rs`); CI
//! regenerates it and fails if it differs.

use kv_runtime::Json;
use kv_runtime::actor::{Actor, Context, Namespace};
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
        let mut next = self.state.clone();
        match msg {
            RoomMessage::Get => return Ok(self.state.clone()),
            RoomMessage::Join(user) => join(&mut next, user),
            RoomMessage::Post(post) => {
                join(&mut next, post.user.clone());
                next.posts.push(post);
                next.total_posts += 1;
                let excess = next.posts.len().saturating_sub(HISTORY);
                next.posts.drain(..excess);
            }
        }
        // Stored before it becomes the actor's state: a failed write changes nothing.
        ctx.env().ROOMS.put(room_key(ctx.id()), Json(&next)).await?;
        self.state = next;
        Ok(self.state.clone())
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
