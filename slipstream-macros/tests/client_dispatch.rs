//! Messages reach the most specific handler: exact topic and event, then pattern and event,
//! then any topic and event, then topic only, then the catch-all. Payloads decode into
//! the handler's type; one that does not is counted and reaches `#[on_decode_error]`.

mod support;

use serde::Deserialize;
use serde_json::json;
use slipstream::Socket;
use slipstream::protocol::{Message, Payload, PayloadError, SharedStr};
use slipstream::testing::TestServer;
use support::{Events, accept_joined, next, stop};
use tokio::sync::mpsc;

struct Router {
    events: Events,
}

#[slipstream::client(topics = ["rooms:lobby", "rooms:ops", "users:ada"])]
impl Router {
    #[on_message(topic = "rooms:lobby", event = "new_msg")]
    fn exact_event(&mut self) {
        self.report("exact_event");
    }

    #[on_message(topic = "rooms:*", event = "new_msg")]
    fn pattern_event(&mut self, topic: &SharedStr) {
        self.report(&format!("pattern_event {topic}"));
    }

    #[on_message(event = "new_msg")]
    fn any_event(&mut self, topic: &str) {
        self.report(&format!("any_event {topic}"));
    }

    #[on_message(topic = "rooms:lobby")]
    async fn exact(&mut self, message: Message) {
        self.report(&format!("exact {}", message.event));
    }

    #[on_message(topic = "rooms:*")]
    fn pattern(&mut self, payload: Payload) {
        self.report(&format!("pattern {}", payload.as_json().unwrap()));
    }

    #[on_message]
    fn catch_all(&mut self, socket: &mut Socket, message: Message) -> slipstream::Result<()> {
        assert!(socket.is_joined(&message.topic));
        self.report(&format!("catch_all {} {}", message.topic, message.event));
        Ok(())
    }
}

impl Router {
    fn report(&self, what: &str) {
        self.events.send(what.to_owned()).unwrap();
    }
}

#[tokio::test]
async fn each_message_reaches_the_most_specific_handler() {
    let mut server = TestServer::bind().await.unwrap();
    let (events, mut seen) = mpsc::unbounded_channel();
    let client = Router { events }.start(server.config().build().unwrap());
    let topics = ["rooms:lobby", "rooms:ops", "users:ada"];
    let mut conn = accept_joined(&mut server, &topics).await;

    let cases = [
        ("rooms:lobby", "new_msg", "exact_event"),
        ("rooms:ops", "new_msg", "pattern_event rooms:ops"),
        ("users:ada", "new_msg", "any_event users:ada"),
        ("rooms:lobby", "typing", "exact typing"),
        ("rooms:ops", "typing", r#"pattern {"n":1}"#),
        ("users:ada", "typing", "catch_all users:ada typing"),
    ];
    for (topic, event, _) in cases {
        conn.broadcast(topic, event, json!({ "n": 1 })).await;
    }
    for (_, _, expected) in cases {
        assert_eq!(next(&mut seen).await, expected);
    }
    stop(client, conn).await;
}

#[derive(Debug, Deserialize)]
struct NewMsg {
    body: String,
}

struct Typed {
    events: Events,
}

#[slipstream::client(topics = ["rooms:lobby"])]
impl Typed {
    #[on_message(topic = "rooms:lobby", event = "new_msg")]
    async fn new_msg(&mut self, msg: NewMsg) {
        self.events.send(format!("body {}", msg.body)).unwrap();
    }

    #[on_decode_error]
    fn undecodable(&mut self, message: &Message, error: PayloadError) {
        let _ = error;
        self.events
            .send(format!("undecodable {} {}", message.topic, message.event))
            .unwrap();
    }
}

#[tokio::test]
async fn a_payload_that_does_not_decode_is_counted_and_reported() {
    let mut server = TestServer::bind().await.unwrap();
    let (events, mut seen) = mpsc::unbounded_channel();
    let client = Typed { events }.start(server.config().build().unwrap());
    let mut conn = accept_joined(&mut server, &["rooms:lobby"]).await;

    conn.broadcast("rooms:lobby", "new_msg", json!({ "body": "hello" }))
        .await;
    conn.broadcast("rooms:lobby", "new_msg", json!({ "nobody": 1 }))
        .await;
    conn.broadcast("rooms:lobby", "new_msg", json!({ "body": "again" }))
        .await;

    assert_eq!(next(&mut seen).await, "body hello");
    assert_eq!(next(&mut seen).await, "undecodable rooms:lobby new_msg");
    assert_eq!(next(&mut seen).await, "body again");
    let counters = client.counters();
    assert_eq!(counters.payload_errors, 1);
    assert_eq!(counters.callback_errors, 0);
    stop(client, conn).await;
}

/// Without a `#[on_decode_error]` handler the default logs; the counter still counts.
struct Quiet {
    events: Events,
}

#[slipstream::client(topics = ["rooms:lobby"])]
impl Quiet {
    #[on_message(topic = "rooms:lobby")]
    fn any(&mut self, msg: NewMsg) {
        self.events.send(msg.body).unwrap();
    }
}

#[tokio::test]
async fn the_default_decode_error_hook_counts_too() {
    let mut server = TestServer::bind().await.unwrap();
    let (events, mut seen) = mpsc::unbounded_channel();
    let client = Quiet { events }.start(server.config().build().unwrap());
    let mut conn = accept_joined(&mut server, &["rooms:lobby"]).await;

    conn.broadcast("rooms:lobby", "a", json!([1, 2])).await;
    conn.broadcast("rooms:lobby", "b", Payload::binary(vec![1u8, 2]))
        .await;
    conn.broadcast("rooms:lobby", "c", json!({ "body": "ok" }))
        .await;

    assert_eq!(next(&mut seen).await, "ok");
    assert_eq!(client.counters().payload_errors, 2);
    stop(client, conn).await;
}
