//! What can be stored: text, bytes and JSON, converted into [`Value`].

use bytes::Bytes;
use serde::Serialize;

use crate::error::{Error, Result};

/// A value to store. Built with `From` from text (`&str`, `String`), bytes (`Vec<u8>`,
/// `&[u8]`, `&[u8; N]`, [`Bytes`]) or [`Json`].
///
/// The empty value is a value: storing `""` and reading it back gives `Some("")`.
#[derive(Debug)]
pub struct Value {
    inner: Result<Bytes>,
}

impl Value {
    /// The bytes to store, or the error that producing them raised (surfaced when the
    /// put is awaited).
    pub(crate) fn into_bytes(self) -> Result<Bytes> {
        self.inner
    }

    fn bytes(bytes: Bytes) -> Self {
        Self { inner: Ok(bytes) }
    }
}

/// Stores `T` as JSON text: `put("k", Json(&session))`, read back with `get("k").json::<T>()`.
#[derive(Debug, Clone, Copy)]
pub struct Json<T>(pub T);

impl<T: Serialize> From<Json<T>> for Value {
    fn from(Json(value): Json<T>) -> Self {
        Self {
            inner: serde_json::to_vec(&value)
                .map(Bytes::from)
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
