//! The fjall backend beyond the conformance kit: data across reopening a directory,
//! `sync` durability through `kv.toml`, the one-process lock, configuration errors.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kv_runtime::{Durability, Runtime};

#[tokio::test]
async fn fjall_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let rt = Runtime::open(dir.path()).await.unwrap();
        let store = rt.store("demo-cache").unwrap();
        for i in 0..100 {
            store
                .put(format!("user:{i:03}"), format!("name {i}"))
                .await
                .unwrap();
        }
        store.delete("user:050").await.unwrap();
    }
    let rt = Runtime::open(dir.path()).await.unwrap();
    let store = rt.store("demo-cache").unwrap();
    assert_eq!(
        store.get("user:007").text().await.unwrap().as_deref(),
        Some("name 7")
    );
    assert_eq!(store.get("user:050").text().await.unwrap(), None);
    assert_eq!(store.list().await.unwrap().keys.len(), 99);
}

#[tokio::test]
async fn sync_durability_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("kv.toml");
    std::fs::write(
        &config_path,
        "data_dir = \"data\"\n[stores.ledger]\ndurability = \"sync\"\n",
    )
    .unwrap();
    {
        let rt = Runtime::from_config_file(&config_path).await.unwrap();
        assert_eq!(rt.config().store("ledger").durability, Durability::Sync);
        assert_eq!(rt.config().data_dir, dir.path().join("data"));
        let ledger = rt.store("ledger").unwrap();
        ledger.put("entry:1", "100").await.unwrap();
    }
    assert!(
        dir.path().join("data").is_dir(),
        "data_dir resolves against the config file's folder"
    );
    let rt = Runtime::from_config_file(&config_path).await.unwrap();
    let ledger = rt.store("ledger").unwrap();
    assert_eq!(
        ledger.get("entry:1").text().await.unwrap().as_deref(),
        Some("100")
    );
}

#[tokio::test]
async fn data_dir_in_use_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Runtime::open(dir.path()).await.unwrap();
    let err = Runtime::open(dir.path()).await.unwrap_err();
    assert!(matches!(err, kv_runtime::Error::Locked { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "store {} is in use by another process",
            dir.path().display()
        )
    );
}

#[tokio::test]
async fn bad_config_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.toml");
    std::fs::write(&path, "[defaults]\nbackend = \"fjall\"\nmin_tll = 5\n").unwrap();
    let err = Runtime::from_config_file(&path)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    assert!(err.contains("line 3") && err.contains("min_tll"), "{err}");
    let missing = Runtime::from_config_file(dir.path().join("nope.toml"))
        .await
        .unwrap_err();
    assert!(
        missing.to_string().contains("cannot read the file"),
        "{missing}"
    );
}
