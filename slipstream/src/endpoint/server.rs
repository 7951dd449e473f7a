//! The WebSocket server: configuration, the accept loop, statistics and shutdown.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::Hub;
use super::connection;
use super::hooks::{
    ConnectHook, ConnectInfo, JoinHook, JoinRequest, PushHook, PushReply, PushRequest, Refusal,
    TopicPatterns,
};
use crate::protocol::{Payload, Serializer};

/// The path phoenix.js connects to for an endpoint socket mounted at `/socket`.
pub const DEFAULT_PATH: &str = "/socket/websocket";

/// A Phoenix-protocol WebSocket server that serves a [`Hub`] to phoenix.js clients.
///
/// Made by [`EndpointServer::bind`] or [`EndpointServer::builder`]. The server runs in
/// background tasks (one per connection) until [`EndpointServer::shutdown`] is awaited or
/// the handle is dropped; dropping it closes every connection too, without waiting.
///
/// # Examples
///
/// ```no_run
/// use slipstream::endpoint::{Endpoint, EndpointServer, Hub};
///
/// # async fn run() -> std::io::Result<()> {
/// let hub = Hub::new();
/// let server = EndpointServer::bind("127.0.0.1:4001", hub.clone()).await?;
/// println!("phoenix.js can connect to {}", server.url());
///
/// hub.broadcast("rooms:lobby", "news", serde_json::json!({ "text": "hi" }));
/// server.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[must_use = "dropping the server handle stops the server"]
pub struct EndpointServer {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    finished: mpsc::Receiver<()>,
    accept: JoinHandle<()>,
}

/// What every connection of one server shares.
pub(crate) struct Shared {
    pub(crate) hub: Hub,
    pub(crate) config: Config,
    pub(crate) stats: Counters,
}

/// The server's settings, fixed when it starts.
pub(crate) struct Config {
    pub(crate) path: String,
    pub(crate) topics: TopicPatterns,
    pub(crate) on_connect: Option<ConnectHook>,
    pub(crate) on_join: Option<JoinHook>,
    pub(crate) on_push: Option<PushHook>,
    pub(crate) idle_timeout: Duration,
    pub(crate) handshake_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) max_frame_size: usize,
    pub(crate) max_joins: usize,
    pub(crate) default_serializer: Serializer,
}

impl Config {
    pub(crate) fn join(&self, request: &JoinRequest<'_>) -> Result<Payload, Payload> {
        match &self.on_join {
            Some(hook) => hook(request),
            None => Ok(Payload::empty()),
        }
    }

    pub(crate) fn push(&self, request: &PushRequest<'_>) -> PushReply {
        match &self.on_push {
            Some(hook) => hook(request),
            None => PushReply::Error(Payload::from(
                serde_json::json!({ "reason": "unmatched event" }),
            )),
        }
    }
}

/// The server's counters, shared by its connections.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) open: AtomicU64,
    pub(crate) accepted: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) malformed_frames: AtomicU64,
    pub(crate) oversized_frames: AtomicU64,
    pub(crate) undeliverable: AtomicU64,
    pub(crate) lagged: AtomicU64,
    pub(crate) idle_timeouts: AtomicU64,
    pub(crate) write_timeouts: AtomicU64,
}

impl Counters {
    /// Adds one, and returns the new count.
    pub(crate) fn bump(counter: &AtomicU64) -> u64 {
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// A snapshot of an [`EndpointServer`]'s counters, from [`EndpointServer::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Connections open now.
    pub connections: u64,
    /// WebSocket upgrades accepted since the server started.
    pub accepted: u64,
    /// Upgrades refused: wrong path, unsupported `vsn`, bad token, or the connect hook.
    pub refused: u64,
    /// Frames that did not decode as Phoenix messages; each was logged and ignored.
    pub malformed_frames: u64,
    /// Connections closed with 1009 for a frame over the maximum size.
    pub oversized_frames: u64,
    /// Broadcasts a subscriber's serializer cannot carry (binary to V1), dropped for it.
    pub undeliverable: u64,
    /// Connections closed because their queue overflowed under
    /// [`Overflow::Disconnect`](super::Overflow::Disconnect).
    pub lagged: u64,
    /// Connections closed because nothing arrived within the idle timeout.
    pub idle_timeouts: u64,
    /// Connections dropped because a write did not complete within the write timeout.
    pub write_timeouts: u64,
}

/// Configures an [`EndpointServer`]; made by [`EndpointServer::builder`].
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
///
/// use serde_json::json;
/// use slipstream::endpoint::{Endpoint, EndpointServer, Hub, PushReply};
/// use slipstream::protocol::Payload;
///
/// # async fn run() -> std::io::Result<()> {
/// let hub = Hub::new();
/// let shouts = hub.clone();
/// let server = EndpointServer::builder(hub)
///     .topics(["rooms:*"])
///     .on_join(|join| match join.topic {
///         "rooms:forbidden" => Err(Payload::from(json!({ "reason": "unauthorized" }))),
///         _ => Ok(Payload::empty()),
///     })
///     .on_push(move |push| match push.event {
///         "shout" => {
///             shouts.broadcast(push.topic, "shout", push.payload.clone());
///             PushReply::Ok(Payload::empty())
///         }
///         _ => PushReply::Error(Payload::from(json!({ "reason": "unmatched event" }))),
///     })
///     .idle_timeout(Duration::from_secs(90))
///     .bind("127.0.0.1:4001")
///     .await?;
/// # drop(server);
/// # Ok(())
/// # }
/// ```
#[must_use = "a builder does nothing until `bind` or `serve` is called"]
pub struct EndpointServerBuilder {
    hub: Hub,
    config: Config,
}

impl EndpointServerBuilder {
    /// The HTTP path of the WebSocket upgrade. Defaults to [`DEFAULT_PATH`].
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.config.path = path.into();
        self
    }

    /// The topics clients may join: exact names, or prefixes ending in `*` such as
    /// `rooms:*`. Other joins are refused with `{"reason":"unmatched topic"}`, as Phoenix
    /// does. Defaults to every topic.
    pub fn topics<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.topics = TopicPatterns::new(patterns);
        self
    }

    /// Decides, from a client's query parameters, headers and auth token, whether it may
    /// connect; a [`Refusal`] answers the upgrade with HTTP 403. Defaults to accepting all.
    ///
    /// The hook runs on the connection's task during the upgrade, so it should not block.
    pub fn on_connect<F>(mut self, hook: F) -> Self
    where
        F: Fn(&ConnectInfo) -> Result<(), Refusal> + Send + Sync + 'static,
    {
        self.config.on_connect = Some(Arc::new(hook));
        self
    }

    /// Decides whether a client may join a topic: `Ok(response)` replies `ok` and
    /// subscribes the connection to the topic, `Err(reason)` replies `error`. Defaults to
    /// `Ok({})`.
    pub fn on_join<F>(mut self, hook: F) -> Self
    where
        F: Fn(&JoinRequest<'_>) -> Result<Payload, Payload> + Send + Sync + 'static,
    {
        self.config.on_join = Some(Arc::new(hook));
        self
    }

    /// Answers a client's push on a topic it joined. Defaults to an error reply
    /// `{"reason":"unmatched event"}`.
    pub fn on_push<F>(mut self, hook: F) -> Self
    where
        F: Fn(&PushRequest<'_>) -> PushReply + Send + Sync + 'static,
    {
        self.config.on_push = Some(Arc::new(hook));
        self
    }

    /// How long a connection may stay silent (no frame at all, heartbeats included) before
    /// it is closed, as Phoenix's socket `timeout`. Defaults to 60 seconds.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// The largest frame or message a client may send, in bytes; a larger one closes the
    /// connection with code 1009. Defaults to 1 MiB.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.config.max_frame_size = bytes;
        self
    }

    /// How long the WebSocket upgrade may take. Defaults to 10 seconds.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.config.handshake_timeout = timeout;
        self
    }

    /// How long one batch of writes may take before the connection is dropped as
    /// half-open. Defaults to 10 seconds.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.config.write_timeout = timeout;
        self
    }

    /// How many topics one connection may have joined at once; further joins are refused
    /// with `{"reason":"too many joined topics"}`. Defaults to 1024.
    pub fn max_joins(mut self, joins: usize) -> Self {
        self.config.max_joins = joins;
        self
    }

    /// The serializer for clients that send no `vsn` parameter. Defaults to V1, as Phoenix
    /// treats a missing `vsn` as `1.0.0`; phoenix.js and this crate's client always send one.
    pub fn default_serializer(mut self, serializer: Serializer) -> Self {
        self.config.default_serializer = serializer;
        self
    }

    /// Binds `addr` and starts serving.
    ///
    /// # Errors
    ///
    /// The error of binding the address.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> io::Result<EndpointServer> {
        let listener = TcpListener::bind(addr).await?;
        self.serve(listener)
    }

    /// Starts serving connections accepted by `listener`.
    ///
    /// # Errors
    ///
    /// The error of reading the listener's local address.
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime.
    pub fn serve(self, listener: TcpListener) -> io::Result<EndpointServer> {
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            hub: self.hub,
            config: self.config,
            stats: Counters::default(),
        });
        let (shutdown, stop) = watch::channel(false);
        let (running, finished) = mpsc::channel(1);
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared), stop, running));
        tracing::info!(%local_addr, path = %shared.config.path, "endpoint server listening");
        Ok(EndpointServer {
            local_addr,
            shared,
            shutdown,
            finished,
            accept,
        })
    }
}

impl fmt::Debug for EndpointServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointServerBuilder")
            .field("path", &self.config.path)
            .field("idle_timeout", &self.config.idle_timeout)
            .field("max_frame_size", &self.config.max_frame_size)
            .finish_non_exhaustive()
    }
}

impl EndpointServer {
    /// Serves `hub` on `addr` with the default settings.
    ///
    /// # Errors
    ///
    /// The error of binding the address.
    pub async fn bind(addr: impl ToSocketAddrs, hub: Hub) -> io::Result<EndpointServer> {
        Self::builder(hub).bind(addr).await
    }

    /// A builder for a server of `hub` with other settings or hooks.
    pub fn builder(hub: Hub) -> EndpointServerBuilder {
        EndpointServerBuilder {
            hub,
            config: Config {
                path: DEFAULT_PATH.to_owned(),
                topics: TopicPatterns::default(),
                on_connect: None,
                on_join: None,
                on_push: None,
                idle_timeout: Duration::from_secs(60),
                handshake_timeout: Duration::from_secs(10),
                write_timeout: Duration::from_secs(10),
                max_frame_size: 1 << 20,
                max_joins: 1024,
                default_serializer: Serializer::V1,
            },
        }
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL phoenix.js connects to, such as `ws://127.0.0.1:4001/socket/websocket`
    /// (phoenix.js is given it without the final `/websocket`).
    pub fn url(&self) -> String {
        format!("ws://{}{}", self.local_addr, self.shared.config.path)
    }

    /// The hub the server serves.
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// The server's counters.
    pub fn stats(&self) -> ServerStats {
        let s = &self.shared.stats;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ServerStats {
            connections: load(&s.open),
            accepted: load(&s.accepted),
            refused: load(&s.refused),
            malformed_frames: load(&s.malformed_frames),
            oversized_frames: load(&s.oversized_frames),
            undeliverable: load(&s.undeliverable),
            lagged: load(&s.lagged),
            idle_timeouts: load(&s.idle_timeouts),
            write_timeouts: load(&s.write_timeouts),
        }
    }

    /// Stops accepting, sends every connection a close frame (code 1001), and waits until
    /// all connections have ended. A client that does not answer the close is dropped
    /// after a few seconds.
    pub async fn shutdown(mut self) {
        tracing::info!(local_addr = %self.local_addr, "endpoint server shutting down");
        let _ = self.shutdown.send(true);
        // Every connection task holds a sender; `recv` returns `None` once all are gone.
        let _ = self.finished.recv().await;
    }
}

impl Drop for EndpointServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.accept.abort();
    }
}

impl fmt::Debug for EndpointServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointServer")
            .field("local_addr", &self.local_addr)
            .field("path", &self.shared.config.path)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Resolves once the server is told to stop (or its handle is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            return;
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    running: mpsc::Sender<()>,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            () = stopped(&mut stop) => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let task = connection::serve(
                    stream,
                    peer,
                    Arc::clone(&shared),
                    stop.clone(),
                    running.clone(),
                );
                tokio::spawn(task);
            }
            Err(error) => {
                // Usually out of file descriptors; pausing lets connections close.
                tracing::warn!(%error, "accept failed; pausing");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
