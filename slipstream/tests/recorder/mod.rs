//! A client that reports every callback to the test, and joins given topics on connect.

#![allow(dead_code, reason = "each test file uses part of the recorder")]

use std::time::Duration;

use serde_json::Value;
use slipstream::protocol::{Message, Payload, PayloadError, Reply, SharedStr};
use slipstream::{Client, DisconnectReason, ReplyError, Socket, TopicCloseReason};
use tokio::sync::mpsc;

/// A callback the client saw.
#[derive(Debug)]
pub(crate) enum Seen {
    Connected,
    Joined(String, Payload),
    Message(Message),
    Reply(String, Result<Reply, ReplyError>),
    TopicClosed(String, TopicCloseReason),
    Left(String),
    Disconnected(DisconnectReason),
    Info(String),
}

/// What the recorder does when told with `ClientHandle::send`.
#[derive(Debug)]
pub(crate) enum Order {
    Push(String, String, Payload),
    Join(String, Value),
    Leave(String),
    Disconnect,
    Reconnect,
    Note(String),
}

pub(crate) struct Recorder {
    pub(crate) seen: mpsc::UnboundedSender<Seen>,
    pub(crate) topics: Vec<(String, Value)>,
}

impl Recorder {
    pub(crate) fn new(topics: &[(&str, Value)]) -> (Self, Events) {
        let (seen, rx) = mpsc::unbounded_channel();
        let topics = topics
            .iter()
            .map(|(t, p)| ((*t).to_owned(), p.clone()))
            .collect();
        (Recorder { seen, topics }, Events { rx })
    }

    fn tell(&self, seen: Seen) {
        let _ = self.seen.send(seen);
    }
}

#[async_trait::async_trait]
impl Client for Recorder {
    type Info = Order;
    type Call = String;
    type Answer = String;

    async fn on_connect(&mut self, socket: &mut Socket) -> slipstream::Result<()> {
        self.tell(Seen::Connected);
        for (topic, params) in &self.topics {
            socket.join(topic.as_str(), params.clone()).await?;
        }
        Ok(())
    }

    async fn on_join(
        &mut self,
        _: &mut Socket,
        topic: &SharedStr,
        response: Payload,
    ) -> slipstream::Result<()> {
        self.tell(Seen::Joined(topic.to_string(), response));
        Ok(())
    }

    async fn on_message(&mut self, _: &mut Socket, message: Message) -> slipstream::Result<()> {
        self.tell(Seen::Message(message));
        Ok(())
    }

    async fn on_reply(
        &mut self,
        _: &mut Socket,
        reference: SharedStr,
        reply: Result<Reply, ReplyError>,
    ) -> slipstream::Result<()> {
        self.tell(Seen::Reply(reference.to_string(), reply));
        Ok(())
    }

    async fn on_topic_close(
        &mut self,
        socket: &mut Socket,
        topic: &SharedStr,
        reason: TopicCloseReason,
    ) -> slipstream::Result<()> {
        self.tell(Seen::TopicClosed(topic.to_string(), reason.clone()));
        // Keep the library's default behaviour.
        match reason {
            TopicCloseReason::Refused(_) => Ok(()),
            _ => socket.rejoin(topic),
        }
    }

    async fn on_leave(&mut self, _: &mut Socket, topic: &SharedStr) -> slipstream::Result<()> {
        self.tell(Seen::Left(topic.to_string()));
        Ok(())
    }

    async fn on_disconnect(
        &mut self,
        socket: &mut Socket,
        reason: &DisconnectReason,
    ) -> slipstream::Result<()> {
        self.tell(Seen::Disconnected(reason.clone()));
        if !reason.is_requested() {
            socket.reconnect();
        }
        Ok(())
    }

    async fn on_info(&mut self, socket: &mut Socket, order: Order) -> slipstream::Result<()> {
        match order {
            Order::Push(topic, event, payload) => {
                let reference = socket.push(topic, event, payload).await?;
                self.tell(Seen::Info(format!("pushed {reference}")));
            }
            Order::Join(topic, params) => socket.join(topic, params).await?,
            Order::Leave(topic) => socket.leave(topic).await?,
            Order::Disconnect => socket.disconnect().await,
            Order::Reconnect => socket.reconnect(),
            Order::Note(note) => self.tell(Seen::Info(note)),
        }
        Ok(())
    }

    async fn on_call(
        &mut self,
        socket: &mut Socket,
        request: String,
    ) -> slipstream::Result<String> {
        Ok(format!("{request}: connected={}", socket.is_connected()))
    }

    async fn on_decode_error(&mut self, _: &mut Socket, _: &Message, _: PayloadError) {}
}

/// The callbacks a recorder saw, in order.
pub(crate) struct Events {
    rx: mpsc::UnboundedReceiver<Seen>,
}

impl Events {
    /// The next callback, within a second.
    pub(crate) async fn next(&mut self) -> Seen {
        self.next_within(Duration::from_secs(1)).await
    }

    /// The next callback, within `within`.
    pub(crate) async fn next_within(&mut self, within: Duration) -> Seen {
        match tokio::time::timeout(within, self.rx.recv()).await {
            Ok(Some(seen)) => seen,
            Ok(None) => panic!("the client stopped"),
            Err(_) => panic!("no callback within {within:?}"),
        }
    }

    /// Asserts that no callback arrives within `within`.
    pub(crate) async fn refute(&mut self, within: Duration) {
        if let Ok(Some(seen)) = tokio::time::timeout(within, self.rx.recv()).await {
            panic!("expected no callback, got {seen:?}");
        }
    }

    /// Skips callbacks until `pick` accepts one, within a second.
    pub(crate) async fn until<T>(&mut self, pick: impl FnMut(Seen) -> Option<T>) -> T {
        self.until_within(Duration::from_secs(1), pick).await
    }

    /// Skips callbacks until `pick` accepts one, within `within`.
    pub(crate) async fn until_within<T>(
        &mut self,
        within: Duration,
        mut pick: impl FnMut(Seen) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(seen)) => {
                    if let Some(found) = pick(seen) {
                        return found;
                    }
                }
                Ok(None) => panic!("the client stopped"),
                Err(_) => panic!("the expected callback did not come within {within:?}"),
            }
        }
    }
}

pub(crate) fn json(payload: &Payload) -> Value {
    payload.decode().expect("JSON payload")
}

/// Starts a recorder with `config` that joins `topic` on connect, accepts its connection on
/// `server`, acknowledges the join and waits until the client has seen it.
pub(crate) async fn start_joined(
    server: &mut slipstream::testing::TestServer,
    topic: &str,
    config: slipstream::Config,
) -> (
    slipstream::testing::ServerConn,
    slipstream::ClientHandle<Recorder>,
    Events,
) {
    let (client, mut events) = Recorder::new(&[(topic, serde_json::json!({}))]);
    let handle = client.start(config);
    let mut conn = server.accept().await;
    let join = conn
        .assert_join(topic, slipstream::testing::Expect::Any)
        .await;
    conn.reply_ok(&join, serde_json::json!({})).await;
    events
        .until(|s| matches!(s, Seen::Joined(..)).then_some(()))
        .await;
    (conn, handle, events)
}
