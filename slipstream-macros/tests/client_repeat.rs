//! `#[repeat]` publishes every message into the endpoint, in arrival order, with the payload
//! bytes untouched and before the handlers run; `topics` limits it and `rename` moves it.

mod support;

use std::sync::{Arc, LazyLock, Mutex};

use serde_json::json;
use slipstream::protocol::{Frame, Payload, Serializer};
use slipstream::testing::TestServer;
use support::{Events, Recorder, accept_joined, next, stop};
use tokio::sync::mpsc;

#[slipstream::client(topics = ["rooms:lobby", "rooms:ops"])]
#[repeat(to = self.hub)]
struct Repeater {
    hub: Arc<Recorder>,
}

#[tokio::test]
async fn every_message_is_repeated_unchanged_and_in_order() {
    let mut server = TestServer::bind().await.unwrap();
    let (hub, mut published) = Recorder::new();
    let client = Repeater { hub: hub.clone() }.start(server.config().build().unwrap());
    let mut conn = accept_joined(&mut server, &["rooms:lobby", "rooms:ops"]).await;

    // Odd spacing, key order and number forms survive only if nothing re-encodes them.
    let raw = [
        r#"{"b" : 1,   "a":[1, 2.50]}"#,
        r#"{"text":"caf\u00e9"}"#,
        r#"  [ 3 ,4 ]"#,
        r#"1e3"#,
    ];
    for (i, text) in raw.iter().enumerate() {
        let topic = if i % 2 == 0 {
            "rooms:lobby"
        } else {
            "rooms:ops"
        };
        let payload = Payload::from_raw_json(text.as_bytes().to_vec()).unwrap();
        conn.broadcast(topic, &format!("e{i}"), payload).await;
    }
    conn.push("rooms:ops", "pushed", Payload::binary(vec![0u8, 255, 7]))
        .await;
    for _ in 0..=raw.len() {
        published.recv().await.unwrap();
    }

    let broadcasts = hub.broadcasts();
    assert_eq!(broadcasts.len(), raw.len() + 1);
    for (i, (broadcast, text)) in broadcasts.iter().zip(raw).enumerate() {
        let message = broadcast.message();
        assert_eq!(message.event, format!("e{i}"));
        assert_eq!(message.payload.as_bytes(), text.trim().as_bytes());
        let expected = format!(r#"[null,null,"{}","e{i}",{}]"#, message.topic, text.trim());
        assert_eq!(
            broadcast.frame(Serializer::V2).unwrap(),
            Frame::Text(expected.into())
        );
    }
    let pushed = broadcasts[raw.len()].message();
    assert_eq!(
        (pushed.topic.as_str(), pushed.event.as_str()),
        ("rooms:ops", "pushed")
    );
    assert_eq!(pushed.join_ref, None, "a broadcast carries no refs");
    assert_eq!(pushed.payload.as_binary().unwrap().as_ref(), &[0, 255, 7]);
    stop(client, conn).await;
}

/// A static endpoint, and the signal of its first publish, taken once by the test.
type Mirror = (Arc<Recorder>, Mutex<Option<mpsc::UnboundedReceiver<()>>>);

static MIRROR: LazyLock<Mirror> = LazyLock::new(|| {
    let (recorder, rx) = Recorder::new();
    (recorder, Mutex::new(Some(rx)))
});

struct Watcher {
    events: Events,
    hub: Arc<Recorder>,
}

/// Only `rooms:lobby` is repeated, into `mirror:lobby` of a static endpoint; handlers see
/// every message after it was repeated.
#[slipstream::client(topics = ["rooms:lobby", "rooms:ops"])]
#[repeat(to = MIRROR.0, topics = ["rooms:lobby"], rename = "mirror:lobby")]
#[repeat(to = self.hub)]
impl Watcher {
    #[on_message]
    fn seen(&mut self, topic: &str) {
        let repeated = (MIRROR.0.len(), self.hub.len());
        self.events.send(format!("{topic} {repeated:?}")).unwrap();
    }
}

#[tokio::test]
async fn repeat_topics_and_rename_and_handlers_run_after() {
    let mut server = TestServer::bind().await.unwrap();
    let (events, mut seen) = mpsc::unbounded_channel();
    let (hub, _published) = Recorder::new();
    let mut mirrored = MIRROR.1.lock().unwrap().take().unwrap();
    let watcher = Watcher {
        events,
        hub: hub.clone(),
    };
    let client = watcher.start(server.config().build().unwrap());
    let mut conn = accept_joined(&mut server, &["rooms:lobby", "rooms:ops"]).await;

    conn.broadcast("rooms:lobby", "a", json!({ "n": 1 })).await;
    conn.broadcast("rooms:ops", "b", json!({ "n": 2 })).await;
    conn.broadcast("rooms:lobby", "c", json!({ "n": 3 })).await;

    assert_eq!(next(&mut seen).await, "rooms:lobby (1, 1)");
    assert_eq!(next(&mut seen).await, "rooms:ops (1, 2)");
    assert_eq!(next(&mut seen).await, "rooms:lobby (2, 3)");
    mirrored.recv().await.unwrap();
    let mirrored: Vec<_> = MIRROR.0.broadcasts();
    let topics: Vec<_> = mirrored.iter().map(|b| b.topic().to_string()).collect();
    assert_eq!(topics, ["mirror:lobby", "mirror:lobby"]);
    let events: Vec<_> = mirrored
        .iter()
        .map(|b| b.message().event.to_string())
        .collect();
    assert_eq!(events, ["a", "c"]);
    assert_eq!(mirrored[1].message().payload.as_bytes(), br#"{"n":3}"#);
    stop(client, conn).await;
}

/// Two repeats and no handlers: the last one takes the message rather than a copy, and
/// both still get every message.
#[slipstream::client(topics = ["rooms:lobby", "rooms:ops"])]
#[repeat(to = self.all)]
#[repeat(to = self.lobby, topics = ["rooms:lobby"], rename = "copy:lobby")]
struct Fanout {
    all: Arc<Recorder>,
    lobby: Arc<Recorder>,
}

#[tokio::test]
async fn several_repeats_without_handlers_each_get_every_message() {
    let mut server = TestServer::bind().await.unwrap();
    let (all, mut all_published) = Recorder::new();
    let (lobby, mut lobby_published) = Recorder::new();
    let fanout = Fanout {
        all: all.clone(),
        lobby: lobby.clone(),
    };
    let client = fanout.start(server.config().build().unwrap());
    let mut conn = accept_joined(&mut server, &["rooms:lobby", "rooms:ops"]).await;

    conn.broadcast("rooms:lobby", "a", json!({ "n": 1 })).await;
    conn.broadcast("rooms:ops", "b", json!({ "n": 2 })).await;
    conn.broadcast("rooms:lobby", "c", json!({ "n": 3 })).await;
    for _ in 0..3 {
        all_published.recv().await.unwrap();
    }
    for _ in 0..2 {
        lobby_published.recv().await.unwrap();
    }

    let seen = |recorder: &Recorder| -> Vec<String> {
        let broadcasts = recorder.broadcasts();
        let describe = |b: &slipstream::endpoint::Broadcast| {
            let m = b.message();
            format!(
                "{} {} {}",
                m.topic,
                m.event,
                m.payload.as_json().unwrap().as_str()
            )
        };
        broadcasts.iter().map(describe).collect()
    };
    assert_eq!(
        seen(&all),
        [
            r#"rooms:lobby a {"n":1}"#,
            r#"rooms:ops b {"n":2}"#,
            r#"rooms:lobby c {"n":3}"#
        ]
    );
    assert_eq!(
        seen(&lobby),
        [r#"copy:lobby a {"n":1}"#, r#"copy:lobby c {"n":3}"#]
    );
    stop(client, conn).await;
}
