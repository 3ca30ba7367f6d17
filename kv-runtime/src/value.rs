//! What can be stored: text, bytes, JSON and streams, converted into [`Value`].

use std::fmt;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt as _;
use serde::Serialize;

use crate::backend::Payload;
use crate::error::{Error, Result};

/// A value to store. Built with `From` from text (`&str`, `String`), bytes (`Vec<u8>`,
/// `&[u8]`, `&[u8; N]`, [`Bytes`]), [`Json`] or a streamed [`Body`].
///
/// The empty value is a value: storing `""` and reading it back gives `Some("")`.
#[derive(Debug)]
pub struct Value {
    inner: Result<Payload>,
}

impl Value {
    /// The payload, or the error that producing it raised (surfaced when the put is awaited).
    pub(crate) fn into_payload(self) -> Result<Payload> {
        self.inner
    }

    fn bytes(bytes: Bytes) -> Self {
        Self {
            inner: Ok(Payload::Bytes(bytes)),
        }
    }
}

/// A streamed value: `put(key, Body::from_stream(chunks))`.
///
/// The runtime stores a streamed value in chunks as it arrives, so a put of any size
/// runs in memory bounded by a few chunks; it enforces the store's `max_value_size`
/// while reading. If the stream fails or grows too large, nothing is written and the
/// key keeps its previous value.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> kv_runtime::Result<()> {
/// use kv_runtime::{Body, Bytes, KvStore};
///
/// let store = KvStore::in_memory("files");
/// let chunks = futures_util::stream::iter(vec![
///     Ok::<_, std::io::Error>(Bytes::from("hello ")),
///     Ok(Bytes::from("world")),
/// ]);
/// store.put("greeting", Body::from_stream(chunks)).await?;
/// assert_eq!(store.get("greeting").text().await?.as_deref(), Some("hello world"));
/// # Ok(())
/// # }
/// ```
pub struct Body {
    payload: Payload,
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Body")
            .field("payload", &self.payload)
            .finish()
    }
}

impl Body {
    /// A body read from `stream` as the put runs. Its errors fail the put with
    /// [`Error::Stream`].
    pub fn from_stream<S, E>(stream: S) -> Self
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let stream = stream.map(|item| item.map_err(|e| Error::Stream { source: e.into() }));
        Self {
            payload: Payload::Stream(stream.boxed()),
        }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Self {
            payload: Payload::Bytes(bytes),
        }
    }
}

impl From<Body> for Value {
    fn from(body: Body) -> Self {
        Self {
            inner: Ok(body.payload),
        }
    }
}

/// Stores `T` as JSON text: `put("k", Json(&session))`, read back with `get("k").json::<T>()`.
#[derive(Debug, Clone, Copy)]
pub struct Json<T>(pub T);

impl<T: Serialize> From<Json<T>> for Value {
    fn from(Json(value): Json<T>) -> Self {
        Self {
            inner: serde_json::to_vec(&value)
                .map(|v| Payload::Bytes(Bytes::from(v)))
                .map_err(Error::Json),
        }
    }
}

impl From<Bytes> for Value {
    fn from(value: Bytes) -> Self {
        Self::bytes(value)
    }
}

impl From<Vec<u8>> for Value {
    fn from(value: Vec<u8>) -> Self {
        Self::bytes(Bytes::from(value))
    }
}

impl From<&[u8]> for Value {
    fn from(value: &[u8]) -> Self {
        Self::bytes(Bytes::copy_from_slice(value))
    }
}

impl<const N: usize> From<&[u8; N]> for Value {
    fn from(value: &[u8; N]) -> Self {
        Self::bytes(Bytes::copy_from_slice(value))
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Self::bytes(Bytes::from(value))
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Self::bytes(Bytes::copy_from_slice(value.as_bytes()))
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Self::bytes(Bytes::copy_from_slice(value.as_bytes()))
    }
}
