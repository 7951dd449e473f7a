//! What the rest of the program holds to talk to a running client.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::Client;
use super::counters::{AtomicCounters, Counters};
use super::socket::await_reply;
use crate::protocol::{Payload, Reply, SharedStr};
use crate::{Error, Result};

/// A request to the client task.
pub(crate) enum Command<C: Client> {
    Join {
        topic: SharedStr,
        params: Payload,
        done: oneshot::Sender<Result<()>>,
    },
    Leave {
        topic: SharedStr,
        done: oneshot::Sender<Result<()>>,
    },
    Push {
        topic: SharedStr,
        event: SharedStr,
        payload: Payload,
        reply: oneshot::Sender<Result<oneshot::Receiver<Reply>>>,
    },
    Info(C::Info),
    Call(C::Call, oneshot::Sender<Result<C::Answer>>),
    Disconnect(oneshot::Sender<()>),
    Reconnect,
    Shutdown,
}

/// State the client task shares with its handles.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) counters: Arc<AtomicCounters>,
    pub(crate) connected: AtomicBool,
    pub(crate) push_timeout: Duration,
}

/// A handle to a running client: push, join, leave, send it messages, call it, read its
/// counters, shut it down. Clones are cheap and all drive the same client.
///
/// The client stops when [`ClientHandle::shutdown`] is called or when every handle has been
/// dropped.
#[must_use = "the client stops when every handle is dropped"]
pub struct ClientHandle<C: Client> {
    commands: mpsc::Sender<Command<C>>,
    shared: Arc<Shared>,
    stopped: watch::Receiver<bool>,
}

impl<C: Client> ClientHandle<C> {
    pub(crate) fn new(
        commands: mpsc::Sender<Command<C>>,
        shared: Arc<Shared>,
        stopped: watch::Receiver<bool>,
    ) -> Self {
        ClientHandle {
            commands,
            shared,
            stopped,
        }
    }

    async fn request<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command<C>) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Joins `topic` with `params` (sent once connected if the client is not). The join's
    /// outcome reaches [`Client::on_join`] or [`Client::on_topic_close`].
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] when the client has stopped.
    pub async fn join(
        &self,
        topic: impl Into<SharedStr>,
        params: impl Into<Payload>,
    ) -> Result<()> {
        let (topic, params) = (topic.into(), params.into());
        self.request(|done| Command::Join {
            topic,
            params,
            done,
        })
        .await?
    }

    /// Leaves `topic`.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] when the client has stopped.
    pub async fn leave(&self, topic: impl Into<SharedStr>) -> Result<()> {
        let topic = topic.into();
        self.request(|done| Command::Leave { topic, done }).await?
    }

    /// Pushes `event` with `payload` on a joined `topic` and waits for the reply, up to the
    /// push timeout.
    ///
    /// # Errors
    ///
    /// [`Error::NotConnected`] or [`Error::NotJoined`] without sending; [`Error::Timeout`]
    /// when no reply came in time (distinct from an error reply, which is `Ok` with status
    /// `error`); [`Error::Disconnected`] when the connection closed first.
    pub async fn push(
        &self,
        topic: impl Into<SharedStr>,
        event: impl Into<SharedStr>,
        payload: impl Into<Payload>,
    ) -> Result<Reply> {
        let (topic, event, payload) = (topic.into(), event.into(), payload.into());
        let receiver = self
            .request(|reply| Command::Push {
                topic,
                event,
                payload,
                reply,
            })
            .await??;
        await_reply(receiver, self.shared.push_timeout).await
    }

    /// Sends the client a message, handled by [`Client::on_info`].
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] when the client has stopped.
    pub async fn send(&self, info: C::Info) -> Result<()> {
        self.commands
            .send(Command::Info(info))
            .await
            .map_err(|_| Error::Stopped)
    }

    /// Calls the client and waits for its answer from [`Client::on_call`].
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] when the client has stopped, or the error `on_call` returned.
    pub async fn call(&self, request: C::Call) -> Result<C::Answer> {
        self.request(|answer| Command::Call(request, answer))
            .await?
    }

    /// Closes the connection with a close frame; the client stays disconnected until
    /// [`ClientHandle::reconnect`] (unless its `on_disconnect` reconnects).
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] when the client has stopped.
    pub async fn disconnect(&self) -> Result<()> {
        self.request(Command::Disconnect).await
    }

    /// Connects again now, if disconnected.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] when the client has stopped.
    pub async fn reconnect(&self) -> Result<()> {
        self.commands
            .send(Command::Reconnect)
            .await
            .map_err(|_| Error::Stopped)
    }

    /// Closes the connection with a close frame, stops the client task, and waits for it
    /// to end.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
        self.stopped().await;
    }

    /// Waits until the client task has ended.
    pub async fn stopped(&self) {
        let mut stopped = self.stopped.clone();
        let _ = stopped.wait_for(|stopped| *stopped).await;
    }

    /// True once the client task has ended.
    pub fn is_stopped(&self) -> bool {
        *self.stopped.borrow()
    }

    /// True while a connection is up.
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Relaxed)
    }

    /// A snapshot of the client's counters.
    pub fn counters(&self) -> Counters {
        self.shared.counters.snapshot()
    }
}

impl<C: Client> Clone for ClientHandle<C> {
    fn clone(&self) -> Self {
        ClientHandle {
            commands: self.commands.clone(),
            shared: self.shared.clone(),
            stopped: self.stopped.clone(),
        }
    }
}

impl<C: Client> fmt::Debug for ClientHandle<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientHandle")
            .field("connected", &self.is_connected())
            .field("stopped", &self.is_stopped())
            .finish_non_exhaustive()
    }
}
