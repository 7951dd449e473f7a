//! The V2 serializer (`vsn=2.0.0`): JSON arrays in text frames, and binary frames of kinds
//! push (0), reply (1) and broadcast (2).

use std::cell::Cell;
use std::fmt;

use bytes::{BufMut, Bytes};
use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::error::{DecodeError, EncodeError, Field};
use super::json::{self, RefText, Source, Text};
use super::message::event;
use super::{Frame, Message, Payload, Reply, ReplyStatus, ServerMessage, SharedStr};

const KIND_PUSH: u8 = 0;
const KIND_REPLY: u8 = 1;
const KIND_BROADCAST: u8 = 2;

/// Encodes a client's push: a text frame for JSON, a binary push (kind 0, with a ref) for
/// binary.
pub(crate) fn encode_push(msg: &Message) -> Result<Frame, EncodeError> {
    match &msg.payload {
        Payload::Json(payload) => Ok(message_text(msg, payload.as_str())),
        Payload::Binary(data) => binary_frame(
            KIND_PUSH,
            &[
                (Field::JoinRef, opt(&msg.join_ref)),
                (Field::Ref, opt(&msg.reference)),
                (Field::Topic, &msg.topic),
                (Field::Event, &msg.event),
            ],
            data,
        ),
    }
}

/// Encodes a message from the server: a text frame for JSON; for binary, a broadcast
/// (kind 2) when it carries no refs, else a push (kind 0, without a ref, as Phoenix sends).
pub(crate) fn encode_message(msg: &Message) -> Result<Frame, EncodeError> {
    match &msg.payload {
        Payload::Json(payload) => Ok(message_text(msg, payload.as_str())),
        Payload::Binary(data) if msg.join_ref.is_none() => binary_frame(
            KIND_BROADCAST,
            &[(Field::Topic, &msg.topic), (Field::Event, &msg.event)],
            data,
        ),
        Payload::Binary(data) => binary_frame(
            KIND_PUSH,
            &[
                (Field::JoinRef, opt(&msg.join_ref)),
                (Field::Topic, &msg.topic),
                (Field::Event, &msg.event),
            ],
            data,
        ),
    }
}

/// Encodes a reply: `phx_reply` with `{"response":...,"status":...}` for JSON, kind 1 for
/// binary.
pub(crate) fn encode_reply(reply: &Reply) -> Result<Frame, EncodeError> {
    match &reply.response {
        Payload::Json(response) => {
            let mut body = String::with_capacity(response.as_str().len() + 32);
            body.push_str("{\"response\":");
            body.push_str(response.as_str());
            body.push_str(",\"status\":");
            json::write_str(&mut body, reply.status.as_str());
            body.push('}');
            Ok(text_frame(
                reply.join_ref.as_deref(),
                reply.reference.as_deref(),
                &reply.topic,
                event::REPLY,
                &body,
            ))
        }
        Payload::Binary(data) => binary_frame(
            KIND_REPLY,
            &[
                (Field::JoinRef, opt(&reply.join_ref)),
                (Field::Ref, opt(&reply.reference)),
                (Field::Topic, &reply.topic),
                (Field::Status, reply.status.as_str()),
            ],
            data,
        ),
    }
}

/// A message as a text frame; the same layout in both directions.
fn message_text(msg: &Message, payload: &str) -> Frame {
    text_frame(
        msg.join_ref.as_deref(),
        msg.reference.as_deref(),
        &msg.topic,
        &msg.event,
        payload,
    )
}

fn opt(s: &Option<SharedStr>) -> &str {
    s.as_deref().unwrap_or("")
}

fn text_frame(
    join_ref: Option<&str>,
    reference: Option<&str>,
    topic: &str,
    event: &str,
    payload: &str,
) -> Frame {
    let mut out = String::with_capacity(payload.len() + topic.len() + event.len() + 32);
    out.push('[');
    json::write_opt_str(&mut out, join_ref);
    out.push(',');
    json::write_opt_str(&mut out, reference);
    out.push(',');
    json::write_str(&mut out, topic);
    out.push(',');
    json::write_str(&mut out, event);
    out.push(',');
    out.push_str(payload);
    out.push(']');
    Frame::Text(SharedStr::from(out))
}

fn binary_frame(kind: u8, fields: &[(Field, &str)], data: &[u8]) -> Result<Frame, EncodeError> {
    let meta: usize = fields.iter().map(|(_, s)| s.len()).sum();
    let mut out = Vec::with_capacity(1 + fields.len() + meta + data.len());
    out.put_u8(kind);
    for &(field, s) in fields {
        let len = u8::try_from(s.len()).map_err(|_| EncodeError::FieldTooLong {
            field,
            len: s.len(),
        })?;
        out.put_u8(len);
    }
    for (_, s) in fields {
        out.put_slice(s.as_bytes());
    }
    out.put_slice(data);
    Ok(Frame::Binary(Bytes::from(out)))
}

/// The V2 text frame `message` was decoded from, when that frame is exactly
/// `[null,null,topic,event,payload]` written the shortest way, which is what
/// [`encode_message`] writes for it: forwarding that frame is the same as encoding anew.
pub(crate) fn received_frame(message: &Message) -> Option<Frame> {
    const PREFIX: &str = "[null,null,";
    let Payload::Json(payload) = &message.payload else {
        return None;
    };
    let (frame, start) = payload.frame_part()?;
    let len = payload.as_str().len();
    let expected = PREFIX.len()
        + json::written_len(&message.topic)
        + 1
        + json::written_len(&message.event)
        + 1
        + len
        + 1;
    let canonical = message.is_broadcast()
        && frame.len() == expected
        && start + len + 1 == expected
        && frame.as_str().starts_with(PREFIX);
    canonical.then(|| Frame::Text(frame.clone()))
}

/// Decodes a text frame in either direction.
pub(crate) fn decode_text(frame: &SharedStr) -> Result<Message, DecodeError> {
    match super::v2_fast::decode(frame) {
        Some(message) => Ok(message),
        None => decode_text_general(frame),
    }
}

/// Decodes any V2 text frame, naming the field at fault when it cannot.
pub(crate) fn decode_text_general(frame: &SharedStr) -> Result<Message, DecodeError> {
    let current = Cell::new(Field::Frame);
    let envelope = json::parse(frame.as_str(), &current, |de| {
        de::Deserializer::deserialize_seq(&mut *de, EnvelopeVisitor { current: &current })
    })?;
    let missing = |field| DecodeError::Missing { field };
    // The array stops at the first absent element, so the first `?` that fires names it.
    let join_ref = envelope.join_ref.ok_or(missing(Field::JoinRef))?;
    let reference = envelope.reference.ok_or(missing(Field::Ref))?;
    let topic = envelope.topic.ok_or(missing(Field::Topic))?;
    let event = envelope.event.ok_or(missing(Field::Event))?;
    let payload = envelope.payload.ok_or(missing(Field::Payload))?;
    let source = Source { frame };
    Ok(Message {
        join_ref: join_ref.map(|t| source.text(t)),
        reference: reference.map(|t| source.text(t)),
        topic: source.text(topic),
        event: source.text(event),
        payload: Payload::Json(source.json(payload)),
    })
}

/// Decodes a frame a server sent: text, or binary of kind 0 (push, no ref), 1 (reply) or
/// 2 (broadcast). A text `phx_reply` becomes a [`Reply`].
pub(crate) fn decode_server(frame: &Frame) -> Result<ServerMessage, DecodeError> {
    match frame {
        Frame::Text(text) => {
            let message = decode_text(text)?;
            if message.event == event::REPLY {
                reply_from_message(message, text).map(ServerMessage::Reply)
            } else {
                Ok(ServerMessage::Message(message))
            }
        }
        Frame::Binary(bytes) => decode_binary_from_server(bytes),
    }
}

/// Decodes a frame a client sent: text, or a binary push (kind 0, with a ref).
pub(crate) fn decode_push(frame: &Frame) -> Result<Message, DecodeError> {
    match frame {
        Frame::Text(text) => decode_text(text),
        Frame::Binary(bytes) => {
            let mut cursor = Cursor::new(bytes)?;
            match cursor.kind {
                KIND_PUSH => {
                    let [j, r, t, e] = cursor.lengths()?;
                    Ok(Message {
                        join_ref: cursor.opt_text(j, Field::JoinRef)?,
                        reference: cursor.opt_text(r, Field::Ref)?,
                        topic: cursor.text(t, Field::Topic)?,
                        event: cursor.text(e, Field::Event)?,
                        payload: Payload::Binary(cursor.rest()),
                    })
                }
                kind => Err(DecodeError::UnknownKind { kind }),
            }
        }
    }
}

/// Turns a `phx_reply` message into a [`Reply`], reading `status` and `response` from its
/// payload without parsing the response. Error offsets point into `frame`, the frame the
/// message was decoded from.
pub(crate) fn reply_from_message(
    message: Message,
    frame: &SharedStr,
) -> Result<Reply, DecodeError> {
    let Payload::Json(body) = &message.payload else {
        return Err(DecodeError::Missing {
            field: Field::Status,
        });
    };
    let current = Cell::new(Field::Payload);
    let source = Source { frame };
    let body_offset = source.offset_of(body.as_bytes()).unwrap_or(0);
    let (status, response) = json::parse(body.as_str(), &current, |de| {
        de::Deserializer::deserialize_map(&mut *de, ReplyBodyVisitor { current: &current })
    })
    .map_err(|e| e.shifted(body_offset))?;
    let status = source.text(status.ok_or(DecodeError::Missing {
        field: Field::Status,
    })?);
    let response = match response {
        Some(raw) => Payload::Json(source.json(raw)),
        None => Payload::empty(),
    };
    Ok(Reply {
        join_ref: message.join_ref,
        reference: message.reference,
        topic: message.topic,
        status: ReplyStatus::from_shared(status),
        response,
    })
}

fn decode_binary_from_server(bytes: &Bytes) -> Result<ServerMessage, DecodeError> {
    let mut cursor = Cursor::new(bytes)?;
    match cursor.kind {
        KIND_PUSH => {
            let [j, t, e] = cursor.lengths()?;
            Ok(ServerMessage::Message(Message {
                join_ref: cursor.opt_text(j, Field::JoinRef)?,
                reference: None,
                topic: cursor.text(t, Field::Topic)?,
                event: cursor.text(e, Field::Event)?,
                payload: Payload::Binary(cursor.rest()),
            }))
        }
        KIND_REPLY => {
            let [j, r, t, s] = cursor.lengths()?;
            Ok(ServerMessage::Reply(Reply {
                join_ref: cursor.opt_text(j, Field::JoinRef)?,
                reference: cursor.opt_text(r, Field::Ref)?,
                topic: cursor.text(t, Field::Topic)?,
                status: ReplyStatus::from_shared(cursor.text(s, Field::Status)?),
                response: Payload::Binary(cursor.rest()),
            }))
        }
        KIND_BROADCAST => {
            let [t, e] = cursor.lengths()?;
            Ok(ServerMessage::Message(Message {
                join_ref: None,
                reference: None,
                topic: cursor.text(t, Field::Topic)?,
                event: cursor.text(e, Field::Event)?,
                payload: Payload::Binary(cursor.rest()),
            }))
        }
        kind => Err(DecodeError::UnknownKind { kind }),
    }
}

/// Reads a binary frame: the kind byte, one length byte per field, the fields, the data.
struct Cursor<'a> {
    bytes: &'a Bytes,
    kind: u8,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a Bytes) -> Result<Self, DecodeError> {
        let kind = *bytes.first().ok_or(DecodeError::Empty)?;
        Ok(Cursor {
            bytes,
            kind,
            pos: 1,
        })
    }

    fn lengths<const N: usize>(&mut self) -> Result<[usize; N], DecodeError> {
        let header = self.take(N, Field::Header)?;
        let mut lengths = [0; N];
        for (len, byte) in lengths.iter_mut().zip(header.iter()) {
            *len = usize::from(*byte);
        }
        Ok(lengths)
    }

    fn take(&mut self, len: usize, field: Field) -> Result<Bytes, DecodeError> {
        let available = self.bytes.len() - self.pos;
        if len > available {
            return Err(DecodeError::Truncated {
                field,
                offset: self.pos,
                needed: len,
                len: self.bytes.len(),
            });
        }
        let part = self.bytes.slice(self.pos..self.pos + len);
        self.pos += len;
        Ok(part)
    }

    fn text(&mut self, len: usize, field: Field) -> Result<SharedStr, DecodeError> {
        let offset = self.pos;
        let part = self.take(len, field)?;
        SharedStr::from_utf8(part).map_err(|_| DecodeError::Utf8 { field, offset })
    }

    /// A ref field; binary frames write an absent ref as zero bytes.
    fn opt_text(&mut self, len: usize, field: Field) -> Result<Option<SharedStr>, DecodeError> {
        let text = self.text(len, field)?;
        Ok((!text.is_empty()).then_some(text))
    }

    fn rest(&mut self) -> Bytes {
        let rest = self.bytes.slice(self.pos..);
        self.pos = self.bytes.len();
        rest
    }
}

/// The five elements of a V2 text frame, borrowed from it. Absent elements are left `None`
/// so the caller can name what is missing.
struct Envelope<'a> {
    join_ref: Option<Option<Text<'a>>>,
    reference: Option<Option<Text<'a>>>,
    topic: Option<Text<'a>>,
    event: Option<Text<'a>>,
    payload: Option<&'a RawValue>,
}

struct EnvelopeVisitor<'c> {
    current: &'c Cell<Field>,
}

impl<'de> Visitor<'de> for EnvelopeVisitor<'_> {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array [join_ref, ref, topic, event, payload]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        self.current.set(Field::JoinRef);
        let join_ref = seq.next_element::<Option<RefText<'de>>>()?;
        self.current.set(Field::Ref);
        let reference = match join_ref {
            Some(_) => seq.next_element::<Option<RefText<'de>>>()?,
            None => None,
        };
        self.current.set(Field::Topic);
        let topic = match reference {
            Some(_) => seq.next_element::<Text<'de>>()?,
            None => None,
        };
        self.current.set(Field::Event);
        let event = match topic {
            Some(_) => seq.next_element::<Text<'de>>()?,
            None => None,
        };
        self.current.set(Field::Payload);
        let payload = match event {
            Some(_) => seq.next_element::<&'de RawValue>()?,
            None => None,
        };
        // Phoenix ignores elements past the fifth; so do we.
        self.current.set(Field::Frame);
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Envelope {
            join_ref: join_ref.map(|r| r.map(|r| r.0)),
            reference: reference.map(|r| r.map(|r| r.0)),
            topic,
            event,
            payload,
        })
    }
}

struct ReplyBodyVisitor<'c> {
    current: &'c Cell<Field>,
}

impl<'de> Visitor<'de> for ReplyBodyVisitor<'_> {
    type Value = (Option<Text<'de>>, Option<&'de RawValue>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object {\"status\": ..., \"response\": ...}")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut status, mut response) = (None, None);
        while let Some(key) = map.next_key::<Text<'de>>()? {
            let key = match &key {
                Text::Borrowed(s) => *s,
                Text::Owned(s) => s.as_str(),
            };
            match key {
                "status" => {
                    self.current.set(Field::Status);
                    status = Some(map.next_value::<Text<'de>>()?);
                }
                "response" => {
                    self.current.set(Field::Response);
                    response = Some(map.next_value::<&'de RawValue>()?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            self.current.set(Field::Payload);
        }
        Ok((status, response))
    }
}
