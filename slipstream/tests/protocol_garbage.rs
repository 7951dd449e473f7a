//! Malformed input never panics and always says what is wrong: random bytes, valid frames cut
//! short at every byte, binary headers that promise more than the frame holds, invalid UTF-8,
//! JSON of the wrong shape and nesting bombs. Each case asserts the error's kind and field,
//! not only that decoding failed.

use bytes::Bytes;
use slipstream::protocol::{
    __fuzz_decode, DecodeError, Field, Frame, Message, Payload, ReplyStatus, Serializer,
    ServerMessage,
};

fn text(s: &str) -> Frame {
    Frame::Text(s.into())
}

fn binary(bytes: &[u8]) -> Frame {
    Frame::Binary(Bytes::copy_from_slice(bytes))
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}

/// Valid frames of every layout, in the direction they travel.
const TEXT_FRAMES: &[(Serializer, &str)] = &[
    (
        Serializer::V2,
        r#"["1","2","rooms:lobby","new_msg",{"body":"hé \"q\" \\ \u0001","n":[1,2.5,-3e2]}]"#,
    ),
    (
        Serializer::V2,
        r#"[null,null,"rooms:lobby","news",{"text":"hi"}]"#,
    ),
    (
        Serializer::V2,
        r#"["1","9","rooms:lobby","phx_reply",{"response":{"why":"asked"},"status":"error"}]"#,
    ),
    (
        Serializer::V1,
        r#"{"topic":"rooms:lobby","event":"phx_join","payload":{},"ref":"1","join_ref":"1"}"#,
    ),
    (
        Serializer::V1,
        r#"{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"t"}"#,
    ),
];

/// Every piece of `data` fed to the fuzz body: random bytes, JSON-like token soup, and valid
/// frames with bytes flipped, dropped and inserted.
#[test]
fn random_input_never_panics() {
    let mut rng = Rng(0x5eed_cafe_f00d_beef);
    let tokens: &[&[u8]] = &[
        b"[",
        b"]",
        b"{",
        b"}",
        b",",
        b":",
        b"null",
        b"true",
        b"1",
        b"-0.5e3",
        b"\"",
        b"\\",
        b"\\u00",
        b"\\ud800",
        b"\"t\"",
        b"\"phx_reply\"",
        b"\"status\"",
        b"\"response\"",
        b"\"topic\"",
        b"\"event\"",
        b"\"payload\"",
        b"\"ref\"",
        b"\"join_ref\"",
        b" ",
        b"\xff",
        b"\xc3",
        "é".as_bytes(),
    ];
    let seeds: Vec<Vec<u8>> = TEXT_FRAMES
        .iter()
        .map(|(_, f)| f.as_bytes().to_vec())
        .chain(binary_frames().into_iter().map(|b| b.bytes))
        .collect();
    for round in 0..3_000 {
        let random: Vec<u8> = (0..rng.below(64)).map(|_| rng.byte()).collect();
        __fuzz_decode(&random);

        let soup: Vec<u8> = (0..rng.below(24))
            .flat_map(|_| tokens[rng.below(tokens.len())].iter().copied())
            .collect();
        __fuzz_decode(&soup);

        let mut mutated = seeds[round % seeds.len()].clone();
        for _ in 0..=rng.below(3) {
            let at = rng.below(mutated.len() + 1);
            match rng.below(3) {
                0 if at < mutated.len() => mutated[at] = rng.byte(),
                1 if at < mutated.len() => drop(mutated.remove(at)),
                _ => mutated.insert(at, rng.byte()),
            }
        }
        __fuzz_decode(&mutated);
    }
}

/// Every proper prefix of a valid text frame is cut-short JSON: a syntax error whose offset
/// lies inside the prefix; the empty prefix is `Empty`.
#[test]
fn truncated_text_frames_are_syntax_errors_at_every_cut() {
    for &(serializer, frame) in TEXT_FRAMES {
        assert!(serializer.decode_server(&text(frame)).is_ok(), "{frame}");
        for cut in (0..frame.len()).filter(|&cut| frame.is_char_boundary(cut)) {
            let prefix = text(&frame[..cut]);
            for result in [
                serializer.decode_push(&prefix).map(|_| ()),
                serializer.decode_server(&prefix).map(|_| ()),
            ] {
                match result {
                    Err(DecodeError::Empty) if cut == 0 => {}
                    Err(DecodeError::Syntax { offset, .. }) if cut > 0 => {
                        assert!(offset <= cut, "{frame} cut at {cut}: offset {offset}");
                    }
                    other => panic!("{frame} cut at {cut}: {other:?}"),
                }
            }
        }
    }
}

/// A binary frame described by its parts, so tests know where each field starts.
#[derive(Clone)]
struct Layout {
    server: bool,
    kind: u8,
    fields: Vec<(Field, Vec<u8>)>,
    data: Vec<u8>,
    bytes: Vec<u8>,
}

impl Layout {
    fn new(server: bool, kind: u8, fields: &[(Field, &str)], data: &[u8]) -> Self {
        let fields: Vec<(Field, Vec<u8>)> = fields
            .iter()
            .map(|(f, s)| (*f, s.as_bytes().to_vec()))
            .collect();
        let mut layout = Layout {
            server,
            kind,
            fields,
            data: data.to_vec(),
            bytes: Vec::new(),
        };
        layout.build();
        layout
    }

    fn build(&mut self) {
        let mut bytes = vec![self.kind];
        for (_, f) in &self.fields {
            bytes.push(u8::try_from(f.len()).unwrap());
        }
        for (_, f) in &self.fields {
            bytes.extend_from_slice(f);
        }
        bytes.extend_from_slice(&self.data);
        self.bytes = bytes;
    }

    fn header_end(&self) -> usize {
        1 + self.fields.len()
    }

    /// Where each field starts, and how long it is.
    fn spans(&self) -> Vec<(Field, usize, usize)> {
        let mut at = self.header_end();
        self.fields
            .iter()
            .map(|(field, f)| {
                let span = (*field, at, f.len());
                at += f.len();
                span
            })
            .collect()
    }

    fn data_start(&self) -> usize {
        self.bytes.len() - self.data.len()
    }

    fn decode(&self, bytes: &[u8]) -> Result<(Payload, Vec<Option<String>>), DecodeError> {
        let frame = binary(bytes);
        let strings = |v: &[Option<&str>]| v.iter().map(|s| s.map(str::to_owned)).collect();
        if !self.server {
            let m = Serializer::V2.decode_push(&frame)?;
            return Ok((
                m.payload.clone(),
                strings(&[
                    m.join_ref.as_deref(),
                    m.reference.as_deref(),
                    Some(&m.topic),
                    Some(&m.event),
                ]),
            ));
        }
        match Serializer::V2.decode_server(&frame)? {
            ServerMessage::Reply(r) => Ok((
                r.response.clone(),
                strings(&[
                    r.join_ref.as_deref(),
                    r.reference.as_deref(),
                    Some(&r.topic),
                    Some(r.status.as_str()),
                ]),
            )),
            ServerMessage::Message(m) if self.kind == 0 => Ok((
                m.payload.clone(),
                strings(&[m.join_ref.as_deref(), Some(&m.topic), Some(&m.event)]),
            )),
            ServerMessage::Message(m) => Ok((
                m.payload.clone(),
                strings(&[Some(&m.topic), Some(&m.event)]),
            )),
        }
    }
}

fn binary_frames() -> Vec<Layout> {
    vec![
        // A client's push (kind 0, with a ref).
        Layout::new(
            false,
            0,
            &[
                (Field::JoinRef, "1"),
                (Field::Ref, "60"),
                (Field::Topic, "rooms:lobby"),
                (Field::Event, "ping"),
            ],
            b"\x00\x01\x02\xffbin",
        ),
        // A server's push (kind 0, no ref field).
        Layout::new(
            true,
            0,
            &[
                (Field::JoinRef, "12"),
                (Field::Topic, "rooms:ünï"),
                (Field::Event, "custom"),
            ],
            b"\xde\xad",
        ),
        // A reply (kind 1), the absent join_ref written as zero bytes.
        Layout::new(
            true,
            1,
            &[
                (Field::JoinRef, ""),
                (Field::Ref, "60"),
                (Field::Topic, "rooms:lobby"),
                (Field::Status, "ok"),
            ],
            b"\x00\x01\x02\xffbin",
        ),
        // A broadcast (kind 2).
        Layout::new(
            true,
            2,
            &[(Field::Topic, "rooms:lobby"), (Field::Event, "shout")],
            b"\xde\xad\xbe\xef",
        ),
    ]
}

/// Cutting a binary frame inside its header or a field is `Truncated` naming that field, its
/// offset and length; cutting inside the data leaves a shorter payload.
#[test]
fn truncated_binary_frames_name_the_field_at_every_cut() {
    for layout in binary_frames() {
        let (payload, _) = layout.decode(&layout.bytes).unwrap();
        assert_eq!(payload, Payload::binary(layout.data.clone()));
        for cut in 0..layout.bytes.len() {
            let result = layout.decode(&layout.bytes[..cut]);
            let field_cut = layout
                .spans()
                .into_iter()
                .find(|&(_, start, len)| start + len > cut);
            match (result, field_cut) {
                (Err(DecodeError::Empty), _) if cut == 0 => {}
                (
                    Err(DecodeError::Truncated {
                        field: Field::Header,
                        offset: 1,
                        needed,
                        len,
                    }),
                    _,
                ) if cut > 0 && cut < layout.header_end() => {
                    assert_eq!((needed, len), (layout.fields.len(), cut));
                }
                (
                    Err(DecodeError::Truncated {
                        field,
                        offset,
                        needed,
                        len,
                    }),
                    Some(span),
                ) if cut >= layout.header_end() => {
                    assert_eq!((field, offset, needed, len), (span.0, span.1, span.2, cut));
                }
                (Ok((payload, _)), None) => {
                    let kept = &layout.bytes[layout.data_start()..cut];
                    assert_eq!(payload.as_bytes(), kept);
                }
                (other, _) => panic!("kind {} cut at {cut}: {other:?}", layout.kind),
            }
        }
    }
}

/// A length byte larger than what follows is `Truncated` for that field, whatever its value.
#[test]
fn oversized_length_bytes_are_truncations() {
    for layout in binary_frames() {
        for (i, (field, start, len)) in layout.spans().into_iter().enumerate() {
            // Every value that overshoots the frame's end.
            for claimed in (layout.bytes.len() - start + 1)..=255 {
                let mut bytes = layout.bytes.clone();
                bytes[1 + i] = u8::try_from(claimed).unwrap();
                match layout.decode(&bytes) {
                    Err(DecodeError::Truncated {
                        field: f,
                        offset,
                        needed,
                        len: frame_len,
                    }) => {
                        assert_eq!(frame_len, bytes.len());
                        assert!(needed > frame_len - offset, "{f}: {needed} at {offset}");
                        assert_eq!((f, offset, needed), (field, start, claimed), "was {len}");
                    }
                    other => panic!("kind {} {field} = {claimed}: {other:?}", layout.kind),
                }
            }
        }
    }
}

/// Each text field of a binary frame must be UTF-8; the error names it and where it starts.
/// The binary payload may hold any bytes.
#[test]
fn invalid_utf8_in_binary_fields_names_the_field() {
    let bad: &[&[u8]] = &[b"\xff", b"ok\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"a\x80b"];
    for layout in binary_frames() {
        for (i, (field, start, _)) in layout.spans().into_iter().enumerate() {
            for &bytes in bad {
                let mut broken = layout.clone();
                broken.fields[i].1 = bytes.to_vec();
                broken.build();
                match broken.decode(&broken.bytes) {
                    Err(DecodeError::Utf8 { field: f, offset }) => {
                        assert_eq!((f, offset), (field, start));
                    }
                    other => panic!("kind {} {field} = {bytes:?}: {other:?}", layout.kind),
                }
            }
        }
        let mut any_data = layout.clone();
        any_data.data = vec![0xff, 0xc3, 0x00, 0xed, 0xa0, 0x80];
        any_data.build();
        let (payload, _) = any_data.decode(&any_data.bytes).unwrap();
        assert_eq!(payload.as_bytes(), any_data.data.as_slice());
    }
}

/// Kind bytes a direction does not carry are named.
#[test]
fn unknown_kinds_are_named() {
    for kind in 0..=255u8 {
        let frame = binary(&[kind, 0, 0, 0, 0, 0]);
        if kind != 0 {
            assert!(matches!(
                Serializer::V2.decode_push(&frame),
                Err(DecodeError::UnknownKind { kind: k }) if k == kind
            ));
        }
        if kind > 2 {
            assert!(matches!(
                Serializer::V2.decode_server(&frame),
                Err(DecodeError::UnknownKind { kind: k }) if k == kind
            ));
        }
        for decoded in [
            Serializer::V1.decode_push(&frame).map(|_| ()),
            Serializer::V1.decode_server(&frame).map(|_| ()),
        ] {
            assert!(matches!(decoded, Err(DecodeError::BinaryNotSupported)));
        }
    }
    // JSON sent in a binary frame is read as a binary frame of kind `[`.
    assert!(matches!(
        Serializer::V2.decode_server(&binary(br#"[null,null,"t","e",{}]"#)),
        Err(DecodeError::UnknownKind { kind: b'[' })
    ));
}

/// Bytes that are not UTF-8 can only arrive in binary frames; as text, escapes that name no
/// character (lone surrogates) are syntax errors in the fields that become strings.
#[test]
fn invalid_utf8_in_text_is_refused() {
    let not_utf8: &[&[u8]] = &[b"[\xff]", b"[null,null,\"\xc3\",\"e\",{}]"];
    for &bytes in not_utf8 {
        assert!(std::str::from_utf8(bytes).is_err());
        __fuzz_decode(bytes);
        assert!(matches!(
            Serializer::V1.decode_push(&binary(bytes)),
            Err(DecodeError::BinaryNotSupported)
        ));
    }
    let lone = [
        (Serializer::V2, r#"[null,null,"\ud800","e",{}]"#, 13),
        (Serializer::V2, r#"[null,null,"t","\udfff",{}]"#, 17),
        (Serializer::V2, r#"["\ud800x",null,"t","e",{}]"#, 2),
        (
            Serializer::V1,
            r#"{"topic":"t","event":"\ud83d","payload":{}}"#,
            23,
        ),
    ];
    for (serializer, frame, escape_at) in lone {
        match serializer.decode_push(&text(frame)) {
            Err(DecodeError::Syntax { offset, .. }) => {
                assert!(
                    (escape_at..escape_at + 8).contains(&offset),
                    "{frame}: offset {offset}"
                );
            }
            other => panic!("{frame}: {other:?}"),
        }
    }
}

/// One expected error: its kind and, where it has one, the field it names.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Syntax,
    Shape(Field),
    Missing(Field),
}

fn kind_of(err: &DecodeError) -> Option<Kind> {
    match err {
        DecodeError::Syntax { .. } => Some(Kind::Syntax),
        DecodeError::Shape { field, .. } => Some(Kind::Shape(*field)),
        DecodeError::Missing { field } => Some(Kind::Missing(*field)),
        _ => None,
    }
}

/// Well-formed JSON that is not a Phoenix frame names the part that is wrong.
#[test]
fn wrong_shapes_name_the_field() {
    use Kind::{Missing, Shape, Syntax};
    let v2: &[(&str, Kind)] = &[
        ("{}", Shape(Field::Frame)),
        ("\"frame\"", Shape(Field::Frame)),
        ("5", Shape(Field::Frame)),
        ("null", Shape(Field::Frame)),
        ("[]", Missing(Field::JoinRef)),
        ("[null]", Missing(Field::Ref)),
        (r#"[null,"1"]"#, Missing(Field::Topic)),
        (r#"[null,"1","t"]"#, Missing(Field::Event)),
        (r#"[null,"1","t","e"]"#, Missing(Field::Payload)),
        (r#"[true,"1","t","e",{}]"#, Shape(Field::JoinRef)),
        (r#"[1.5,"1","t","e",{}]"#, Shape(Field::JoinRef)),
        (r#"[null,{},"t","e",{}]"#, Shape(Field::Ref)),
        (r#"[null,null,null,"e",{}]"#, Shape(Field::Topic)),
        (r#"[null,null,["t"],"e",{}]"#, Shape(Field::Topic)),
        (r#"[null,null,"t",1,{}]"#, Shape(Field::Event)),
        (r#"[null,null,"t",null,{}]"#, Shape(Field::Event)),
        (r#"[null,null,"t","e",{}] []"#, Syntax),
        (r#"[null,null,"t","e",{},]"#, Syntax),
        (r#"[null,null,"t","e",{"a"}]"#, Syntax),
        (r#"[null,null,"t","e",nul]"#, Syntax),
        ("[null,null,\"t\n\",\"e\",{}]", Syntax),
    ];
    let v2_replies: &[(&str, Kind)] = &[
        (r#"[null,"1","t","phx_reply",[]]"#, Shape(Field::Payload)),
        (r#"[null,"1","t","phx_reply","ok"]"#, Shape(Field::Payload)),
        (r#"[null,"1","t","phx_reply",{}]"#, Missing(Field::Status)),
        (
            r#"[null,"1","t","phx_reply",{"response":{}}]"#,
            Missing(Field::Status),
        ),
        (
            r#"[null,"1","t","phx_reply",{"status":1}]"#,
            Shape(Field::Status),
        ),
        (
            r#"[null,"1","t","phx_reply",{"status":null,"response":{}}]"#,
            Shape(Field::Status),
        ),
    ];
    let v1: &[(&str, Kind)] = &[
        ("[]", Shape(Field::Frame)),
        ("\"x\"", Shape(Field::Frame)),
        (r#"{"event":"e","payload":{}}"#, Missing(Field::Topic)),
        (r#"{"topic":"t","payload":{}}"#, Missing(Field::Event)),
        (r#"{"topic":"t","event":"e"}"#, Missing(Field::Payload)),
        (
            r#"{"topic":1,"event":"e","payload":{}}"#,
            Shape(Field::Topic),
        ),
        (
            r#"{"topic":"t","event":[],"payload":{}}"#,
            Shape(Field::Event),
        ),
        (
            r#"{"topic":"t","event":"e","payload":{},"ref":false}"#,
            Shape(Field::Ref),
        ),
        (
            r#"{"topic":"t","event":"e","payload":{},"join_ref":{}}"#,
            Shape(Field::JoinRef),
        ),
        (r#"{"topic":"t","event":"e","payload":}"#, Syntax),
        (
            r#"{"event":"phx_reply","payload":{"response":{}},"ref":"1","topic":"t"}"#,
            Missing(Field::Status),
        ),
    ];
    let cases = v2
        .iter()
        .map(|c| (Serializer::V2, false, c))
        .chain(v2_replies.iter().map(|c| (Serializer::V2, true, c)))
        .chain(
            v1.iter()
                .map(|c| (Serializer::V1, c.0.contains("phx_reply"), c)),
        );
    for (serializer, reply_only, &(frame, expected)) in cases {
        let server = serializer.decode_server(&text(frame)).map(|_| ());
        let err = server.expect_err(frame);
        assert_eq!(kind_of(&err), Some(expected), "{frame}: {err}");
        if !reply_only {
            let err = serializer
                .decode_push(&text(frame))
                .map(|_| ())
                .expect_err(frame);
            assert_eq!(kind_of(&err), Some(expected), "{frame}: {err}");
        }
    }
}

/// Errors inside a reply's body give offsets into the frame, at the value that is wrong
/// (serde_json reports the last byte it read: the one before a value it rejects on sight,
/// or the value's end).
#[test]
fn reply_body_errors_point_into_the_frame() {
    let frame = r#"[null,"1","t","phx_reply",{"status":12345}]"#;
    let at = frame.find("12345").unwrap();
    match Serializer::V2.decode_server(&text(frame)) {
        Err(DecodeError::Shape {
            field: Field::Status,
            offset,
            ..
        }) => assert!((at - 1..=at + 5).contains(&offset), "{offset} vs {at}"),
        other => panic!("{other:?}"),
    }
    let frame = r#"{"event":"phx_reply","payload":{"status":[]},"ref":"1","topic":"t"}"#;
    let at = frame.find("[]").unwrap();
    match Serializer::V1.decode_server(&text(frame)) {
        Err(DecodeError::Shape {
            field: Field::Status,
            offset,
            ..
        }) => assert!((at - 1..=at + 2).contains(&offset), "{offset} vs {at}"),
        other => panic!("{other:?}"),
    }
}

fn nest(open: &str, depth: usize, inner: &str, close: &str) -> String {
    let mut s = String::with_capacity(depth * (open.len() + close.len()) + inner.len());
    for _ in 0..depth {
        s.push_str(open);
    }
    s.push_str(inner);
    for _ in 0..depth {
        s.push_str(close);
    }
    s
}

/// Nesting bombs in every position: fields that must be strings refuse them at once (no
/// recursion), payloads and ignored values are skipped without recursion and kept, and a
/// bomb left open is a syntax error. Parsing a deep payload into a type is an error, never
/// a stack overflow.
#[test]
fn nesting_bombs_never_overflow_the_stack() {
    use Kind::{Shape, Syntax};
    for depth in [127, 128, 129, 10_000, 1_000_000] {
        let arrays = nest("[", depth, "1", "]");
        let objects = nest(r#"{"a":"#, depth, "1", "}");
        let open = "[".repeat(depth);
        for bomb in [&arrays, &objects] {
            let failing: Vec<(Serializer, String, Kind)> = vec![
                (
                    Serializer::V2,
                    format!(r#"[{bomb},null,"t","e",{{}}]"#),
                    Shape(Field::JoinRef),
                ),
                (
                    Serializer::V2,
                    format!(r#"[null,{bomb},"t","e",{{}}]"#),
                    Shape(Field::Ref),
                ),
                (
                    Serializer::V2,
                    format!(r#"[null,null,{bomb},"e",{{}}]"#),
                    Shape(Field::Topic),
                ),
                (
                    Serializer::V2,
                    format!(r#"[null,null,"t",{bomb},{{}}]"#),
                    Shape(Field::Event),
                ),
                (
                    Serializer::V2,
                    format!(r#"[null,null,"t","e",{open}"#),
                    Syntax,
                ),
                (Serializer::V2, open.clone(), Shape(Field::JoinRef)),
                (
                    Serializer::V1,
                    format!(r#"{{"topic":{bomb},"event":"e","payload":{{}}}}"#),
                    Shape(Field::Topic),
                ),
                (
                    Serializer::V1,
                    format!(r#"{{"topic":"t","event":"e","payload":{open}}}"#),
                    Syntax,
                ),
            ];
            for (serializer, frame, expected) in failing {
                let err = serializer.decode_push(&text(&frame)).unwrap_err();
                assert_eq!(kind_of(&err), Some(expected), "depth {depth}: {err}");
            }
            let reply = format!(r#"[null,"1","t","phx_reply",{{"status":{bomb}}}]"#);
            let err = Serializer::V2.decode_server(&text(&reply)).unwrap_err();
            assert_eq!(kind_of(&err), Some(Shape(Field::Status)), "depth {depth}");

            let kept = [
                (Serializer::V2, format!(r#"[null,null,"t","e",{bomb}]"#)),
                (
                    Serializer::V2,
                    format!(r#"[null,null,"t","e",{{}},{bomb}]"#),
                ),
                (
                    Serializer::V1,
                    format!(r#"{{"topic":"t","event":"e","payload":{bomb}}}"#),
                ),
                (
                    Serializer::V1,
                    format!(r#"{{"x":{bomb},"topic":"t","event":"e","payload":{{}}}}"#),
                ),
            ];
            for (serializer, frame) in kept {
                let message = serializer.decode_push(&text(&frame)).unwrap();
                if message.payload.len() == bomb.len() {
                    assert_eq!(message.payload.as_bytes(), bomb.as_bytes());
                    let typed = message.payload.decode::<serde_json::Value>();
                    assert_eq!(typed.is_ok(), depth < 128, "depth {depth}");
                }
            }
            let reply =
                format!(r#"[null,"1","t","phx_reply",{{"response":{bomb},"status":"ok"}}]"#);
            let Ok(ServerMessage::Reply(reply)) = Serializer::V2.decode_server(&text(&reply))
            else {
                panic!("depth {depth}: a deep response is still a reply");
            };
            assert_eq!(reply.status, ReplyStatus::Ok);
            assert_eq!(reply.response.len(), bomb.len());
        }
    }
}

/// The fuzz body's own checks hold on the frames it is seeded with.
#[test]
fn fuzz_body_accepts_valid_frames() {
    for (_, frame) in TEXT_FRAMES {
        __fuzz_decode(frame.as_bytes());
    }
    for layout in binary_frames() {
        __fuzz_decode(&layout.bytes);
    }
    let message = Message::broadcast("t", "e", Payload::binary(vec![1u8, 2]));
    let frame = Serializer::V2.encode_message(&message).unwrap();
    __fuzz_decode(frame.as_bytes());
}
