//! Posts to a chat room and prints its state. Rooms live in `./.kv`; run it twice to
//! see a room's history survive the restart.
//!
//! ```text
//! cargo run -p actors -- room-1 alice "hello"
//! cargo run -p actors -- room-1 bob "hi alice"
//! ```

use actors::{Env, Post, RoomMessage, rooms};
use clap::Parser;
use kv_runtime::Runtime;

/// Posts a message to a chat room actor and prints the room.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The room's id.
    room: String,
    /// Who posts.
    user: String,
    /// What they post.
    text: String,
    /// Where the rooms are kept.
    #[arg(long, default_value = ".kv")]
    data_dir: std::path::PathBuf,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("actors: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = Runtime::open(&args.data_dir).await?;
    let rooms = rooms(Env::open(&runtime)?);
    let room = rooms.get(args.room.clone());
    let state = room
        .call(RoomMessage::Post(Post {
            user: args.user,
            text: args.text,
        }))
        .await??;
    println!(
        "{} ({} members, {} posts):",
        args.room,
        state.members.len(),
        state.total_posts
    );
    for post in &state.posts {
        println!("  {}: {}", post.user, post.text);
    }
    runtime.flush().await?;
    Ok(())
}
