//! Shared helpers for the endpoint tests: a server configured like the Phoenix app the
//! fixtures were captured from, a raw WebSocket client, and the fixture frames.
#![allow(
    dead_code,
    unreachable_pub,
    reason = "a helper module shared by several test binaries, each using part of it"
)]

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use slipstream::endpoint::{Endpoint, EndpointServer, EndpointServerBuilder, Hub, PushReply};
use slipstream::protocol::Payload;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const FIXTURES: &str = include_str!("../fixtures/phoenix-1.7-frames.txt");

/// How long a test waits for a frame before failing (a hang guard, not a speed check).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A server builder with hooks that behave like the channels of the fixture app:
/// `rooms:*` and `presence:*` joinable, `rooms:forbidden` refused, join params echoed,
/// `ping` echoed, `shout` broadcast, `error_reply` answered with an error.
pub fn fixture_server(hub: &Hub) -> EndpointServerBuilder {
    let shouts = hub.clone();
    EndpointServer::builder(hub.clone())
        .topics(["rooms:*", "presence:*"])
        .on_join(|join| {
            if join.topic == "rooms:forbidden" {
                return Err(Payload::from(json!({ "reason": "unauthorized" })));
            }
            match join.params.decode::<serde_json::Value>() {
                Ok(params) if params.as_object().is_some_and(|o| !o.is_empty()) => {
                    Ok(Payload::from(json!({ "params": params })))
                }
                _ => Ok(Payload::empty()),
            }
        })
        .on_push(move |push| match push.event {
            "ping" => PushReply::Ok(push.payload.clone()),
            "error_reply" => PushReply::Error(push.payload.clone()),
            "shout" => {
                shouts.broadcast(push.topic, "shout", push.payload.clone());
                PushReply::NoReply
            }
            event => PushReply::Error(Payload::from(
                json!({ "event": event, "reason": "unknown event" }),
            )),
        })
}

/// What a raw client receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    Text(String),
    Binary(Vec<u8>),
    Close(Option<(u16, String)>),
}

/// A WebSocket client that sends and checks raw frames.
pub struct RawClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl RawClient {
    /// Connects to `server` with `?vsn=...` (or no query when `vsn` is empty).
    pub async fn connect(server: &EndpointServer, vsn: &str) -> RawClient {
        let url = if vsn.is_empty() {
            server.url()
        } else {
            format!("{}?vsn={vsn}", server.url())
        };
        Self::connect_url(&url).await
    }

    pub async fn connect_url(url: &str) -> RawClient {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket upgrade");
        RawClient { ws }
    }

    pub fn from_ws(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> RawClient {
        RawClient { ws }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(WsMessage::Text(Utf8Bytes::from(text)))
            .await
            .expect("send text");
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.ws
            .send(WsMessage::Binary(Bytes::copy_from_slice(bytes)))
            .await
            .expect("send binary");
    }

    /// The next data or close frame; `None` when the connection ended without a close
    /// frame.
    pub async fn recv(&mut self) -> Option<Received> {
        loop {
            let next = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a frame within the patience window");
            return match next? {
                Ok(WsMessage::Text(text)) => Some(Received::Text(text.to_string())),
                Ok(WsMessage::Binary(bytes)) => Some(Received::Binary(bytes.to_vec())),
                Ok(WsMessage::Close(frame)) => Some(Received::Close(
                    frame.map(|f| (u16::from(f.code), f.reason.to_string())),
                )),
                Ok(_) => continue,
                Err(_) => None,
            };
        }
    }

    pub async fn expect_text(&mut self, expected: &str) {
        assert_eq!(self.recv().await, Some(Received::Text(expected.to_owned())));
    }

    pub async fn expect_binary(&mut self, expected: &[u8]) {
        assert_eq!(self.recv().await, Some(Received::Binary(expected.to_vec())));
    }

    /// Reads until the close frame and checks its code.
    pub async fn expect_close(&mut self, code: CloseCode) {
        match self.recv().await {
            Some(Received::Close(Some((got, _)))) => assert_eq!(got, u16::from(code)),
            other => panic!("expected close {code}, got {other:?}"),
        }
    }

    /// Joins `topic` with join ref and ref `join_ref` (V2) and checks the ok reply.
    pub async fn join(&mut self, topic: &str, join_ref: &str) {
        self.send_text(&format!(
            r#"["{join_ref}","{join_ref}","{topic}","phx_join",{{}}]"#
        ))
        .await;
        self.expect_text(&format!(
            r#"["{join_ref}","{join_ref}","{topic}","phx_reply",{{"response":{{}},"status":"ok"}}]"#
        ))
        .await;
    }

    /// A heartbeat round trip: proves the connection is alive and everything sent before
    /// was handled.
    pub async fn heartbeat(&mut self, reference: &str) {
        self.send_text(&format!(
            r#"[null,"{reference}","phoenix","heartbeat",{{}}]"#
        ))
        .await;
        self.expect_text(&format!(
            r#"[null,"{reference}","phoenix","phx_reply",{{"response":{{}},"status":"ok"}}]"#
        ))
        .await;
    }

    pub fn into_inner(self) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        self.ws
    }
}

/// One frame of a fixture conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Send(Frame),
    Expect(Frame),
}

/// A frame's contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

/// The frames of fixture section `number`, in order.
pub fn fixture(number: u32) -> Vec<Step> {
    let header = format!("## {number}.");
    let mut steps = Vec::new();
    let mut inside = false;
    for line in FIXTURES.lines() {
        if line.starts_with("## ") {
            inside = line.starts_with(&header);
            continue;
        }
        if !inside {
            continue;
        }
        let line = line.trim_start();
        let (send, rest) = match (line.strip_prefix(">> "), line.strip_prefix("<< ")) {
            (Some(rest), _) => (true, rest),
            (_, Some(rest)) => (false, rest),
            _ => continue,
        };
        let frame = if let Some(text) = rest.strip_prefix("TEXT ") {
            Frame::Text(text.to_owned())
        } else if let Some((_, hex)) = rest.split_once("hex=") {
            Frame::Binary(decode_hex(hex.trim()))
        } else {
            continue;
        };
        steps.push(if send {
            Step::Send(frame)
        } else {
            Step::Expect(frame)
        });
    }
    assert!(!steps.is_empty(), "fixture section {number} has frames");
    steps
}

/// Sends and checks `steps` in order.
pub async fn replay(client: &mut RawClient, steps: &[Step]) {
    for step in steps {
        match step {
            Step::Send(Frame::Text(text)) => client.send_text(text).await,
            Step::Send(Frame::Binary(bytes)) => client.send_binary(bytes).await,
            Step::Expect(Frame::Text(text)) => client.expect_text(text).await,
            Step::Expect(Frame::Binary(bytes)) => client.expect_binary(bytes).await,
        }
    }
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// The resident set size of this process, in KiB, from `/proc/self/status`.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("linux /proc");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line")
}
