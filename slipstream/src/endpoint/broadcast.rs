//! One broadcast, encoded at most once per serializer and shared by every subscriber.

use std::sync::{Arc, OnceLock};

use crate::protocol::{EncodeError, Frame, Message, Payload, Serializer, SharedStr};

/// A message on its way to many subscribers.
///
/// Cloning is a reference-count increment. The frame for each serializer is encoded the first
/// time a subscriber using that serializer needs it, and every later subscriber gets the same
/// bytes.
#[derive(Clone, Debug)]
pub struct Broadcast {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    message: Message,
    v1: OnceLock<Result<Frame, Arc<EncodeError>>>,
    v2: OnceLock<Result<Frame, Arc<EncodeError>>>,
}

impl Broadcast {
    /// A broadcast of `payload` as `event` on `topic`.
    pub fn new(
        topic: impl Into<SharedStr>,
        event: impl Into<SharedStr>,
        payload: impl Into<Payload>,
    ) -> Self {
        Self::from_message(Message::broadcast(topic, event, payload))
    }

    /// A broadcast of `message`'s topic, event and payload; its refs are dropped, since a
    /// broadcast carries none.
    ///
    /// A broadcast received from a Phoenix server in a V2 text frame is forwarded in that
    /// very frame: it is already what this endpoint would send its V2 subscribers, so the
    /// repeater neither parses nor re-encodes it.
    pub fn from_message(message: Message) -> Self {
        let received = if message.is_broadcast() {
            crate::protocol::received_v2_frame(&message)
        } else {
            None
        };
        let message = Message {
            join_ref: None,
            reference: None,
            ..message
        };
        let v2 = OnceLock::new();
        if let Some(frame) = received {
            let _ = v2.set(Ok(frame));
        }
        Broadcast {
            inner: Arc::new(Inner {
                message,
                v1: OnceLock::new(),
                v2,
            }),
        }
    }

    /// A broadcast whose frame for `serializer` is already known: the frame a repeater
    /// received upstream is byte for byte the one this endpoint would send, so it is
    /// forwarded without re-encoding.
    ///
    /// The caller promises that `frame` is `serializer`'s encoding of `message` as a
    /// broadcast (no refs, same topic, event and payload).
    pub fn with_frame(message: Message, serializer: Serializer, frame: Frame) -> Self {
        let broadcast = Self::from_message(message);
        let slot = match serializer {
            Serializer::V1 => &broadcast.inner.v1,
            _ => &broadcast.inner.v2,
        };
        let _ = slot.set(Ok(frame));
        broadcast
    }

    /// The message: topic, event and payload.
    pub fn message(&self) -> &Message {
        &self.inner.message
    }

    /// The topic.
    pub fn topic(&self) -> &SharedStr {
        &self.inner.message.topic
    }

    /// The frame for `serializer`, encoded on first use and shared afterwards.
    ///
    /// # Errors
    ///
    /// The encoding error, such as a binary payload for a V1 subscriber.
    pub fn frame(&self, serializer: Serializer) -> Result<Frame, Arc<EncodeError>> {
        let slot = match serializer {
            Serializer::V1 => &self.inner.v1,
            _ => &self.inner.v2,
        };
        slot.get_or_init(|| {
            serializer
                .encode_message(&self.inner.message)
                .map_err(Arc::new)
        })
        .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_encoded_once_and_shared() {
        let broadcast = Broadcast::new("rooms:lobby", "news", Payload::empty());
        let clone = broadcast.clone();
        let a = broadcast.frame(Serializer::V2).unwrap();
        let b = clone.frame(Serializer::V2).unwrap();
        assert_eq!(a.as_bytes().as_ptr(), b.as_bytes().as_ptr());
        assert_eq!(
            a,
            Frame::Text(r#"[null,null,"rooms:lobby","news",{}]"#.into())
        );
        let v1 = broadcast.frame(Serializer::V1).unwrap();
        assert_eq!(
            v1,
            Frame::Text(r#"{"event":"news","payload":{},"ref":null,"topic":"rooms:lobby"}"#.into())
        );
    }

    #[test]
    fn a_received_broadcast_is_forwarded_in_its_own_frame() {
        let wire = r#"[null,null,"rooms:lobby","news",{"text":"hi"}]"#;
        let frame = Frame::Text(wire.into());
        let crate::protocol::ServerMessage::Message(message) =
            Serializer::V2.decode_server(&frame).unwrap()
        else {
            panic!("a broadcast");
        };
        let broadcast = Broadcast::from_message(message);
        let forwarded = broadcast.frame(Serializer::V2).unwrap();
        assert_eq!(forwarded, frame);
        assert_eq!(
            forwarded.as_bytes().as_ptr(),
            frame.as_bytes().as_ptr(),
            "the same buffer, not a copy"
        );
    }

    #[test]
    fn other_frames_are_encoded_anew() {
        for wire in [
            r#"["1",null,"rooms:lobby","news",{"text":"hi"}]"#,
            r#"[null,null,"rooms:lobby","news",{"text":"hi"},"extra"]"#,
            r#"[null, null,"rooms:lobby","news",{"text":"hi"}]"#,
            r#"[null,null,"rooms:lobby","n\u0065ws",{"text":"hi"}]"#,
        ] {
            let frame = Frame::Text(wire.into());
            let crate::protocol::ServerMessage::Message(message) =
                Serializer::V2.decode_server(&frame).unwrap()
            else {
                panic!("a message");
            };
            let forwarded = Broadcast::from_message(message)
                .frame(Serializer::V2)
                .unwrap();
            assert_eq!(
                forwarded,
                Frame::Text(r#"[null,null,"rooms:lobby","news",{"text":"hi"}]"#.into()),
                "{wire}"
            );
        }
    }

    #[test]
    fn binary_broadcast_fails_only_for_v1() {
        let broadcast = Broadcast::new("t", "e", Payload::binary(vec![1u8]));
        assert!(broadcast.frame(Serializer::V2).is_ok());
        assert!(broadcast.frame(Serializer::V1).is_err());
    }
}
