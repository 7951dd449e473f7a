//! Slipstream's repeater guide, written with `slipstream::testing`: the client joins
//! `rooms:lobby` with empty params right after connecting, the test pushes a message, and a
//! subscriber on the local hub receives it with the same topic, event and payload bytes.

use futures_util::StreamExt;
use serde_json::json;
use slipstream::endpoint::Hub;
use slipstream::protocol::Payload;
use slipstream::testing::{Expect, TestServer};

#[slipstream::client(topics = ["rooms:lobby"])]
#[repeat(to = self.hub)]
struct Repeater {
    hub: Hub,
}

#[tokio::test]
async fn a_pushed_message_reaches_the_local_hub_unchanged() {
    let mut server = TestServer::bind().await.unwrap();
    let hub = Hub::new();
    let mut subscriber = hub.subscribe("rooms:lobby");
    let _repeater = Repeater { hub: hub.clone() }.start(server.config().build().unwrap());

    let mut conn = server.accept().await;
    let join = conn
        .assert_join("rooms:lobby", Expect::Exact(json!({})))
        .await;
    conn.reply_ok(&join, json!({})).await;

    let raw = r#"{ "fizz" : "buzz", "n": 1.50 }"#;
    conn.push(
        "rooms:lobby",
        "some_broadcasted_event",
        Payload::from_raw_json(raw).unwrap(),
    )
    .await;

    let message = subscriber.next().await.expect("the hub is alive");
    assert_eq!(message.topic, "rooms:lobby");
    assert_eq!(message.event, "some_broadcasted_event");
    assert_eq!(
        message.payload.as_bytes(),
        raw.as_bytes(),
        "payload bytes forwarded untouched"
    );
    assert!(message.is_broadcast(), "the repeat is a broadcast: no refs");
}

#[tokio::test]
async fn the_repeater_joins_again_after_the_server_drops_it() {
    let mut server = TestServer::bind().await.unwrap();
    let hub = Hub::new();
    let mut subscriber = hub.subscribe("rooms:lobby");
    let config = server
        .config()
        .reconnect_backoff(slipstream::Backoff::from_millis([10]))
        .build()
        .unwrap();
    let _repeater = Repeater { hub: hub.clone() }.start(config);

    let mut conn = server.accept().await;
    let join = conn.assert_join("rooms:lobby", Expect::Any).await;
    conn.reply_ok(&join, json!({})).await;
    conn.broadcast("rooms:lobby", "before", json!({})).await;
    assert_eq!(subscriber.next().await.unwrap().event, "before");
    conn.drop_connection();

    let mut conn = server.accept().await;
    let join = conn
        .assert_join("rooms:lobby", Expect::Exact(json!({})))
        .await;
    conn.reply_ok(&join, json!({})).await;
    conn.broadcast("rooms:lobby", "after", json!({})).await;
    assert_eq!(subscriber.next().await.unwrap().event, "after");
}
