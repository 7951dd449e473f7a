//! Every handler kind runs when its callback does, and the defaults it replaces still run
//! after it: a crashed topic is rejoined, a dropped connection is reconnected.

mod support;

use serde::Deserialize;
use serde_json::json;
use slipstream::protocol::{Reply, SharedStr};
use slipstream::testing::{Expect, TestServer};
use slipstream::{DisconnectReason, ReplyError, Socket, TopicCloseReason};
use support::{Events, next, stop};
use tokio::sync::mpsc;

#[derive(Deserialize)]
struct Welcome {
    motd: String,
}

struct Lifecycle {
    events: Events,
}

impl Lifecycle {
    fn report(&self, what: String) {
        self.events.send(what).unwrap();
    }
}

#[slipstream::client(topics = ["rooms:lobby", ("rooms:ops", json!({ "token": "t" }))])]
impl Lifecycle {
    #[on_connect]
    async fn connected(&mut self, socket: &mut Socket) {
        self.report(format!("connect {}", socket.is_connected()));
    }

    #[on_join(topic = "rooms:lobby")]
    async fn joined_lobby(
        &mut self,
        socket: &mut Socket,
        welcome: Welcome,
    ) -> slipstream::Result<()> {
        self.report(format!("join rooms:lobby {}", welcome.motd));
        socket.push("rooms:lobby", "hello", json!({})).await?;
        Ok(())
    }

    #[on_join]
    fn joined(&mut self, topic: &SharedStr) {
        self.report(format!("join {topic}"));
    }

    #[on_reply]
    fn replied(&mut self, reply: Result<Reply, ReplyError>) {
        self.report(format!("reply {}", reply.unwrap().status));
    }

    #[on_topic_close(topic = "rooms:ops")]
    fn closed(&mut self, topic: &SharedStr, reason: TopicCloseReason) {
        self.report(format!("close {topic} {reason}"));
    }

    #[on_leave]
    fn left(&mut self, topic: &SharedStr) {
        self.report(format!("leave {topic}"));
    }

    #[on_disconnect]
    fn disconnected(&mut self, reason: &DisconnectReason) {
        self.report(format!("disconnect requested={}", reason.is_requested()));
    }

    #[on_info]
    fn info(&mut self, note: String) {
        self.report(format!("info {note}"));
    }

    #[on_call]
    async fn double(&mut self, request: u32) -> u32 {
        request * 2
    }
}

#[tokio::test]
async fn every_handler_kind_runs_and_defaults_still_apply() {
    let mut server = TestServer::bind().await.unwrap();
    let (events, mut seen) = mpsc::unbounded_channel();
    let client = Lifecycle { events }.start(server.config().build().unwrap());

    let mut conn = server.accept().await;
    assert_eq!(next(&mut seen).await, "connect true");
    let lobby = conn.assert_join("rooms:lobby", Expect::Any).await;
    let ops = conn.assert_join("rooms:ops", json!({ "token": "t" })).await;
    conn.reply_ok(&lobby, json!({ "motd": "hi" })).await;
    conn.reply_ok(&ops, json!({})).await;
    assert_eq!(next(&mut seen).await, "join rooms:lobby hi");
    assert_eq!(next(&mut seen).await, "join rooms:ops");

    let hello = conn.assert_push("rooms:lobby", "hello", Expect::Any).await;
    conn.reply_ok(&hello, json!({})).await;
    assert_eq!(next(&mut seen).await, "reply ok");

    // The handler runs, then the default rejoin with the same params.
    conn.crash("rooms:ops").await;
    assert_eq!(next(&mut seen).await, "close rooms:ops channel crashed");
    let rejoin = conn.assert_join("rooms:ops", json!({ "token": "t" })).await;
    conn.reply_ok(&rejoin, json!({})).await;
    assert_eq!(next(&mut seen).await, "join rooms:ops");

    client.send("note".to_owned()).await.unwrap();
    assert_eq!(next(&mut seen).await, "info note");
    assert_eq!(client.call(21).await.unwrap(), 42);

    conn.close_topic("rooms:lobby").await;
    assert_eq!(next(&mut seen).await, "leave rooms:lobby");

    // The handler runs, then the default reconnect; the listed topics are joined again.
    conn.drop_connection();
    assert_eq!(next(&mut seen).await, "disconnect requested=false");
    let mut conn = server.accept().await;
    assert_eq!(next(&mut seen).await, "connect true");
    conn.assert_join("rooms:lobby", Expect::Any).await;
    conn.assert_join("rooms:ops", json!({ "token": "t" })).await;
    stop(client, conn).await;
}
