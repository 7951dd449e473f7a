//! This service's own endpoint: an in-process hub that Rust code broadcasts into, and a
//! Phoenix-protocol WebSocket server that serves it to phoenix.js clients.
//!
//! (Module docs: the model — topics, subscribers, bounded queues and overflow policy, how a
//! lagging subscriber is told — then a runnable example. To be completed with the hub and
//! server.)

mod broadcast;

pub use broadcast::Broadcast;

/// Something messages can be broadcast into: a [`Hub`](crate::endpoint) in this process, or
/// in the future a pub/sub backend shared by many nodes.
///
/// Implementations are cheap to call from any task and never block on a slow subscriber:
/// each subscriber has a bounded queue with an overflow policy.
pub trait Endpoint: Send + Sync {
    /// Delivers `broadcast` to every subscriber of its topic except `skip`, and returns how
    /// many subscribers it reached.
    fn publish(&self, broadcast: Broadcast, skip: Option<SubscriberId>) -> usize;

    /// Broadcasts `payload` as `event` on `topic` to every subscriber.
    fn broadcast(
        &self,
        topic: impl Into<crate::protocol::SharedStr>,
        event: impl Into<crate::protocol::SharedStr>,
        payload: impl Into<crate::protocol::Payload>,
    ) -> usize
    where
        Self: Sized,
    {
        self.publish(Broadcast::new(topic, event, payload), None)
    }

    /// Broadcasts to every subscriber of `topic` except `from`.
    fn broadcast_from(
        &self,
        from: SubscriberId,
        topic: impl Into<crate::protocol::SharedStr>,
        event: impl Into<crate::protocol::SharedStr>,
        payload: impl Into<crate::protocol::Payload>,
    ) -> usize
    where
        Self: Sized,
    {
        self.publish(Broadcast::new(topic, event, payload), Some(from))
    }
}

impl<E: Endpoint + ?Sized> Endpoint for std::sync::Arc<E> {
    fn publish(&self, broadcast: Broadcast, skip: Option<SubscriberId>) -> usize {
        (**self).publish(broadcast, skip)
    }
}

impl<E: Endpoint + ?Sized> Endpoint for &E {
    fn publish(&self, broadcast: Broadcast, skip: Option<SubscriberId>) -> usize {
        (**self).publish(broadcast, skip)
    }
}

/// Identifies one subscriber of a hub (a Rust subscription or one WebSocket connection), so
/// that [`Endpoint::broadcast_from`] can skip it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriberId(pub(crate) u64);
