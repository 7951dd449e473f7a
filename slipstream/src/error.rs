//! The crate's error type.

use crate::protocol::{EncodeError, Payload, PayloadError, SharedStr};

/// What can go wrong talking to a Phoenix server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// There is no live connection.
    #[error("not connected")]
    NotConnected,
    /// The topic is not joined, so a push on it was refused locally.
    #[error("topic `{topic}` is not joined")]
    NotJoined {
        /// The topic.
        topic: SharedStr,
    },
    /// The topic was never joined, so it cannot be rejoined.
    #[error("topic `{topic}` was never joined")]
    NeverJoined {
        /// The topic.
        topic: SharedStr,
    },
    /// The server refused a join.
    #[error("join of `{topic}` refused")]
    JoinRefused {
        /// The topic.
        topic: SharedStr,
        /// The server's response, typically `{"reason": ...}`.
        response: Payload,
    },
    /// No answer came in time. Distinct from an error reply, which is a
    /// [`Reply`](crate::protocol::Reply) with status `error`.
    #[error("timed out waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: &'static str,
    },
    /// The connection closed before the answer came.
    #[error("connection closed before {what} arrived")]
    Disconnected {
        /// What was awaited.
        what: &'static str,
    },
    /// The client task has stopped.
    #[error("the client has stopped")]
    Stopped,
    /// The client does not handle this kind of request.
    #[error("the client does not implement `{0}`")]
    NotHandled(&'static str),
    /// Connecting failed.
    #[error(transparent)]
    Connect(#[from] crate::ConnectError),
    /// A message could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A payload could not be made or read.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::ConfigError),
}

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
