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
    pub fn from_message(message: Message) -> Self {
        let message = Message {
            join_ref: None,
            reference: None,
            ..message
        };
        Broadcast {
            inner: Arc::new(Inner {
                message,
                v1: OnceLock::new(),
                v2: OnceLock::new(),
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
        let a = broadcast.frame(Serializer::V2).unwrap();
        let shared = broadcast.clone();
        let b = shared.frame(Serializer::V2).unwrap();
        drop(shared);
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
    fn binary_broadcast_fails_only_for_v1() {
        let broadcast = Broadcast::new("t", "e", Payload::binary(vec![1u8]));
        assert!(broadcast.frame(Serializer::V2).is_ok());
        assert!(broadcast.frame(Serializer::V1).is_err());
    }
}
