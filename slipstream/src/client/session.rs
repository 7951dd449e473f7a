//! An await-style client for scripts and tests.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Client, ClientHandle, DisconnectReason, Socket, TopicCloseReason};
use crate::protocol::{Message, Payload, Reply, SharedStr};
use crate::{Config, Error, Result};

/// What happened to a [`Session`]'s client, kept until a `next_*` or `join` call takes it.
#[derive(Debug)]
enum Happened {
    Connected,
    Disconnected(DisconnectReason),
    Joined(SharedStr, Payload),
    TopicClosed(SharedStr, TopicCloseReason),
    Left(SharedStr),
    Message(Message),
}

struct Forwarder {
    events: mpsc::UnboundedSender<Happened>,
}

impl Forwarder {
    fn tell(&self, happened: Happened) {
        let _ = self.events.send(happened);
    }
}

#[async_trait]
impl Client for Forwarder {
    type Info = ();
    type Call = ();
    type Answer = ();

    async fn on_connect(&mut self, _: &mut Socket) -> Result<()> {
        self.tell(Happened::Connected);
        Ok(())
    }

    async fn on_join(
        &mut self,
        _: &mut Socket,
        topic: &SharedStr,
        response: Payload,
    ) -> Result<()> {
        self.tell(Happened::Joined(topic.clone(), response));
        Ok(())
    }

    async fn on_message(&mut self, _: &mut Socket, message: Message) -> Result<()> {
        self.tell(Happened::Message(message));
        Ok(())
    }

    async fn on_topic_close(
        &mut self,
        _: &mut Socket,
        topic: &SharedStr,
        reason: TopicCloseReason,
    ) -> Result<()> {
        self.tell(Happened::TopicClosed(topic.clone(), reason));
        Ok(())
    }

    async fn on_leave(&mut self, _: &mut Socket, topic: &SharedStr) -> Result<()> {
        self.tell(Happened::Left(topic.clone()));
        Ok(())
    }

    async fn on_disconnect(&mut self, _: &mut Socket, reason: &DisconnectReason) -> Result<()> {
        self.tell(Happened::Disconnected(reason.clone()));
        Ok(())
    }
}

/// A client driven step by step, for scripts and tests: connect, join, push and await the
/// reply, await the next message, leave, disconnect.
///
/// Every wait is bounded by the session's timeout (5 s unless changed), and running out is
/// [`Error::Timeout`], never confused with an error reply or a refused join. A session does
/// not reconnect or rejoin by itself: a script sees every disconnect and decides.
///
/// Messages are kept until a `next_*` call takes them, so a script that joins a busy topic
/// and never reads it holds every message in memory: leave topics you stop reading.
///
/// # Examples
///
/// ```no_run
/// use serde_json::json;
/// use slipstream::{Config, Session};
///
/// # async fn run() -> slipstream::Result<()> {
/// let mut session = Session::connect(Config::new("ws://127.0.0.1:4000/socket/websocket")?).await?;
/// session.join("rooms:lobby", json!({})).await?;
/// let reply = session.push("rooms:lobby", "ping", json!({ "hello": "world" })).await?;
/// assert!(reply.is_ok());
/// let news = session.next_message("rooms:lobby", Some("news")).await?;
/// println!("{}", news.payload.len());
/// session.leave("rooms:lobby").await?;
/// session.disconnect().await?;
/// # Ok(())
/// # }
/// ```
pub struct Session {
    handle: ClientHandle<Forwarder>,
    events: mpsc::UnboundedReceiver<Happened>,
    backlog: VecDeque<Happened>,
    timeout: Duration,
}

impl Session {
    /// Starts a client for `config` and waits until it is connected.
    ///
    /// # Errors
    ///
    /// [`Error::Connect`] when connecting failed (refused, HTTP status, TLS, upgrade
    /// timeout); [`Error::Timeout`] after 5 s without an outcome.
    pub async fn connect(config: Config) -> Result<Session> {
        let (events_tx, events) = mpsc::unbounded_channel();
        let handle = Forwarder { events: events_tx }.start(config);
        let mut session = Session {
            handle,
            events,
            backlog: VecDeque::new(),
            timeout: Duration::from_secs(5),
        };
        let outcome = session
            .take("the connection", |h| match h {
                Happened::Connected => Some(Ok(())),
                Happened::Disconnected(DisconnectReason::ConnectFailed(error)) => {
                    Some(Err(Error::Connect(error.clone())))
                }
                _ => None,
            })
            .await;
        match outcome {
            Ok(result) => result.map(|()| session),
            Err(error) => {
                session.handle.shutdown().await;
                Err(error)
            }
        }
    }

    /// Sets how long each later wait may take.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// A snapshot of the client's counters.
    pub fn counters(&self) -> super::Counters {
        self.handle.counters()
    }

    /// True while connected.
    pub fn is_connected(&self) -> bool {
        self.handle.is_connected()
    }

    /// Joins `topic` and waits for the reply; returns the server's response.
    ///
    /// # Errors
    ///
    /// [`Error::JoinRefused`] with the server's response, or [`Error::Timeout`].
    pub async fn join(
        &mut self,
        topic: impl Into<SharedStr>,
        params: impl Into<Payload>,
    ) -> Result<Payload> {
        let topic = topic.into();
        self.handle.join(topic.clone(), params).await?;
        self.take("the join reply", |h| match h {
            Happened::Joined(t, response) if *t == topic => Some(Ok(response.clone())),
            Happened::TopicClosed(t, TopicCloseReason::Refused(response)) if *t == topic => {
                Some(Err(Error::JoinRefused {
                    topic: t.clone(),
                    response: response.clone(),
                }))
            }
            Happened::TopicClosed(t, _) if *t == topic => Some(Err(Error::Timeout {
                what: "the join reply",
            })),
            _ => None,
        })
        .await?
    }

    /// Pushes and waits for the reply (an error reply is `Ok`, with status `error`), for the
    /// session's timeout or the config's push timeout, whichever is shorter.
    ///
    /// # Errors
    ///
    /// As [`ClientHandle::push`].
    pub async fn push(
        &mut self,
        topic: impl Into<SharedStr>,
        event: impl Into<SharedStr>,
        payload: impl Into<Payload>,
    ) -> Result<Reply> {
        match tokio::time::timeout(self.timeout, self.handle.push(topic, event, payload)).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout { what: "the reply" }),
        }
    }

    /// Waits for the next message on `topic`, with `event` if given. Messages that do not
    /// match are kept for later calls.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`].
    pub async fn next_message(&mut self, topic: &str, event: Option<&str>) -> Result<Message> {
        self.take("a message", |h| match h {
            Happened::Message(m) if m.topic == topic && event.is_none_or(|e| m.event == e) => {
                Some(m.clone())
            }
            _ => None,
        })
        .await
    }

    /// Leaves `topic` and waits until the server has closed it.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`].
    pub async fn leave(&mut self, topic: impl Into<SharedStr>) -> Result<()> {
        let topic = topic.into();
        self.handle.leave(topic.clone()).await?;
        self.take("the leave", |h| {
            matches!(h, Happened::Left(t) if *t == topic).then_some(())
        })
        .await
    }

    /// Disconnects (with a close frame) and waits until the connection is gone.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`].
    pub async fn disconnect(&mut self) -> Result<()> {
        self.handle.disconnect().await?;
        self.take("the disconnect", |h| {
            matches!(h, Happened::Disconnected(_)).then_some(())
        })
        .await
    }

    /// Waits until the connection ends for any reason, and returns the reason.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`].
    pub async fn next_disconnect(&mut self) -> Result<DisconnectReason> {
        self.take("a disconnect", |h| match h {
            Happened::Disconnected(reason) => Some(reason.clone()),
            _ => None,
        })
        .await
    }

    /// Takes the first event `pick` accepts, from the backlog or as it arrives.
    async fn take<T>(
        &mut self,
        what: &'static str,
        pick: impl Fn(&Happened) -> Option<T>,
    ) -> Result<T> {
        if let Some((index, found)) = self
            .backlog
            .iter()
            .enumerate()
            .find_map(|(i, h)| pick(h).map(|f| (i, f)))
        {
            self.backlog.remove(index);
            return Ok(found);
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(happened)) => match pick(&happened) {
                    Some(found) => return Ok(found),
                    None => self.backlog.push_back(happened),
                },
                Ok(None) => return Err(Error::Stopped),
                Err(_) => return Err(Error::Timeout { what }),
            }
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("handle", &self.handle)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
