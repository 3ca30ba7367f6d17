//! Posts to a chat room and prints its state, or follows a room's new posts. Rooms live
//! in `./.kv`; run it twice to see a room's history survive the restart. With
//! `--config kv.toml` naming a shared backend (Redis, PostgreSQL), several processes —
//! on several machines — share the rooms, and `--follow` shows what the others post.
//!
//! ```text
//! cargo run -p actors -- room-1 alice "hello"
//! cargo run -p actors -- room-1 bob "hi alice"
//! cargo run -p actors -- --follow room-1            # prints new posts until Ctrl-C
//! ```

use actors::{Env, Post, RoomMessage, follow, rooms};
use clap::Parser;
use futures_util::StreamExt as _;
use kv_runtime::Runtime;

/// Posts a message to a chat room actor and prints the room, or follows a room.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The room's id.
    room: String,
    /// Who posts.
    #[arg(required_unless_present = "follow")]
    user: Option<String>,
    /// What they post.
    #[arg(required_unless_present = "follow")]
    text: Option<String>,
    /// Print the room's new posts as they arrive, until interrupted.
    #[arg(long, conflicts_with_all = ["user", "text"])]
    follow: bool,
    /// Where the rooms are kept (when no --config is given).
    #[arg(long, default_value = ".kv")]
    data_dir: std::path::PathBuf,
    /// A kv.toml that says where the rooms live (e.g. `backend = "redis"`).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
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
    let runtime = match &args.config {
        Some(config) => Runtime::from_config_file(config).await?,
        None => Runtime::open(&args.data_dir).await?,
    };
    let env = Env::open(&runtime)?;
    if args.follow {
        let mut posts = std::pin::pin!(follow(&env.ROOMS, &args.room).await?);
        println!("following {} (Ctrl-C to stop)", args.room);
        loop {
            tokio::select! {
                post = posts.next() => match post {
                    Some(post) => {
                        let post = post?;
                        println!("{}: {}", post.user, post.text);
                    }
                    None => return Ok(()),
                },
                _ = tokio::signal::ctrl_c() => return Ok(()),
            }
        }
    }
    let (Some(user), Some(text)) = (args.user, args.text) else {
        return Err("give the user and the text to post, or --follow".into());
    };
    let room = rooms(env).get(args.room.clone());
    let state = room.call(RoomMessage::Post(Post { user, text })).await??;
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
