//! Streamed values: chunk boundaries, failures and limits mid-stream, reading as a stream.

use super::CHUNK_BYTES;
use crate::{Body, Error};
use bytes::Bytes;
use futures_util::{StreamExt as _, TryStreamExt as _};
use serde_json::json;

use super::{Harness, T0, Target, assert_error};

/// `len` bytes of a repeating pattern, so misplaced chunks show.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A body that yields `data` in items of `item` bytes.
fn body(data: &[u8], item: usize) -> Body {
    let items: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(item.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Body::from_stream(futures_util::stream::iter(items))
}

/// A body that yields `good` items of `item` bytes, then fails.
fn failing_body(item: usize, good: usize) -> Body {
    let items = (0..good)
        .map(|_| Ok(Bytes::from(vec![1u8; item])))
        .chain(std::iter::once(Err(std::io::Error::other("boom"))));
    Body::from_stream(futures_util::stream::iter(items.collect::<Vec<_>>()))
}

/// Streamed values of sizes around the chunk size round-trip, streamed back in bounded chunks.
pub async fn stream_sizes_round_trip<T: Target>(t: T) {
    let h = Harness::new(t).await;
    for len in [
        0,
        1,
        CHUNK_BYTES - 1,
        CHUNK_BYTES,
        CHUNK_BYTES + 1,
        3 * CHUNK_BYTES + 17,
    ] {
        for item in [1000, 65_536, CHUNK_BYTES * 2] {
            if len > 100_000 && item == 1000 {
                continue; // slow and adds nothing over 65 536
            }
            let data = pattern(len);
            let key = format!("len:{len}:{item}");
            h.store.put(key.clone(), body(&data, item)).await.unwrap();
            let got = h.store.get(key.clone()).bytes().await.unwrap().unwrap();
            assert_eq!(got.len(), len, "{key}");
            assert!(got.as_ref() == data.as_slice(), "{key}: bytes differ");
            let stream = h.store.get(key.clone()).stream().await.unwrap().unwrap();
            assert_eq!(stream.len(), len as u64);
            let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
            assert!(
                chunks.iter().all(|c| c.len() <= CHUNK_BYTES),
                "{key}: a chunk is over CHUNK_BYTES"
            );
            assert!(chunks.concat() == data, "{key}: streamed bytes differ");
        }
    }
    assert_eq!(
        h.store.get("len:0:1000").text().await.unwrap().as_deref(),
        Some("")
    );
}

/// A value written whole reads back as a stream.
pub async fn bytes_value_read_as_stream<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let data = pattern(5 * CHUNK_BYTES / 2);
    h.store.put("big", data.clone()).await.unwrap();
    let stream = h.store.get("big").stream().await.unwrap().unwrap();
    assert_eq!(stream.len(), data.len() as u64);
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    assert!(chunks.concat() == data);
    h.store.put("small", "hello").await.unwrap();
    let chunks: Vec<Bytes> = h
        .store
        .get("small")
        .stream()
        .await
        .unwrap()
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(chunks, [Bytes::from("hello")]);
    assert!(h.store.get("missing").stream().await.unwrap().is_none());
}

/// A stream that fails mid-way leaves the previous value in place.
pub async fn failing_stream_keeps_previous_value<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store
        .put("k", "old")
        .metadata(json!({"v": 1}))
        .await
        .unwrap();
    h.store.put("big", pattern(CHUNK_BYTES * 2)).await.unwrap();
    let before = h.dump().await;
    for good in [0, 1, 5] {
        let err = h
            .store
            .put("k", failing_body(100_000, good))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Stream { .. }), "{err:?}");
        assert_eq!(err.to_string(), "the value's stream failed: boom");
        let err = h
            .store
            .put("big", failing_body(100_000, good))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Stream { .. }), "{err:?}");
    }
    assert_eq!(h.dump().await, before);
}

/// The size limit stops a stream as soon as it passes it, writing nothing.
pub async fn size_limit_enforced_mid_stream<T: Target>(t: T) {
    let h = Harness::with(t, |c| c.max_value_size(3 * CHUNK_BYTES as u64)).await;
    h.store.put("k", "old").await.unwrap();
    let before = h.dump().await;
    let data = pattern(4 * CHUNK_BYTES);
    let max = 3 * CHUNK_BYTES;
    // In items of 100 000 bytes, the eighth item crosses the limit.
    assert_error(
        h.store.put("k", body(&data, 100_000)).await,
        &format!("Value length of 800000 exceeds limit of {max}"),
    );
    assert_error(
        h.store.put("new", body(&data, 1)).await,
        &format!("Value length of {} exceeds limit of {max}", max + 1),
    );
    assert_eq!(h.dump().await, before);
    h.store.put("k", body(&data[..max], 100_000)).await.unwrap();
    assert_eq!(h.store.get("k").bytes().await.unwrap().unwrap().len(), max);
}

/// A streamed value carries metadata and expiration, and lists like any other.
pub async fn stream_with_metadata_and_listing<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let data = pattern(2 * CHUNK_BYTES + 5);
    h.store
        .put("file:big", body(&data, 65_536))
        .metadata(json!({"contentType": "application/octet-stream"}))
        .expiration_ttl(120)
        .await
        .unwrap();
    let got = h
        .store
        .get_with_metadata("file:big")
        .stream()
        .await
        .unwrap();
    assert_eq!(
        got.metadata,
        Some(json!({"contentType": "application/octet-stream"}))
    );
    let chunks: Vec<Bytes> = got.value.unwrap().try_collect().await.unwrap();
    assert!(chunks.concat() == data);
    let page = h.store.list().await.unwrap();
    assert_eq!(page.keys[0].name, "file:big");
    assert_eq!(page.keys[0].expiration, Some(T0 + 120));
    assert!(page.keys[0].metadata.is_some());
    h.advance(120);
    assert!(h.store.get("file:big").stream().await.unwrap().is_none());
    assert_eq!(h.store.purge_expired().await.unwrap(), 1);
}

/// A streamed value reads back as text and JSON.
pub async fn streamed_text_and_json<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let json_text = serde_json::to_vec(&json!({"items": vec!["x"; 100_000]})).unwrap();
    assert!(json_text.len() > CHUNK_BYTES);
    h.store.put("doc", body(&json_text, 4096)).await.unwrap();
    let doc: serde_json::Value = h.store.get("doc").json().await.unwrap().unwrap();
    assert_eq!(doc["items"].as_array().unwrap().len(), 100_000);
    let text = h.store.get("doc").text().await.unwrap().unwrap();
    assert_eq!(text.len(), json_text.len());
    // A cancelled put (its future dropped mid-stream) writes nothing.
    let endless = Body::from_stream(
        futures_util::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(vec![
            0;
            CHUNK_BYTES
                + 1
        ]))])
        .chain(futures_util::stream::pending()),
    );
    let put = h.store.put("doc", endless);
    let timed_out = tokio::time::timeout(std::time::Duration::from_millis(50), put).await;
    assert!(timed_out.is_err());
    assert_eq!(
        h.store.get("doc").text().await.unwrap().unwrap().len(),
        json_text.len()
    );
}
