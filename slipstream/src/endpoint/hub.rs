//! The in-process hub: topics, their subscribers, and one bounded queue per subscriber.

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::task::{Context, Poll};

use futures_util::Stream;

use super::queue::{EndReason, Overflow, Pushed, Queue};
use super::{Broadcast, Endpoint, SubscriberId};
use crate::protocol::{Message, SharedStr};

/// How many messages a subscriber's queue holds by default.
pub const DEFAULT_CAPACITY: usize = 1024;

/// Drops in one streak are logged on the first and then on every this many.
const LOG_EVERY: u64 = 1024;

/// An in-process [`Endpoint`]: topics, their subscribers, and one bounded queue per
/// subscriber.
///
/// Cloning a hub is cheap and every clone is the same hub. Broadcasting never waits: each
/// subscriber's queue either takes the message or applies the hub's [`Overflow`] policy,
/// which is counted in [`Hub::stats`] and logged.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use serde_json::json;
/// use slipstream::endpoint::{Endpoint, Hub};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let hub = Hub::new();
/// let mut lobby = hub.subscribe("rooms:lobby");
///
/// assert_eq!(hub.broadcast("rooms:lobby", "news", json!({ "text": "hi" })), 1);
/// assert_eq!(hub.broadcast("rooms:other", "news", json!({})), 0);
///
/// let message = lobby.next().await.unwrap();
/// assert_eq!(message.event, "news");
/// assert_eq!(message.payload.as_json().unwrap().as_str(), r#"{"text":"hi"}"#);
/// # }
/// ```
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    topics: RwLock<HashMap<SharedStr, Vec<Member>>>,
    next_id: AtomicU64,
    capacity: usize,
    overflow: Overflow,
    delivered: AtomicU64,
    dropped: AtomicU64,
    disconnected: AtomicU64,
}

struct Member {
    id: SubscriberId,
    queue: Arc<Queue<Broadcast>>,
}

/// Counters of a [`Hub`]'s deliveries and losses, as returned by [`Hub::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubStats {
    /// Messages placed in a subscriber's queue.
    pub delivered: u64,
    /// Messages dropped by [`Overflow::DropOldest`] or [`Overflow::DropNewest`].
    pub dropped: u64,
    /// Subscribers disconnected by [`Overflow::Disconnect`] because they lagged.
    pub disconnected: u64,
}

/// Configures a [`Hub`]; made by [`Hub::builder`].
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct HubBuilder {
    capacity: usize,
    overflow: Overflow,
}

impl HubBuilder {
    /// How many messages each subscriber's queue holds before the overflow policy applies
    /// (at least one). Defaults to [`DEFAULT_CAPACITY`].
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// What a full queue does with a new message. Defaults to [`Overflow::Disconnect`].
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// The hub.
    pub fn build(self) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                topics: RwLock::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                capacity: self.capacity,
                overflow: self.overflow,
                delivered: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                disconnected: AtomicU64::new(0),
            }),
        }
    }
}

impl Hub {
    /// A hub with the default queue capacity and [`Overflow::Disconnect`].
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for a hub with another queue capacity or overflow policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use slipstream::endpoint::{Hub, Overflow};
    ///
    /// let hub = Hub::builder().capacity(256).overflow(Overflow::DropNewest).build();
    /// assert_eq!(hub.capacity(), 256);
    /// ```
    pub fn builder() -> HubBuilder {
        HubBuilder {
            capacity: DEFAULT_CAPACITY,
            overflow: Overflow::default(),
        }
    }

    /// The capacity of each subscriber's queue.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// The overflow policy of each subscriber's queue.
    pub fn overflow(&self) -> Overflow {
        self.inner.overflow
    }

    /// Subscribes to `topic`. The subscription is a [`Stream`] of the topic's messages in
    /// broadcast order; dropping it unsubscribes.
    pub fn subscribe(&self, topic: impl Into<SharedStr>) -> Subscription {
        let topic = topic.into();
        let (id, queue) = self.new_queue();
        self.attach(&topic, id, &queue);
        Subscription {
            id,
            topic,
            queue,
            hub: Arc::downgrade(&self.inner),
        }
    }

    /// Ends subscriber `id` on every topic, with [`EndReason::Disconnected`]. Returns
    /// whether it was subscribed to anything.
    pub fn disconnect(&self, id: SubscriberId) -> bool {
        let mut found = None;
        self.inner.write().retain(|_, members| {
            if let Some(at) = members.iter().position(|m| m.id == id) {
                found = Some(members.swap_remove(at).queue);
            }
            !members.is_empty()
        });
        match found {
            Some(queue) => {
                queue.close(EndReason::Disconnected);
                true
            }
            None => false,
        }
    }

    /// How many subscribers `topic` has.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.inner.read().get(topic).map_or(0, Vec::len)
    }

    /// The hub's delivery and loss counters.
    pub fn stats(&self) -> HubStats {
        HubStats {
            delivered: self.inner.delivered.load(Ordering::Relaxed),
            dropped: self.inner.dropped.load(Ordering::Relaxed),
            disconnected: self.inner.disconnected.load(Ordering::Relaxed),
        }
    }

    /// A new subscriber id and an empty queue with the hub's capacity and policy; a
    /// WebSocket connection attaches its one queue to every topic it joins.
    pub(crate) fn new_queue(&self) -> (SubscriberId, Arc<Queue<Broadcast>>) {
        let id = SubscriberId(self.inner.next_id.fetch_add(1, Ordering::Relaxed));
        let queue = Arc::new(Queue::new(self.inner.capacity, self.inner.overflow));
        (id, queue)
    }

    /// Adds `queue` as subscriber `id` of `topic`, unless it already is.
    pub(crate) fn attach(
        &self,
        topic: &SharedStr,
        id: SubscriberId,
        queue: &Arc<Queue<Broadcast>>,
    ) {
        let mut topics = self.inner.write();
        let members = topics.entry(topic.clone()).or_default();
        if !members.iter().any(|m| m.id == id) {
            members.push(Member {
                id,
                queue: Arc::clone(queue),
            });
        }
    }

    /// Removes subscriber `id` from `topic`.
    pub(crate) fn detach(&self, topic: &str, id: SubscriberId) {
        self.inner.detach(topic, &[id]);
    }
}

impl Inner {
    fn read(&self) -> RwLockReadGuard<'_, HashMap<SharedStr, Vec<Member>>> {
        // Nothing panics while the lock is held, so a poisoned map is still consistent.
        self.topics.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<SharedStr, Vec<Member>>> {
        self.topics.write().unwrap_or_else(|p| p.into_inner())
    }

    fn detach(&self, topic: &str, ids: &[SubscriberId]) {
        let mut topics = self.write();
        let Some(members) = topics.get_mut(topic) else {
            return;
        };
        members.retain(|m| !ids.contains(&m.id));
        if members.is_empty() {
            topics.remove(topic);
        }
    }

    /// Pushes `broadcast` into every queue of its topic but `skip`'s, and returns how many
    /// took it plus the subscribers whose queues are closed and should be removed.
    fn fan_out(
        &self,
        broadcast: &Broadcast,
        skip: Option<SubscriberId>,
    ) -> (usize, Vec<SubscriberId>) {
        let topics = self.read();
        let Some(members) = topics.get(broadcast.topic().as_str()) else {
            return (0, Vec::new());
        };

        let mut reached = 0;
        let mut gone = Vec::new();
        for member in members.iter().filter(|m| Some(m.id) != skip) {
            match member.queue.push(broadcast.clone()) {
                Pushed::Queued => reached += 1,
                Pushed::DroppedOldest { streak } => {
                    reached += 1;
                    self.dropped(broadcast.topic(), member.id, streak, "oldest");
                }
                Pushed::DroppedNewest { streak } => {
                    self.dropped(broadcast.topic(), member.id, streak, "newest");
                }
                Pushed::Disconnected => {
                    self.lagged(broadcast.topic(), member.id);
                    gone.push(member.id);
                }
                Pushed::Closed => gone.push(member.id),
            }
        }
        (reached, gone)
    }

    fn dropped(&self, topic: &SharedStr, id: SubscriberId, streak: u64, which: &'static str) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        if streak == 1 || streak.is_multiple_of(LOG_EVERY) {
            tracing::warn!(
                topic = %topic,
                subscriber = id.0,
                dropped_in_streak = streak,
                policy = which,
                "subscriber queue full; dropping messages"
            );
        }
    }

    fn lagged(&self, topic: &SharedStr, id: SubscriberId) {
        self.disconnected.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            topic = %topic,
            subscriber = id.0,
            capacity = self.capacity,
            "subscriber queue full; disconnecting lagging subscriber"
        );
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let topics = self.topics.get_mut().unwrap_or_else(|p| p.into_inner());
        for member in topics.values().flatten() {
            member.queue.close(EndReason::Disconnected);
        }
    }
}

impl Endpoint for Hub {
    fn publish(&self, broadcast: Broadcast, skip: Option<SubscriberId>) -> usize {
        let (reached, gone) = self.inner.fan_out(&broadcast, skip);
        self.inner
            .delivered
            .fetch_add(reached as u64, Ordering::Relaxed);
        if !gone.is_empty() {
            self.inner.detach(broadcast.topic(), &gone);
        }
        reached
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("topics", &self.inner.read().len())
            .field("capacity", &self.inner.capacity)
            .field("overflow", &self.inner.overflow)
            .field("stats", &self.stats())
            .finish()
    }
}

/// One subscriber of one topic of a [`Hub`]: a [`Stream`] of its messages in broadcast
/// order. Made by [`Hub::subscribe`]; dropping it unsubscribes.
///
/// The stream ends when the subscription does: after the messages already queued when its
/// queue overflowed under [`Overflow::Disconnect`] ([`EndReason::Lagged`]), or when it was
/// disconnected ([`EndReason::Disconnected`]). [`Subscription::end_reason`] says which.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use slipstream::endpoint::{EndReason, Endpoint, Hub};
/// use slipstream::protocol::Payload;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let hub = Hub::builder().capacity(2).build();
/// let mut slow = hub.subscribe("ticks");
/// for _ in 0..3 {
///     hub.broadcast("ticks", "tick", Payload::empty());
/// }
/// // The third tick overflowed the queue: the two queued ticks arrive, then the end.
/// assert_eq!(slow.by_ref().count().await, 2);
/// assert_eq!(slow.end_reason(), Some(EndReason::Lagged));
/// assert_eq!(hub.stats().disconnected, 1);
/// # }
/// ```
#[must_use = "a subscription receives nothing unless it is polled"]
pub struct Subscription {
    id: SubscriberId,
    topic: SharedStr,
    queue: Arc<Queue<Broadcast>>,
    hub: Weak<Inner>,
}

impl Subscription {
    /// This subscriber's id, for [`Endpoint::broadcast_from`] and [`Hub::disconnect`].
    pub fn id(&self) -> SubscriberId {
        self.id
    }

    /// The topic subscribed to.
    pub fn topic(&self) -> &SharedStr {
        &self.topic
    }

    /// Why the subscription ended, or `None` while it is live. Messages queued before the
    /// end are still delivered by the stream.
    pub fn end_reason(&self) -> Option<EndReason> {
        self.queue.end_reason()
    }

    /// The next broadcast, sharing its encoded frames with every other subscriber; `None`
    /// once the subscription has ended.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a broadcast is only taken from the queue when the future completes.
    pub async fn recv(&mut self) -> Option<Broadcast> {
        std::future::poll_fn(|cx| self.queue.poll_pop(cx)).await
    }
}

impl Stream for Subscription {
    type Item = Message;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.queue
            .poll_pop(cx)
            .map(|b| b.map(|b| b.message().clone()))
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.queue.close(EndReason::Disconnected);
        if let Some(hub) = self.hub.upgrade() {
            hub.detach(&self.topic, &[self.id]);
        }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("topic", &self.topic)
            .field("end_reason", &self.end_reason())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;
    use crate::protocol::Payload;

    #[tokio::test]
    async fn delivers_in_order_to_every_subscriber_but_the_skipped_one() {
        let hub = Hub::new();
        let mut a = hub.subscribe("t");
        let mut b = hub.subscribe("t");
        for n in 0..10 {
            hub.broadcast("t", "n", serde_json::json!(n));
        }
        assert_eq!(
            hub.broadcast_from(a.id(), "t", "n", serde_json::json!(10)),
            1
        );
        for n in 0..10 {
            assert_eq!(
                a.next().await.unwrap().payload.as_bytes(),
                n.to_string().as_bytes()
            );
            assert_eq!(
                b.next().await.unwrap().payload.as_bytes(),
                n.to_string().as_bytes()
            );
        }
        assert_eq!(b.next().await.unwrap().payload.as_bytes(), b"10");
        assert_eq!(hub.stats().delivered, 21);
    }

    #[tokio::test]
    async fn drop_policies_count_and_keep_the_right_messages() {
        for (overflow, kept) in [
            (Overflow::DropOldest, [2, 3]),
            (Overflow::DropNewest, [0, 1]),
        ] {
            let hub = Hub::builder().capacity(2).overflow(overflow).build();
            let mut sub = hub.subscribe("t");
            for n in 0..4 {
                hub.broadcast("t", "n", serde_json::json!(n));
            }
            assert_eq!(hub.stats().dropped, 2);
            assert_eq!(hub.stats().disconnected, 0);
            for n in kept {
                assert_eq!(
                    sub.next().await.unwrap().payload.as_bytes(),
                    n.to_string().as_bytes()
                );
            }
            assert_eq!(sub.end_reason(), None);
        }
    }

    #[test]
    fn a_lagging_subscriber_is_removed_from_the_topic() {
        let hub = Hub::builder().capacity(1).build();
        let sub = hub.subscribe("t");
        hub.broadcast("t", "e", Payload::empty());
        assert_eq!(hub.broadcast("t", "e", Payload::empty()), 0);
        assert_eq!(hub.subscriber_count("t"), 0);
        assert_eq!(sub.end_reason(), Some(EndReason::Lagged));
    }

    #[tokio::test]
    async fn dropping_a_subscription_or_disconnecting_unsubscribes() {
        let hub = Hub::new();
        let a = hub.subscribe("t");
        let mut b = hub.subscribe("t");
        drop(a);
        assert_eq!(hub.subscriber_count("t"), 1);
        assert!(hub.disconnect(b.id()));
        assert_eq!(hub.subscriber_count("t"), 0);
        assert!(b.next().await.is_none());
        assert_eq!(b.end_reason(), Some(EndReason::Disconnected));
    }

    #[tokio::test]
    async fn dropping_the_hub_ends_subscriptions() {
        let hub = Hub::new();
        let mut sub = hub.subscribe("t");
        drop(hub);
        assert!(sub.next().await.is_none());
    }
}
