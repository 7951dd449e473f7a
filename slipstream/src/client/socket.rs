//! What a callback acts through: joins, leaves, pushes, reconnects.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, info};

use super::counters::{AtomicCounters, Counters};
use crate::connection::{self, Link, Outbound};
use crate::protocol::{Message, Payload, Reply, SharedStr, event};
use crate::{Config, Error, Result};

/// Where a topic stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JoinStatus {
    /// Never joined, or left.
    NotJoined,
    /// Join requested; waiting for the reply (or for a connection).
    Joining,
    /// Joined.
    Joined,
    /// Leave sent; waiting for the server to close the channel.
    Leaving,
    /// Refused, crashed or timed out; see [`Client::on_topic_close`](super::Client::on_topic_close).
    Closed,
}

#[derive(Debug)]
pub(crate) struct Topic {
    pub(crate) status: JoinStatus,
    pub(crate) join_ref: Option<SharedStr>,
    pub(crate) params: Payload,
    pub(crate) rejoin_attempt: u32,
    /// When a scheduled rejoin is due.
    pub(crate) rejoin_at: Option<Instant>,
    /// Whether a join of this topic ever succeeded, so a new join counts as a rejoin.
    pub(crate) was_joined: bool,
    /// When the topic was first asked for, so joins waiting for a connection go out in the
    /// order they were requested.
    pub(crate) order: u64,
}

/// What an outstanding ref is waiting for.
#[derive(Debug)]
pub(crate) enum Pending {
    Join { topic: SharedStr },
    Leave { topic: SharedStr },
    Push,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    Reconnect,
    Rejoin(SharedStr),
    Reply(u64),
}

/// The client's side of the connection, handed to every callback.
///
/// Joining a topic that is joined (or being joined) does nothing, as does leaving one that
/// is not: callbacks can join their topics on every connect without tracking them.
pub struct Socket {
    pub(crate) config: Arc<Config>,
    pub(crate) counters: Arc<AtomicCounters>,
    pub(crate) link: Option<Link>,
    pub(crate) connected: bool,
    pub(crate) topics: HashMap<SharedStr, Topic>,
    pub(crate) topic_order: u64,
    pub(crate) pending: HashMap<u64, Pending>,
    pub(crate) timers: BinaryHeap<Reverse<(Instant, Timer)>>,
    pub(crate) reconnect_at: Option<Instant>,
    pub(crate) reconnect_attempt: u32,
    pub(crate) connect_attempt: u32,
    pub(crate) stopping: bool,
}

impl Socket {
    pub(crate) fn new(config: Arc<Config>, counters: Arc<AtomicCounters>) -> Self {
        Socket {
            config,
            counters,
            link: None,
            connected: false,
            topics: HashMap::new(),
            topic_order: 0,
            pending: HashMap::new(),
            timers: BinaryHeap::new(),
            reconnect_at: None,
            reconnect_attempt: 0,
            connect_attempt: 0,
            stopping: false,
        }
    }

    /// Joins `topic` with `params`, once connected if the client is not yet.
    ///
    /// Does nothing when the topic is already joined or being joined. The params are kept
    /// and sent again on every rejoin.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] if the connection task is gone.
    pub async fn join(
        &mut self,
        topic: impl Into<SharedStr>,
        params: impl Into<Payload>,
    ) -> Result<()> {
        let topic = topic.into();
        let params = params.into();
        self.topic_order += 1;
        let next_order = self.topic_order;
        let entry = self.topics.entry(topic.clone()).or_insert_with(|| Topic {
            status: JoinStatus::NotJoined,
            join_ref: None,
            params: params.clone(),
            rejoin_attempt: 0,
            rejoin_at: None,
            was_joined: false,
            order: next_order,
        });
        if entry.status == JoinStatus::Joined
            || (entry.status == JoinStatus::Joining && entry.join_ref.is_some())
        {
            return Ok(());
        }
        entry.params = params;
        entry.status = JoinStatus::Joining;
        entry.rejoin_at = None;
        self.send_join(&topic).await
    }

    /// Leaves `topic`. [`Client::on_leave`](super::Client::on_leave) runs when the server
    /// confirms. Does nothing for a topic that is not joined.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] if the connection task is gone.
    pub async fn leave(&mut self, topic: impl Into<SharedStr>) -> Result<()> {
        let topic = topic.into();
        let Some(state) = self.topics.get_mut(&topic) else {
            return Ok(());
        };
        let status = std::mem::replace(&mut state.status, JoinStatus::Leaving);
        state.rejoin_at = None;
        let join_ref = state.join_ref.clone();
        if !(self.connected && matches!(status, JoinStatus::Joined | JoinStatus::Joining)) {
            self.topics.remove(&topic);
            return Ok(());
        }
        let reference = self.next_ref()?;
        self.pending.insert(
            reference,
            Pending::Leave {
                topic: topic.clone(),
            },
        );
        self.arm(self.config.push_timeout, Timer::Reply(reference));
        let message = Message {
            join_ref,
            reference: Some(reference.to_string().into()),
            topic,
            event: SharedStr::from_static(event::LEAVE),
            payload: Payload::empty(),
        };
        self.send(&message, None).await
    }

    /// Pushes `event` with `payload` on a joined `topic`; the reply goes to
    /// [`Client::on_reply`](super::Client::on_reply) with the ref returned here.
    ///
    /// # Errors
    ///
    /// [`Error::NotConnected`] or [`Error::NotJoined`] without sending anything;
    /// [`Error::Encode`] for a binary field over 255 bytes.
    pub async fn push(
        &mut self,
        topic: impl Into<SharedStr>,
        event: impl Into<SharedStr>,
        payload: impl Into<Payload>,
    ) -> Result<SharedStr> {
        let (message, reference) = self.prepare_push(topic.into(), event.into(), payload.into())?;
        self.pending.insert(reference, Pending::Push);
        self.arm(self.config.push_timeout, Timer::Reply(reference));
        self.send(&message, None).await?;
        Ok(message.reference.unwrap_or_default())
    }

    /// Pushes and waits for the reply, up to the push timeout. Safe to await inside a
    /// callback: the reply is routed to this call by the connection task.
    ///
    /// # Errors
    ///
    /// As [`Socket::push`], plus [`Error::Timeout`] when no reply came in time and
    /// [`Error::Disconnected`] when the connection closed first. An error *reply* is not an
    /// error here: it is a [`Reply`] with status `error`.
    pub async fn request(
        &mut self,
        topic: impl Into<SharedStr>,
        event: impl Into<SharedStr>,
        payload: impl Into<Payload>,
    ) -> Result<Reply> {
        let receiver = self
            .request_reply(topic.into(), event.into(), payload.into())
            .await?;
        await_reply(receiver, self.config.push_timeout).await
    }

    pub(crate) async fn request_reply(
        &mut self,
        topic: SharedStr,
        event: SharedStr,
        payload: Payload,
    ) -> Result<oneshot::Receiver<Reply>> {
        let (message, reference) = self.prepare_push(topic, event, payload)?;
        let (tx, rx) = oneshot::channel();
        self.send(&message, Some((reference, tx))).await?;
        Ok(rx)
    }

    fn prepare_push(
        &mut self,
        topic: SharedStr,
        event: SharedStr,
        payload: Payload,
    ) -> Result<(Message, u64)> {
        if !self.connected {
            return Err(Error::NotConnected);
        }
        let join_ref = match self.topics.get(&topic) {
            Some(state) if state.status == JoinStatus::Joined => state.join_ref.clone(),
            _ => return Err(Error::NotJoined { topic }),
        };
        let reference = self.next_ref()?;
        let message = Message {
            join_ref,
            reference: Some(reference.to_string().into()),
            topic,
            event,
            payload,
        };
        Ok((message, reference))
    }

    /// Where `topic` stands.
    pub fn join_status(&self, topic: &str) -> JoinStatus {
        self.topics
            .get(topic)
            .map_or(JoinStatus::NotJoined, |t| t.status)
    }

    /// True when `topic` is joined.
    pub fn is_joined(&self, topic: &str) -> bool {
        self.join_status(topic) == JoinStatus::Joined
    }

    /// True while a connection is up.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The topics the client has joined or is joining.
    pub fn topics(&self) -> impl Iterator<Item = &SharedStr> {
        self.topics.keys()
    }

    /// A snapshot of the client's counters.
    pub fn counters(&self) -> Counters {
        self.counters.snapshot()
    }

    /// Counts a payload that did not decode into a handler's type. Called by code that
    /// `#[slipstream::client]` generates; not public API.
    #[doc(hidden)]
    pub fn __record_payload_error(&self) {
        AtomicCounters::bump(&self.counters.payload_errors);
    }

    /// Schedules a reconnect after the next delay of the reconnect schedule. Does nothing
    /// while connected or connecting.
    pub fn reconnect(&mut self) {
        if self.link.is_some() || self.reconnect_at.is_some() {
            return;
        }
        let delay = self.config.reconnect_backoff.delay(self.reconnect_attempt);
        self.reconnect_attempt = self.reconnect_attempt.saturating_add(1);
        debug!(target: "slipstream::client", ?delay, attempt = self.reconnect_attempt, "reconnect scheduled");
        self.reconnect_at = Some(Instant::now() + delay);
        self.arm(delay, Timer::Reconnect);
    }

    /// Schedules a rejoin of `topic`, with the params it was last joined with, after the next
    /// delay of the rejoin schedule. The join is sent once connected.
    ///
    /// # Errors
    ///
    /// [`Error::NeverJoined`] for a topic this client never joined.
    pub fn rejoin(&mut self, topic: &SharedStr) -> Result<()> {
        let Some(state) = self.topics.get_mut(topic) else {
            return Err(Error::NeverJoined {
                topic: topic.clone(),
            });
        };
        if matches!(state.status, JoinStatus::Joined | JoinStatus::Joining)
            || state.rejoin_at.is_some()
        {
            return Ok(());
        }
        let delay = self.config.rejoin_backoff.delay(state.rejoin_attempt);
        state.rejoin_attempt = state.rejoin_attempt.saturating_add(1);
        state.rejoin_at = Some(Instant::now() + delay);
        debug!(target: "slipstream::client", %topic, ?delay, attempt = state.rejoin_attempt, "rejoin scheduled");
        self.arm(delay, Timer::Rejoin(topic.clone()));
        Ok(())
    }

    /// Closes the connection with a close frame. [`Client::on_disconnect`](super::Client::on_disconnect)
    /// then runs with [`DisconnectReason::Requested`](super::DisconnectReason::Requested), and
    /// by default the client stays disconnected until [`Socket::reconnect`].
    pub async fn disconnect(&mut self) {
        self.reconnect_at = None;
        if let Some(link) = &self.link {
            let _ = link.outbound.send(Outbound::Close).await;
        }
    }

    /// Stops the client after the current callback returns: the connection is closed with
    /// a close frame and the client task ends.
    pub fn stop(&mut self) {
        self.stopping = true;
    }

    pub(crate) fn arm(&mut self, delay: std::time::Duration, timer: Timer) {
        self.timers.push(Reverse((Instant::now() + delay, timer)));
    }

    pub(crate) fn next_ref(&self) -> Result<u64> {
        self.link
            .as_ref()
            .map(Link::next_ref)
            .ok_or(Error::NotConnected)
    }

    pub(crate) async fn send(
        &mut self,
        message: &Message,
        reply: Option<(u64, oneshot::Sender<Reply>)>,
    ) -> Result<()> {
        let frame = self.config.serializer.encode_push(message)?;
        let link = self.link.as_ref().ok_or(Error::NotConnected)?;
        link.outbound
            .send(Outbound::Frame { frame, reply })
            .await
            .map_err(|_| Error::NotConnected)
    }

    /// Sends the join for `topic` if connected; otherwise it goes out on connect.
    pub(crate) async fn send_join(&mut self, topic: &SharedStr) -> Result<()> {
        if !self.connected {
            return Ok(());
        }
        let reference = self.next_ref()?;
        let join_ref = SharedStr::from(reference.to_string());
        let Some(state) = self.topics.get_mut(topic) else {
            return Ok(());
        };
        state.status = JoinStatus::Joining;
        state.join_ref = Some(join_ref.clone());
        let params = state.params.clone();
        if state.was_joined {
            AtomicCounters::bump(&self.counters.rejoins);
        }
        info!(target: "slipstream::client", %topic, join_ref = %join_ref, "joining");
        self.pending.insert(
            reference,
            Pending::Join {
                topic: topic.clone(),
            },
        );
        self.arm(self.config.join_timeout, Timer::Reply(reference));
        let message = Message {
            join_ref: Some(join_ref.clone()),
            reference: Some(join_ref),
            topic: topic.clone(),
            event: SharedStr::from_static(event::JOIN),
            payload: params,
        };
        self.send(&message, None).await
    }

    pub(crate) fn open_connection(&mut self) {
        self.reconnect_at = None;
        self.connect_attempt += 1;
        let link = connection::spawn(
            self.config.clone(),
            self.counters.clone(),
            self.connect_attempt,
        );
        self.link = Some(link);
    }
}

pub(crate) async fn await_reply(
    receiver: oneshot::Receiver<Reply>,
    limit: std::time::Duration,
) -> Result<Reply> {
    match tokio::time::timeout(limit, receiver).await {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(_)) => Err(Error::Disconnected { what: "the reply" }),
        Err(_) => Err(Error::Timeout { what: "the reply" }),
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("connected", &self.connected)
            .field(
                "topics",
                &self
                    .topics
                    .iter()
                    .map(|(t, s)| (t, s.status))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}
