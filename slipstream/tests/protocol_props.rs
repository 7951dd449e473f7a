//! Encoding then decoding gives back the message: for arbitrary topics, events, refs and
//! payloads, with both serializers, text and binary, in both directions.
//!
//! The generators stay inside what each format can carry:
//! - binary frames write an absent ref as zero bytes, so a binary ref is `None` or non-empty,
//!   and every binary field is at most 255 bytes;
//! - a server's binary push has no ref field, and V1 server frames have no `join_ref`;
//! - V1 carries no binary payloads;
//! - a server message whose event is `phx_reply` decodes as a reply, so messages avoid it.

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use slipstream::protocol::{
    Frame, Json, Message, Payload, Reply, ReplyStatus, Serializer, ServerMessage, SharedStr, event,
};

/// A character that JSON must escape, may escape, or carries verbatim.
fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('/'),
        1 => prop::char::range('\u{0}', '\u{1f}'),
        1 => Just('\u{7f}'),
        1 => prop::sample::select(vec!['é', 'ß', '\u{2028}', '\u{2029}', '€', '🦀', '\u{feff}']),
        2 => any::<char>(),
    ]
}

fn any_string(max_chars: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any_char(), 0..=max_chars).prop_map(|chars| chars.into_iter().collect())
}

/// A string that fits a binary frame's one-byte length.
fn short_string() -> impl Strategy<Value = String> {
    any_string(40).prop_filter("fits one length byte", |s| s.len() <= 255)
}

/// A ref as a binary frame can carry it: absent, or non-empty.
fn binary_ref() -> impl Strategy<Value = Option<SharedStr>> {
    prop::option::of(short_string().prop_filter("non-empty", |s| !s.is_empty()))
        .prop_map(|r| r.map(SharedStr::from))
}

/// A ref as a text frame can carry it: absent, or any string (even empty, even long).
fn text_ref() -> impl Strategy<Value = Option<SharedStr>> {
    prop::option::of(prop_oneof![4 => any_string(12), 1 => any_string(300)])
        .prop_map(|r| r.map(SharedStr::from))
}

fn text_string() -> impl Strategy<Value = SharedStr> {
    prop_oneof![4 => any_string(24), 1 => any_string(400)].prop_map(SharedStr::from)
}

fn json_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        json_number().prop_map(Value::Number),
        any_string(16).prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any_string(8), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// White space JSON allows between tokens.
fn whitespace() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec![' ', '\t', '\n', '\r']), 0..3)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Writes `value` with `ws` between every pair of tokens.
fn write_spaced(out: &mut String, value: &Value, ws: &str) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(ws);
                if i > 0 {
                    out.push(',');
                    out.push_str(ws);
                }
                write_spaced(out, item, ws);
            }
            out.push_str(ws);
            out.push(']');
        }
        Value::Object(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                out.push_str(ws);
                if i > 0 {
                    out.push(',');
                    out.push_str(ws);
                }
                out.push_str(&serde_json::to_string(key).unwrap());
                out.push_str(ws);
                out.push(':');
                out.push_str(ws);
                write_spaced(out, item, ws);
            }
            out.push_str(ws);
            out.push('}');
        }
        leaf => out.push_str(&leaf.to_string()),
    }
}

/// Raw JSON text: compact, pretty, or with arbitrary white space between tokens.
fn json_text() -> impl Strategy<Value = String> {
    (json_value(), 0..3u8, whitespace()).prop_map(|(value, style, ws)| match style {
        0 => serde_json::to_string(&value).unwrap(),
        1 => serde_json::to_string_pretty(&value).unwrap(),
        _ => {
            let mut out = String::new();
            write_spaced(&mut out, &value, &ws);
            out
        }
    })
}

fn json_payload() -> impl Strategy<Value = Payload> {
    json_text().prop_map(|text| Payload::from_raw_json(text).expect("generated JSON is valid"))
}

fn binary_payload() -> impl Strategy<Value = Payload> {
    prop::collection::vec(any::<u8>(), 0..300).prop_map(Payload::binary)
}

fn not_reply_event(event: &SharedStr) -> bool {
    event != event::REPLY
}

/// A message in a text frame: any refs, any strings, a JSON payload.
fn text_message() -> impl Strategy<Value = Message> {
    (
        text_ref(),
        text_ref(),
        text_string(),
        text_string(),
        json_payload(),
    )
        .prop_map(|(join_ref, reference, topic, event, payload)| Message {
            join_ref,
            reference,
            topic,
            event,
            payload,
        })
}

/// A message in a binary frame: refs absent or non-empty, every field at most 255 bytes.
fn binary_message() -> impl Strategy<Value = Message> {
    (
        binary_ref(),
        binary_ref(),
        short_string(),
        short_string(),
        binary_payload(),
    )
        .prop_map(|(join_ref, reference, topic, event, payload)| Message {
            join_ref,
            reference,
            topic: topic.into(),
            event: event.into(),
            payload,
        })
}

fn any_status() -> impl Strategy<Value = ReplyStatus> {
    prop_oneof![
        Just(ReplyStatus::Ok),
        Just(ReplyStatus::Error),
        short_string().prop_map(|s| ReplyStatus::from(s.as_str())),
    ]
}

fn text_reply() -> impl Strategy<Value = Reply> {
    (
        text_ref(),
        text_ref(),
        text_string(),
        any_status(),
        json_payload(),
    )
        .prop_map(|(join_ref, reference, topic, status, response)| Reply {
            join_ref,
            reference,
            topic,
            status,
            response,
        })
}

fn binary_reply() -> impl Strategy<Value = Reply> {
    (
        binary_ref(),
        binary_ref(),
        short_string(),
        any_status(),
        binary_payload(),
    )
        .prop_map(|(join_ref, reference, topic, status, response)| Reply {
            join_ref,
            reference,
            topic: topic.into(),
            status,
            response,
        })
}

fn assert_kind(frame: &Frame, payload: &Payload) {
    assert_eq!(
        matches!(frame, Frame::Binary(_)),
        payload.is_binary(),
        "binary payloads travel in binary frames, JSON in text frames"
    );
}

fn round_trip_push(serializer: Serializer, message: &Message) -> Result<(), TestCaseError> {
    let frame = serializer.encode_push(message).unwrap();
    assert_kind(&frame, &message.payload);
    let decoded = serializer.decode_push(&frame).unwrap();
    prop_assert_eq!(&decoded, message);
    // The raw JSON is kept byte for byte, white space included.
    prop_assert_eq!(decoded.payload.as_bytes(), message.payload.as_bytes());
    Ok(())
}

fn round_trip_message(serializer: Serializer, message: &Message) -> Result<(), TestCaseError> {
    let frame = serializer.encode_message(message).unwrap();
    assert_kind(&frame, &message.payload);
    let decoded = serializer.decode_server(&frame).unwrap();
    prop_assert_eq!(decoded, ServerMessage::Message(message.clone()));
    Ok(())
}

fn round_trip_reply(serializer: Serializer, reply: &Reply) -> Result<(), TestCaseError> {
    let frame = serializer.encode_reply(reply).unwrap();
    assert_kind(&frame, &reply.response);
    let decoded = serializer.decode_server(&frame).unwrap();
    prop_assert_eq!(decoded, ServerMessage::Reply(reply.clone()));
    Ok(())
}

proptest! {
    #[test]
    fn v2_text_pushes_round_trip(message in text_message()) {
        round_trip_push(Serializer::V2, &message)?;
    }

    #[test]
    fn v2_binary_pushes_round_trip(message in binary_message()) {
        round_trip_push(Serializer::V2, &message)?;
    }

    #[test]
    fn v1_pushes_round_trip(message in text_message()) {
        round_trip_push(Serializer::V1, &message)?;
    }

    #[test]
    fn v2_text_messages_round_trip(
        message in text_message().prop_filter("not a reply", |m| not_reply_event(&m.event)),
    ) {
        round_trip_message(Serializer::V2, &message)?;
    }

    #[test]
    fn v2_binary_messages_round_trip(mut message in binary_message()) {
        // A server's binary push (kind 0) and broadcast (kind 2) have no ref field.
        message.reference = None;
        round_trip_message(Serializer::V2, &message)?;
    }

    #[test]
    fn v1_messages_round_trip(
        mut message in text_message().prop_filter("not a reply", |m| not_reply_event(&m.event)),
    ) {
        message.join_ref = None;
        round_trip_message(Serializer::V1, &message)?;
    }

    #[test]
    fn v2_text_replies_round_trip(reply in text_reply()) {
        round_trip_reply(Serializer::V2, &reply)?;
    }

    #[test]
    fn v2_binary_replies_round_trip(reply in binary_reply()) {
        round_trip_reply(Serializer::V2, &reply)?;
    }

    #[test]
    fn v1_replies_round_trip(mut reply in text_reply()) {
        reply.join_ref = None;
        round_trip_reply(Serializer::V1, &reply)?;
    }

    /// Decoding then re-encoding a server's frame gives back its bytes, when it was written
    /// the way Phoenix writes frames (compact JSON, strings escaped as Jason does).
    #[test]
    fn canonical_v2_frames_re_encode_to_the_same_bytes(message in text_message()) {
        let frame = Serializer::V2.encode_push(&message).unwrap();
        let decoded = Serializer::V2.decode_push(&frame).unwrap();
        prop_assert_eq!(Serializer::V2.encode_push(&decoded).unwrap(), frame);
    }

    /// Fields longer than 255 bytes are refused by the binary encoder, never truncated.
    #[test]
    fn long_binary_fields_are_refused(mut message in binary_message(), extra in 256usize..600) {
        message.topic = SharedStr::from("t".repeat(extra));
        prop_assert!(Serializer::V2.encode_push(&message).is_err());
        prop_assert!(Serializer::V2.encode_message(&message).is_err());
    }

    /// V1 refuses binary payloads in every direction.
    #[test]
    fn v1_refuses_binary(message in binary_message()) {
        prop_assert!(Serializer::V1.encode_push(&message).is_err());
        prop_assert!(Serializer::V1.encode_message(&message).is_err());
    }

    /// `Json::from_raw` keeps any valid JSON text exactly, and its typed decode agrees with
    /// serde_json's.
    #[test]
    fn raw_json_is_kept_exactly(text in json_text()) {
        let json = Json::from_raw(Bytes::from(text.clone())).unwrap();
        prop_assert_eq!(json.as_str(), text.as_str());
        let ours: Value = json.decode().unwrap();
        let theirs: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(ours, theirs);
    }
}

proptest! {
    /// White space around a raw value is dropped when the payload is made (a frame could
    /// not carry it), so such payloads round-trip too.
    #[test]
    fn white_space_around_a_payload_is_dropped(
        text in json_text(),
        before in whitespace(),
        after in whitespace(),
    ) {
        let payload = Payload::from_raw_json(format!("{before}{text}{after}")).unwrap();
        prop_assert_eq!(payload.as_bytes(), text.as_bytes());
        let message = Message::broadcast("t", "e", payload);
        round_trip_push(Serializer::V2, &message)?;
        round_trip_push(Serializer::V1, &message)?;
    }
}

proptest! {
    /// A received broadcast is forwarded in its own frame only when that frame is exactly
    /// what the endpoint would encode: whatever the topic and event hold.
    #[test]
    fn forwarded_broadcast_frames_equal_fresh_encodings(
        topic in text_string(),
        event in text_string(),
        payload in json_payload(),
    ) {
        let message = Message::broadcast(topic, event, payload);
        let fresh = Serializer::V2.encode_message(&message).unwrap();
        let ServerMessage::Message(received) = Serializer::V2.decode_server(&fresh).unwrap() else {
            unreachable!("a broadcast is not a reply");
        };
        let forwarded = slipstream::endpoint::Broadcast::from_message(received).frame(Serializer::V2).unwrap();
        // The very frame that arrived, not a new encoding of it.
        prop_assert_eq!(forwarded.as_bytes().as_ptr(), fresh.as_bytes().as_ptr());
        prop_assert_eq!(forwarded, fresh);
    }
}
