//! The V1 serializer (`vsn=1.0.0`): JSON objects `{"topic", "event", "payload", "ref"}`.
//!
//! V1 frames carry no binary payloads. A client's frame may also carry `join_ref` (phoenix.js
//! sends it, and Phoenix reads it); a server's frames never do.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::error::{DecodeError, EncodeError, Field};
use super::json::{self, RefText, Source, Text};
use super::message::event;
use super::{Frame, Message, Payload, Reply, ServerMessage, SharedStr};

/// Encodes a client's push: `{"topic","event","payload","ref","join_ref"}`, leaving out an
/// absent `join_ref` as phoenix.js does for heartbeats.
pub(crate) fn encode_push(msg: &Message) -> Result<Frame, EncodeError> {
    let payload = json_payload(&msg.payload)?;
    let mut out = String::with_capacity(payload.len() + 64);
    out.push_str("{\"topic\":");
    json::write_str(&mut out, &msg.topic);
    out.push_str(",\"event\":");
    json::write_str(&mut out, &msg.event);
    out.push_str(",\"payload\":");
    out.push_str(payload);
    out.push_str(",\"ref\":");
    json::write_opt_str(&mut out, msg.reference.as_deref());
    if let Some(join_ref) = &msg.join_ref {
        out.push_str(",\"join_ref\":");
        json::write_str(&mut out, join_ref);
    }
    out.push('}');
    Ok(Frame::Text(SharedStr::from(out)))
}

/// Encodes a server's message: `{"event","payload","ref","topic"}`, keys in the order
/// Phoenix writes them.
pub(crate) fn encode_message(msg: &Message) -> Result<Frame, EncodeError> {
    Ok(server_frame(
        &msg.event,
        json_payload(&msg.payload)?,
        msg.reference.as_deref(),
        &msg.topic,
    ))
}

/// Encodes a reply as a `phx_reply` message whose payload is `{"response","status"}`.
pub(crate) fn encode_reply(reply: &Reply) -> Result<Frame, EncodeError> {
    let response = json_payload(&reply.response)?;
    let mut body = String::with_capacity(response.len() + 32);
    body.push_str("{\"response\":");
    body.push_str(response);
    body.push_str(",\"status\":");
    json::write_str(&mut body, reply.status.as_str());
    body.push('}');
    Ok(server_frame(
        event::REPLY,
        &body,
        reply.reference.as_deref(),
        &reply.topic,
    ))
}

fn json_payload(payload: &Payload) -> Result<&str, EncodeError> {
    match payload {
        Payload::Json(json) => Ok(json.as_str()),
        Payload::Binary(_) => Err(EncodeError::BinaryNotSupported),
    }
}

fn server_frame(event: &str, payload: &str, reference: Option<&str>, topic: &str) -> Frame {
    let mut out = String::with_capacity(payload.len() + 64);
    out.push_str("{\"event\":");
    json::write_str(&mut out, event);
    out.push_str(",\"payload\":");
    out.push_str(payload);
    out.push_str(",\"ref\":");
    json::write_opt_str(&mut out, reference);
    out.push_str(",\"topic\":");
    json::write_str(&mut out, topic);
    out.push('}');
    Frame::Text(SharedStr::from(out))
}

/// Decodes a V1 text frame in either direction.
pub(crate) fn decode_text(frame: &SharedStr) -> Result<Message, DecodeError> {
    let current = Cell::new(Field::Frame);
    let object = json::parse(frame.as_str(), &current, |de| {
        de::Deserializer::deserialize_map(&mut *de, ObjectVisitor { current: &current })
    })?;
    let source = Source { frame };
    Ok(Message {
        join_ref: object.join_ref.map(|t| source.text(t)),
        reference: object.reference.map(|t| source.text(t)),
        topic: source.text(object.topic.ok_or(DecodeError::Missing {
            field: Field::Topic,
        })?),
        event: source.text(object.event.ok_or(DecodeError::Missing {
            field: Field::Event,
        })?),
        payload: Payload::Json(source.json(object.payload.ok_or(DecodeError::Missing {
            field: Field::Payload,
        })?)),
    })
}

/// Decodes a frame a server sent; `phx_reply` becomes a [`Reply`].
pub(crate) fn decode_server(frame: &Frame) -> Result<ServerMessage, DecodeError> {
    let Frame::Text(text) = frame else {
        return Err(DecodeError::BinaryNotSupported);
    };
    let message = decode_text(text)?;
    if message.event == event::REPLY {
        super::v2::reply_from_message(message, text).map(ServerMessage::Reply)
    } else {
        Ok(ServerMessage::Message(message))
    }
}

/// Decodes a frame a client sent.
pub(crate) fn decode_push(frame: &Frame) -> Result<Message, DecodeError> {
    match frame {
        Frame::Text(text) => decode_text(text),
        Frame::Binary(_) => Err(DecodeError::BinaryNotSupported),
    }
}

#[derive(Default)]
struct Object<'a> {
    join_ref: Option<Text<'a>>,
    reference: Option<Text<'a>>,
    topic: Option<Text<'a>>,
    event: Option<Text<'a>>,
    payload: Option<&'a RawValue>,
}

struct ObjectVisitor<'c> {
    current: &'c Cell<Field>,
}

impl<'de> Visitor<'de> for ObjectVisitor<'_> {
    type Value = Object<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object {\"topic\", \"event\", \"payload\", \"ref\"}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = Object::default();
        while let Some(key) = map.next_key::<Text<'de>>()? {
            let key = match &key {
                Text::Borrowed(s) => *s,
                Text::Owned(s) => s.as_str(),
            };
            match key {
                "topic" => {
                    self.current.set(Field::Topic);
                    object.topic = Some(map.next_value()?);
                }
                "event" => {
                    self.current.set(Field::Event);
                    object.event = Some(map.next_value()?);
                }
                "payload" => {
                    self.current.set(Field::Payload);
                    object.payload = Some(map.next_value()?);
                }
                "ref" => {
                    self.current.set(Field::Ref);
                    object.reference = map.next_value::<Option<RefText<'de>>>()?.map(|r| r.0);
                }
                "join_ref" => {
                    self.current.set(Field::JoinRef);
                    object.join_ref = map.next_value::<Option<RefText<'de>>>()?.map(|r| r.0);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            self.current.set(Field::Frame);
        }
        Ok(object)
    }
}
