//! The 5-minute tour as a program: opens the embedded store in `./.kv`, writes text,
//! JSON and binary values with metadata and expiration, reads them back and lists them.
//! Run it twice: the visit counter shows the data survives a restart.
//!
//! `cargo run -p kv-runtime --example tour`

use kv_runtime::{Json, Runtime};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Serialize, Deserialize, Debug)]
struct Session {
    user: String,
    visits: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> kv_runtime::Result<()> {
    let rt = Runtime::open(".kv").await?;
    let cache = rt.store("demo-cache")?;

    cache.put("user:123", "John Doe").await?;
    let visits = match cache.get("session:abc").json::<Session>().await? {
        Some(session) => session.visits + 1,
        None => 1,
    };
    cache
        .put(
            "session:abc",
            Json(&Session {
                user: "123".into(),
                visits,
            }),
        )
        .expiration_ttl(24 * 3600)
        .metadata(json!({"kind": "session"}))
        .await?;
    cache
        .put("file:456", vec![0x89, b'P', b'N', b'G'])
        .metadata(json!({"contentType": "image/png"}))
        .await?;

    let name = cache.get("user:123").text().await?;
    let session = cache.get("session:abc").json::<Session>().await?;
    let file = cache.get_with_metadata("file:456").bytes().await?;
    println!("user:123    = {name:?}");
    println!("session:abc = {session:?}");
    println!(
        "file:456    = {} bytes, metadata {}",
        file.value.map_or(0, |v| v.len()),
        file.metadata.unwrap_or_default()
    );

    let page = cache.list().limit(10).await?;
    println!("keys in demo-cache (data in .kv/):");
    for key in page.keys {
        println!("  {:<12} expiration={:?}", key.name, key.expiration);
    }
    println!("this is visit {visits}: run again and it counts up");
    Ok(())
}
