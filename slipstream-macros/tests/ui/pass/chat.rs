//! A client with handlers of every kind, typed payloads and a repeater.

use std::sync::Arc;

use serde::Deserialize;
use slipstream::endpoint::{Broadcast, Endpoint, SubscriberId};
use slipstream::protocol::{Message, Payload, PayloadError, Reply, SharedStr};
use slipstream::{DisconnectReason, ReplyError, Socket, TopicCloseReason};

#[derive(Default)]
struct Sink;

impl Endpoint for Sink {
    fn publish(&self, _: Broadcast, _: Option<SubscriberId>) -> usize {
        0
    }
}

#[derive(Deserialize)]
struct NewMsg {
    body: String,
}

#[derive(Default)]
struct Chat {
    seen: u64,
    sink: Arc<Sink>,
}

#[slipstream::client(
    topics = ["rooms:lobby", ("rooms:ops", serde_json::json!({ "token": "t" }))],
    dynamic_topics = ["users:*"],
)]
#[repeat(to = self.sink, topics = ["rooms:lobby"], rename = "mirror:lobby")]
impl Chat {
    #[on_connect]
    async fn connected(&mut self, _socket: &mut Socket) {}

    #[on_join(topic = "rooms:lobby")]
    fn joined(&mut self, _topic: &SharedStr, _response: Payload) {}

    #[on_message(topic = "rooms:*", event = "new_msg")]
    async fn new_msg(&mut self, socket: &mut Socket, msg: NewMsg) -> slipstream::Result<()> {
        self.seen += msg.body.len() as u64;
        socket.push("rooms:lobby", "ack", Payload::empty()).await?;
        Ok(())
    }

    #[on_message(topic = "users:*")]
    #[on_message(topic = "rooms:ops")]
    fn user(&mut self, topic: &str, message: Message) {
        let _ = (topic, message);
    }

    #[on_message]
    fn anything(&mut self, _payload: Payload) {}

    #[on_reply]
    fn reply(&mut self, _reference: SharedStr, _reply: Result<Reply, ReplyError>) {}

    #[on_topic_close]
    fn closed(&mut self, _reason: TopicCloseReason) {}

    #[on_leave(topic = "rooms:ops")]
    fn left(&mut self) {}

    #[on_disconnect]
    async fn disconnected(&mut self, _reason: &DisconnectReason) {}

    #[on_info]
    fn info(&mut self, _socket: &mut Socket, info: u64) {
        self.seen += info;
    }

    #[on_call]
    fn call(&mut self, _request: ()) -> slipstream::Result<u64> {
        Ok(self.seen)
    }

    #[on_decode_error]
    fn undecodable(&mut self, _message: &Message, _error: PayloadError) {}
}

fn assert_client<C: slipstream::Client<Info = u64, Answer = u64>>() {}

fn main() {
    assert_client::<Chat>();
    let _ = |config: slipstream::Config| Chat::default().start(config);
}
