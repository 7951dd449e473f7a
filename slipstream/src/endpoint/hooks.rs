//! What the server's hooks are given and what they answer.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio_tungstenite::tungstenite::http::HeaderMap;

use super::SubscriberId;
use crate::protocol::{Payload, Serializer};

/// What a client presented when it connected: its address, the query parameters and
/// headers of its upgrade request, and the token phoenix.js sends as `authToken`.
///
/// `Debug` shows parameter and header names only, never their values or the token.
#[derive(Clone)]
pub struct ConnectInfo {
    pub(crate) peer_addr: SocketAddr,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) auth_token: Option<String>,
    pub(crate) serializer: Serializer,
}

impl ConnectInfo {
    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer_addr
    }

    /// The query parameters of the upgrade request, decoded, in order (`vsn` included).
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The first query parameter called `name`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use slipstream::endpoint::{EndpointServer, Hub, Refusal};
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let server = EndpointServer::builder(Hub::new())
    ///     .on_connect(|info| match info.param("token") {
    ///         Some("let-me-in") => Ok(()),
    ///         _ => Err(Refusal::new("bad token")),
    ///     })
    ///     .bind("127.0.0.1:4001")
    ///     .await?;
    /// # drop(server);
    /// # Ok(())
    /// # }
    /// ```
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params().find_map(|(k, v)| (k == name).then_some(v))
    }

    /// The headers of the upgrade request.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The token a phoenix.js client passed as `authToken`, decoded from its
    /// `base64url.bearer.phx.` subprotocol.
    pub fn auth_token(&self) -> Option<&str> {
        self.auth_token.as_deref()
    }

    /// The serializer the client asked for with `vsn`.
    pub fn serializer(&self) -> Serializer {
        self.serializer
    }
}

impl fmt::Debug for ConnectInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: Vec<&str> = self.params.iter().map(|(k, _)| k.as_str()).collect();
        let headers: Vec<&str> = self.headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("ConnectInfo")
            .field("peer_addr", &self.peer_addr)
            .field("params", &params)
            .field("headers", &headers)
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "<redacted>"),
            )
            .field("serializer", &self.serializer)
            .finish()
    }
}

/// A connect hook's refusal: the upgrade is answered with HTTP 403 and this text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    reason: String,
}

impl Refusal {
    /// A refusal whose response body is `reason`.
    pub fn new(reason: impl Into<String>) -> Self {
        Refusal {
            reason: reason.into(),
        }
    }

    /// The response body.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A client's request to join a topic, as the join hook sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct JoinRequest<'a> {
    /// The topic, already checked against the server's topic patterns.
    pub topic: &'a str,
    /// The join's params (`Debug` shows only their size).
    pub params: &'a Payload,
    /// The connection's subscriber id, for [`Endpoint::broadcast_from`](super::Endpoint).
    pub subscriber: SubscriberId,
    /// What the client presented when it connected.
    pub connect: &'a ConnectInfo,
}

/// A push from a client on a topic it joined, as the push hook sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct PushRequest<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The event.
    pub event: &'a str,
    /// The payload (`Debug` shows only its size).
    pub payload: &'a Payload,
    /// The connection's subscriber id, for [`Endpoint::broadcast_from`](super::Endpoint).
    pub subscriber: SubscriberId,
    /// What the client presented when it connected.
    pub connect: &'a ConnectInfo,
}

/// The push hook's answer to a client's push.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushReply {
    /// Reply with status `ok` and this response.
    Ok(Payload),
    /// Reply with status `error` and this response.
    Error(Payload),
    /// Send no reply.
    NoReply,
}

pub(crate) type ConnectHook = Arc<dyn Fn(&ConnectInfo) -> Result<(), Refusal> + Send + Sync>;
pub(crate) type JoinHook = Arc<dyn Fn(&JoinRequest<'_>) -> Result<Payload, Payload> + Send + Sync>;
pub(crate) type PushHook = Arc<dyn Fn(&PushRequest<'_>) -> PushReply + Send + Sync>;

/// Topic patterns a server accepts joins for: exact names, or prefixes ending in `*`.
#[derive(Clone, Debug, Default)]
pub(crate) struct TopicPatterns {
    /// `None` accepts every topic.
    patterns: Option<Vec<String>>,
}

impl TopicPatterns {
    pub(crate) fn new<I, S>(patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        TopicPatterns {
            patterns: Some(patterns.into_iter().map(Into::into).collect()),
        }
    }

    /// Whether a join of `topic` is routed. The empty topic and `phoenix`, where heartbeats
    /// travel, never are.
    pub(crate) fn matches(&self, topic: &str) -> bool {
        if topic.is_empty() || topic == crate::protocol::event::HEARTBEAT_TOPIC {
            return false;
        }
        let Some(patterns) = &self.patterns else {
            return true;
        };
        patterns
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => topic.starts_with(prefix),
                None => topic == pattern,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heartbeat_topic_and_the_empty_topic_are_never_joined() {
        for patterns in [TopicPatterns::default(), TopicPatterns::new(["*"])] {
            assert!(!patterns.matches(""));
            assert!(!patterns.matches("phoenix"));
            assert!(patterns.matches("rooms:lobby"));
        }
    }

    #[test]
    fn patterns_match_exact_names_and_prefixes() {
        let patterns = TopicPatterns::new(["rooms:*", "exact"]);
        assert!(patterns.matches("rooms:lobby"));
        assert!(patterns.matches("rooms:"));
        assert!(patterns.matches("exact"));
        assert!(!patterns.matches("exactly"));
        assert!(!patterns.matches("nosuch:topic"));
        assert!(TopicPatterns::default().matches("anything"));
    }

    #[test]
    fn debug_hides_values() {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", "session=secret".parse().unwrap());
        let info = ConnectInfo {
            peer_addr: "127.0.0.1:1".parse().unwrap(),
            params: vec![("token".into(), "secret".into())],
            headers,
            auth_token: Some("secret".into()),
            serializer: Serializer::V2,
        };
        let debug = format!("{info:?}");
        assert!(debug.contains("token") && debug.contains("cookie"));
        assert!(!debug.contains("secret"), "{debug}");
    }
}
