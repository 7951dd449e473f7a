//! One WebSocket connection: one task that reads client frames, answers them, and writes
//! the broadcasts queued for it, batched.
//!
//! A single task selects between the socket and the connection's queue instead of running
//! a reader and a writer task: an idle connection then costs one small future, and every
//! reply and broadcast leaves in the order the task produced it.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

use super::Broadcast;
use super::handshake;
use super::queue::{EndReason, Queue};
use super::server::{Counters, Shared, stopped};
use super::session::Session;
use crate::protocol::{DecodeError, Frame, SharedStr};

type Ws = WebSocketStream<TcpStream>;

/// How long a closing connection waits for the client to finish the close handshake.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// Why a connection's loop ended.
#[derive(Debug)]
enum End {
    /// The client closed the connection, or it dropped.
    Closed,
    Shutdown,
    Idle,
    Queue(EndReason),
    TooBig,
    BadUtf8,
    Protocol,
    WriteTimeout,
    Failed(WsError),
}

/// Serves one accepted TCP connection until it ends. `_running` tells the server's
/// shutdown when the last connection is gone.
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    _running: mpsc::Sender<()>,
) {
    let _ = stream.set_nodelay(true);
    // Boxed so the upgrade's large state is freed once it is done rather than sizing the
    // connection's task for its whole life.
    let Some((ws, connect)) = Box::pin(handshake::accept(stream, peer, &shared)).await else {
        return;
    };
    Counters::bump(&shared.stats.accepted);
    let _open = Gauge::up(&shared.stats.open);
    tracing::info!(%peer, serializer = ?connect.serializer(), "client connected");

    let session = Session::new(connect, shared.hub.clone());
    let mut connection = Connection {
        ws,
        queue: Arc::clone(session.queue()),
        session,
        shared: &shared,
        last_read: Instant::now(),
        out: Vec::new(),
    };
    let end = connection.run(&mut stop).await;
    connection.finish(end).await;
}

struct Connection<'s> {
    ws: Ws,
    queue: Arc<Queue<Broadcast>>,
    session: Session,
    shared: &'s Shared,
    last_read: Instant,
    /// Replies produced by the frame being handled, written together.
    out: Vec<Frame>,
}

impl Connection<'_> {
    async fn run(&mut self, stop: &mut watch::Receiver<bool>) -> End {
        let idle_timeout = self.shared.config.idle_timeout;
        let idle = tokio::time::sleep(idle_timeout);
        tokio::pin!(idle);

        loop {
            let step = tokio::select! {
                () = stopped(stop) => Err(End::Shutdown),
                incoming = self.ws.next() => self.on_incoming(incoming).await,
                batch = self.queue.take() => match batch {
                    Ok(batch) => self.write_batch(batch).await,
                    Err(reason) => Err(End::Queue(reason)),
                },
                () = &mut idle => {
                    // The deadline moves with every frame read; it is only re-armed here,
                    // so reading a frame costs no timer update.
                    let deadline = self.last_read + idle_timeout;
                    if Instant::now() >= deadline {
                        Err(End::Idle)
                    } else {
                        idle.as_mut().reset(deadline);
                        Ok(())
                    }
                }
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    async fn on_incoming(
        &mut self,
        incoming: Option<Result<WsMessage, WsError>>,
    ) -> Result<(), End> {
        let frame = match incoming {
            None => return Err(End::Closed),
            Some(Err(error)) => return Err(read_error(error)),
            Some(Ok(WsMessage::Text(text))) => Frame::Text(SharedStr::from_utf8_bytes(text)),
            Some(Ok(WsMessage::Binary(bytes))) => Frame::Binary(bytes),
            // Pings are answered by tungstenite; a close is answered and then ends the
            // stream.
            Some(Ok(_)) => return Ok(()),
        };
        self.last_read = Instant::now();

        match self.session.serializer().decode_push(&frame) {
            Ok(message) => self.session.handle(self.shared, &message, &mut self.out),
            Err(error) => {
                self.malformed(&error, &frame);
                return Ok(());
            }
        }
        let timeout = self.shared.config.write_timeout;
        write(&mut self.ws, &self.queue, timeout, self.out.drain(..)).await
    }

    async fn write_batch(&mut self, batch: VecDeque<Broadcast>) -> Result<(), End> {
        // A lagging connection is closed without writing what it could not keep up with.
        if let Some(reason) = self.queue.end_reason() {
            return Err(End::Queue(reason));
        }
        let Connection {
            ws,
            queue,
            session,
            shared,
            ..
        } = self;
        let frames = batch
            .iter()
            .filter_map(|broadcast| session.frame_for(shared, broadcast));
        write(ws, queue, shared.config.write_timeout, frames).await
    }

    fn malformed(&self, error: &DecodeError, frame: &Frame) {
        let count = Counters::bump(&self.shared.stats.malformed_frames);
        if !crate::log::sampled(count) {
            return;
        }
        tracing::warn!(
            malformed_frames = count,
            peer = %self.session.connect().peer_addr(),
            problem = problem(error),
            field = error.field().map(|f| f.as_str()),
            len = frame.len(),
            "malformed frame ignored"
        );
    }

    async fn finish(mut self, end: End) {
        self.session.end();
        let stats = &self.shared.stats;
        let close = match &end {
            End::Shutdown => Some((CloseCode::Away, "server shutting down")),
            End::Idle => {
                Counters::bump(&stats.idle_timeouts);
                // Phoenix (Bandit) closes an idle socket with 1002 and no reason.
                Some((CloseCode::Protocol, ""))
            }
            End::Queue(EndReason::Lagged) => {
                Counters::bump(&stats.lagged);
                Some((CloseCode::Policy, "subscriber lagged"))
            }
            End::Queue(_) => Some((CloseCode::Normal, "")),
            End::TooBig => {
                Counters::bump(&stats.oversized_frames);
                Some((CloseCode::Size, "frame too large"))
            }
            End::BadUtf8 => Some((CloseCode::Invalid, "text frame is not UTF-8")),
            End::Protocol => Some((CloseCode::Protocol, "")),
            End::WriteTimeout => {
                Counters::bump(&stats.write_timeouts);
                None
            }
            End::Closed | End::Failed(_) => None,
        };
        let peer = self.session.connect().peer_addr();
        if let End::Failed(error) = &end {
            tracing::debug!(%peer, %error, "connection failed");
        }
        tracing::info!(%peer, reason = ?end, "client disconnected");

        if let Some((code, reason)) = close {
            self.close(code, reason).await;
        }
    }

    /// Sends a close frame, then lingers briefly so the client reads it before the TCP
    /// connection goes away.
    async fn close(&mut self, code: CloseCode, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let ws = &mut self.ws;
        let linger = async {
            if ws.close(Some(frame)).await.is_err() {
                return;
            }
            let mut answered = false;
            while let Some(Ok(message)) = ws.next().await {
                answered |= message.is_close();
            }
            if answered {
                return;
            }
            // The client has not answered (or the stream broke mid-frame, after an
            // oversized one): close our side and discard what the client still sends, so
            // that unread data does not reset the connection before it reads the close.
            let tcp = ws.get_mut();
            let _ = tcp.shutdown().await;
            let mut discard = [0u8; 1024];
            while matches!(tcp.read(&mut discard).await, Ok(n) if n > 0) {}
        };
        let _ = tokio::time::timeout(CLOSE_LINGER, linger).await;
    }
}

/// Feeds every frame, then flushes once. Gives up when the write takes longer than
/// `timeout` or the connection's queue is closed meanwhile (it lagged, or was
/// disconnected).
async fn write(
    ws: &mut Ws,
    queue: &Queue<Broadcast>,
    timeout: Duration,
    frames: impl Iterator<Item = Frame>,
) -> Result<(), End> {
    let send = async {
        for frame in frames {
            ws.feed(ws_message(frame)).await?;
        }
        ws.flush().await
    };
    tokio::select! {
        sent = tokio::time::timeout(timeout, send) => match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(End::Failed(error)),
            Err(_) => Err(End::WriteTimeout),
        },
        reason = queue.closed() => Err(End::Queue(reason)),
    }
}

fn ws_message(frame: Frame) -> WsMessage {
    match frame {
        Frame::Text(text) => WsMessage::Text(text.into_utf8_bytes()),
        Frame::Binary(bytes) => WsMessage::Binary(bytes),
    }
}

fn read_error(error: WsError) -> End {
    match error {
        WsError::Capacity(_) => End::TooBig,
        WsError::Utf8(_) => End::BadUtf8,
        WsError::Protocol(_) => End::Protocol,
        other => End::Failed(other),
    }
}

/// What is wrong with a frame, in words that never quote its contents (a JSON parser's
/// message may).
fn problem(error: &DecodeError) -> &'static str {
    match error {
        DecodeError::Empty => "empty frame",
        DecodeError::Syntax { .. } => "malformed JSON",
        DecodeError::Shape { .. } => "wrong shape",
        DecodeError::Missing { .. } => "missing field",
        DecodeError::Utf8 { .. } => "field is not UTF-8",
        DecodeError::UnknownKind { .. } => "unknown binary kind",
        DecodeError::Truncated { .. } => "binary frame ends early",
        DecodeError::BinaryNotSupported => "binary frame on V1",
    }
}

/// Counts one open connection for as long as it lives.
struct Gauge<'a>(&'a AtomicU64);

impl<'a> Gauge<'a> {
    fn up(counter: &'a AtomicU64) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Gauge(counter)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
