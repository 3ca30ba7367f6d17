//! [`DataError`]: why a data command failed, as the message the user reads.

use std::fmt;

/// A data command's failure: a message that says what failed, on which key or input
/// line, with the runtime's (or the server's) own words; and whether it is a usage error.
#[derive(Debug)]
pub(crate) struct DataError {
    message: String,
    usage: bool,
    /// The runtime error behind the message, when there is one.
    runtime: Option<kv_runtime::Error>,
}

impl DataError {
    /// A failure (exit status 1).
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            usage: false,
            runtime: None,
        }
    }

    /// A usage error (exit status 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            usage: true,
            runtime: None,
        }
    }

    /// `<context>: <the runtime's message>`.
    pub(crate) fn runtime(context: impl fmt::Display, error: kv_runtime::Error) -> Self {
        Self {
            message: format!("{context}: {error}"),
            usage: false,
            runtime: Some(error),
        }
    }

    /// The runtime error behind this one, if any.
    pub(crate) fn runtime_error(&self) -> Option<&kv_runtime::Error> {
        self.runtime.as_ref()
    }

    /// Whether this is a usage error.
    pub(crate) fn is_usage(&self) -> bool {
        self.usage
    }

    /// The same error with `context` in front of its message.
    pub(crate) fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DataError {}

/// `Result` with [`DataError`].
pub(crate) type Result<T, E = DataError> = std::result::Result<T, E>;
