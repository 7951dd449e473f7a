//! One WebSocket connection, driven by its own task.
//!
//! The connection task connects (TCP, TLS for `wss`, the WebSocket upgrade, all within the
//! upgrade timeout), then loops: it decodes frames from the server and hands them to the
//! client task, writes what the client task sends (every queued frame, then one flush, each
//! write bounded by the send timeout), and sends heartbeats. A heartbeat whose reply has not
//! come when the next is due means the link is dead: the task closes the socket and reports
//! [`DisconnectReason::HeartbeatTimeout`]. Replies to pushes that someone is awaiting are
//! routed straight to the waiter, so a callback can await a reply without deadlocking the
//! client task.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{FutureExt as _, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::{Instrument as _, debug, info, trace, warn};

use crate::Config;
use crate::client::DisconnectReason;
use crate::client::counters::AtomicCounters;
use crate::protocol::{Frame, Message, Reply, ServerMessage, SharedStr, event};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Below this many awaited replies, abandoned waiters are not swept out.
const MIN_SWEEP: usize = 64;

/// The most frames read before handing what they carried to the client task.
const MAX_BATCH: usize = 256;

/// Reading must stop.
#[derive(Debug)]
enum Stop {
    Closed(Option<tungstenite::protocol::CloseFrame>),
    Failed(DisconnectReason),
}

/// Why a connection could not be made.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The server answered the upgrade with an HTTP error, such as 403 when its socket's
    /// `connect` refused the params.
    #[error("upgrade refused with HTTP status {status}")]
    Refused {
        /// The HTTP status code.
        status: u16,
        /// The response headers.
        headers: Vec<(String, String)>,
    },
    /// No upgrade response within the upgrade timeout.
    #[error("no upgrade response within {0:?}")]
    UpgradeTimeout(Duration),
    /// The TCP connection failed (for example, connection refused).
    #[error("could not connect: {0}")]
    Io(Arc<std::io::Error>),
    /// TLS failed (for example, an untrusted certificate).
    #[error("TLS failed: {0}")]
    Tls(String),
    /// The upgrade failed for another reason (bad response, wrong protocol).
    #[error("WebSocket upgrade failed: {0}")]
    Handshake(String),
}

impl ConnectError {
    /// The HTTP status of a refused upgrade.
    pub fn status(&self) -> Option<u16> {
        match self {
            ConnectError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// What the client task sends its connection.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A frame to write. `reply` routes the reply with `ref` straight to a waiter.
    Frame {
        frame: Frame,
        reply: Option<(u64, oneshot::Sender<Reply>)>,
    },
    /// Close the WebSocket with a close frame and end.
    Close,
}

/// What a connection tells the client task.
#[derive(Debug)]
pub(crate) enum Event {
    Connected,
    /// Messages and replies in arrival order: every frame already read, handed over in one
    /// go so the client task is woken once per batch, not once per frame.
    Inbound(Vec<ServerMessage>),
    /// The last event: the connection is gone (or never came up).
    Closed(DisconnectReason),
}

/// The client task's end of a connection.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) outbound: mpsc::Sender<Outbound>,
    pub(crate) events: mpsc::Receiver<Event>,
    refs: Arc<AtomicU64>,
}

impl Link {
    /// The next ref on this connection: `1`, `2`, …, shared with heartbeats.
    pub(crate) fn next_ref(&self) -> u64 {
        self.refs.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Spawns a connection task for `config`.
pub(crate) fn spawn(config: Arc<Config>, counters: Arc<AtomicCounters>, attempt: u32) -> Link {
    let (outbound, commands) = mpsc::channel(config.queue_capacity);
    let (events_tx, events) = mpsc::channel(config.queue_capacity);
    let refs = Arc::new(AtomicU64::new(0));
    let task = Task {
        config,
        counters,
        commands,
        events: events_tx,
        refs: refs.clone(),
        awaiting: HashMap::new(),
        sweep_at: MIN_SWEEP,
        inbound: Vec::new(),
        heartbeat_ref: None,
        backpressured: false,
    };
    let span = tracing::info_span!(
        target: "slipstream::connection",
        "connection",
        host = task.config.url().host_str().unwrap_or(""),
        port = task.config.url().port_or_known_default(),
        attempt,
    );
    tokio::spawn(task.run().instrument(span));
    Link {
        outbound,
        events,
        refs,
    }
}

struct Task {
    config: Arc<Config>,
    counters: Arc<AtomicCounters>,
    commands: mpsc::Receiver<Outbound>,
    events: mpsc::Sender<Event>,
    refs: Arc<AtomicU64>,
    /// Replies someone awaits, by ref.
    awaiting: HashMap<u64, oneshot::Sender<Reply>>,
    /// The size of `awaiting` at which abandoned waiters are next swept out.
    sweep_at: usize,
    /// Decoded frames not yet handed to the client task.
    inbound: Vec<ServerMessage>,
    /// The ref of the heartbeat still waiting for its reply.
    heartbeat_ref: Option<u64>,
    /// Whether handing an event to the client task had to wait since the last heartbeat.
    backpressured: bool,
}

impl Task {
    async fn run(mut self) {
        // Until the socket is up the client task sends nothing but a close, which must not
        // wait for the upgrade timeout.
        let connecting = tokio::select! {
            result = connect(&self.config) => Some(result),
            _ = self.commands.recv() => None,
        };
        let reason = match connecting {
            None => DisconnectReason::Requested,
            Some(Ok(ws)) => {
                info!(target: "slipstream::connection", "connected");
                let _ = self.events.send(Event::Connected).await;
                self.session(ws).await
            }
            Some(Err(error)) => {
                debug!(target: "slipstream::connection", %error, "connect failed");
                DisconnectReason::ConnectFailed(error)
            }
        };
        debug!(target: "slipstream::connection", %reason, "connection ended");
        let _ = self.events.send(Event::Closed(reason)).await;
    }

    async fn session(&mut self, mut ws: Ws) -> DisconnectReason {
        let mut heartbeat = heartbeat_timer(self.config.heartbeat_interval);
        loop {
            let outcome = tokio::select! {
                biased;
                frame = ws.next() => self.on_frames(&mut ws, frame).await,
                command = self.commands.recv() => self.on_command(&mut ws, command).await,
                _ = tick(&mut heartbeat) => self.on_heartbeat(&mut ws).await,
            };
            if let Err(reason) = outcome {
                return reason;
            }
        }
    }

    /// Handles `first` and every further frame already readable (up to a batch), then hands
    /// what they carried to the client task at once.
    async fn on_frames(
        &mut self,
        ws: &mut Ws,
        first: Option<Result<WsMessage, tungstenite::Error>>,
    ) -> Result<(), DisconnectReason> {
        let mut outcome = self.on_frame(first);
        for _ in 1..MAX_BATCH {
            if outcome.is_err() {
                break;
            }
            match ws.next().now_or_never() {
                Some(frame) => outcome = self.on_frame(frame),
                None => break,
            }
        }
        self.hand_over().await?;
        match outcome {
            Ok(()) => Ok(()),
            Err(Stop::Closed(close)) => Err(finish_close(ws, close).await),
            Err(Stop::Failed(reason)) => Err(reason),
        }
    }

    fn on_frame(
        &mut self,
        frame: Option<Result<WsMessage, tungstenite::Error>>,
    ) -> Result<(), Stop> {
        let frame = match frame {
            None => {
                let why = "connection closed without a close frame";
                return Err(Stop::Failed(DisconnectReason::Dropped(why.into())));
            }
            Some(Err(error)) => {
                return Err(Stop::Failed(DisconnectReason::Dropped(error.to_string())));
            }
            Some(Ok(WsMessage::Text(text))) => Frame::Text(SharedStr::from_utf8_bytes(text)),
            Some(Ok(WsMessage::Binary(bytes))) => Frame::Binary(bytes),
            Some(Ok(WsMessage::Close(close))) => return Err(Stop::Closed(close)),
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => {
                return Ok(());
            }
        };
        AtomicCounters::bump(&self.counters.frames_in);
        match self.config.serializer.decode_server(&frame) {
            Ok(ServerMessage::Reply(reply)) => self.on_reply(reply),
            Ok(message) => {
                trace!(target: "slipstream::connection", topic = %message.topic(), "message");
                self.inbound.push(message);
            }
            Err(error) => {
                let count = AtomicCounters::bump(&self.counters.decode_errors);
                if crate::log::sampled(count) {
                    let len = frame.len();
                    warn!(target: "slipstream::connection", %error, len, decode_errors = count, "skipping a frame that does not decode");
                }
            }
        }
        Ok(())
    }

    fn on_reply(&mut self, reply: Reply) {
        let reference = reply
            .reference
            .as_deref()
            .and_then(|r| r.parse::<u64>().ok());
        if reply.topic == event::HEARTBEAT_TOPIC
            && reference.is_some()
            && reference == self.heartbeat_ref
        {
            self.heartbeat_ref = None;
            return;
        }
        if let Some(waiter) = reference.and_then(|r| self.awaiting.remove(&r)) {
            let _ = waiter.send(reply);
            return;
        }
        self.inbound.push(ServerMessage::Reply(reply));
    }

    async fn hand_over(&mut self) -> Result<(), DisconnectReason> {
        if self.inbound.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.inbound);
        self.deliver(Event::Inbound(batch)).await
    }

    /// Hands an event to the client task, waiting for room: nothing is dropped.
    async fn deliver(&mut self, event: Event) -> Result<(), DisconnectReason> {
        let event = match self.events.try_send(event) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Full(event)) => event,
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(DisconnectReason::Requested),
        };
        self.backpressured = true;
        self.events
            .send(event)
            .await
            .map_err(|_| DisconnectReason::Requested)
    }

    async fn on_command(
        &mut self,
        ws: &mut Ws,
        command: Option<Outbound>,
    ) -> Result<(), DisconnectReason> {
        let Some(Outbound::Frame { frame, reply }) = command else {
            close(ws, self.config.send_timeout).await;
            return Err(DisconnectReason::Requested);
        };
        self.register(reply);
        self.write(ws, frame).await?;
        // Batch whatever else is already queued into the same flush.
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Outbound::Frame { frame, reply } => {
                    self.register(reply);
                    self.write(ws, frame).await?;
                }
                Outbound::Close => {
                    self.flush(ws).await?;
                    close(ws, self.config.send_timeout).await;
                    return Err(DisconnectReason::Requested);
                }
            }
        }
        self.flush(ws).await
    }

    fn register(&mut self, reply: Option<(u64, oneshot::Sender<Reply>)>) {
        if let Some((reference, waiter)) = reply {
            // Waiters that gave up (timed out) are forgotten when the map has doubled since
            // the last sweep: it stays small, and each push costs amortised constant time.
            if self.awaiting.len() >= self.sweep_at {
                self.awaiting.retain(|_, w| !w.is_closed());
                self.sweep_at = (self.awaiting.len() * 2).max(MIN_SWEEP);
            }
            self.awaiting.insert(reference, waiter);
        }
    }

    async fn write(&mut self, ws: &mut Ws, frame: Frame) -> Result<(), DisconnectReason> {
        AtomicCounters::bump(&self.counters.frames_out);
        let message = match frame {
            Frame::Text(text) => WsMessage::Text(text.into_utf8_bytes()),
            Frame::Binary(bytes) => WsMessage::Binary(bytes),
        };
        with_send_timeout(self.config.send_timeout, ws.feed(message)).await
    }

    async fn flush(&mut self, ws: &mut Ws) -> Result<(), DisconnectReason> {
        with_send_timeout(self.config.send_timeout, ws.flush()).await
    }

    async fn on_heartbeat(&mut self, ws: &mut Ws) -> Result<(), DisconnectReason> {
        if self.heartbeat_ref.is_some() && !std::mem::take(&mut self.backpressured) {
            AtomicCounters::bump(&self.counters.heartbeat_timeouts);
            warn!(target: "slipstream::connection", "heartbeat unanswered; reconnecting");
            // The link is presumed dead: say goodbye without waiting for an answer.
            let frame = tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "heartbeat timeout".into(),
            };
            let _ = tokio::time::timeout(
                Duration::from_millis(100),
                ws.send(WsMessage::Close(Some(frame))),
            )
            .await;
            return Err(DisconnectReason::HeartbeatTimeout);
        }
        let reference = self.refs.fetch_add(1, Ordering::Relaxed) + 1;
        self.heartbeat_ref = Some(reference);
        let frame = self
            .config
            .serializer
            .encode_push(&Message::heartbeat(reference.to_string()))
            .map_err(|e| DisconnectReason::Dropped(e.to_string()))?;
        self.write(ws, frame).await?;
        self.flush(ws).await
    }
}

async fn with_send_timeout<F>(limit: Duration, write: F) -> Result<(), DisconnectReason>
where
    F: Future<Output = Result<(), tungstenite::Error>>,
{
    match tokio::time::timeout(limit, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(DisconnectReason::Dropped(error.to_string())),
        Err(_) => {
            warn!(target: "slipstream::connection", "write blocked past the send timeout; dropping the connection");
            Err(DisconnectReason::SendTimeout)
        }
    }
}

fn heartbeat_timer(interval: Option<Duration>) -> Option<tokio::time::Interval> {
    let period = interval?;
    let mut timer = tokio::time::interval_at(Instant::now() + period, period);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    Some(timer)
}

async fn tick(timer: &mut Option<tokio::time::Interval>) {
    match timer {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Sends a close frame and waits briefly for the server's, completing the close handshake.
async fn close(ws: &mut Ws, limit: Duration) {
    let frame = tungstenite::protocol::CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    let handshake = async {
        ws.close(Some(frame)).await?;
        // The server's close frame ends the handshake; its closing TCP need not be awaited.
        while let Some(message) = ws.next().await {
            if let WsMessage::Close(_) = message? {
                break;
            }
        }
        Ok::<(), tungstenite::Error>(())
    };
    let _ = tokio::time::timeout(limit, handshake).await;
}

/// Answers the server's close frame (tungstenite queues the answer; reading on sends it).
async fn finish_close(
    ws: &mut Ws,
    close: Option<tungstenite::protocol::CloseFrame>,
) -> DisconnectReason {
    let drain = async { while let Some(Ok(_)) = ws.next().await {} };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
    match close {
        Some(frame) => DisconnectReason::Closed {
            code: frame.code.into(),
            reason: frame.reason.to_string(),
        },
        None => DisconnectReason::Closed {
            code: 1005,
            reason: String::new(),
        },
    }
}

async fn connect(config: &Config) -> Result<Ws, ConnectError> {
    let limit = config.upgrade_timeout;
    match tokio::time::timeout(limit, upgrade(config)).await {
        Ok(result) => result,
        Err(_) => Err(ConnectError::UpgradeTimeout(limit)),
    }
}

async fn upgrade(config: &Config) -> Result<Ws, ConnectError> {
    let mut request = config
        .connect_url()
        .as_str()
        .into_client_request()
        .map_err(|e| ConnectError::Handshake(e.to_string()))?;
    let headers = request.headers_mut();
    for (name, value) in &config.headers {
        let name = tungstenite::http::HeaderName::try_from(name.as_str())
            .map_err(|e| ConnectError::Handshake(e.to_string()))?;
        let value = tungstenite::http::HeaderValue::try_from(value.as_str())
            .map_err(|e| ConnectError::Handshake(e.to_string()))?;
        headers.append(name, value);
    }
    if let Some(protocols) = config.subprotocols() {
        let value = tungstenite::http::HeaderValue::try_from(protocols)
            .map_err(|e| ConnectError::Handshake(e.to_string()))?;
        headers.insert("sec-websocket-protocol", value);
    }
    let connector = config.tls.clone().map(tokio_tungstenite::Connector::Rustls);
    let ws_config = websocket_config(config.max_frame_size);
    let (ws, _response) =
        tokio_tungstenite::connect_async_tls_with_config(request, Some(ws_config), true, connector)
            .await
            .map_err(connect_error)?;
    Ok(ws)
}

/// Buffers sized for a client: small enough that an idle connection is cheap, large enough
/// that a burst of small broadcasts is read in few system calls.
pub(crate) fn websocket_config(max_frame_size: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(16 * 1024)
        .max_message_size(Some(max_frame_size))
        .max_frame_size(Some(max_frame_size))
}

fn connect_error(error: tungstenite::Error) -> ConnectError {
    match error {
        tungstenite::Error::Http(response) => ConnectError::Refused {
            status: response.status().as_u16(),
            headers: response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        },
        // rustls reports handshake failures through the I/O error it returns.
        tungstenite::Error::Io(io) if io.get_ref().is_some_and(|e| e.is::<rustls::Error>()) => {
            ConnectError::Tls(io.to_string())
        }
        tungstenite::Error::Io(io) => ConnectError::Io(Arc::new(io)),
        tungstenite::Error::Tls(tls) => ConnectError::Tls(tls.to_string()),
        other => ConnectError::Handshake(other.to_string()),
    }
}
