//! Request bodies: streamed into the runtime (never buffered whole), or read whole up
//! to a limit for JSON routes; and the bounded drain after an early 413.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt as _};

use super::error::{ApiError, Code};
use super::limits::{DRAIN_MAX_BYTES, DRAIN_MAX_TIME};

type DataStream = Pin<Box<dyn Stream<Item = Result<Bytes, axum::Error>> + Send>>;

/// A request body that can be handed to the runtime as a stream while the handler keeps
/// a handle to what the runtime did not read, to drain it after an early 413.
#[derive(Clone)]
pub(crate) struct SharedBody {
    inner: Arc<Mutex<Option<DataStream>>>,
}

impl SharedBody {
    pub(crate) fn new(body: Body) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Some(Box::pin(body.into_data_stream())))),
        }
    }

    fn take(&self) -> Option<DataStream> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Reads and discards what is left, within [`DRAIN_MAX_BYTES`] and [`DRAIN_MAX_TIME`].
    pub(crate) async fn drain(&self) {
        if let Some(stream) = self.take() {
            drain(stream).await;
        }
    }
}

impl Stream for SharedBody {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match guard.as_mut() {
            Some(stream) => stream.as_mut().poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

/// Reads and discards a body within the drain limits, so that a client still sending
/// receives the error response rather than a reset connection.
pub(crate) async fn drain<S>(stream: S)
where
    S: Stream<Item = Result<Bytes, axum::Error>> + Send,
{
    let mut stream = std::pin::pin!(stream);
    let mut drained = 0u64;
    let _ = tokio::time::timeout(DRAIN_MAX_TIME, async {
        while let Some(Ok(chunk)) = stream.next().await {
            drained = drained.saturating_add(chunk.len() as u64);
            if drained > DRAIN_MAX_BYTES {
                break;
            }
        }
    })
    .await;
}

/// The declared `Content-Length`, if any and valid.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Reads a whole body of at most `limit` bytes; a larger one gets 413 naming `what`
/// (checked against `Content-Length` before reading, and while reading).
pub(crate) async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    what: &str,
) -> Result<Bytes, ApiError> {
    let too_large = |size: u64| {
        ApiError::too_large(format!(
            "{what} of {size} bytes exceeds the limit of {limit} bytes"
        ))
    };
    let mut stream = body.into_data_stream();
    if let Some(len) = content_length(headers).filter(|&len| len > limit as u64) {
        drain(stream).await;
        return Err(too_large(len));
    }
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(Code::InvalidRequest, format!("cannot read the body: {e}"))
        })?;
        if buf.len() + chunk.len() > limit {
            let seen = (buf.len() + chunk.len()) as u64;
            drain(stream).await;
            return Err(too_large(seen));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Parses a JSON body, naming what is wrong and where.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(Code::InvalidJson, format!("{what} is not valid: {e}")))
}
