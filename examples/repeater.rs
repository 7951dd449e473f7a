//! The main job: repeat a Phoenix service's channels, unchanged and in order, into this
//! service's own endpoint, which phoenix.js clients join.
//!
//! With no arguments, a self-contained demo on loopback: an upstream Phoenix-protocol
//! service broadcasting on `rooms:lobby`, the repeater, the local endpoint server, and a
//! subscriber that prints what arrives each second with the rate and the hop latency. After a
//! few seconds the upstream server restarts once, to show the reconnect and the rejoin.
//!
//! ```sh
//! cargo run --example repeater                      # the demo; Ctrl-C to stop
//! cargo run --example repeater -- --seconds 10      # the demo, for ten seconds
//! cargo run --example repeater -- --from ws://HOST:4000/socket/websocket \
//!     --topic rooms:lobby --listen 127.0.0.1:4001   # a real service
//! ```
//!
//! Logs follow `RUST_LOG` (default `info`).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use serde_json::json;
use slipstream::endpoint::{Endpoint, EndpointServer, Hub};
use slipstream::protocol::{Message, Payload, SharedStr};
use slipstream::{ClientHandle, Config, DisconnectReason, Socket, TopicCloseReason};
use tokio::sync::mpsc;
use tracing::{info, warn};

/// Repeats every message of a Phoenix service's topics into a local Phoenix endpoint.
#[derive(Debug, Parser)]
#[command(name = "repeater")]
struct Args {
    /// The upstream Phoenix socket, such as ws://HOST:4000/socket/websocket (no value: demo).
    #[arg(long, value_name = "URL", requires = "topic")]
    from: Option<String>,
    /// A topic to repeat; give it once per topic (with --from).
    #[arg(long, value_name = "TOPIC", requires = "from")]
    topic: Vec<String>,
    /// Where to serve the local endpoint (ws://ADDR:PORT/socket/websocket); defaults to
    /// 127.0.0.1:4001, or a free port for the demo.
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Phoenix `authToken`, sent as a WebSocket subprotocol.
    #[arg(long)]
    token: Option<String>,
    /// An extra query parameter for the upstream connect, as key=value.
    #[arg(long, value_name = "KEY=VALUE", value_parser = key_value('='))]
    param: Vec<(String, String)>,
    /// An extra header for the upstream connect, as name:value.
    #[arg(long, value_name = "NAME:VALUE", value_parser = key_value(':'))]
    header: Vec<(String, String)>,
    /// Stop after this many seconds (the default runs until Ctrl-C).
    #[arg(long)]
    seconds: Option<u64>,
}

fn key_value(separator: char) -> impl Fn(&str) -> Result<(String, String), String> + Clone {
    move |s: &str| match s.split_once(separator) {
        Some((k, v)) if !k.is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(format!("expected KEY{separator}VALUE, got {s:?}")),
    }
}

/// The repeater: joins its topics on every connect, and `#[repeat]` publishes every message
/// it receives into the local hub before anything else sees it.
struct Repeater {
    hub: Hub,
    topics: Vec<String>,
}

#[slipstream::client(dynamic_topics = ["*"])]
#[repeat(to = self.hub)]
impl Repeater {
    #[on_connect]
    async fn connected(&mut self, socket: &mut Socket) -> slipstream::Result<()> {
        info!("connected upstream");
        for topic in &self.topics {
            socket.join(topic.as_str(), Payload::empty()).await?;
        }
        Ok(())
    }

    #[on_join]
    fn joined(&mut self, topic: &SharedStr) {
        info!(%topic, "joined upstream; repeating");
    }

    #[on_topic_close]
    fn topic_closed(&mut self, topic: &SharedStr, reason: TopicCloseReason) {
        warn!(%topic, %reason, "upstream topic closed");
    }

    #[on_disconnect]
    fn disconnected(&mut self, reason: &DisconnectReason) {
        match reason {
            DisconnectReason::Requested => {}
            DisconnectReason::ConnectFailed(_) => {
                warn!(%reason, "upstream unreachable; retrying with backoff");
            }
            _ => warn!(%reason, "upstream gone; reconnecting with backoff"),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) if !error.use_stderr() => {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => return usage_error(&one_line(&error.to_string())),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_target(false)
        .init();
    let result = match &args.from {
        Some(from) => repeat(&args, from).await,
        None => demo(&args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => usage_error(&message),
    }
}

fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect();
    lines.join(" ")
}

#[allow(
    clippy::print_stderr,
    reason = "the example reports bad arguments on stderr"
)]
fn usage_error(message: &str) -> ExitCode {
    let message = message.strip_prefix("error: ").unwrap_or(message);
    eprintln!("repeater: {message}");
    ExitCode::from(2)
}

/// Repeats a real service: `--from`, `--topic`, `--listen`.
async fn repeat(args: &Args, from: &str) -> Result<(), String> {
    let mut config = Config::builder(from);
    for (key, value) in &args.param {
        config = config.param(key, value);
    }
    for (name, value) in &args.header {
        config = config.header(name, value);
    }
    if let Some(token) = &args.token {
        config = config.auth_token(token);
    }
    let config = config.build().map_err(|e| format!("--from: {e}"))?;
    if let Some(topic) = args.topic.iter().find(|t| t.is_empty()) {
        return Err(format!("--topic: {topic:?} is empty"));
    }
    let listen = args
        .listen
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 4001)));

    let hub = Hub::new();
    let server = EndpointServer::bind(listen, hub.clone())
        .await
        .map_err(|e| format!("--listen: cannot listen on {listen}: {e}"))?;
    info!(url = %server.url(), "local endpoint ready; phoenix.js joins it at this URL without /websocket");
    let repeater = Repeater {
        hub,
        topics: args.topic.clone(),
    }
    .start(config);

    wait_for_stop(args.seconds).await;
    info!("stopping");
    repeater.shutdown().await;
    server.shutdown().await;
    Ok(())
}

/// Waits for Ctrl-C, SIGTERM (as sent by systemd or a container runtime), or `seconds`.
async fn wait_for_stop(seconds: Option<u64>) {
    let deadline = async {
        match seconds {
            Some(seconds) => tokio::time::sleep(Duration::from_secs(seconds)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = deadline => {}
        _ = tokio::signal::ctrl_c() => {}
        () = terminated() => {}
    }
}

#[cfg(unix)]
async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut sigterm) => {
            sigterm.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminated() {
    std::future::pending().await
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The demo: upstream service, repeater, local endpoint and a subscriber, all on loopback.
#[allow(clippy::print_stdout, reason = "the demo prints its live report")]
async fn demo(args: &Args) -> Result<(), String> {
    let upstream_hub = Hub::new();
    let upstream = EndpointServer::builder(upstream_hub.clone())
        .topics(["rooms:*"])
        .bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot start the demo upstream: {e}"))?;
    let upstream_addr = upstream.local_addr();
    let local_hub = Hub::new();
    let listen = args.listen.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
    let local = EndpointServer::bind(listen, local_hub.clone())
        .await
        .map_err(|e| format!("--listen: cannot listen on {listen}: {e}"))?;
    println!("upstream service  {}", upstream.url());
    println!(
        "local endpoint    {}   (phoenix.js: new Socket(\"ws://{}/socket\"))",
        local.url(),
        local.local_addr()
    );

    let broadcaster = tokio::spawn(broadcast_steadily(upstream_hub.clone()));
    let config = Config::new(upstream.url()).map_err(|e| e.to_string())?;
    let repeater = Repeater {
        hub: local_hub,
        topics: vec!["rooms:lobby".into()],
    }
    .start(config);
    let (seen_tx, seen) = mpsc::unbounded_channel();
    let subscriber =
        Subscriber { seen: seen_tx }.start(Config::new(local.url()).map_err(|e| e.to_string())?);

    let report = tokio::spawn(report_every_second(seen, repeater.clone()));
    let restart = tokio::spawn(restart_upstream_once(upstream, upstream_hub, upstream_addr));
    wait_for_stop(args.seconds).await;

    println!("stopping");
    report.abort();
    broadcaster.abort();
    subscriber.shutdown().await;
    repeater.shutdown().await;
    // Before its fifth second the restart task still holds the first upstream server; dropping
    // it with the task stops that server.
    if restart.is_finished() {
        if let Ok(Some(upstream)) = restart.await {
            upstream.shutdown().await;
        }
    } else {
        restart.abort();
    }
    local.shutdown().await;
    Ok(())
}

/// 200 messages a second on `rooms:lobby`, each stamped with the time it was sent; every
/// 100th is binary.
async fn broadcast_steadily(hub: Hub) {
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    for n in 0u64.. {
        tick.tick().await;
        if n % 100 == 99 {
            let mut blob = now_micros().to_be_bytes().to_vec();
            blob.extend_from_slice(b"\x00binary\xff");
            hub.broadcast("rooms:lobby", "blob", Payload::binary(blob));
        } else {
            hub.broadcast(
                "rooms:lobby",
                "tick",
                json!({ "n": n, "sent_us": now_micros() }),
            );
        }
    }
}

/// After five seconds, stops the upstream server (every socket closed) and starts it again
/// on the same port: the repeater reconnects and rejoins by itself.
#[allow(clippy::print_stdout, reason = "the demo prints its live report")]
async fn restart_upstream_once(
    server: EndpointServer,
    hub: Hub,
    addr: SocketAddr,
) -> Option<EndpointServer> {
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!("-- demo: restarting the upstream server to show the reconnect and the rejoin --");
    server.shutdown().await;
    let restarted = EndpointServer::builder(hub)
        .topics(["rooms:*"])
        .bind(addr)
        .await;
    match restarted {
        Ok(server) => Some(server),
        Err(error) => {
            warn!(%error, "the upstream could not restart");
            None
        }
    }
}

/// A client of the local endpoint, as a phoenix.js page would be.
struct Subscriber {
    seen: mpsc::UnboundedSender<(Message, u64)>,
}

#[slipstream::client(topics = ["rooms:lobby"])]
impl Subscriber {
    #[on_message(topic = "rooms:lobby")]
    fn arrived(&mut self, message: Message) {
        let _ = self.seen.send((message, now_micros()));
    }
}

#[allow(clippy::print_stdout, reason = "the demo prints its live report")]
async fn report_every_second(
    mut seen: mpsc::UnboundedReceiver<(Message, u64)>,
    repeater: ClientHandle<Repeater>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let (mut total, mut last_n) = (0u64, None);
    loop {
        tick.tick().await;
        let mut latencies = Vec::new();
        let mut binary = 0;
        while let Ok((message, received)) = seen.try_recv() {
            let sent = match &message.payload {
                Payload::Binary(bytes) => {
                    binary += 1;
                    bytes
                        .get(..8)
                        .and_then(|b| b.try_into().ok())
                        .map(u64::from_be_bytes)
                }
                Payload::Json(_) => {
                    let tick: serde_json::Value = message.payload.decode().unwrap_or_default();
                    last_n = tick["n"].as_u64().or(last_n);
                    tick["sent_us"].as_u64()
                }
            };
            if let Some(sent) = sent {
                latencies.push(received.saturating_sub(sent));
            }
        }
        total += latencies.len() as u64;
        latencies.sort_unstable();
        let pct = |p: usize| {
            latencies
                .get(latencies.len().saturating_sub(1) * p / 100)
                .copied()
                .unwrap_or(0)
        };
        let counters = repeater.counters();
        println!(
            "{:>5} msg/s  total {:>6}  last n={:<6} binary {}  hop latency p50 {:>5} us  p99 {:>6} us  reconnects {} rejoins {}",
            latencies.len(),
            total,
            last_n.map_or("-".into(), |n| n.to_string()),
            binary,
            pct(50),
            pct(99),
            counters.reconnects,
            counters.rejoins,
        );
    }
}
