//! The client: a long-running task that stays connected to a Phoenix server and hands your
//! code every message, in order.
//!
//! # The model
//!
//! You write a type that implements [`Client`] (by hand, or with
//! [`#[slipstream::client]`](macro@crate::client)) and start it with [`Client::start`]. That spawns
//! a **client task** that owns your value and calls its callbacks one at a time, and, per
//! WebSocket connection, a **connection task** that owns the socket, sends heartbeats and
//! encodes and decodes frames. The two talk through bounded channels; a full channel makes the
//! sender wait, so a slow callback slows reading from the server (TCP back-pressure) instead
//! of losing messages.
//!
//! Inside a callback you act through the [`Socket`]: join and leave topics, push messages,
//! schedule a reconnect or a rejoin. The rest of the program holds a [`ClientHandle`] to push,
//! join, send the client a message ([`Client::on_info`]) or call it and await an answer
//! ([`Client::on_call`]), read its counters, and shut it down.
//!
//! **Refs.** Each connection numbers its messages `"1"`, `"2"`, …. A join's ref is its
//! *join ref*; every later push and leave on that topic carries it, and every message the
//! server sends for that join carries it back. A message whose join ref is not the topic's
//! current one belongs to an earlier join and is dropped (and counted).
//!
//! **While disconnected.** Joins requested while disconnected are remembered and sent once
//! connected; pushes fail at once with [`Error::NotConnected`](crate::Error::NotConnected).
//! By default the client reconnects with backoff after any disconnect it did not ask for, and
//! re-joins every topic that was joined, with the params it was joined with.
//!
//! **Topics that end.** A crashed channel (`phx_error`) or a join that timed out is
//! rejoined with backoff by default; a refused join is reported to
//! [`Client::on_topic_close`] and not retried.

pub(crate) mod counters;
mod handle;
mod runtime;
mod session;
mod socket;

use std::fmt;

use async_trait::async_trait;

use crate::protocol::{Message, Payload, PayloadError, Reply, SharedStr};
use crate::{ConnectError, Result};

pub use counters::Counters;
pub use handle::ClientHandle;
pub use session::Session;
pub use socket::{JoinStatus, Socket};

/// A Phoenix Channels client: callbacks, each with a sensible default.
///
/// Callbacks run one at a time on the client task, in the order events happen. An error
/// returned from a callback is logged and counted; the client keeps running. To stop it, call
/// [`Socket::stop`] or [`ClientHandle::shutdown`]. A callback that panics ends the client
/// task: the connection drops, [`ClientHandle::stopped`] resolves and
/// [`ClientHandle::is_stopped`] turns true.
///
/// # Examples
///
/// ```no_run
/// use async_trait::async_trait;
/// use slipstream::protocol::{Message, Payload};
/// use slipstream::{Client, Config, Socket};
///
/// struct Printer;
///
/// #[async_trait]
/// impl Client for Printer {
///     type Info = ();
///     type Call = ();
///     type Answer = ();
///
///     async fn on_connect(&mut self, socket: &mut Socket) -> slipstream::Result<()> {
///         socket.join("rooms:lobby", Payload::empty()).await
///     }
///
///     async fn on_message(&mut self, _: &mut Socket, msg: Message) -> slipstream::Result<()> {
///         println!("{} {} {} bytes", msg.topic, msg.event, msg.payload.len());
///         Ok(())
///     }
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let handle = Printer.start(Config::new("ws://127.0.0.1:4000/socket/websocket")?);
/// handle.stopped().await;
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait Client: Send + Sized + 'static {
    /// Messages the application sends the client with [`ClientHandle::send`].
    type Info: Send + 'static;
    /// Requests the application makes with [`ClientHandle::call`].
    type Call: Send + 'static;
    /// Answers to those requests.
    type Answer: Send + 'static;

    /// The connection is up (first connect and every reconnect). Topics joined before a
    /// disconnect are re-joined right after this returns; joining them again here is
    /// harmless, since joining a joined topic does nothing.
    async fn on_connect(&mut self, socket: &mut Socket) -> Result<()> {
        let _ = socket;
        Ok(())
    }

    /// A join succeeded; `response` is the server's reply.
    async fn on_join(
        &mut self,
        socket: &mut Socket,
        topic: &SharedStr,
        response: Payload,
    ) -> Result<()> {
        let _ = (socket, topic, response);
        Ok(())
    }

    /// A message arrived: a broadcast, or a push from the server to this client.
    async fn on_message(&mut self, socket: &mut Socket, message: Message) -> Result<()> {
        let _ = (socket, message);
        Ok(())
    }

    /// The reply to a push made with [`Socket::push`],
    /// or why none came.
    async fn on_reply(
        &mut self,
        socket: &mut Socket,
        reference: SharedStr,
        reply: std::result::Result<Reply, ReplyError>,
    ) -> Result<()> {
        let _ = (socket, reference, reply);
        Ok(())
    }

    /// A joined topic ended without the client leaving it, or a join failed.
    ///
    /// The default rejoins with backoff after a crash or a join timeout, and only logs a
    /// refused join: a server that said no will usually say no again.
    async fn on_topic_close(
        &mut self,
        socket: &mut Socket,
        topic: &SharedStr,
        reason: TopicCloseReason,
    ) -> Result<()> {
        match reason {
            TopicCloseReason::Refused(_) => {
                tracing::warn!(target: "slipstream::client", %topic, "join refused; not retrying");
                Ok(())
            }
            TopicCloseReason::Crashed(_) | TopicCloseReason::JoinTimeout => socket.rejoin(topic),
        }
    }

    /// The topic was left: after [`Socket::leave`], or when the server's channel stopped
    /// normally (`phx_close`).
    async fn on_leave(&mut self, socket: &mut Socket, topic: &SharedStr) -> Result<()> {
        let _ = (socket, topic);
        Ok(())
    }

    /// The connection ended or could not be made.
    ///
    /// The default reconnects with backoff unless the application asked to disconnect.
    async fn on_disconnect(
        &mut self,
        socket: &mut Socket,
        reason: &DisconnectReason,
    ) -> Result<()> {
        if !reason.is_requested() {
            socket.reconnect();
        }
        Ok(())
    }

    /// A message from the application, sent with [`ClientHandle::send`].
    async fn on_info(&mut self, socket: &mut Socket, info: Self::Info) -> Result<()> {
        let _ = (socket, info);
        Ok(())
    }

    /// A request from the application, made with [`ClientHandle::call`]. The default refuses
    /// with [`Error::NotHandled`](crate::Error::NotHandled).
    async fn on_call(&mut self, socket: &mut Socket, request: Self::Call) -> Result<Self::Answer> {
        let _ = (socket, request);
        Err(crate::Error::NotHandled("on_call"))
    }

    /// A payload did not decode into the type a handler asked for. The default logs the
    /// topic, event and error (never the payload); the client counts it either way.
    async fn on_decode_error(
        &mut self,
        socket: &mut Socket,
        message: &Message,
        error: PayloadError,
    ) {
        let _ = socket;
        tracing::warn!(
            target: "slipstream::client",
            topic = %message.topic,
            event = %message.event,
            %error,
            "payload did not decode"
        );
    }

    /// Starts the client: spawns its task on the current tokio runtime and returns the
    /// handle. The client connects at once.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    fn start(self, config: crate::Config) -> ClientHandle<Self> {
        runtime::start(self, config)
    }
}

/// Why no reply came for a push routed to [`Client::on_reply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// The push timeout passed.
    #[error("no reply within the push timeout")]
    Timeout,
    /// The connection closed first.
    #[error("the connection closed before the reply")]
    Disconnected,
}

/// Why a topic ended without the client leaving it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopicCloseReason {
    /// The server refused the join; the response usually holds `{"reason": ...}`.
    Refused(Payload),
    /// The channel crashed (`phx_error`).
    Crashed(Payload),
    /// The join got no reply within the join timeout.
    JoinTimeout,
}

impl fmt::Display for TopicCloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicCloseReason::Refused(_) => f.write_str("join refused"),
            TopicCloseReason::Crashed(_) => f.write_str("channel crashed"),
            TopicCloseReason::JoinTimeout => f.write_str("join timed out"),
        }
    }
}

/// Why the connection ended, or could not be made.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The application asked to disconnect.
    Requested,
    /// Connecting failed (refused, upgrade refused with an HTTP status, timed out, TLS).
    ConnectFailed(ConnectError),
    /// The server closed the WebSocket with a close frame.
    Closed {
        /// The close code (1000 for a normal close).
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// The connection dropped without a close frame, or failed with an I/O or protocol error.
    Dropped(String),
    /// A heartbeat was still unanswered when the next was due.
    HeartbeatTimeout,
    /// A write blocked longer than the send timeout: the peer stopped reading.
    SendTimeout,
}

impl DisconnectReason {
    /// True when the application asked for the disconnect.
    pub fn is_requested(&self) -> bool {
        matches!(self, DisconnectReason::Requested)
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::Requested => f.write_str("disconnect requested"),
            DisconnectReason::ConnectFailed(error) => write!(f, "connect failed: {error}"),
            DisconnectReason::Closed { code, reason } if reason.is_empty() => {
                write!(f, "closed by the server (code {code})")
            }
            DisconnectReason::Closed { code, reason } => {
                write!(f, "closed by the server (code {code}: {reason})")
            }
            DisconnectReason::Dropped(why) => write!(f, "connection dropped: {why}"),
            DisconnectReason::HeartbeatTimeout => f.write_str("heartbeat timed out"),
            DisconnectReason::SendTimeout => f.write_str("send timed out"),
        }
    }
}
