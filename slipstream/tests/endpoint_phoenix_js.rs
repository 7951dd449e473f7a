//! Interop with the official `phoenix` npm client: phoenix.js (driven by
//! `tests/js/phoenix_client.js`) joins an `EndpointServer`, is refused where it should be,
//! receives broadcasts in order, binary included, gets heartbeat replies, leaves, and rejoins
//! on its own after the server restarts on the same port.
//!
//! Needs Node.js and the packages from the repository's `package-lock.json`: run `npm ci`
//! at the repository root first.

#[path = "../../tests/support/phoenix_js.rs"]
mod phoenix_js;
mod support;

use std::path::{Path, PathBuf};

use base64::Engine;
use phoenix_js::PhoenixJs;
use serde_json::json;
use slipstream::endpoint::{Endpoint, EndpointServer, Hub, Refusal};
use slipstream::protocol::Payload;
use support::fixture_server;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the workspace")
        .to_owned()
}

#[tokio::test]
async fn phoenix_js_joins_is_refused_receives_pushes_and_leaves() {
    let hub = Hub::new();
    let server = fixture_server(&hub).bind("127.0.0.1:0").await.unwrap();
    let mut js = PhoenixJs::spawn(
        &repo_root(),
        &server.url(),
        &json!({ "heartbeatIntervalMs": 100 }),
    );

    let joined = js.join("rooms:lobby").await;
    assert_eq!(joined["response"], json!({}));

    js.send(json!({ "cmd": "join", "topic": "rooms:forbidden" }))
        .await;
    let refused = js
        .wait_for("refused", |e| e["topic"] == "rooms:forbidden")
        .await;
    assert_eq!(refused["response"], json!({ "reason": "unauthorized" }));
    js.send(json!({ "cmd": "join", "topic": "nosuch:topic" }))
        .await;
    let refused = js
        .wait_for("refused", |e| e["topic"] == "nosuch:topic")
        .await;
    assert_eq!(refused["response"], json!({ "reason": "unmatched topic" }));

    // Broadcasts arrive in order, then a binary one.
    for n in 0..200 {
        assert_eq!(hub.broadcast("rooms:lobby", "msg", json!({ "n": n })), 1);
    }
    hub.broadcast("rooms:lobby", "blob", Payload::binary(vec![0u8, 1, 2, 255]));
    for n in 0..200 {
        let message = js.wait_for("message", |_| true).await;
        assert_eq!(message["event"], "msg");
        assert_eq!(message["payload"], json!({ "n": n }));
    }
    let blob = js.wait_for("message", |_| true).await;
    assert_eq!(blob["event"], "blob");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(blob["binary"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, [0, 1, 2, 255]);

    // A push answered by the push hook, and phoenix.js's own heartbeat answered.
    js.send(
        json!({ "cmd": "push", "topic": "rooms:lobby", "event": "ping", "payload": { "x": 1 } }),
    )
    .await;
    let reply = js.wait_for("reply", |_| true).await;
    assert_eq!(
        (&reply["status"], &reply["response"]),
        (&json!("ok"), &json!({ "x": 1 }))
    );
    js.wait_for("heartbeat_reply", |e| e["status"] == "ok")
        .await;

    // phoenix.js reports a leave as soon as it is sent; a push on another topic, answered
    // after the leave, shows the server has handled it.
    js.join("rooms:ops").await;
    js.send(json!({ "cmd": "leave", "topic": "rooms:lobby" }))
        .await;
    js.wait_for("left", |e| e["topic"] == "rooms:lobby").await;
    js.send(json!({ "cmd": "push", "topic": "rooms:ops", "event": "ping", "payload": {} }))
        .await;
    js.wait_for("reply", |e| e["topic"] == "rooms:ops").await;
    assert_eq!(hub.subscriber_count("rooms:lobby"), 0);
    assert_eq!(hub.subscriber_count("rooms:ops"), 1);
    js.exit().await;
    assert_eq!(server.stats().malformed_frames, 0);
}

#[tokio::test]
async fn phoenix_js_sends_its_auth_token_as_a_subprotocol() {
    let hub = Hub::new();
    let server = EndpointServer::builder(hub)
        .on_connect(|info| match info.auth_token() {
            Some("s3cret-token") => Ok(()),
            _ => Err(Refusal::new("no token")),
        })
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let mut js = PhoenixJs::spawn(
        &repo_root(),
        &server.url(),
        &json!({ "authToken": "s3cret-token" }),
    );
    js.join("rooms:lobby").await;
    js.exit().await;
    assert_eq!(server.stats().refused, 0);
}

#[tokio::test]
async fn phoenix_js_rejoins_by_itself_after_a_server_restart() {
    let hub = Hub::new();
    let server = EndpointServer::bind("127.0.0.1:0", hub.clone())
        .await
        .unwrap();
    let addr = server.local_addr();
    let mut js = PhoenixJs::spawn(&repo_root(), &server.url(), &json!({}));
    js.join("rooms:lobby").await;
    js.join("rooms:ops").await;

    server.shutdown().await;
    let closed = js.wait_for("close", |_| true).await;
    assert_eq!(closed["code"], 1001);
    assert_eq!(hub.subscriber_count("rooms:lobby"), 0);

    let server = EndpointServer::bind(addr, hub.clone()).await.unwrap();
    js.wait_for("open", |_| true).await;
    for topic in ["rooms:lobby", "rooms:ops"] {
        js.wait_for("joined", |e| e["topic"] == topic).await;
    }
    hub.broadcast("rooms:ops", "after_restart", json!({ "ok": true }));
    let message = js.wait_for("message", |_| true).await;
    assert_eq!(message["event"], "after_restart");
    assert_eq!(server.stats().accepted, 1);
    js.exit().await;
}
