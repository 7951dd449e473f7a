//! Client configuration.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use url::Url;

use crate::protocol::{Payload, Serializer};

/// A delay schedule for retries: the delays in order, the last one repeating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    steps: Vec<Duration>,
    jitter: Jitter,
}

/// Randomness added to a backoff delay, so that many clients cut off together do not all
/// come back at the same instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Jitter {
    /// Exactly the scheduled delay (the default, as in Slipstream and phoenix.js).
    #[default]
    None,
    /// A uniformly random delay between zero and the scheduled one.
    Full,
    /// Half the scheduled delay plus a random part of the other half.
    Equal,
}

impl Backoff {
    /// A schedule of `steps`, the last repeating forever. An empty list means no delay.
    pub fn new(steps: impl IntoIterator<Item = Duration>) -> Self {
        Backoff {
            steps: steps.into_iter().collect(),
            jitter: Jitter::None,
        }
    }

    /// A schedule from milliseconds.
    pub fn from_millis(steps: impl IntoIterator<Item = u64>) -> Self {
        Self::new(steps.into_iter().map(Duration::from_millis))
    }

    /// The same schedule with `jitter`.
    #[must_use = "returns a new schedule"]
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Slipstream's and phoenix.js's reconnect schedule.
    pub fn default_reconnect() -> Self {
        Self::from_millis([10, 50, 100, 150, 200, 250, 500, 1_000, 2_000, 5_000])
    }

    /// Slipstream's rejoin schedule.
    pub fn default_rejoin() -> Self {
        Self::from_millis([100, 500, 1_000, 2_000, 5_000, 10_000])
    }

    /// The delay before retry number `attempt` (0 for the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        let index = (attempt as usize).min(self.steps.len().saturating_sub(1));
        let base = self.steps.get(index).copied().unwrap_or_default();
        match self.jitter {
            Jitter::None => base,
            Jitter::Full => base.mul_f64(random_unit()),
            Jitter::Equal => base / 2 + (base / 2).mul_f64(random_unit()),
        }
    }

    /// The scheduled delays, without jitter.
    pub fn steps(&self) -> &[Duration] {
        &self.steps
    }
}

/// A number in `[0, 1)` good enough for spreading retries; not for anything secret.
fn random_unit() -> f64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};

    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

type ParamsFn = dyn Fn() -> Vec<(String, String)> + Send + Sync;

/// Where and how a client connects. Build one with [`Config::builder`].
///
/// A [`Config`] is built once and validated when built, so a mistake (an `http://` URL, a
/// zero timeout) is reported at start-up with the field's name, not at the first connect.
/// The defaults are Slipstream's and phoenix.js's: heartbeat every 30 s, reconnect after
/// 10, 50, 100, 150, 200, 250, 500, 1000, 2000 ms and then every 5 s, rejoin a crashed topic
/// after 100, 500, 1000, 2000, 5000 ms and then every 10 s, joins and pushes time out after
/// 10 s, and an unanswered WebSocket upgrade after 10 s.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use slipstream::Config;
///
/// let config = Config::builder("ws://127.0.0.1:4000/socket/websocket")
///     .heartbeat_interval(Duration::from_secs(15))
///     .header("x-client", "billing")
///     .params(|| serde_json::json!({ "token": "fresh-token" }))
///     .build()?;
/// assert_eq!(config.url().port_or_known_default(), Some(4000));
/// assert_eq!(config.url().query(), Some("vsn=2.0.0"));
/// # Ok::<(), slipstream::ConfigError>(())
/// ```
///
/// `Debug` shows the host, port and path, never the query string, params, headers' values
/// or the auth token.
#[derive(Clone)]
pub struct Config {
    pub(crate) url: Url,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) params: Option<Arc<ParamsFn>>,
    pub(crate) auth_token: Option<String>,
    pub(crate) serializer: Serializer,
    pub(crate) heartbeat_interval: Option<Duration>,
    pub(crate) reconnect_backoff: Backoff,
    pub(crate) rejoin_backoff: Backoff,
    pub(crate) join_timeout: Duration,
    pub(crate) push_timeout: Duration,
    pub(crate) upgrade_timeout: Duration,
    pub(crate) send_timeout: Duration,
    pub(crate) max_frame_size: usize,
    pub(crate) queue_capacity: usize,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
}

impl Config {
    /// Starts a builder for `url` (`ws://` or `wss://`).
    pub fn builder(url: impl Into<String>) -> ConfigBuilder {
        ConfigBuilder::new(url.into())
    }

    /// A configuration with every default, for `url`.
    ///
    /// # Errors
    ///
    /// As [`ConfigBuilder::build`].
    pub fn new(url: impl Into<String>) -> Result<Self, ConfigError> {
        Self::builder(url).build()
    }

    /// The URL the client connects to, `vsn` included, without the per-connect params.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The serializer the client speaks.
    pub fn serializer(&self) -> Serializer {
        self.serializer
    }

    /// The heartbeat interval; `None` when heartbeats are off.
    pub fn heartbeat_interval(&self) -> Option<Duration> {
        self.heartbeat_interval
    }

    /// The reconnect schedule.
    pub fn reconnect_backoff(&self) -> &Backoff {
        &self.reconnect_backoff
    }

    /// The rejoin schedule.
    pub fn rejoin_backoff(&self) -> &Backoff {
        &self.rejoin_backoff
    }

    /// How long a join waits for its reply.
    pub fn join_timeout(&self) -> Duration {
        self.join_timeout
    }

    /// How long a push waits for its reply.
    pub fn push_timeout(&self) -> Duration {
        self.push_timeout
    }

    /// How long the WebSocket upgrade may take.
    pub fn upgrade_timeout(&self) -> Duration {
        self.upgrade_timeout
    }

    /// How long one write to the socket may block before the connection is given up.
    pub fn send_timeout(&self) -> Duration {
        self.send_timeout
    }

    /// The largest frame the client accepts.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// The bound of each internal queue.
    pub fn queue_capacity(&self) -> usize {
        self.queue_capacity
    }

    /// The URL for one connect: the configured query plus the params evaluated now.
    pub(crate) fn connect_url(&self) -> Url {
        let mut url = self.url.clone();
        if let Some(params) = &self.params {
            let params = params();
            if !params.is_empty() {
                let mut query = url.query_pairs_mut();
                for (key, value) in &params {
                    query.append_pair(key, value);
                }
            }
        }
        url
    }

    /// The subprotocols to offer: `phoenix` plus the bearer token, when a token is set.
    pub(crate) fn subprotocols(&self) -> Option<String> {
        let token = self.auth_token.as_ref()?;
        let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(token);
        Some(format!("phoenix, base64url.bearer.phx.{encoded}"))
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("scheme", &self.url.scheme())
            .field("host", &self.url.host_str())
            .field("port", &self.url.port_or_known_default())
            .field("path", &self.url.path())
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("params", &self.params.as_ref().map(|_| "<hidden>"))
            .field("auth_token", &self.auth_token.as_ref().map(|_| "<hidden>"))
            .field("serializer", &self.serializer)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("join_timeout", &self.join_timeout)
            .field("push_timeout", &self.push_timeout)
            .field("upgrade_timeout", &self.upgrade_timeout)
            .field("send_timeout", &self.send_timeout)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Config`]; see [`Config`] for the defaults.
#[must_use = "a builder does nothing until `build` is called"]
pub struct ConfigBuilder {
    url: String,
    config: Config,
    query_params: Vec<(String, String)>,
}

impl ConfigBuilder {
    fn new(url: String) -> Self {
        ConfigBuilder {
            url,
            query_params: Vec::new(),
            config: Config {
                url: Url::parse("ws://localhost/").expect("a constant URL parses"),
                headers: Vec::new(),
                params: None,
                auth_token: None,
                serializer: Serializer::V2,
                heartbeat_interval: Some(Duration::from_secs(30)),
                reconnect_backoff: Backoff::default_reconnect(),
                rejoin_backoff: Backoff::default_rejoin(),
                join_timeout: Duration::from_secs(10),
                push_timeout: Duration::from_secs(10),
                upgrade_timeout: Duration::from_secs(10),
                send_timeout: Duration::from_secs(10),
                max_frame_size: 16 << 20,
                queue_capacity: 1024,
                tls: None,
            },
        }
    }

    /// Adds a header to the upgrade request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a fixed query parameter (such as a long-lived token).
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query_params.push((key.into(), value.into()));
        self
    }

    /// Query parameters computed on every connect, as phoenix.js's `params` closure: the way
    /// to send a token that must be fresh each time. The closure returns a JSON object whose
    /// values become query parameters (strings as they are, other values as JSON text).
    pub fn params<F, P>(mut self, params: F) -> Self
    where
        F: Fn() -> P + Send + Sync + 'static,
        P: Into<Payload>,
    {
        self.config.params = Some(Arc::new(move || query_pairs(&params().into())));
        self
    }

    /// Phoenix's `authToken` (Phoenix 1.8 and later): sent as the WebSocket subprotocol
    /// `base64url.bearer.phx.<token in standard Base64 without padding>` beside `phoenix`,
    /// so it never appears in a URL or a log.
    pub fn auth_token(mut self, token: impl Into<String>) -> Self {
        self.config.auth_token = Some(token.into());
        self
    }

    /// The serializer: V2 (the default) or V1. Sets the `vsn` query parameter; a `vsn`
    /// already in the URL wins, and the client then speaks the version it names.
    pub fn serializer(mut self, serializer: Serializer) -> Self {
        self.config.serializer = serializer;
        self
    }

    /// How often to send a heartbeat; `Duration::ZERO` turns heartbeats off. A heartbeat
    /// still unanswered when the next is due closes the connection and reconnects.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.config.heartbeat_interval = (!interval.is_zero()).then_some(interval);
        self
    }

    /// The reconnect schedule.
    pub fn reconnect_backoff(mut self, backoff: Backoff) -> Self {
        self.config.reconnect_backoff = backoff;
        self
    }

    /// The schedule for rejoining a crashed or timed-out topic.
    pub fn rejoin_backoff(mut self, backoff: Backoff) -> Self {
        self.config.rejoin_backoff = backoff;
        self
    }

    /// How long a join waits for its reply (10 s).
    pub fn join_timeout(mut self, timeout: Duration) -> Self {
        self.config.join_timeout = timeout;
        self
    }

    /// How long a push waits for its reply (10 s).
    pub fn push_timeout(mut self, timeout: Duration) -> Self {
        self.config.push_timeout = timeout;
        self
    }

    /// How long the TCP connect, TLS handshake and WebSocket upgrade may take together (10 s).
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Self {
        self.config.upgrade_timeout = timeout;
        self
    }

    /// How long one write may block on a peer that stopped reading (10 s); past it the
    /// connection is dropped and the client reconnects.
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.config.send_timeout = timeout;
        self
    }

    /// The largest frame accepted from the server (16 MiB).
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.config.max_frame_size = bytes;
        self
    }

    /// The bound of the queues between the application, the client task and the connection
    /// task (1024). A full queue makes its sender wait: nothing is dropped.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.config.queue_capacity = capacity;
        self
    }

    /// TLS settings for `wss://`, such as extra root certificates. Without this, the
    /// webpki roots are trusted.
    pub fn tls(mut self, tls: Arc<rustls::ClientConfig>) -> Self {
        self.config.tls = Some(tls);
        self
    }

    /// Validates and returns the configuration.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the field and what is wrong with it.
    pub fn build(mut self) -> Result<Config, ConfigError> {
        let mut url = Url::parse(&self.url).map_err(|e| ConfigError::new("url", e.to_string()))?;
        if !matches!(url.scheme(), "ws" | "wss") {
            let message = format!(
                "unknown scheme {:?}: only \"ws\" and \"wss\" are accepted",
                url.scheme()
            );
            return Err(ConfigError::new("url", message));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::new("url", "has no host"));
        }
        if url.port() == Some(0) {
            return Err(ConfigError::new("url", "port must be positive"));
        }
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_fragment(None);
        self.adopt_vsn(&url)?;
        self.merge_query(&mut url);

        let config = &self.config;
        for (field, value) in [
            ("join_timeout", config.join_timeout),
            ("push_timeout", config.push_timeout),
            ("upgrade_timeout", config.upgrade_timeout),
            ("send_timeout", config.send_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::new(field, "must be greater than zero"));
            }
        }
        if config.queue_capacity == 0 {
            return Err(ConfigError::new(
                "queue_capacity",
                "must be greater than zero",
            ));
        }
        if config.max_frame_size < 64 {
            return Err(ConfigError::new(
                "max_frame_size",
                "must be at least 64 bytes",
            ));
        }
        for (name, value) in &config.headers {
            if http_header_invalid(name, value) {
                return Err(ConfigError::new(
                    "headers",
                    format!("header {name:?} is not a valid HTTP header"),
                ));
            }
        }
        if config.auth_token.as_ref().is_some_and(String::is_empty) {
            return Err(ConfigError::new("auth_token", "must not be empty"));
        }
        self.config.url = url;
        Ok(self.config)
    }

    /// A `vsn` already in the URL decides the serializer, so the client speaks what it asks
    /// the server for.
    fn adopt_vsn(&mut self, url: &Url) -> Result<(), ConfigError> {
        let Some((_, vsn)) = url.query_pairs().find(|(k, _)| k == "vsn") else {
            return Ok(());
        };
        match Serializer::from_vsn(&vsn) {
            Some(serializer) => {
                self.config.serializer = serializer;
                Ok(())
            }
            None => Err(ConfigError::new(
                "url",
                format!("unsupported vsn {vsn:?}: Phoenix speaks \"1.0.0\" and \"2.0.0\""),
            )),
        }
    }

    /// Adds the fixed params and `vsn` to the query; a `vsn` already in the URL wins.
    fn merge_query(&self, url: &mut Url) {
        let has_vsn = url.query_pairs().any(|(k, _)| k == "vsn");
        let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        pairs.extend(self.query_params.iter().cloned());
        if !has_vsn {
            pairs.push(("vsn".to_owned(), self.config.serializer.vsn().to_owned()));
        }
        url.set_query(None);
        url.query_pairs_mut().extend_pairs(pairs);
    }
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder").finish_non_exhaustive()
    }
}

fn http_header_invalid(name: &str, value: &str) -> bool {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    name.is_empty()
        || !name.bytes().all(token)
        || value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

/// Flattens a JSON object into query pairs: strings as they are, other values as JSON text.
fn query_pairs(params: &Payload) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = params.decode::<serde_json::Value>() else {
        return Vec::new();
    };
    map.into_iter()
        .map(|(key, value)| match value {
            serde_json::Value::String(s) => (key, s),
            other => (key, other.to_string()),
        })
        .collect()
}

/// A configuration mistake, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid config `{field}`: {message}")]
pub struct ConfigError {
    field: &'static str,
    message: String,
}

impl ConfigError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        ConfigError {
            field,
            message: message.into(),
        }
    }

    /// The field at fault, as the builder method is named.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// What is wrong with it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_and_wss_get_default_ports() {
        let ws = Config::new("ws://example.test/socket/websocket").unwrap();
        assert_eq!(ws.url().port_or_known_default(), Some(80));
        let wss = Config::new("wss://example.test/socket/websocket").unwrap();
        assert_eq!(wss.url().port_or_known_default(), Some(443));
    }

    #[test]
    fn other_schemes_are_refused_naming_the_field() {
        let err = Config::new("http://example.test/socket").unwrap_err();
        assert_eq!(err.field(), "url");
        assert!(err.message().contains("unknown scheme \"http\""), "{err}");
        assert_eq!(Config::new("not a url").unwrap_err().field(), "url");
        assert_eq!(
            Config::new("ws://example.test:0/").unwrap_err().field(),
            "url"
        );
    }

    #[test]
    fn vsn_is_merged_unless_given() {
        let config = Config::new("ws://h/socket/websocket?token=a%20b").unwrap();
        assert_eq!(config.url().query(), Some("token=a+b&vsn=2.0.0"));
        let v1 = Config::builder("ws://h/s")
            .serializer(Serializer::V1)
            .build()
            .unwrap();
        assert_eq!(v1.url().query(), Some("vsn=1.0.0"));
        let given = Config::new("ws://h/s?vsn=1.0.0").unwrap();
        assert_eq!(given.url().query(), Some("vsn=1.0.0"));
        assert_eq!(
            given.serializer(),
            Serializer::V1,
            "the URL's vsn decides what the client speaks"
        );
        let err = Config::new("ws://h/s?vsn=3.0.0").unwrap_err();
        assert_eq!(err.field(), "url");
        assert!(err.message().contains("unsupported vsn \"3.0.0\""), "{err}");
    }

    #[test]
    fn params_are_evaluated_on_every_connect() {
        let seen = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let config = Config::builder("ws://h/s")
            .params(move || {
                let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                serde_json::json!({ "token": format!("t{n}"), "n": n })
            })
            .build()
            .unwrap();
        assert_eq!(config.connect_url().query(), Some("vsn=2.0.0&n=0&token=t0"));
        assert_eq!(config.connect_url().query(), Some("vsn=2.0.0&n=1&token=t1"));
    }

    #[test]
    fn auth_token_uses_standard_base64_without_padding() {
        // `>>>?` encodes to `Pj4+Pw==` in standard Base64: the `+` must stay a `+`.
        let config = Config::builder("ws://h/s")
            .auth_token(">>>?")
            .build()
            .unwrap();
        assert_eq!(
            config.subprotocols().unwrap(),
            "phoenix, base64url.bearer.phx.Pj4+Pw"
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let config = Config::builder("ws://u:p@h/s?token=secret1")
            .auth_token("secret2")
            .header("authorization", "secret3")
            .params(|| serde_json::json!({ "k": "secret4" }))
            .build()
            .unwrap();
        let debug = format!("{config:?}");
        for secret in ["secret1", "secret2", "secret3", "secret4", "u:p"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert_eq!(config.url().username(), "");
    }

    #[test]
    fn zero_timeouts_and_bad_headers_are_refused() {
        let err = Config::builder("ws://h/s")
            .push_timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert_eq!(err.field(), "push_timeout");
        let err = Config::builder("ws://h/s")
            .header("bad name", "v")
            .build()
            .unwrap_err();
        assert_eq!(err.field(), "headers");
        let err = Config::builder("ws://h/s")
            .header("x", "a\r\nb")
            .build()
            .unwrap_err();
        assert_eq!(err.field(), "headers");
    }

    #[test]
    fn heartbeat_zero_disables() {
        let config = Config::builder("ws://h/s")
            .heartbeat_interval(Duration::ZERO)
            .build()
            .unwrap();
        assert_eq!(config.heartbeat_interval(), None);
    }

    #[test]
    fn backoff_repeats_its_last_step_and_jitter_stays_below() {
        let backoff = Backoff::default_reconnect();
        assert_eq!(backoff.delay(0), Duration::from_millis(10));
        assert_eq!(backoff.delay(8), Duration::from_millis(2_000));
        assert_eq!(backoff.delay(9), Duration::from_secs(5));
        assert_eq!(backoff.delay(1_000), Duration::from_secs(5));
        let jittered = Backoff::from_millis([1_000]).with_jitter(Jitter::Full);
        let delays: Vec<_> = (0..50).map(|_| jittered.delay(0)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(1)));
        assert!(
            delays.windows(2).any(|w| w[0] != w[1]),
            "full jitter varies"
        );
        let equal = Backoff::from_millis([1_000]).with_jitter(Jitter::Equal);
        assert!((0..50).all(|_| equal.delay(0) >= Duration::from_millis(500)));
    }
}
