//! Phoenix channel semantics for one connection, without I/O: which topics are joined
//! under which join ref, and the frames each client message is answered with.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;

use super::hooks::{ConnectInfo, JoinRequest, PushReply, PushRequest};
use super::queue::{EndReason, Queue};
use super::server::{Counters, Shared};
use super::{Broadcast, Hub, SubscriberId};
use crate::protocol::{Frame, Message, Payload, Reply, ReplyStatus, Serializer, SharedStr, event};

/// One connection's channels. Dropping it leaves every topic and closes the queue.
pub(crate) struct Session {
    serializer: Serializer,
    id: SubscriberId,
    queue: Arc<Queue<Broadcast>>,
    hub: Hub,
    connect: ConnectInfo,
    /// Joined topics and the join ref each was joined under.
    joined: HashMap<SharedStr, SharedStr>,
}

/// Where a message's topic and join ref stand.
enum Membership {
    NotJoined,
    /// Joined under another join ref: the message belongs to an earlier join.
    Stale,
    Joined(SharedStr),
}

impl Session {
    pub(crate) fn new(connect: ConnectInfo, hub: Hub) -> Self {
        let (id, queue) = hub.new_queue();
        Session {
            serializer: connect.serializer,
            id,
            queue,
            hub,
            connect,
            joined: HashMap::new(),
        }
    }

    pub(crate) fn serializer(&self) -> Serializer {
        self.serializer
    }

    pub(crate) fn queue(&self) -> &Arc<Queue<Broadcast>> {
        &self.queue
    }

    pub(crate) fn connect(&self) -> &ConnectInfo {
        &self.connect
    }

    /// Answers one decoded client message, appending the frames to send to `out`.
    pub(crate) fn handle(&mut self, shared: &Shared, message: &Message, out: &mut Vec<Frame>) {
        if message.topic == event::HEARTBEAT_TOPIC && message.event == event::HEARTBEAT {
            let reply = reply(None, message, ReplyStatus::Ok, Payload::empty());
            return self.reply(out, &reply);
        }
        match message.event.as_str() {
            event::JOIN => self.join(shared, message, out),
            event::LEAVE => self.leave(message, out),
            _ => self.push(shared, message, out),
        }
    }

    /// The frame to write for `broadcast`, or `None` when this connection no longer joins
    /// its topic or cannot carry it (a binary payload for V1, counted and logged).
    pub(crate) fn frame_for(&self, shared: &Shared, broadcast: &Broadcast) -> Option<Frame> {
        if !self.joined.contains_key(broadcast.topic().as_str()) {
            return None;
        }
        match broadcast.frame(self.serializer) {
            Ok(frame) => Some(frame),
            Err(error) => {
                let count = Counters::bump(&shared.stats.undeliverable);
                if !crate::log::sampled(count) {
                    return None;
                }
                tracing::warn!(
                    undeliverable = count,
                    topic = %broadcast.topic(),
                    event = %broadcast.message().event,
                    subscriber = self.id.0,
                    %error,
                    "broadcast cannot be sent to this subscriber; dropped"
                );
                None
            }
        }
    }

    fn join(&mut self, shared: &Shared, message: &Message, out: &mut Vec<Frame>) {
        let topic = message.topic.clone();
        if !shared.config.topics.matches(&topic) {
            return self.unmatched_topic(message, out);
        }
        let join_ref = message
            .join_ref
            .clone()
            .or_else(|| message.reference.clone());
        let previous = self.joined.remove(&topic);
        if previous.is_none() && self.joined.len() >= shared.config.max_joins {
            let reason = json!({ "reason": "too many joined topics" });
            let reply = reply(join_ref, message, ReplyStatus::Error, reason.into());
            return self.reply(out, &reply);
        }

        let request = JoinRequest {
            topic: &topic,
            params: &message.payload,
            subscriber: self.id,
            connect: &self.connect,
        };
        let (status, response) = match shared.config.join(&request) {
            Ok(response) => {
                self.hub.attach(&topic, self.id, &self.queue);
                let current = join_ref.clone().unwrap_or_default();
                self.joined.insert(topic.clone(), current);
                tracing::info!(topic = %topic, join_ref = join_ref.as_deref().unwrap_or(""), subscriber = self.id.0, "joined");
                (ReplyStatus::Ok, response)
            }
            Err(reason) => {
                self.hub.detach(&topic, self.id);
                tracing::info!(topic = %topic, subscriber = self.id.0, "join refused");
                (ReplyStatus::Error, reason)
            }
        };
        self.reply(out, &reply(join_ref.clone(), message, status, response));

        // Phoenix closes the channel of the earlier join once the new one is answered.
        if let Some(previous) = previous.filter(|p| Some(p) != join_ref.as_ref()) {
            self.close_frame(out, &topic, previous);
        }
    }

    fn leave(&mut self, message: &Message, out: &mut Vec<Frame>) {
        let join_ref = match self.membership(message) {
            Membership::NotJoined => return self.unmatched_topic(message, out),
            Membership::Stale => return stale(message),
            Membership::Joined(join_ref) => join_ref,
        };
        self.joined.remove(&message.topic);
        self.hub.detach(&message.topic, self.id);
        tracing::info!(topic = %message.topic, subscriber = self.id.0, "left");

        let ok = reply(
            Some(join_ref.clone()),
            message,
            ReplyStatus::Ok,
            Payload::empty(),
        );
        self.reply(out, &ok);
        self.close_frame(out, &message.topic, join_ref);
    }

    fn push(&mut self, shared: &Shared, message: &Message, out: &mut Vec<Frame>) {
        let join_ref = match self.membership(message) {
            Membership::NotJoined => return self.unmatched_topic(message, out),
            Membership::Stale => return stale(message),
            Membership::Joined(join_ref) => join_ref,
        };
        let request = PushRequest {
            topic: &message.topic,
            event: &message.event,
            payload: &message.payload,
            subscriber: self.id,
            connect: &self.connect,
        };
        let (status, response) = match shared.config.push(&request) {
            PushReply::Ok(response) => (ReplyStatus::Ok, response),
            PushReply::Error(response) => (ReplyStatus::Error, response),
            PushReply::NoReply => return,
        };
        self.reply(out, &reply(Some(join_ref), message, status, response));
    }

    fn membership(&self, message: &Message) -> Membership {
        match (self.joined.get(message.topic.as_str()), &message.join_ref) {
            (None, _) => Membership::NotJoined,
            (Some(current), Some(sent)) if current != sent => Membership::Stale,
            (Some(current), _) => Membership::Joined(current.clone()),
        }
    }

    /// Phoenix's answer to a join or push on a topic no channel serves: no join ref.
    fn unmatched_topic(&self, message: &Message, out: &mut Vec<Frame>) {
        let reason = json!({ "reason": "unmatched topic" });
        let reply = reply(None, message, ReplyStatus::Error, reason.into());
        self.reply(out, &reply);
    }

    fn close_frame(&self, out: &mut Vec<Frame>, topic: &SharedStr, join_ref: SharedStr) {
        let close = Message {
            join_ref: Some(join_ref.clone()),
            reference: Some(join_ref),
            topic: topic.clone(),
            event: SharedStr::from_static(event::CLOSE),
            payload: Payload::empty(),
        };
        match self.serializer.encode_message(&close) {
            Ok(frame) => out.push(frame),
            Err(error) => tracing::warn!(topic = %topic, %error, "phx_close could not be encoded"),
        }
    }

    /// Encodes `reply`; a response this serializer cannot carry (binary for V1, or fields
    /// too long for a binary frame) becomes an error reply saying so.
    fn reply(&self, out: &mut Vec<Frame>, reply: &Reply) {
        let frame = self.serializer.encode_reply(reply).or_else(|error| {
            tracing::warn!(topic = %reply.topic, %error, "reply could not be encoded");
            let fallback = Reply {
                status: ReplyStatus::Error,
                response: json!({ "reason": "reply could not be encoded" }).into(),
                ..reply.clone()
            };
            self.serializer.encode_reply(&fallback)
        });
        match frame {
            Ok(frame) => out.push(frame),
            Err(error) => tracing::warn!(topic = %reply.topic, %error, "reply dropped"),
        }
    }
}

fn reply(
    join_ref: Option<SharedStr>,
    message: &Message,
    status: ReplyStatus,
    response: Payload,
) -> Reply {
    Reply {
        join_ref,
        reference: message.reference.clone(),
        topic: message.topic.clone(),
        status,
        response,
    }
}

fn stale(message: &Message) {
    tracing::debug!(
        topic = %message.topic,
        event = %message.event,
        join_ref = ?message.join_ref,
        "message for an earlier join ignored"
    );
}

impl Session {
    /// Leaves every topic and closes the queue, so that broadcasts stop reaching this
    /// connection at once, before its close handshake.
    pub(crate) fn end(&mut self) {
        for (topic, _) in self.joined.drain() {
            self.hub.detach(&topic, self.id);
        }
        self.queue.close(EndReason::Disconnected);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.end();
    }
}
