//! The Phoenix Channels wire protocol, without I/O.
//!
//! A Phoenix message has five parts: a `join_ref` (the ref of the join it belongs to), a
//! `ref` (set when a reply is expected), a topic, an event and a payload. Two serializers
//! put them on the wire, chosen by the `vsn` query parameter of the WebSocket URL:
//!
//! - **V2** (`vsn=2.0.0`, the default): text frames are JSON arrays
//!   `[join_ref, ref, topic, event, payload]`; binary payloads travel in binary frames whose
//!   first byte is the kind (push 0, reply 1, broadcast 2) followed by one length byte per
//!   field, so no field may exceed 255 bytes.
//! - **V1** (`vsn=1.0.0`): JSON objects `{"topic", "event", "payload", "ref"}`, no binary.
//!
//! Decoding borrows: topic, event and refs become slices of the frame ([`SharedStr`]) and
//! the payload stays the raw JSON it arrived as ([`Json`]), parsed only by
//! [`Payload::decode`]. Encoding a message once gives a [`Frame`] whose clones share one
//! buffer, so one broadcast can be written to any number of sockets.
//!
//! The two directions differ: a client sends pushes and receives messages and replies, a
//! server the other way round. [`Serializer`] has one method per direction.
//!
//! # Examples
//!
//! ```
//! use slipstream::protocol::{Frame, Message, Payload, Serializer, ServerMessage};
//!
//! let text = r#"[null,null,"rooms:lobby","news",{"text":"hi"}]"#;
//! let frame = Frame::Text(text.into());
//! let ServerMessage::Message(msg) = Serializer::V2.decode_server(&frame)? else {
//!     unreachable!("a broadcast is not a reply");
//! };
//! assert_eq!(msg.topic, "rooms:lobby");
//! assert_eq!(msg.payload.as_json().unwrap().as_str(), r#"{"text":"hi"}"#);
//!
//! // Re-encoding a server's broadcast gives back the same bytes.
//! assert_eq!(Serializer::V2.encode_message(&msg)?, frame);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod json;
mod message;
mod payload;
mod shared_str;
mod v1;
mod v2;
mod v2_fast;

pub use error::{DecodeError, EncodeError, Field, PayloadError};
pub use message::{Frame, Message, Reply, ReplyStatus, ServerMessage, event};
pub use payload::{Json, Payload};
pub use shared_str::SharedStr;

/// A wire format: V2 (the default) or V1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Serializer {
    /// `vsn=1.0.0`: JSON objects, no binary frames.
    V1,
    /// `vsn=2.0.0`: JSON arrays and binary frames.
    #[default]
    V2,
}

impl Serializer {
    /// The `vsn` query value that selects this serializer.
    pub const fn vsn(self) -> &'static str {
        match self {
            Serializer::V1 => "1.0.0",
            Serializer::V2 => "2.0.0",
        }
    }

    /// The serializer a `vsn` query value asks for, matching versions as Phoenix does
    /// (`~> 1.0` and `~> 2.0`); `None` for any other version.
    pub fn from_vsn(vsn: &str) -> Option<Self> {
        let mut parts = vsn.split('.');
        let major = parts.next()?;
        if !parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
        match major {
            "1" => Some(Serializer::V1),
            "2" => Some(Serializer::V2),
            _ => None,
        }
    }

    /// Encodes a message a client sends (a join, push, leave or heartbeat).
    ///
    /// # Errors
    ///
    /// [`EncodeError::FieldTooLong`] when a binary push has a field over 255 bytes;
    /// [`EncodeError::BinaryNotSupported`] for a binary payload with V1.
    pub fn encode_push(self, message: &Message) -> Result<Frame, EncodeError> {
        match self {
            Serializer::V1 => v1::encode_push(message),
            Serializer::V2 => v2::encode_push(message),
        }
    }

    /// Encodes a message a server sends: a push to one client, a broadcast, `phx_error` or
    /// `phx_close`. With V2 a binary payload without refs becomes a broadcast frame (kind 2).
    ///
    /// # Errors
    ///
    /// As for [`Serializer::encode_push`].
    pub fn encode_message(self, message: &Message) -> Result<Frame, EncodeError> {
        match self {
            Serializer::V1 => v1::encode_message(message),
            Serializer::V2 => v2::encode_message(message),
        }
    }

    /// Encodes a server's reply.
    ///
    /// # Errors
    ///
    /// As for [`Serializer::encode_push`], with the status in place of the event.
    pub fn encode_reply(self, reply: &Reply) -> Result<Frame, EncodeError> {
        match self {
            Serializer::V1 => v1::encode_reply(reply),
            Serializer::V2 => v2::encode_reply(reply),
        }
    }

    /// Decodes a frame a server sent, as a client does.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] naming what is wrong; never a panic, whatever the bytes.
    pub fn decode_server(self, frame: &Frame) -> Result<ServerMessage, DecodeError> {
        match self {
            Serializer::V1 => v1::decode_server(frame),
            Serializer::V2 => v2::decode_server(frame),
        }
    }

    /// Decodes a frame a client sent, as a server does.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] naming what is wrong; never a panic, whatever the bytes.
    pub fn decode_push(self, frame: &Frame) -> Result<Message, DecodeError> {
        match self {
            Serializer::V1 => v1::decode_push(frame),
            Serializer::V2 => v2::decode_push(frame),
        }
    }
}

/// The V2 frame a received broadcast arrived in, when forwarding it is the same as encoding
/// it anew.
pub(crate) fn received_v2_frame(message: &Message) -> Option<Frame> {
    v2::received_frame(message)
}

/// Runs every decoder on `data`, as text (where it is UTF-8) and as binary, and checks that
/// whatever decodes survives re-encoding: encoding it again and decoding that gives the same
/// message. The body of the `cargo fuzz` target, kept here so a plain test can run it on
/// stable too.
///
/// # Panics
///
/// When a decoded message does not re-encode to a frame that decodes to it again: a codec
/// bug, which is what the fuzzer looks for. Malformed input alone never panics.
#[doc(hidden)]
pub fn __fuzz_decode(data: &[u8]) {
    let binary = Frame::Binary(bytes::Bytes::copy_from_slice(data));
    let text = SharedStr::from_utf8(bytes::Bytes::copy_from_slice(data))
        .ok()
        .map(Frame::Text);
    for serializer in [Serializer::V1, Serializer::V2] {
        for frame in std::iter::once(&binary).chain(text.as_ref()) {
            if let Ok(message) = serializer.decode_push(frame) {
                let again = serializer
                    .encode_push(&message)
                    .expect("a decoded push encodes");
                let decoded = serializer.decode_push(&again);
                assert_eq!(decoded.ok().as_ref(), Some(&message), "push round trip");
            }
            if let Ok(message) = serializer.decode_server(frame) {
                check_server_round_trip(serializer, message);
            }
        }
    }
}

/// Re-encodes a server message as a server would and checks it decodes to the same thing.
fn check_server_round_trip(serializer: Serializer, mut message: ServerMessage) {
    if serializer == Serializer::V1 {
        // V1 server frames have no join_ref; a client-style frame may have carried one.
        match &mut message {
            ServerMessage::Message(m) => m.join_ref = None,
            ServerMessage::Reply(r) => r.join_ref = None,
        }
    }
    let frame = match &message {
        ServerMessage::Message(m) => serializer.encode_message(m),
        ServerMessage::Reply(r) => serializer.encode_reply(r),
    };
    let frame = frame.expect("a decoded server message encodes");
    let decoded = serializer.decode_server(&frame);
    assert_eq!(decoded.ok(), Some(message), "server round trip");
}

#[cfg(test)]
mod tests;
