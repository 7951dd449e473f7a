//! The client task: one loop that applies connection events to the [`Socket`] and calls
//! the [`Client`]'s callbacks, one at a time.

use std::cmp::Reverse;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{Instrument as _, debug, info, warn};

use super::counters::AtomicCounters;
use super::handle::{Command, Shared};
use super::socket::{JoinStatus, Pending, Timer};
use super::{Client, ClientHandle, DisconnectReason, ReplyError, Socket, TopicCloseReason};
use crate::connection::{Event, Outbound};
use crate::protocol::{Message, Reply, ServerMessage, event};
use crate::{Config, Result};

pub(crate) fn start<C: Client>(client: C, config: Config) -> ClientHandle<C> {
    let config = Arc::new(config);
    let counters = Arc::new(AtomicCounters::default());
    let shared = Arc::new(Shared {
        counters: counters.clone(),
        connected: AtomicBool::new(false),
        push_timeout: config.push_timeout,
    });
    let (commands_tx, commands) = mpsc::channel(config.queue_capacity);
    let (stopped_tx, stopped) = watch::channel(false);
    let span = tracing::info_span!(target: "slipstream::client", "client", host = config.url().host_str().unwrap_or(""));
    let runtime = Runtime {
        client,
        socket: Socket::new(config, counters),
        commands,
        shared: shared.clone(),
    };
    let guard = Stopped {
        stopped: stopped_tx,
        shared: shared.clone(),
    };
    tokio::spawn(
        async move {
            // The guard marks the client stopped however the task ends, a panicking callback
            // included.
            let _guard = guard;
            runtime.run().await;
        }
        .instrument(span),
    );
    ClientHandle::new(commands_tx, shared, stopped)
}

/// Marks the client stopped and disconnected when dropped.
struct Stopped {
    stopped: watch::Sender<bool>,
    shared: Arc<Shared>,
}

impl Drop for Stopped {
    fn drop(&mut self) {
        self.shared.connected.store(false, Ordering::Relaxed);
        let _ = self.stopped.send(true);
    }
}

struct Runtime<C: Client> {
    client: C,
    socket: Socket,
    commands: mpsc::Receiver<Command<C>>,
    shared: Arc<Shared>,
}

/// Logs and counts an error a callback returned; the client carries on.
fn report(counters: &AtomicCounters, callback: &'static str, result: Result<()>) {
    if let Err(error) = result {
        AtomicCounters::bump(&counters.callback_errors);
        warn!(target: "slipstream::client", callback, %error, "callback returned an error");
    }
}

impl<C: Client> Runtime<C> {
    async fn run(mut self) {
        self.socket.open_connection();
        while !self.socket.stopping {
            let deadline = self.socket.timers.peek().map(|Reverse((at, _))| *at);
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => self.command(command).await,
                    None => self.socket.stopping = true,
                },
                event = next_event(&mut self.socket) => self.event(event).await,
                () = sleep_until(deadline) => self.fire_timers().await,
            }
        }
        self.close().await;
    }

    /// Closes the connection gracefully and lets the connection task finish.
    async fn close(&mut self) {
        let Some(mut link) = self.socket.link.take() else {
            return;
        };
        let _ = link.outbound.send(Outbound::Close).await;
        let drain = async {
            while let Some(event) = link.events.recv().await {
                if matches!(event, Event::Closed(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(
            self.socket.config.send_timeout + Duration::from_secs(1),
            drain,
        )
        .await;
        self.shared.connected.store(false, Ordering::Relaxed);
    }

    async fn command(&mut self, command: Command<C>) {
        let socket = &mut self.socket;
        match command {
            Command::Join {
                topic,
                params,
                done,
            } => {
                let _ = done.send(socket.join(topic, params).await);
            }
            Command::Leave { topic, done } => {
                let _ = done.send(socket.leave(topic).await);
            }
            Command::Push {
                topic,
                event,
                payload,
                reply,
            } => {
                let _ = reply.send(socket.request_reply(topic, event, payload).await);
            }
            Command::Info(info) => {
                let result = self.client.on_info(socket, info).await;
                report(&socket.counters, "on_info", result);
            }
            Command::Call(request, answer) => {
                let _ = answer.send(self.client.on_call(socket, request).await);
            }
            Command::Disconnect(done) => {
                socket.disconnect().await;
                let _ = done.send(());
            }
            Command::Reconnect => {
                if socket.link.is_none() {
                    socket.reconnect_attempt = 0;
                    socket.open_connection();
                }
            }
            Command::Shutdown => socket.stopping = true,
        }
    }

    async fn event(&mut self, event: Event) {
        match event {
            Event::Connected => self.connected().await,
            Event::Inbound(batch) => {
                for inbound in batch {
                    match inbound {
                        ServerMessage::Message(message) => self.message(message).await,
                        ServerMessage::Reply(reply) => self.reply(reply).await,
                    }
                }
            }
            Event::Closed(reason) => self.disconnected(reason).await,
        }
    }

    async fn connected(&mut self) {
        let socket = &mut self.socket;
        socket.connected = true;
        socket.reconnect_attempt = 0;
        self.shared.connected.store(true, Ordering::Relaxed);
        let connects = socket.counters.connects.fetch_add(1, Ordering::Relaxed);
        if connects > 0 {
            AtomicCounters::bump(&socket.counters.reconnects);
        }
        let result = self.client.on_connect(socket).await;
        report(&socket.counters, "on_connect", result);
        self.flush_joins().await;
    }

    /// Sends the joins wanted but not yet sent on this connection: topics joined before a
    /// disconnect, and joins requested while disconnected.
    async fn flush_joins(&mut self) {
        let socket = &mut self.socket;
        let mut waiting: Vec<_> = socket
            .topics
            .iter()
            .filter(|(_, t)| t.status == JoinStatus::Joining && t.join_ref.is_none())
            .map(|(topic, t)| (t.order, topic.clone()))
            .collect();
        waiting.sort_unstable();
        for (_, topic) in waiting {
            let result = socket.send_join(&topic).await;
            report(&socket.counters, "rejoin", result);
        }
    }

    async fn message(&mut self, message: Message) {
        let socket = &mut self.socket;
        let Some(state) = socket.topics.get(&message.topic) else {
            return drop_message(socket, &message, "topic not joined");
        };
        // V1 servers send no join_ref; their phx_error and phx_close carry it as the ref.
        let join_ref = match message.event.as_str() {
            event::ERROR | event::CLOSE => message.join_ref.as_ref().or(message.reference.as_ref()),
            _ => message.join_ref.as_ref(),
        };
        if join_ref.is_some() && join_ref != state.join_ref.as_ref() {
            return drop_message(socket, &message, "stale join_ref");
        }
        let topic = message.topic.clone();
        match message.event.as_str() {
            event::ERROR => {
                warn!(target: "slipstream::client", %topic, "channel crashed");
                if let Some(state) = socket.topics.get_mut(&topic) {
                    state.status = JoinStatus::Closed;
                    state.join_ref = None;
                }
                let reason = TopicCloseReason::Crashed(message.payload);
                let result = self.client.on_topic_close(socket, &topic, reason).await;
                report(&socket.counters, "on_topic_close", result);
            }
            event::CLOSE => {
                info!(target: "slipstream::client", %topic, "left");
                socket.topics.remove(&topic);
                let result = self.client.on_leave(socket, &topic).await;
                report(&socket.counters, "on_leave", result);
            }
            _ if state.status == JoinStatus::Joined => {
                AtomicCounters::bump(&socket.counters.messages);
                let result = self.client.on_message(socket, message).await;
                report(&socket.counters, "on_message", result);
            }
            _ => drop_message(socket, &message, "topic not joined"),
        }
    }

    async fn reply(&mut self, reply: Reply) {
        let socket = &mut self.socket;
        let reference = reply
            .reference
            .as_deref()
            .and_then(|r| r.parse::<u64>().ok());
        let Some(pending) = reference.and_then(|r| socket.pending.remove(&r)) else {
            AtomicCounters::bump(&socket.counters.dropped);
            debug!(target: "slipstream::client", topic = %reply.topic, "reply to no outstanding ref");
            return;
        };
        match pending {
            Pending::Join { topic } => self.join_reply(topic, reply).await,
            Pending::Leave { .. } => {}
            Pending::Push => {
                let reference = reply.reference.clone().unwrap_or_default();
                let result = self.client.on_reply(socket, reference, Ok(reply)).await;
                report(&socket.counters, "on_reply", result);
            }
        }
    }

    async fn join_reply(&mut self, topic: crate::protocol::SharedStr, reply: Reply) {
        let socket = &mut self.socket;
        let Some(state) = socket.topics.get_mut(&topic) else {
            return;
        };
        if state.join_ref != reply.reference {
            return;
        }
        if reply.is_ok() {
            state.status = JoinStatus::Joined;
            state.rejoin_attempt = 0;
            state.was_joined = true;
            info!(target: "slipstream::client", %topic, join_ref = state.join_ref.as_deref().unwrap_or(""), "joined");
            let result = self.client.on_join(socket, &topic, reply.response).await;
            report(&socket.counters, "on_join", result);
        } else {
            state.status = JoinStatus::Closed;
            state.join_ref = None;
            info!(target: "slipstream::client", %topic, status = %reply.status, "join refused");
            let reason = TopicCloseReason::Refused(reply.response);
            let result = self.client.on_topic_close(socket, &topic, reason).await;
            report(&socket.counters, "on_topic_close", result);
        }
    }

    async fn disconnected(&mut self, reason: DisconnectReason) {
        let socket = &mut self.socket;
        let was_connected = std::mem::replace(&mut socket.connected, false);
        self.shared.connected.store(false, Ordering::Relaxed);
        socket.link = None;
        match &reason {
            DisconnectReason::ConnectFailed(error) => {
                info!(target: "slipstream::client", %error, attempt = socket.connect_attempt, "connect failed");
            }
            _ if was_connected && !reason.is_requested() => {
                warn!(target: "slipstream::client", %reason, "disconnected");
            }
            _ => info!(target: "slipstream::client", %reason, "disconnected"),
        }
        // Joined topics are wanted again on the next connection; leaves in flight are done.
        socket.topics.retain(|_, t| t.status != JoinStatus::Leaving);
        for state in socket.topics.values_mut() {
            if state.status == JoinStatus::Joined {
                state.status = JoinStatus::Joining;
            }
            if state.status == JoinStatus::Joining {
                state.join_ref = None;
            }
        }
        let pushes: Vec<u64> = socket
            .pending
            .drain()
            .filter_map(|(reference, pending)| {
                matches!(pending, Pending::Push).then_some(reference)
            })
            .collect();
        for reference in pushes {
            let result = self
                .client
                .on_reply(
                    socket,
                    reference.to_string().into(),
                    Err(ReplyError::Disconnected),
                )
                .await;
            report(&socket.counters, "on_reply", result);
        }
        let result = self.client.on_disconnect(socket, &reason).await;
        report(&socket.counters, "on_disconnect", result);
    }

    async fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, _))) = self.socket.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, timer))) = self.socket.timers.pop() else {
                break;
            };
            self.fire(timer, now).await;
        }
    }

    async fn fire(&mut self, timer: Timer, now: Instant) {
        let socket = &mut self.socket;
        match timer {
            Timer::Reconnect => {
                if socket.link.is_none() && socket.reconnect_at.is_some_and(|at| at <= now) {
                    socket.open_connection();
                }
            }
            Timer::Rejoin(topic) => {
                let Some(state) = socket.topics.get_mut(&topic) else {
                    return;
                };
                if state.rejoin_at.is_none_or(|at| at > now) {
                    return;
                }
                state.rejoin_at = None;
                state.status = JoinStatus::Joining;
                state.join_ref = None;
                if socket.connected {
                    let result = socket.send_join(&topic).await;
                    report(&socket.counters, "rejoin", result);
                }
            }
            Timer::Reply(reference) => self.reply_timeout(reference).await,
        }
    }

    async fn reply_timeout(&mut self, reference: u64) {
        let socket = &mut self.socket;
        match socket.pending.remove(&reference) {
            None => {}
            Some(Pending::Join { topic }) => {
                warn!(target: "slipstream::client", %topic, "join timed out");
                // As phoenix.js does, tell the server to drop the half-made join.
                let join_ref = socket.topics.get(&topic).and_then(|t| t.join_ref.clone());
                if let Some(state) = socket.topics.get_mut(&topic) {
                    state.status = JoinStatus::Closed;
                    state.join_ref = None;
                }
                if let Ok(leave_ref) = socket.next_ref() {
                    let leave = Message {
                        join_ref,
                        reference: Some(leave_ref.to_string().into()),
                        topic: topic.clone(),
                        event: crate::protocol::SharedStr::from_static(event::LEAVE),
                        payload: crate::protocol::Payload::empty(),
                    };
                    let _ = socket.send(&leave, None).await;
                }
                let result = self
                    .client
                    .on_topic_close(socket, &topic, TopicCloseReason::JoinTimeout)
                    .await;
                report(&socket.counters, "on_topic_close", result);
            }
            Some(Pending::Leave { topic }) => {
                socket.topics.remove(&topic);
                let result = self.client.on_leave(socket, &topic).await;
                report(&socket.counters, "on_leave", result);
            }
            Some(Pending::Push) => {
                let result = self
                    .client
                    .on_reply(
                        socket,
                        reference.to_string().into(),
                        Err(ReplyError::Timeout),
                    )
                    .await;
                report(&socket.counters, "on_reply", result);
            }
        }
    }
}

fn drop_message(socket: &Socket, message: &Message, why: &'static str) {
    AtomicCounters::bump(&socket.counters.dropped);
    debug!(target: "slipstream::client", topic = %message.topic, event = %message.event, why, "message dropped");
}

async fn next_event(socket: &mut Socket) -> Event {
    let Some(link) = socket.link.as_mut() else {
        return std::future::pending().await;
    };
    match link.events.recv().await {
        Some(event) => event,
        None => Event::Closed(DisconnectReason::Dropped("connection task ended".into())),
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
