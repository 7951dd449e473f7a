//! This service's own endpoint: an in-process hub that Rust code broadcasts into, and a
//! Phoenix-protocol WebSocket server that serves it to phoenix.js clients.
//!
//! # The model
//!
//! A **topic** is a name such as `rooms:lobby`. A **subscriber** is either a Rust
//! [`Subscription`] to one topic, or one WebSocket connection, which may join many topics.
//! [`Endpoint::broadcast`] delivers a message to every current subscriber of its topic and
//! returns how many it reached; a topic with no subscribers simply drops it, as Phoenix
//! does.
//!
//! Broadcasting never waits on a subscriber. Each subscriber owns one **bounded queue**
//! (a connection shares its queue across all the topics it joined, so its messages leave
//! in broadcast order). A broadcast is pushed onto every queue as a [`Broadcast`], a
//! reference-counted handle whose WebSocket frame is encoded at most once per serializer
//! and then shared by every connection that writes it. A connection's task takes
//! everything queued at once, writes it, and flushes once.
//!
//! When a queue is full, the hub's **overflow policy** ([`Overflow`]) decides:
//!
//! - [`Overflow::Disconnect`] (the default): the lagging subscriber is cut off. A
//!   WebSocket connection is closed with code 1008 and reason `subscriber lagged` (phoenix.js
//!   reconnects and rejoins); a [`Subscription`] yields what was already queued, then ends,
//!   and [`Subscription::end_reason`] is [`EndReason::Lagged`]. The subscriber knows it has a
//!   gap, instead of silently missing messages.
//! - [`Overflow::DropOldest`] and [`Overflow::DropNewest`]: the subscriber stays, and the
//!   oldest queued or the new message is dropped.
//!
//! Either way every loss is counted ([`Hub::stats`], [`EndpointServer::stats`]) and logged
//! at `warn` with the topic (drops are logged at the start of a streak and every 1,024
//! drops after that). Payloads are never logged.
//!
//! # The server
//!
//! [`EndpointServer`] speaks the Phoenix Channels protocol, as phoenix.js expects it:
//! `vsn=2.0.0` (JSON arrays and binary frames) and `vsn=1.0.0` (JSON objects), heartbeats,
//! `phx_join` / `phx_leave` with `phx_reply` and `phx_close`, a second join of a joined topic
//! replacing the first, stale join refs ignored, and joins of topics outside the configured
//! patterns refused with `{"reason":"unmatched topic"}`. Hooks decide who may connect, who
//! may join what, and how a client's push is answered. A frame that does not decode is
//! counted and logged; the connection stays up. A connection that sends nothing for the
//! idle timeout (60 s, as Phoenix) is closed.
//!
//! # Examples
//!
//! A hub served to phoenix.js, fed by Rust code, and watched by a Rust subscriber:
//!
//! ```
//! use futures_util::StreamExt;
//! use serde_json::json;
//! use slipstream::endpoint::{Endpoint, EndpointServer, Hub};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let hub = Hub::new();
//! let server = EndpointServer::builder(hub.clone())
//!     .topics(["rooms:*"])
//!     .bind("127.0.0.1:0")
//!     .await?;
//! // phoenix.js: new Socket("ws://127.0.0.1:PORT/socket").channel("rooms:lobby").join()
//! let _url = server.url();
//!
//! let mut watcher = hub.subscribe("rooms:lobby");
//! hub.broadcast("rooms:lobby", "new_msg", json!({ "body": "hello" }));
//!
//! let message = watcher.next().await.expect("the hub is alive");
//! assert_eq!(message.event, "new_msg");
//!
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod broadcast;
mod connection;
mod handshake;
mod hooks;
mod hub;
mod queue;
mod server;
mod session;

pub use broadcast::Broadcast;
pub use hooks::{ConnectInfo, JoinRequest, PushReply, PushRequest, Refusal};
pub use hub::{DEFAULT_CAPACITY, Hub, HubBuilder, HubStats, Subscription};
pub use queue::{EndReason, Overflow};
pub use server::{DEFAULT_PATH, EndpointServer, EndpointServerBuilder, ServerStats};

/// Something messages can be broadcast into: a [`Hub`] in this process, or
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_types_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Hub>();
        assert_send_sync::<Subscription>();
        assert_send_sync::<Broadcast>();
        assert_send_sync::<EndpointServer>();
        assert_send_sync::<EndpointServerBuilder>();
        assert_send_sync::<ConnectInfo>();
    }
}
