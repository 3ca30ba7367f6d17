//! Chat rooms: no post lost under concurrency, history capped, state across restarts.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actors::{Env, HISTORY, Post, RoomMessage, RoomState, rooms};
use kv_runtime::Runtime;

fn post(user: &str, text: &str) -> RoomMessage {
    RoomMessage::Post(Post {
        user: user.into(),
        text: text.into(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_are_all_kept() {
    let env = Env::in_memory();
    let rooms = rooms(env.clone());
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let room = rooms.get("room-1");
            tokio::spawn(async move {
                room.call(post(&format!("user{}", i % 4), &format!("{i}")))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap().unwrap();
    }
    let state = rooms
        .get("room-1")
        .call(RoomMessage::Get)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.total_posts, 40);
    assert_eq!(state.posts.len(), 40);
    assert_eq!(state.members.len(), 4);
    // What the actor holds is what env.ROOMS holds.
    let stored: RoomState = env.ROOMS.get("room:room-1").json().await.unwrap().unwrap();
    assert_eq!(stored, state);
    // Another room is another actor with its own state.
    let other = rooms
        .get("room-2")
        .call(RoomMessage::Get)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other, RoomState::default());
}

#[tokio::test]
async fn history_keeps_the_last_posts() {
    let rooms = rooms(Env::in_memory());
    let room = rooms.get("busy");
    for i in 0..(HISTORY + 10) {
        room.call(post("alice", &format!("{i}")))
            .await
            .unwrap()
            .unwrap();
    }
    let state = room
        .call(RoomMessage::Join("bob".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.posts.len(), HISTORY);
    assert_eq!(state.posts[0].text, "10");
    assert_eq!(state.total_posts, (HISTORY + 10) as u64);
    assert_eq!(state.members, ["alice", "bob"]);
}

#[tokio::test]
async fn rooms_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let rt = Runtime::open(dir.path()).await.unwrap();
        let rooms = rooms(Env::open(&rt).unwrap());
        rooms
            .get("room-1")
            .call(post("alice", "hello"))
            .await
            .unwrap()
            .unwrap();
    }
    let rt = Runtime::open(dir.path()).await.unwrap();
    let rooms = rooms(Env::open(&rt).unwrap());
    let state = rooms
        .get("room-1")
        .call(post("bob", "hi alice"))
        .await
        .unwrap()
        .unwrap();
    let texts: Vec<_> = state.posts.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(texts, ["hello", "hi alice"]);
    assert_eq!(state.members, ["alice", "bob"]);
}

/// `follow` yields the posts made after it started, in order, and ignores other rooms
/// (even one whose key it is a prefix of: `room-1` and `room-10`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_sees_new_posts_of_its_room_only() {
    use futures_util::StreamExt as _;
    let env = Env::in_memory();
    let rooms = rooms(env.clone());
    rooms
        .get("room-1")
        .call(post("alice", "before"))
        .await
        .unwrap()
        .unwrap();
    let mut posts = Box::pin(actors::follow(&env.ROOMS, "room-1").await.unwrap());
    rooms
        .get("room-10")
        .call(post("eve", "elsewhere"))
        .await
        .unwrap()
        .unwrap();
    rooms
        .get("room-1")
        .call(post("bob", "one"))
        .await
        .unwrap()
        .unwrap();
    rooms
        .get("room-1")
        .call(post("alice", "two"))
        .await
        .unwrap()
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), posts.next());
        got.push(next.await.unwrap().unwrap().unwrap().text);
    }
    assert_eq!(got, ["one", "two"]);
}

/// On a shared store, a member following a room sees the posts another process makes:
/// the `actors` binary, started here with the same `kv.toml`, posts; this process's
/// `follow` (a watch over Redis pub/sub or PostgreSQL LISTEN) yields the post.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_sees_posts_from_another_process_on_redis() {
    use futures_util::StreamExt as _;
    let Ok(url) = std::env::var("KV_TEST_REDIS_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KV_TEST_REDIS_URL is not set (CI is set: this test must run)"
        );
        eprintln!("SKIPPED — KV_TEST_REDIS_URL is not set; start servers with .ci/redis.sh");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kv.toml");
    let namespace = format!("actors-e2e-{}/rooms", std::process::id());
    std::fs::write(
        &config,
        format!("[defaults]\nbackend = \"redis\"\nurl = \"{url}\"\nnamespace = \"{namespace}\"\n"),
    )
    .unwrap();
    let runtime = Runtime::from_config_file(&config).await.unwrap();
    let env = Env::open(&runtime).unwrap();
    let mut posts = Box::pin(actors::follow(&env.ROOMS, "room-1").await.unwrap());
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_actors"))
        .args(["room-1", "bob", "hello from another process", "--config"])
        .arg(&config)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let post = tokio::time::timeout(std::time::Duration::from_secs(10), posts.next())
        .await
        .expect("the post arrives within 10 s")
        .unwrap()
        .unwrap();
    assert_eq!(
        (post.user.as_str(), post.text.as_str()),
        ("bob", "hello from another process")
    );
}
