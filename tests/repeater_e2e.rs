//! The main job end to end: a remote Phoenix service (an upstream `EndpointServer` fed
//! through its hub), a repeater declared with the DSL and `#[repeat(to = self.hub)]`, the
//! local `EndpointServer` serving the repeater's hub, and the official phoenix.js client
//! (`tests/js/phoenix_client.js`) joined to the local endpoint.
//!
//! phoenix.js reports every message with the raw WebSocket frame it came in, so the test
//! checks the bytes as well as what phoenix.js parsed: 5,000 broadcasts arrive in order,
//! JSON payloads byte for byte as upstream sent them, binary payloads intact; then the
//! upstream drops every socket, and broadcasts resume once the repeater has rejoined by
//! itself.
//!
//! Needs Node.js and the packages from `package-lock.json`: run `npm ci` at the repository
//! root first.

#[path = "support/phoenix_js.rs"]
mod phoenix_js;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use phoenix_js::PhoenixJs;
use serde_json::{Value, json};
use slipstream::endpoint::{Endpoint, EndpointServer, Hub};
use slipstream::protocol::{Payload, SharedStr};
use slipstream::{ClientHandle, Config};
use tokio::sync::mpsc;

/// How long any one awaited event may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

const TOPIC: &str = "rooms:lobby";

/// The burst size of the main check.
const BURST: u64 = 5_000;

/// Both hubs hold a whole burst per subscriber: the test checks that nothing is lost or
/// reordered on the way, not how a lagging subscriber is treated.
const HUB_CAPACITY: usize = 8_192;

/// The repeater: joins `rooms:lobby` upstream on every connect and repeats what arrives into
/// the local hub; it reports each successful join so the test can wait for the rejoin.
struct Repeater {
    hub: Hub,
    joined: mpsc::UnboundedSender<SharedStr>,
}

#[slipstream::client(topics = ["rooms:lobby"])]
#[repeat(to = self.hub)]
impl Repeater {
    #[on_join]
    fn joined(&mut self, topic: &SharedStr) {
        let _ = self.joined.send(topic.clone());
    }
}

/// One broadcast as upstream sends it.
#[derive(Clone, Debug)]
enum Sent {
    Json { n: u64, raw: String },
    Binary { n: u64, bytes: Vec<u8> },
}

impl Sent {
    /// Broadcast `n`: JSON in unusual but valid formatting, and every 97th one binary.
    fn number(n: u64) -> Sent {
        if n % 97 == 42 {
            let mut bytes = n.to_be_bytes().to_vec();
            bytes.extend_from_slice(&[0x00, 0xff, 0x80, b'[', b'"', 0x0a, 0xc3, 0x28]);
            return Sent::Binary { n, bytes };
        }
        let raw = match n % 5 {
            0 => format!(r#"{{"n":{n},"s":"plain"}}"#),
            1 => format!("{{ \"n\" :\t{n} ,\n  \"s\" : \"spaced\\tand\\ttabbed\"\r\n}}"),
            2 => format!(
                r#"{{"s":"\u00e9\u00E9 é \"q\" \\ \/ \ud83d\ude00 😀 \b\f\n\r\t \u0000","n":{n}}}"#
            ),
            3 => format!(
                r#"{{"n":{n},"f":1.5e+3,"g":-0.0,"h":1E-7,"i":-0,"j":100.000,"big":123456789012345678901234567890,"s":""}}"#
            ),
            _ => format!(
                r#"{{"n":{n},"a":[ 1 ,[ ],{{ }}, null,true ,false ],"o":{{"":{{"k":[]}}}},"s":"<\u2028\u2029>"}}"#
            ),
        };
        Sent::Json { n, raw }
    }

    fn n(&self) -> u64 {
        match self {
            Sent::Json { n, .. } | Sent::Binary { n, .. } => *n,
        }
    }

    fn event(&self) -> &'static str {
        match self {
            Sent::Json { .. } => "json",
            Sent::Binary { .. } => "blob",
        }
    }

    fn payload(&self) -> Payload {
        match self {
            Sent::Json { raw, .. } => Payload::from_raw_json(raw.clone()).expect("valid JSON"),
            Sent::Binary { bytes, .. } => Payload::binary(bytes.clone()),
        }
    }

    /// Checks a phoenix.js message event against this broadcast.
    fn check(&self, seen: &Value) {
        let n = self.n();
        assert_eq!(seen["topic"], TOPIC, "message {n}: {seen}");
        assert_eq!(seen["event"], self.event(), "message {n}: {seen}");
        match self {
            Sent::Json { raw, .. } => {
                // Byte identity: the frame phoenix.js received is exactly the V2 broadcast
                // around the payload as upstream sent it.
                let frame = format!(r#"[null,null,"{TOPIC}","json",{raw}]"#);
                assert_eq!(seen["raw"].as_str(), Some(frame.as_str()), "message {n}");
                // Content, as phoenix.js parsed it.
                let sent: Value = serde_json::from_str(raw).unwrap();
                assert_eq!(seen["payload"]["n"], n, "message {n} out of order: {seen}");
                assert_eq!(seen["payload"]["s"], sent["s"], "message {n}");
            }
            Sent::Binary { bytes, .. } => {
                assert_eq!(seen["binaryHex"].as_str(), Some(hex(bytes).as_str()));
                // Kind 2 (broadcast): kind, topic size, event size, topic, event, payload.
                let mut frame = vec![2, TOPIC.len() as u8, 4];
                frame.extend_from_slice(TOPIC.as_bytes());
                frame.extend_from_slice(b"blob");
                frame.extend_from_slice(bytes);
                assert_eq!(seen["rawHex"].as_str(), Some(hex(&frame).as_str()));
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The upstream Phoenix service: an endpoint server on `addr` fed through `hub`.
async fn upstream_on(addr: SocketAddr, hub: &Hub) -> EndpointServer {
    EndpointServer::builder(hub.clone())
        .topics(["rooms:*"])
        .bind(addr)
        .await
        .expect("bind the upstream")
}

fn broadcast(hub: &Hub, sent: &Sent) {
    assert_eq!(
        hub.broadcast(TOPIC, sent.event(), sent.payload()),
        1,
        "the repeater is upstream's only subscriber"
    );
}

async fn next_join(joined: &mut mpsc::UnboundedReceiver<SharedStr>) {
    let topic = tokio::time::timeout(PATIENCE, joined.recv())
        .await
        .expect("the repeater joined in time")
        .expect("the repeater is running");
    assert_eq!(topic, TOPIC);
}

/// Broadcasts `range` upstream and checks every one at phoenix.js, in order.
async fn send_and_check(
    upstream_hub: &Hub,
    js: &mut PhoenixJs,
    range: std::ops::Range<u64>,
) -> usize {
    let sent: Vec<Sent> = range.map(Sent::number).collect();
    for message in &sent {
        broadcast(upstream_hub, message);
    }
    for message in &sent {
        let seen = js.expect("message").await;
        message.check(&seen);
    }
    sent.iter()
        .filter(|s| matches!(s, Sent::Binary { .. }))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phoenix_js_gets_upstream_broadcasts_byte_for_byte_through_the_repeater() {
    let upstream_hub = Hub::builder().capacity(HUB_CAPACITY).build();
    let upstream = upstream_on("127.0.0.1:0".parse().unwrap(), &upstream_hub).await;
    let upstream_addr = upstream.local_addr();
    let local_hub = Hub::builder().capacity(HUB_CAPACITY).build();
    let local = EndpointServer::bind("127.0.0.1:0", local_hub.clone())
        .await
        .unwrap();

    let (joined_tx, mut joined) = mpsc::unbounded_channel();
    let repeater: ClientHandle<Repeater> = Repeater {
        hub: local_hub.clone(),
        joined: joined_tx,
    }
    .start(Config::new(upstream.url()).unwrap());
    next_join(&mut joined).await;
    assert_eq!(upstream_hub.subscriber_count(TOPIC), 1);

    let mut js = PhoenixJs::spawn(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &local.url(),
        &json!({ "rawFrames": true }),
    );
    js.send(json!({ "cmd": "join", "topic": TOPIC })).await;
    let reply = js.expect("joined").await;
    assert_eq!(reply["topic"], TOPIC);
    assert_eq!(local_hub.subscriber_count(TOPIC), 1);

    // 5,000 broadcasts, in order and byte for byte, binary ones among them.
    let binary = send_and_check(&upstream_hub, &mut js, 0..BURST).await;
    assert!(binary >= 50, "the burst mixes in binary broadcasts");

    // The upstream drops every socket and comes back on the same port with the same hub.
    upstream.shutdown().await;
    assert_eq!(upstream_hub.subscriber_count(TOPIC), 0);
    let upstream = upstream_on(upstream_addr, &upstream_hub).await;
    next_join(&mut joined).await;
    assert_eq!(upstream_hub.subscriber_count(TOPIC), 1);
    let counters = repeater.counters();
    assert_eq!((counters.connects, counters.reconnects), (2, 1));
    assert!(counters.rejoins >= 1, "{counters:?}");

    // Broadcasting resumes, the same repeater carrying it, phoenix.js never having left.
    send_and_check(&upstream_hub, &mut js, BURST..BURST + 500).await;
    assert!(!repeater.is_stopped());

    js.exit().await;
    assert_eq!(local.stats().malformed_frames, 0);
    repeater.shutdown().await;
    upstream.shutdown().await;
    local.shutdown().await;
    assert_eq!(upstream_hub.stats().dropped + local_hub.stats().dropped, 0);
    assert_eq!(upstream_hub.stats().disconnected, 0);
    assert_eq!(local_hub.stats().disconnected, 0);
}
