//! Every frame captured from a real Phoenix 1.7 server decodes to the expected message, and
//! re-encodes to the same bytes.

use bytes::Bytes;
use slipstream::protocol::{Frame, Payload, ReplyStatus, Serializer, ServerMessage};

const FIXTURES: &str = include_str!("fixtures/phoenix-1.7-frames.txt");

#[derive(Debug)]
struct Captured {
    section: String,
    from_client: bool,
    frame: Frame,
}

fn captured() -> Vec<Captured> {
    let mut section = String::new();
    let mut frames = Vec::new();
    for line in FIXTURES.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            section = title.to_owned();
            continue;
        }
        let line = line.trim_start();
        let (from_client, rest) = match (line.strip_prefix(">> "), line.strip_prefix("<< ")) {
            (Some(rest), _) => (true, rest),
            (_, Some(rest)) => (false, rest),
            _ => continue,
        };
        let frame = if let Some(text) = rest.strip_prefix("TEXT ") {
            Frame::Text(text.into())
        } else if rest.starts_with("BINARY ") {
            let hex = rest.split("hex=").nth(1).expect("binary line has hex=");
            Frame::Binary(Bytes::from(decode_hex(hex.trim())))
        } else {
            continue; // CLOSE lines and prose
        };
        frames.push(Captured {
            section: section.clone(),
            from_client,
            frame,
        });
    }
    frames
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn serializer_for(section: &str) -> Serializer {
    if section.contains("V1 serializer") {
        Serializer::V1
    } else {
        Serializer::V2
    }
}

#[test]
fn fixture_file_has_frames_in_both_directions() {
    let frames = captured();
    assert!(frames.iter().filter(|f| f.from_client).count() >= 30);
    assert!(frames.iter().filter(|f| !f.from_client).count() >= 35);
    assert!(frames.iter().any(|f| matches!(f.frame, Frame::Binary(_))));
}

#[test]
fn every_fixture_frame_round_trips_byte_for_byte() {
    for captured in captured() {
        let serializer = serializer_for(&captured.section);
        let reencoded = if captured.from_client {
            let message = serializer
                .decode_push(&captured.frame)
                .unwrap_or_else(|e| panic!("{}: {:?}: {e}", captured.section, captured.frame));
            serializer.encode_push(&message).unwrap()
        } else {
            match serializer.decode_server(&captured.frame) {
                Ok(ServerMessage::Message(m)) => serializer.encode_message(&m).unwrap(),
                Ok(ServerMessage::Reply(r)) => serializer.encode_reply(&r).unwrap(),
                Err(e) => panic!("{}: {:?}: {e}", captured.section, captured.frame),
            }
        };
        assert_eq!(reencoded, captured.frame, "section {}", captured.section);
    }
}

fn server(section: &str, index: usize) -> ServerMessage {
    let captured = captured();
    let frame = captured
        .iter()
        .filter(|c| c.section.starts_with(section) && !c.from_client)
        .nth(index)
        .unwrap_or_else(|| panic!("no server frame {index} in section {section}"));
    serializer_for(&captured_section(&captured, section))
        .decode_server(&frame.frame)
        .unwrap()
}

fn captured_section(captured: &[Captured], prefix: &str) -> String {
    captured
        .iter()
        .find(|c| c.section.starts_with(prefix))
        .unwrap()
        .section
        .clone()
}

#[test]
fn join_reply_decodes_to_ok_reply_with_refs() {
    let ServerMessage::Reply(reply) = server("1.", 0) else {
        panic!("not a reply")
    };
    assert_eq!(reply.join_ref.as_deref(), Some("1"));
    assert_eq!(reply.reference.as_deref(), Some("1"));
    assert_eq!(reply.topic, "rooms:lobby");
    assert_eq!(reply.status, ReplyStatus::Ok);
    assert_eq!(reply.response.as_json().unwrap().as_str(), "{}");
}

#[test]
fn heartbeat_reply_has_no_join_ref() {
    let ServerMessage::Reply(reply) = server("1.", 2) else {
        panic!("not a reply")
    };
    assert_eq!(reply.join_ref, None);
    assert_eq!(reply.reference.as_deref(), Some("3"));
    assert_eq!(reply.topic, "phoenix");
}

#[test]
fn broadcast_has_no_refs_and_keeps_payload_bytes() {
    let ServerMessage::Message(msg) = server("3.", 0) else {
        panic!("not a message")
    };
    assert!(msg.is_broadcast());
    assert_eq!(msg.event, "news");
    assert_eq!(msg.payload.as_json().unwrap().as_str(), r#"{"text":"hi"}"#);
}

#[test]
fn refused_join_carries_reason() {
    let ServerMessage::Reply(reply) = server("5.", 0) else {
        panic!("not a reply")
    };
    assert_eq!(reply.status, ReplyStatus::Error);
    let reason: serde_json::Value = reply.response.decode().unwrap();
    assert_eq!(reason["reason"], "unauthorized");

    let ServerMessage::Reply(unmatched) = server("6.", 0) else {
        panic!("not a reply")
    };
    assert_eq!(
        unmatched.join_ref, None,
        "phoenix answers an unmatched topic without join_ref"
    );
}

#[test]
fn server_push_has_join_ref_and_no_ref() {
    let ServerMessage::Message(msg) = server("8.", 1) else {
        panic!("not a message")
    };
    assert_eq!(msg.join_ref.as_deref(), Some("1"));
    assert_eq!(msg.reference, None);
    assert_eq!(msg.event, "custom");
}

#[test]
fn crash_and_close_carry_the_join_ref_as_ref() {
    let ServerMessage::Message(error) = server("9.", 1) else {
        panic!("not a message")
    };
    assert_eq!(error.event, "phx_error");
    assert_eq!(error.join_ref.as_deref(), Some("20"));
    assert_eq!(error.reference.as_deref(), Some("20"));

    let ServerMessage::Message(close) = server("11.", 2) else {
        panic!("not a message")
    };
    assert_eq!(close.event, "phx_close");
    assert_eq!(close.reference.as_deref(), Some("40"));
}

#[test]
fn binary_frames_decode_by_kind() {
    let ServerMessage::Reply(reply) = server("13.", 0) else {
        panic!("kind 1 is a reply")
    };
    assert_eq!(reply.reference.as_deref(), Some("60"));
    assert_eq!(reply.status, ReplyStatus::Ok);
    assert_eq!(reply.response, Payload::binary(&b"\x00\x01\x02\xffbin"[..]));

    let ServerMessage::Message(broadcast) = server("13.", 1) else {
        panic!("kind 2")
    };
    assert!(broadcast.is_broadcast());
    assert_eq!(broadcast.event, "shout");
    assert_eq!(broadcast.payload, Payload::binary(&b"\xde\xad\xbe\xef"[..]));
}

#[test]
fn client_binary_push_decodes_with_its_ref() {
    let captured = captured();
    let push = captured
        .iter()
        .find(|c| c.from_client && matches!(c.frame, Frame::Binary(_)))
        .unwrap();
    let msg = Serializer::V2.decode_push(&push.frame).unwrap();
    assert_eq!(msg.join_ref.as_deref(), Some("1"));
    assert_eq!(msg.reference.as_deref(), Some("60"));
    assert_eq!(msg.topic, "rooms:lobby");
    assert_eq!(msg.event, "ping");
}

#[test]
fn v1_frames_decode_without_join_ref_from_the_server() {
    let ServerMessage::Reply(reply) = server("18.", 0) else {
        panic!("not a reply")
    };
    assert_eq!(reply.join_ref, None);
    assert_eq!(reply.reference.as_deref(), Some("1"));
    let ServerMessage::Message(news) = server("18.", 3) else {
        panic!("not a message")
    };
    assert_eq!(news.event, "news");
    assert_eq!(news.reference, None);
}
