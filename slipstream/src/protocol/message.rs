//! Messages, replies and frames.

use bytes::Bytes;

use super::{Payload, SharedStr};

/// Event names and the topic that Phoenix reserves for its own protocol.
pub mod event {
    /// A client asks to join a topic.
    pub const JOIN: &str = "phx_join";
    /// A client leaves a topic.
    pub const LEAVE: &str = "phx_leave";
    /// A server answers a push, a join or a leave.
    pub const REPLY: &str = "phx_reply";
    /// A server tells a client its channel crashed.
    pub const ERROR: &str = "phx_error";
    /// A server tells a client its channel ended.
    pub const CLOSE: &str = "phx_close";
    /// A heartbeat, pushed on [`HEARTBEAT_TOPIC`].
    pub const HEARTBEAT: &str = "heartbeat";
    /// The topic on which heartbeats travel.
    pub const HEARTBEAT_TOPIC: &str = "phoenix";
}

/// One Phoenix Channels message: `[join_ref, ref, topic, event, payload]` on the wire.
///
/// - `join_ref` is the ref of the join that the message belongs to; a message whose
///   `join_ref` is not the topic's current one is stale and is dropped.
/// - `reference` (the protocol's `ref`) is set on pushes that expect a reply, and is
///   absent on broadcasts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The ref of the join this message belongs to.
    pub join_ref: Option<SharedStr>,
    /// The message's own ref, echoed by its reply.
    pub reference: Option<SharedStr>,
    /// The topic, such as `rooms:lobby`.
    pub topic: SharedStr,
    /// The event, such as `new_msg`.
    pub event: SharedStr,
    /// The payload.
    pub payload: Payload,
}

impl Message {
    /// A message with no refs: what a broadcast looks like.
    pub fn broadcast(
        topic: impl Into<SharedStr>,
        event: impl Into<SharedStr>,
        payload: impl Into<Payload>,
    ) -> Self {
        Message {
            join_ref: None,
            reference: None,
            topic: topic.into(),
            event: event.into(),
            payload: payload.into(),
        }
    }

    /// A heartbeat: `[null, ref, "phoenix", "heartbeat", {}]`.
    pub fn heartbeat(reference: impl Into<SharedStr>) -> Self {
        Message {
            join_ref: None,
            reference: Some(reference.into()),
            topic: SharedStr::from_static(event::HEARTBEAT_TOPIC),
            event: SharedStr::from_static(event::HEARTBEAT),
            payload: Payload::empty(),
        }
    }

    /// True when `join_ref` and `ref` are both absent, as in a broadcast.
    pub fn is_broadcast(&self) -> bool {
        self.join_ref.is_none() && self.reference.is_none()
    }
}

/// The status of a reply.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReplyStatus {
    /// `"ok"`.
    Ok,
    /// `"error"`.
    Error,
    /// Any other status a server chose to send.
    Other(SharedStr),
}

impl ReplyStatus {
    /// The status as it travels on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            ReplyStatus::Ok => "ok",
            ReplyStatus::Error => "error",
            ReplyStatus::Other(status) => status.as_str(),
        }
    }

    pub(crate) fn from_shared(status: SharedStr) -> Self {
        match status.as_str() {
            "ok" => ReplyStatus::Ok,
            "error" => ReplyStatus::Error,
            _ => ReplyStatus::Other(status),
        }
    }
}

impl From<&str> for ReplyStatus {
    fn from(status: &str) -> Self {
        ReplyStatus::from_shared(SharedStr::from(status))
    }
}

impl std::fmt::Display for ReplyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A server's answer to a push: `phx_reply` with `{"status": ..., "response": ...}` in JSON,
/// or a binary frame of kind 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The join ref of the topic the push was sent on.
    pub join_ref: Option<SharedStr>,
    /// The ref of the push this answers.
    pub reference: Option<SharedStr>,
    /// The topic.
    pub topic: SharedStr,
    /// `ok`, `error`, or another status.
    pub status: ReplyStatus,
    /// The response: JSON, or binary bytes.
    pub response: Payload,
}

impl Reply {
    /// True for status `ok`.
    pub fn is_ok(&self) -> bool {
        self.status == ReplyStatus::Ok
    }

    /// True for status `error`.
    pub fn is_error(&self) -> bool {
        self.status == ReplyStatus::Error
    }
}

/// What a server sends a client: a message (push, broadcast, `phx_error`, `phx_close`) or a
/// reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerMessage {
    /// Anything but a reply.
    Message(Message),
    /// A `phx_reply`.
    Reply(Reply),
}

impl ServerMessage {
    /// The topic the message or reply is on.
    pub fn topic(&self) -> &SharedStr {
        match self {
            ServerMessage::Message(message) => &message.topic,
            ServerMessage::Reply(reply) => &reply.topic,
        }
    }
}

/// One WebSocket data frame, already encoded.
///
/// Clones share their buffer, so one encoded broadcast can be queued for any number of
/// subscribers without a copy per subscriber.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A text frame (JSON).
    Text(SharedStr),
    /// A binary frame.
    Binary(Bytes),
}

impl Frame {
    /// The frame's bytes.
    pub fn as_bytes(&self) -> &Bytes {
        match self {
            Frame::Text(text) => text.as_bytes(),
            Frame::Binary(bytes) => bytes,
        }
    }

    /// The frame's length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True for a frame with no bytes.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }
}
