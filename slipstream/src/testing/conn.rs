//! One accepted connection, driven by the test.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use super::ConnectRequest;
use crate::protocol::{Frame, Message, Payload, Reply, ReplyStatus, Serializer, SharedStr, event};

/// What a payload must look like for an assertion to match.
#[derive(Clone)]
pub enum Expect {
    /// Anything.
    Any,
    /// JSON that contains this value: objects match when every expected key matches
    /// (recursively), other values when equal.
    Partial(serde_json::Value),
    /// Exactly this JSON value.
    Exact(serde_json::Value),
    /// Exactly these binary bytes.
    Binary(bytes::Bytes),
    /// Whatever the predicate accepts.
    Matching(Arc<dyn Fn(&Payload) -> bool + Send + Sync>),
}

impl Expect {
    /// A payload the predicate accepts.
    pub fn matching(predicate: impl Fn(&Payload) -> bool + Send + Sync + 'static) -> Self {
        Expect::Matching(Arc::new(predicate))
    }

    fn matches(&self, payload: &Payload) -> bool {
        match self {
            Expect::Any => true,
            Expect::Partial(expected) => payload
                .decode::<serde_json::Value>()
                .is_ok_and(|v| contains(&v, expected)),
            Expect::Exact(expected) => payload
                .decode::<serde_json::Value>()
                .is_ok_and(|v| &v == expected),
            Expect::Binary(expected) => payload.as_binary() == Some(expected),
            Expect::Matching(predicate) => predicate(payload),
        }
    }
}

impl From<serde_json::Value> for Expect {
    fn from(value: serde_json::Value) -> Self {
        Expect::Partial(value)
    }
}

impl fmt::Debug for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Any => f.write_str("any payload"),
            Expect::Partial(v) => write!(f, "a payload containing {v}"),
            Expect::Exact(v) => write!(f, "exactly {v}"),
            Expect::Binary(b) => write!(f, "binary {b:?}"),
            Expect::Matching(_) => f.write_str("a payload the predicate accepts"),
        }
    }
}

fn contains(actual: &serde_json::Value, expected: &serde_json::Value) -> bool {
    match (actual, expected) {
        (serde_json::Value::Object(a), serde_json::Value::Object(e)) => e
            .iter()
            .all(|(k, ev)| a.get(k).is_some_and(|av| contains(av, ev))),
        (a, e) => a == e,
    }
}

/// A frame the client sent: a join, push or leave. Pass it back to reply to it.
#[derive(Clone, Debug)]
pub struct Received {
    /// The decoded message.
    pub message: Message,
}

impl Received {
    /// The message's ref.
    pub fn reference(&self) -> Option<&SharedStr> {
        self.message.reference.as_ref()
    }

    /// The message's join ref.
    pub fn join_ref(&self) -> Option<&SharedStr> {
        self.message.join_ref.as_ref()
    }

    /// The payload as JSON (`Null` for binary).
    pub fn json(&self) -> serde_json::Value {
        self.message
            .payload
            .decode()
            .unwrap_or(serde_json::Value::Null)
    }
}

/// The server's side of one client connection. See the [module docs](super).
pub struct ServerConn {
    ws: WebSocketStream<TcpStream>,
    request: ConnectRequest,
    serializer: Serializer,
    timeout: Duration,
    silent: bool,
    closed: bool,
    heartbeats: u64,
    backlog: VecDeque<Message>,
    joins: HashMap<SharedStr, SharedStr>,
}

impl ServerConn {
    pub(crate) fn new(
        ws: WebSocketStream<TcpStream>,
        request: ConnectRequest,
        timeout: Duration,
    ) -> Self {
        let serializer = request.serializer();
        ServerConn {
            ws,
            request,
            serializer,
            timeout,
            silent: false,
            closed: false,
            heartbeats: 0,
            backlog: VecDeque::new(),
            joins: HashMap::new(),
        }
    }

    /// The upgrade request: path, query, headers.
    pub fn request(&self) -> &ConnectRequest {
        &self.request
    }

    /// How long each assertion waits (1 s unless the server's was changed).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Heartbeats received so far.
    pub fn heartbeats(&self) -> u64 {
        self.heartbeats
    }

    /// Stops answering heartbeats, as a server behind a dead link would.
    pub fn go_silent(&mut self) {
        self.silent = true;
    }

    /// Reads one frame, answering heartbeats; `None` once the connection has ended.
    async fn read(&mut self) -> Option<Message> {
        loop {
            if self.closed {
                return None;
            }
            let frame = match self.ws.next().await {
                Some(Ok(WsMessage::Text(text))) => Frame::Text(SharedStr::from_utf8_bytes(text)),
                Some(Ok(WsMessage::Binary(bytes))) => Frame::Binary(bytes),
                Some(Ok(WsMessage::Close(_))) => {
                    // Reading on sends tungstenite's answer, completing the close handshake.
                    self.closed = true;
                    let drain = async { while let Some(Ok(_)) = self.ws.next().await {} };
                    let _ = tokio::time::timeout(self.timeout, drain).await;
                    return None;
                }
                None | Some(Err(_)) => {
                    self.closed = true;
                    return None;
                }
                Some(Ok(_)) => continue,
            };
            let message = match self.serializer.decode_push(&frame) {
                Ok(message) => message,
                Err(error) => {
                    panic!("the client sent a frame that does not decode ({error}): {frame:?}")
                }
            };
            if message.topic == event::HEARTBEAT_TOPIC && message.event == event::HEARTBEAT {
                self.heartbeats += 1;
                if !self.silent {
                    self.reply_to(&message, ReplyStatus::Ok, Payload::empty())
                        .await;
                }
                continue;
            }
            return Some(message);
        }
    }

    /// Finds (in the backlog, then in new frames) the first message `matches` accepts.
    async fn find(
        &mut self,
        within: Duration,
        matches: impl Fn(&Message) -> bool,
    ) -> Option<Message> {
        if let Some(index) = self.backlog.iter().position(&matches) {
            return self.backlog.remove(index);
        }
        let deadline = Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.read()).await {
                Ok(Some(message)) if matches(&message) => return Some(message),
                Ok(Some(message)) => self.backlog.push_back(message),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    fn describe_backlog(&self) -> String {
        if self.backlog.is_empty() {
            return if self.closed {
                "the connection closed".into()
            } else {
                "nothing".into()
            };
        }
        let seen: Vec<String> = self
            .backlog
            .iter()
            .map(|m| {
                format!(
                    "{} on {} {}",
                    m.event,
                    m.topic,
                    m.payload
                        .as_json()
                        .map_or("<binary>".into(), |j| j.to_string())
                )
            })
            .collect();
        format!("only: {}", seen.join("; "))
    }

    async fn assert(&mut self, what: String, matches: impl Fn(&Message) -> bool) -> Received {
        match self.find(self.timeout, matches).await {
            Some(message) => Received { message },
            None => panic!(
                "expected {what} within {:?}, received {}",
                self.timeout,
                self.describe_backlog()
            ),
        }
    }

    async fn refute(&mut self, what: String, within: Duration, matches: impl Fn(&Message) -> bool) {
        if let Some(message) = self.find(within, matches).await {
            panic!("expected no {what} within {within:?}, but received {message:?}");
        }
    }

    /// The next frame the client sent (heartbeats aside), in arrival order: for tests of
    /// ordering, where the `assert_` helpers would find frames in any order.
    ///
    /// # Panics
    ///
    /// When nothing arrives within the timeout.
    pub async fn next(&mut self) -> Received {
        self.assert("any frame".to_owned(), |_| true).await
    }

    /// Asserts the client joins `topic` with params matching `params`; the join is
    /// remembered, so later pushes, crashes and closes on `topic` carry its join ref.
    ///
    /// # Panics
    ///
    /// When no such join arrives within the timeout.
    pub async fn assert_join(&mut self, topic: &str, params: impl Into<Expect>) -> Received {
        let params = params.into();
        let what = format!("a join of `{topic}` with {params:?}");
        let join = self
            .assert(what, |m| {
                m.event == event::JOIN && m.topic == topic && params.matches(&m.payload)
            })
            .await;
        if let Some(join_ref) = join.join_ref() {
            self.joins
                .insert(join.message.topic.clone(), join_ref.clone());
        }
        join
    }

    /// Passes when the client does not join `topic` within `within`.
    ///
    /// # Panics
    ///
    /// When it does.
    pub async fn refute_join(&mut self, topic: &str, within: Duration) {
        let what = format!("join of `{topic}`");
        self.refute(what, within, |m| m.event == event::JOIN && m.topic == topic)
            .await;
    }

    /// Asserts the client pushes `event` on `topic` with a payload matching `payload`.
    ///
    /// # Panics
    ///
    /// When no such push arrives within the timeout.
    pub async fn assert_push(
        &mut self,
        topic: &str,
        event_name: &str,
        payload: impl Into<Expect>,
    ) -> Received {
        let payload = payload.into();
        let what = format!("a push of `{event_name}` on `{topic}` with {payload:?}");
        self.assert(what, |m| {
            m.topic == topic && m.event == event_name && payload.matches(&m.payload)
        })
        .await
    }

    /// Passes when the client pushes no `event` on `topic` within `within`.
    ///
    /// # Panics
    ///
    /// When it does.
    pub async fn refute_push(&mut self, topic: &str, event_name: &str, within: Duration) {
        let what = format!("push of `{event_name}` on `{topic}`");
        self.refute(what, within, |m| m.topic == topic && m.event == event_name)
            .await;
    }

    /// Asserts the client leaves `topic`.
    ///
    /// # Panics
    ///
    /// When no leave arrives within the timeout.
    pub async fn assert_leave(&mut self, topic: &str) -> Received {
        self.assert(format!("a leave of `{topic}`"), |m| {
            m.event == event::LEAVE && m.topic == topic
        })
        .await
    }

    /// Passes when the client does not leave `topic` within `within`.
    ///
    /// # Panics
    ///
    /// When it does.
    pub async fn refute_leave(&mut self, topic: &str, within: Duration) {
        let what = format!("leave of `{topic}`");
        self.refute(what, within, |m| {
            m.event == event::LEAVE && m.topic == topic
        })
        .await;
    }

    /// Asserts the client closes the connection (a disconnect it asked for sends a close
    /// frame). Frames still unread before the close are kept for later assertions.
    ///
    /// # Panics
    ///
    /// When the connection is still open after the timeout.
    pub async fn assert_closed(&mut self) {
        let _ = self.find(self.timeout, |_| false).await;
        if !self.closed {
            panic!(
                "expected the client to close the connection within {:?}",
                self.timeout
            );
        }
    }

    /// Passes when the connection is still open after `within`.
    ///
    /// # Panics
    ///
    /// When the client closed it.
    pub async fn refute_closed(&mut self, within: Duration) {
        let _ = self.find(within, |_| false).await;
        if self.closed {
            panic!("expected the connection to stay open for {within:?}, but the client closed it");
        }
    }

    /// Replies `ok` with `response` to a join, push or leave.
    pub async fn reply_ok(&mut self, to: &Received, response: impl Into<Payload>) {
        self.reply_to(&to.message, ReplyStatus::Ok, response.into())
            .await;
    }

    /// Replies `error` with `response` (such as `{"reason": "unauthorized"}`).
    pub async fn reply_error(&mut self, to: &Received, response: impl Into<Payload>) {
        self.reply_to(&to.message, ReplyStatus::Error, response.into())
            .await;
    }

    /// Replies with any status and response, JSON or binary.
    pub async fn reply(
        &mut self,
        to: &Received,
        status: ReplyStatus,
        response: impl Into<Payload>,
    ) {
        self.reply_to(&to.message, status, response.into()).await;
    }

    /// Answers a leave as Phoenix does: an `ok` reply, then `phx_close`.
    pub async fn reply_leave(&mut self, leave: &Received) {
        self.reply_ok(leave, Payload::empty()).await;
        let topic = leave.message.topic.clone();
        self.close_topic(&topic).await;
    }

    async fn reply_to(&mut self, to: &Message, status: ReplyStatus, response: Payload) {
        let reply = Reply {
            join_ref: to.join_ref.clone(),
            reference: to.reference.clone(),
            topic: to.topic.clone(),
            status,
            response,
        };
        let frame = self.serializer.encode_reply(&reply).expect("reply encodes");
        self.send_frame(frame).await;
    }

    fn join_ref(&self, topic: &str) -> Option<SharedStr> {
        self.joins.get(topic).cloned()
    }

    /// Pushes a message to this client on `topic`, with the topic's join ref, as a channel's
    /// `push` does.
    pub async fn push(&mut self, topic: &str, event_name: &str, payload: impl Into<Payload>) {
        let message = Message {
            join_ref: self.join_ref(topic),
            reference: None,
            topic: topic.into(),
            event: event_name.into(),
            payload: payload.into(),
        };
        self.send_message(&message).await;
    }

    /// Broadcasts on `topic`: no refs, as a Phoenix broadcast arrives.
    pub async fn broadcast(&mut self, topic: &str, event_name: &str, payload: impl Into<Payload>) {
        self.send_message(&Message::broadcast(topic, event_name, payload))
            .await;
    }

    /// Crashes the channel of `topic`: `phx_error` with the join ref.
    pub async fn crash(&mut self, topic: &str) {
        self.channel_event(topic, event::ERROR).await;
    }

    /// Ends the channel of `topic` normally: `phx_close` with the join ref.
    pub async fn close_topic(&mut self, topic: &str) {
        self.channel_event(topic, event::CLOSE).await;
    }

    async fn channel_event(&mut self, topic: &str, name: &'static str) {
        let join_ref = self.joins.remove(topic);
        let message = Message {
            join_ref: join_ref.clone(),
            reference: join_ref,
            topic: topic.into(),
            event: SharedStr::from_static(name),
            payload: Payload::empty(),
        };
        self.send_message(&message).await;
    }

    async fn send_message(&mut self, message: &Message) {
        let frame = self
            .serializer
            .encode_message(message)
            .expect("message encodes");
        self.send_frame(frame).await;
    }

    /// Sends a raw frame, well formed or not.
    pub async fn send_frame(&mut self, frame: Frame) {
        let message = match frame {
            Frame::Text(text) => WsMessage::Text(text.into_utf8_bytes()),
            Frame::Binary(bytes) => WsMessage::Binary(bytes),
        };
        // A client that already went away is not the test's failure here; the next
        // assertion reports it.
        let _ = self.ws.send(message).await;
    }

    /// Closes the connection with a close frame carrying `code`.
    pub async fn close(mut self, code: u16) {
        let frame = CloseFrame {
            code: code.into(),
            reason: "".into(),
        };
        let _ = self.ws.close(Some(frame)).await;
        let drain = async { while let Some(Ok(_)) = self.ws.next().await {} };
        let _ = tokio::time::timeout(self.timeout, drain).await;
    }

    /// Drops the TCP connection without a close frame, as a crashed server or a cut cable
    /// would.
    pub fn drop_connection(self) {
        drop(self);
    }
}

impl fmt::Debug for ServerConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConn")
            .field("serializer", &self.serializer)
            .field("closed", &self.closed)
            .field("backlog", &self.backlog.len())
            .finish_non_exhaustive()
    }
}
