//! Values in JSON: UTF-8 text as it is, anything else as base64 with `"base64": true`
//! (wrangler's bulk format, and the export format).

use std::borrow::Cow;

use base64::Engine as _;
use bytes::Bytes;

/// `bytes` as a JSON string: the text when it is valid UTF-8 (`false`), else base64
/// (`true`).
pub(crate) fn encode(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (Cow::Borrowed(text), false),
        Err(_) => (
            Cow::Owned(base64::engine::general_purpose::STANDARD.encode(bytes)),
            true,
        ),
    }
}

/// The bytes a JSON string stands for.
///
/// # Errors
///
/// The decoder's message, for a `base64` value that is not valid base64.
pub(crate) fn decode(value: String, base64: bool) -> Result<Bytes, String> {
    if base64 {
        base64::engine::general_purpose::STANDARD
            .decode(value.as_bytes())
            .map(Bytes::from)
            .map_err(|e| format!("the value is not valid base64 ({e})"))
    } else {
        Ok(Bytes::from(value))
    }
}

/// The number of bytes at the start of `bytes` that form a text piece of a value split
/// across lines: all of it when it is UTF-8; when it only ends inside a character,
/// up to that character (the rest starts the next piece); `None` when it is not text.
pub(crate) fn text_prefix(bytes: &[u8]) -> Option<usize> {
    match std::str::from_utf8(bytes) {
        Ok(_) => Some(bytes.len()),
        Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => Some(e.valid_up_to()),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_stays_text_and_binary_is_base64() {
        assert_eq!(encode(b"hello"), (Cow::Borrowed("hello"), false));
        assert!(encode(&[0xff, 0]).1);
        assert_eq!(decode("AAE=".into(), true).unwrap().as_ref(), &[0, 1]);
        assert!(decode("%%".into(), true).is_err());
    }

    #[test]
    fn a_text_piece_ends_on_a_character() {
        let euro = "a€".as_bytes(); // 61 e2 82 ac
        assert_eq!(text_prefix(&euro[..3]), Some(1));
        assert_eq!(text_prefix(euro), Some(4));
        assert_eq!(text_prefix(&[0xff, b'a']), None);
    }
}
