//! Codec speed: decoding a V2 broadcast against serde_json merely skimming the same bytes.
//!
//! `decode/<size>/slipstream` decodes a broadcast text frame `[null,null,topic,event,payload]`
//! into a [`Message`]; `decode/<size>/serde_json_ignored_any` runs
//! `serde_json::from_slice::<IgnoredAny>` on the same bytes, the least any JSON decoder must
//! do: the target is at most 1.5 times its time. `encode/<size>` writes the same message and
//! `decode_binary/<size>` decodes the binary broadcast (kind 2) of the same size.
//!
//! Run with `cargo bench -p slipstream --bench codec`.

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde::de::IgnoredAny;
use slipstream::protocol::{Frame, Message, Payload, Serializer, ServerMessage};

/// A chat-like JSON object of exactly `size` bytes: a few fields, a body padded to fit.
fn payload(size: usize) -> String {
    let mut json = String::from(r#"{"id":1234567,"user":{"name":"ada"},"body":""#);
    let tail = r#"","seen":false}"#;
    let words = [
        "lorem ",
        "ipsum ",
        "dolor ",
        "sit ",
        "amet, ",
        "\\\"quoted\\\" ",
        "é ",
    ];
    for word in words.iter().cycle() {
        if json.len() + word.len() + tail.len() > size {
            break;
        }
        json.push_str(word);
    }
    while json.len() + tail.len() < size {
        json.push('.');
    }
    json.push_str(tail);
    assert_eq!(json.len(), size);
    json
}

fn broadcast(size: usize) -> Message {
    let payload = Payload::from_raw_json(payload(size)).expect("valid JSON");
    Message::broadcast("rooms:lobby", "new_msg", payload)
}

fn decode(frame: &Frame) -> Message {
    match Serializer::V2.decode_server(frame) {
        Ok(ServerMessage::Message(message)) => message,
        other => panic!("not a broadcast: {other:?}"),
    }
}

fn sizes() -> [(&'static str, usize); 2] {
    [("100B", 100), ("1KiB", 1024)]
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for (name, size) in sizes() {
        let message = broadcast(size);
        let frame = Serializer::V2.encode_message(&message).unwrap();
        assert_eq!(decode(&frame), message);
        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.bench_with_input(BenchmarkId::new(name, "slipstream"), &frame, |b, frame| {
            b.iter(|| decode(black_box(frame)));
        });
        let bytes = frame.as_bytes().clone();
        group.bench_with_input(
            BenchmarkId::new(name, "serde_json_ignored_any"),
            &bytes,
            |b, bytes| {
                b.iter(|| serde_json::from_slice::<IgnoredAny>(black_box(bytes)).unwrap());
            },
        );
    }
    group.finish();
}

fn bench_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for (name, size) in sizes() {
        let message = broadcast(size);
        group.throughput(Throughput::Bytes(message.payload.len() as u64));
        group.bench_with_input(BenchmarkId::new(name, "text"), &message, |b, message| {
            b.iter(|| Serializer::V2.encode_message(black_box(message)).unwrap());
        });
        let binary = Message::broadcast("rooms:lobby", "new_msg", vec![7u8; size]);
        group.bench_with_input(BenchmarkId::new(name, "binary"), &binary, |b, message| {
            b.iter(|| Serializer::V2.encode_message(black_box(message)).unwrap());
        });
    }
    group.finish();
}

fn bench_decode_binary(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_binary");
    for (name, size) in sizes() {
        let message = Message::broadcast("rooms:lobby", "new_msg", vec![7u8; size]);
        let frame = Serializer::V2.encode_message(&message).unwrap();
        assert_eq!(decode(&frame), message);
        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.bench_with_input(BenchmarkId::new(name, "slipstream"), &frame, |b, frame| {
            b.iter(|| decode(black_box(frame)));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_decode, bench_encode, bench_decode_binary);
criterion_main!(benches);
