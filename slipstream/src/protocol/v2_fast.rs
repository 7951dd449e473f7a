//! The fast path for V2 text frames as Phoenix and phoenix.js write them: no white space,
//! refs `null` or plain strings, topic and event without escapes, exactly five elements.
//!
//! It reads the envelope by hand and lets serde_json check only the payload, which it must
//! scan anyway to find its end. Anything else (escapes, numbers as refs, white space, extra
//! elements, any error) returns `None`, and the general decoder runs instead: it gives the
//! same message for every frame this accepts, and names the field for every frame it rejects.

use std::ops::Range;

use serde::Deserialize as _;
use serde_json::value::RawValue;

use super::{Json, Message, Payload, SharedStr};

pub(crate) fn decode(frame: &SharedStr) -> Option<Message> {
    let text = frame.as_str();
    let bytes = text.as_bytes();
    let mut at = expect(bytes, 0, b'[')?;
    let (join_ref, next) = nullable_string(bytes, at)?;
    at = expect(bytes, next, b',')?;
    let (reference, next) = nullable_string(bytes, at)?;
    at = expect(bytes, next, b',')?;
    let (topic, next) = string(bytes, at)?;
    at = expect(bytes, next, b',')?;
    let (event, next) = string(bytes, at)?;
    at = expect(bytes, next, b',')?;
    let payload = payload(text, at)?;
    if bytes.get(payload.end) != Some(&b']') || payload.end + 1 != bytes.len() {
        return None;
    }
    let part = |range: Range<usize>| SharedStr::from_utf8(frame.as_bytes().slice(range)).ok();
    Some(Message {
        join_ref: match join_ref {
            Some(range) => Some(part(range)?),
            None => None,
        },
        reference: match reference {
            Some(range) => Some(part(range)?),
            None => None,
        },
        topic: part(topic)?,
        event: part(event)?,
        payload: Payload::Json(Json::from_frame_part(frame, payload.start, payload.len())?),
    })
}

fn expect(bytes: &[u8], at: usize, byte: u8) -> Option<usize> {
    (bytes.get(at) == Some(&byte)).then_some(at + 1)
}

/// `null`, or a string (see [`string`]).
fn nullable_string(bytes: &[u8], at: usize) -> Option<(Option<Range<usize>>, usize)> {
    if bytes.get(at..at + 4) == Some(b"null") {
        return Some((None, at + 4));
    }
    string(bytes, at).map(|(range, next)| (Some(range), next))
}

/// A string without escapes or control characters: the range of its contents, and where
/// the input goes on after its closing quote.
fn string(bytes: &[u8], at: usize) -> Option<(Range<usize>, usize)> {
    let start = expect(bytes, at, b'"')?;
    let len = bytes
        .get(start..)?
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    let end = start + len;
    (bytes[end] == b'"').then_some((start..end, end + 1))
}

/// The payload starting at `at`, checked by serde_json without parsing it into anything.
fn payload(text: &str, at: usize) -> Option<Range<usize>> {
    let rest = text.get(at..)?;
    let mut deserializer = serde_json::Deserializer::from_str(rest);
    let raw = <&RawValue>::deserialize(&mut deserializer).ok()?.get();
    let start = at + (raw.as_ptr() as usize).checked_sub(rest.as_ptr() as usize)?;
    Some(start..start + raw.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(frame: &str) -> Option<Message> {
        decode(&SharedStr::from(frame))
    }

    #[test]
    fn takes_phoenix_frames() {
        let message = fast(r#"["1","2","rooms:lobby","new_msg",{"body":"hi"}]"#).unwrap();
        assert_eq!(message.join_ref.as_deref(), Some("1"));
        assert_eq!(message.reference.as_deref(), Some("2"));
        assert_eq!(message.topic, "rooms:lobby");
        assert_eq!(message.event, "new_msg");
        assert_eq!(
            message.payload.as_json().unwrap().as_str(),
            r#"{"body":"hi"}"#
        );
        let broadcast = fast(r#"[null,null,"t","e",[1,"]",{"a":null}]]"#).unwrap();
        assert!(broadcast.is_broadcast());
        assert_eq!(
            broadcast.payload.as_json().unwrap().as_str(),
            r#"[1,"]",{"a":null}]"#
        );
    }

    #[test]
    fn agrees_with_the_general_decoder() {
        let fixtures = include_str!("../../tests/fixtures/phoenix-1.7-frames.txt");
        let frames = fixtures
            .lines()
            .filter_map(|l| l.trim().split_once("TEXT [").map(|(_, f)| format!("[{f}")));
        let mut taken = 0;
        for frame in frames {
            let frame = SharedStr::from(frame);
            if let Some(fast) = decode(&frame) {
                assert_eq!(
                    Some(fast),
                    super::super::v2::decode_text_general(&frame).ok(),
                    "{frame}"
                );
                taken += 1;
            }
        }
        assert!(
            taken >= 60,
            "the fast path took only {taken} fixture frames"
        );
    }

    #[test]
    fn leaves_everything_else_to_the_general_decoder() {
        for frame in [
            r#"[ "1","2","t","e",{}]"#,
            r#"["1","2","t","e",{}] "#,
            r#"["1","2","t\"","e",{}]"#,
            r#"[1,"2","t","e",{}]"#,
            r#"["1","2","t","e",{},"extra"]"#,
            r#"["1","2","t","e",{"a":tru}]"#,
            r#"["1","2","t","e",{}"#,
            r#"["1","2","t","e"]"#,
            r#"["1","2","t","e",{}]]"#,
            "[\"1\",\"2\",\"t\u{1}\",\"e\",{}]",
            r#"["1","2","t",null,{}]"#,
            "",
        ] {
            assert!(fast(frame).is_none(), "{frame}");
        }
    }
}
