use bytes::Bytes;

use super::*;

fn text(s: &str) -> Frame {
    Frame::Text(SharedStr::from(s))
}

fn binary(bytes: &[u8]) -> Frame {
    Frame::Binary(Bytes::copy_from_slice(bytes))
}

#[test]
fn decoded_fields_share_the_frame_buffer() {
    let text = SharedStr::from_static(r#"["1","2","rooms:lobby","new_msg",{"body":"hi"}]"#);
    let msg = v2::decode_text(&text).unwrap();
    let frame = text.as_bytes();
    let range = frame.as_ptr() as usize..frame.as_ptr() as usize + frame.len();
    assert!(range.contains(&(msg.topic.as_ptr() as usize)));
    assert!(range.contains(&(msg.payload.as_bytes().as_ptr() as usize)));
}

#[test]
fn escaped_strings_are_unescaped() {
    let msg = Serializer::V2
        .decode_push(&text(r#"[null,"1","a\"b","e\u0041",{}]"#))
        .unwrap();
    assert_eq!(msg.topic, "a\"b");
    assert_eq!(msg.event, "eA");
}

#[test]
fn extra_trailing_elements_are_ignored() {
    let msg = Serializer::V2
        .decode_push(&text(r#"[null,null,"t","e",{},"extra",[1]]"#))
        .unwrap();
    assert_eq!(msg.event, "e");
}

#[test]
fn numeric_refs_are_read_as_their_text() {
    let msg = Serializer::V2
        .decode_push(&text(r#"[1,2,"t","e",{}]"#))
        .unwrap();
    assert_eq!(msg.join_ref.as_deref(), Some("1"));
    assert_eq!(msg.reference.as_deref(), Some("2"));
}

#[test]
fn errors_name_the_field() {
    let cases: &[(&str, Field)] = &[
        (r#"[null,null,7,"e",{}]"#, Field::Topic),
        (r#"[null,null,"t",{},{}]"#, Field::Event),
        (r#"[{},null,"t","e",{}]"#, Field::JoinRef),
        (r#"[null,[],"t","e",{}]"#, Field::Ref),
    ];
    for (frame, field) in cases {
        let err = Serializer::V2.decode_push(&text(frame)).unwrap_err();
        assert!(matches!(err, DecodeError::Shape { .. }), "{frame}: {err}");
        assert_eq!(err.field(), Some(*field), "{frame}: {err}");
    }
}

#[test]
fn short_arrays_name_the_missing_field() {
    for (frame, field) in [
        (r#"[]"#, Field::JoinRef),
        (r#"[null]"#, Field::Ref),
        (r#"[null,null]"#, Field::Topic),
        (r#"[null,null,"t"]"#, Field::Event),
        (r#"[null,null,"t","e"]"#, Field::Payload),
    ] {
        let err = Serializer::V2.decode_push(&text(frame)).unwrap_err();
        assert!(
            matches!(err, DecodeError::Missing { field: f } if f == field),
            "{frame}: {err}"
        );
    }
}

#[test]
fn syntax_errors_give_an_offset() {
    let err = Serializer::V2
        .decode_push(&text(r#"[null,null,"t","e",{]"#))
        .unwrap_err();
    let DecodeError::Syntax { offset, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(offset, 20);
    assert!(matches!(
        Serializer::V2.decode_push(&text("")),
        Err(DecodeError::Empty)
    ));
    assert!(matches!(
        Serializer::V2.decode_push(&text(r#"[null,null,"t","e",{}] x"#)),
        Err(DecodeError::Syntax { .. })
    ));
}

#[test]
fn wrong_shapes_are_shape_errors() {
    for frame in [r#"{"topic":"t"}"#, "42", r#""str""#, "null"] {
        let err = Serializer::V2.decode_push(&text(frame)).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Shape {
                    field: Field::Frame,
                    ..
                }
            ),
            "{frame}: {err}"
        );
    }
}

#[test]
fn depth_bombs_are_errors_not_stack_overflows() {
    for depth in [200, 100_000] {
        // A deep payload is still one JSON value: it is kept raw without recursion, and only
        // parsing it hits serde_json's depth limit, as an error.
        let bomb = format!(
            r#"[null,null,"t","e",{}{}]"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let msg = Serializer::V2.decode_push(&text(&bomb)).unwrap();
        assert!(matches!(
            msg.payload.decode::<serde_json::Value>(),
            Err(PayloadError::Decode(_))
        ));
        let unclosed = format!(r#"[null,null,"t","e",{}"#, "[".repeat(depth));
        assert!(matches!(
            Serializer::V2.decode_push(&text(&unclosed)),
            Err(DecodeError::Syntax { .. })
        ));
        let nested_topic = format!("[null,null,{}", "[".repeat(depth));
        assert!(Serializer::V2.decode_push(&text(&nested_topic)).is_err());
        let v1 = format!(
            r#"{{"topic":"t","event":"e","payload":{}}}"#,
            "[".repeat(depth)
        );
        assert!(Serializer::V1.decode_push(&text(&v1)).is_err());
    }
}

#[test]
fn binary_errors_say_where() {
    assert!(matches!(
        Serializer::V2.decode_push(&binary(b"")),
        Err(DecodeError::Empty)
    ));
    assert!(matches!(
        Serializer::V2.decode_push(&binary(&[9])),
        Err(DecodeError::UnknownKind { kind: 9 })
    ));
    assert!(matches!(
        Serializer::V2.decode_push(&binary(&[0, 1, 1])),
        Err(DecodeError::Truncated {
            field: Field::Header,
            offset: 1,
            ..
        })
    ));
    // The header announces a 5-byte topic; only 2 bytes follow the refs.
    assert!(matches!(
        Serializer::V2.decode_push(&binary(&[0, 0, 0, 5, 1, b'a', b'b'])),
        Err(DecodeError::Truncated {
            field: Field::Topic,
            offset: 5,
            needed: 5,
            len: 7
        })
    ));
    assert!(matches!(
        Serializer::V2.decode_server(&binary(&[2, 1, 1, 0xff, b'e'])),
        Err(DecodeError::Utf8 {
            field: Field::Topic,
            offset: 3
        })
    ));
    assert!(matches!(
        Serializer::V2.decode_server(&binary(&[1, 0, 0, 1, 2, b't', b'o'])),
        Err(DecodeError::Truncated {
            field: Field::Status,
            ..
        })
    ));
    assert!(matches!(
        Serializer::V1.decode_push(&binary(&[0, 0, 0, 0, 0])),
        Err(DecodeError::BinaryNotSupported)
    ));
}

#[test]
fn reply_without_status_is_an_error() {
    let err = Serializer::V2
        .decode_server(&text(r#"["1","1","t","phx_reply",{"response":{}}]"#))
        .unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Missing {
                field: Field::Status
            }
        ),
        "{err}"
    );
    let err = Serializer::V2
        .decode_server(&text(r#"["1","1","t","phx_reply",[]]"#))
        .unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Shape {
                field: Field::Payload,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn reply_with_other_status_is_kept() {
    let frame = text(r#"["1","1","t","phx_reply",{"response":{},"status":"timeout"}]"#);
    let ServerMessage::Reply(reply) = Serializer::V2.decode_server(&frame).unwrap() else {
        panic!("not a reply");
    };
    assert_eq!(reply.status, ReplyStatus::Other("timeout".into()));
}

#[test]
fn binary_fields_over_255_bytes_are_errors() {
    let long = "x".repeat(256);
    let msg = Message {
        join_ref: Some("1".into()),
        reference: Some("2".into()),
        topic: long.as_str().into(),
        event: "e".into(),
        payload: Payload::binary(vec![1u8]),
    };
    let err = Serializer::V2.encode_push(&msg).unwrap_err();
    assert!(matches!(
        err,
        EncodeError::FieldTooLong {
            field: Field::Topic,
            len: 256
        }
    ));
    let reply = Reply {
        join_ref: None,
        reference: Some("1".into()),
        topic: "t".into(),
        status: ReplyStatus::Other(long.as_str().into()),
        response: Payload::binary(vec![1u8]),
    };
    let err = Serializer::V2.encode_reply(&reply).unwrap_err();
    assert!(matches!(
        err,
        EncodeError::FieldTooLong {
            field: Field::Status,
            len: 256
        }
    ));
    // 255 bytes still fit.
    let msg = Message {
        topic: "x".repeat(255).into(),
        ..msg
    };
    assert!(Serializer::V2.encode_push(&msg).is_ok());
}

#[test]
fn v1_refuses_binary_payloads() {
    let msg = Message::broadcast("t", "e", Payload::binary(vec![1u8]));
    assert!(matches!(
        Serializer::V1.encode_message(&msg),
        Err(EncodeError::BinaryNotSupported)
    ));
}

#[test]
fn server_binary_push_with_join_ref_uses_kind_zero() {
    let msg = Message {
        join_ref: Some("3".into()),
        reference: None,
        topic: "t".into(),
        event: "e".into(),
        payload: Payload::binary(vec![7u8]),
    };
    let frame = Serializer::V2.encode_message(&msg).unwrap();
    assert_eq!(
        frame.as_bytes().as_ref(),
        &[0, 1, 1, 1, b'3', b't', b'e', 7]
    );
    assert_eq!(
        Serializer::V2.decode_server(&frame).unwrap(),
        ServerMessage::Message(msg)
    );
}

#[test]
fn vsn_matches_like_phoenix() {
    assert_eq!(Serializer::from_vsn("2.0.0"), Some(Serializer::V2));
    assert_eq!(Serializer::from_vsn("1.0.0"), Some(Serializer::V1));
    assert_eq!(Serializer::from_vsn("2.1"), Some(Serializer::V2));
    assert_eq!(Serializer::from_vsn("3.0.0"), None);
    assert_eq!(Serializer::from_vsn("2.x"), None);
}

#[test]
fn encoded_frames_share_one_buffer_between_clones() {
    let frame = Serializer::V2
        .encode_message(&Message::broadcast("t", "e", Payload::empty()))
        .unwrap();
    let copies: Vec<Frame> = (0..3).map(|_| frame.clone()).collect();
    for copy in &copies {
        assert_eq!(copy.as_bytes().as_ptr(), frame.as_bytes().as_ptr());
    }
}
