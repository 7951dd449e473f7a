//! Repeater benchmark: what the hop through a repeater costs, against a subscriber joined
//! directly to the upstream, in the same run.
//!
//! - Burst rate: the upstream hub broadcasts 5,000 messages at once; the rate is measured
//!   at a subscriber of the local endpoint (through the repeater) and at a subscriber of the
//!   upstream endpoint (direct), alternating, best of several rounds each. The two paths use
//!   two topics, so each burst reaches only the path measured.
//! - Hop latency: the upstream broadcasts at a steady 10,000 messages a second for a few
//!   seconds with the send time in each payload; the latency is the receive time at the
//!   subscriber minus the send time, for each path in turn.
//!
//! Both subscribers are the same raw tokio-tungstenite reader. Everything runs in one
//! process on loopback, on a two-worker runtime. On Linux the table also gives the CPU time
//! the whole process spent per message of a burst (from `/proc/self/task/*/schedstat`),
//! which unlike the rates does not depend on what else the machine is running.
//!
//! Run with `cargo bench --bench repeater`.

#![allow(clippy::print_stdout, reason = "a bench binary prints its table")]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use slipstream::Config;
use slipstream::endpoint::{Endpoint, EndpointServer, Hub};
use slipstream::protocol::{Payload, SharedStr};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const BURST: u64 = 5_000;
const ROUNDS: usize = 10;
const STEADY_RATE: u64 = 10_000;
const STEADY_SECONDS: u64 = 3;
/// Each hub's per-subscriber queue holds a whole burst: a burst is broadcast faster than
/// any connection drains it.
const HUB_CAPACITY: usize = 16_384;

const REPEATED: &str = "bench:repeated";
const DIRECT: &str = "bench:direct";

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The time base of the timestamps in payloads: nanoseconds since the first call.
fn now_ns() -> u64 {
    static ANCHOR: OnceLock<Instant> = OnceLock::new();
    ANCHOR.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

struct Repeater {
    hub: Hub,
    joined: mpsc::UnboundedSender<SharedStr>,
}

#[slipstream::client(topics = ["bench:repeated"])]
#[repeat(to = self.hub)]
impl Repeater {
    #[on_join]
    fn joined(&mut self, topic: &SharedStr) {
        let _ = self.joined.send(topic.clone());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--test" || a == "--list") && !args.iter().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

/// What a reader reports for one round.
struct Report {
    /// When the last expected frame arrived.
    done: Instant,
    /// Receive time minus the payload's send time, in nanoseconds, per frame.
    latencies: Vec<u64>,
}

/// A raw WebSocket subscriber: counts broadcast frames and the latency of each.
struct Reader {
    rounds: mpsc::Sender<(u64, oneshot::Sender<Report>)>,
}

impl Reader {
    /// Connects to `url`, joins `topic`, and waits for rounds.
    async fn join(url: &str, topic: &str) -> Reader {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("{url}?vsn=2.0.0"))
            .await
            .unwrap();
        let join = format!(r#"["1","1","{topic}","phx_join",{{}}]"#);
        ws.send(WsMessage::text(join)).await.unwrap();
        match ws.next().await {
            Some(Ok(WsMessage::Text(reply))) => {
                assert!(reply.contains(r#""status":"ok""#), "join refused: {reply}");
            }
            other => panic!("no join reply: {other:?}"),
        }
        let (rounds, commands) = mpsc::channel(1);
        tokio::spawn(read(ws, commands));
        Reader { rounds }
    }

    /// Starts a round of `count` frames; the report comes when the last has arrived.
    async fn expect(&self, count: u64) -> oneshot::Receiver<Report> {
        let (tx, rx) = oneshot::channel();
        self.rounds.send((count, tx)).await.unwrap();
        rx
    }
}

async fn read(mut ws: Ws, mut rounds: mpsc::Receiver<(u64, oneshot::Sender<Report>)>) {
    while let Some((count, report)) = rounds.recv().await {
        let mut latencies = Vec::with_capacity(count as usize);
        while (latencies.len() as u64) < count {
            match ws.next().await {
                Some(Ok(WsMessage::Text(text))) => {
                    let received = now_ns();
                    let sent = sent_at(&text).expect("a timestamped broadcast");
                    latencies.push(received.saturating_sub(sent));
                }
                Some(Ok(_)) => {}
                other => panic!("subscriber connection ended: {other:?}"),
            }
        }
        let done = Instant::now();
        let _ = report.send(Report { done, latencies });
    }
}

/// The `"t"` field of a frame's payload.
fn sent_at(frame: &str) -> Option<u64> {
    let digits = &frame[frame.find(r#""t":"#)? + 4..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// A payload of about a hundred bytes, stamped now.
fn payload(n: u64) -> Payload {
    let raw = format!(
        r#"{{"n":{n},"t":{},"body":"the quick brown fox jumps over the lazy dog","tags":["a","b"]}}"#,
        now_ns()
    );
    Payload::from_raw_json(raw).unwrap()
}

/// The CPU time every thread of this process has used so far, in nanoseconds, where the
/// kernel tells it.
fn cpu_ns() -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// One burst's figures.
struct Burst {
    /// Messages a second.
    rate: f64,
    /// CPU nanoseconds per message, all threads.
    cpu_per_message: Option<f64>,
}

/// One burst on `topic`, measured at `reader`. The payloads are made before the clock
/// starts.
async fn burst(hub: &Hub, topic: &str, reader: &Reader) -> Burst {
    let payloads: Vec<Payload> = (0..BURST).map(payload).collect();
    let report = reader.expect(BURST).await;
    let cpu_before = cpu_ns();
    let start = Instant::now();
    for payload in payloads {
        hub.broadcast(topic, "burst", payload);
    }
    let report = report.await.unwrap();
    let cpu = cpu_before.zip(cpu_ns()).map(|(a, b)| b.saturating_sub(a));
    Burst {
        rate: BURST as f64 / (report.done - start).as_secs_f64(),
        cpu_per_message: cpu.map(|ns| ns as f64 / BURST as f64),
    }
}

/// The best rate and the lowest CPU time per message over several bursts.
#[derive(Default)]
struct Best {
    rate: f64,
    cpu_per_message: Option<f64>,
}

impl Best {
    fn add(&mut self, burst: &Burst) {
        self.rate = self.rate.max(burst.rate);
        self.cpu_per_message = match (self.cpu_per_message, burst.cpu_per_message) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    fn cpu_text(&self) -> String {
        self.cpu_per_message
            .map_or("n/a".into(), |ns| format!("{:.1} us", ns / 1_000.0))
    }
}

/// `STEADY_RATE` messages a second for `STEADY_SECONDS` on `topic`, from a thread of its
/// own that sleeps until each message is due; the latencies `reader` saw.
async fn steady(hub: &Hub, topic: &'static str, reader: &Reader) -> Vec<u64> {
    let total = STEADY_RATE * STEADY_SECONDS;
    let report = reader.expect(total).await;
    let hub = hub.clone();
    let sender = std::thread::spawn(move || {
        let interval = Duration::from_nanos(1_000_000_000 / STEADY_RATE);
        let start = Instant::now();
        for n in 0..total {
            let due = start + interval * n as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            hub.broadcast(topic, "tick", payload(n));
        }
    });
    let report = report.await.unwrap();
    sender.join().unwrap();
    let mut latencies = report.latencies;
    latencies.sort_unstable();
    latencies
}

fn percentile_us(sorted: &[u64], p: usize) -> f64 {
    let at = (sorted.len().saturating_sub(1) * p) / 100;
    sorted.get(at).copied().unwrap_or(0) as f64 / 1_000.0
}

async fn run() {
    now_ns();
    let upstream_hub = Hub::builder().capacity(HUB_CAPACITY).build();
    let upstream = EndpointServer::builder(upstream_hub.clone())
        .topics(["bench:*"])
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let local_hub = Hub::builder().capacity(HUB_CAPACITY).build();
    let local = EndpointServer::bind("127.0.0.1:0", local_hub.clone())
        .await
        .unwrap();

    let (joined_tx, mut joined) = mpsc::unbounded_channel();
    let repeater = Repeater {
        hub: local_hub.clone(),
        joined: joined_tx,
    }
    .start(Config::new(upstream.url()).unwrap());
    joined.recv().await.unwrap();
    let repeated = Reader::join(&local.url(), REPEATED).await;
    let direct = Reader::join(&upstream.url(), DIRECT).await;

    // Warm up both paths, then alternate.
    burst(&upstream_hub, REPEATED, &repeated).await;
    burst(&upstream_hub, DIRECT, &direct).await;
    let (mut best_repeated, mut best_direct) = (Best::default(), Best::default());
    for _ in 0..ROUNDS {
        best_direct.add(&burst(&upstream_hub, DIRECT, &direct).await);
        best_repeated.add(&burst(&upstream_hub, REPEATED, &repeated).await);
    }

    let repeated_latency = steady(&upstream_hub, REPEATED, &repeated).await;
    let direct_latency = steady(&upstream_hub, DIRECT, &direct).await;

    println!();
    println!(
        "bursts of {BURST} broadcasts, best of {ROUNDS}; latency at {STEADY_RATE} msg/s for {STEADY_SECONDS} s"
    );
    println!();
    println!("| path | burst msg/s | CPU per message | latency p50 | latency p99 | latency max |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (name, best, latency) in [
        ("direct (upstream endpoint)", &best_direct, &direct_latency),
        (
            "repeated (upstream, repeater, local endpoint)",
            &best_repeated,
            &repeated_latency,
        ),
    ] {
        println!(
            "| {name} | {:.0} | {} | {:.0} us | {:.0} us | {:.0} us |",
            best.rate,
            best.cpu_text(),
            percentile_us(latency, 50),
            percentile_us(latency, 99),
            percentile_us(latency, 100),
        );
    }
    println!();
    println!(
        "repeated burst rate: {:.1}% of direct (target at least 60%); repeated p99 {:.0} us (target under 1000 us)",
        best_repeated.rate / best_direct.rate * 100.0,
        percentile_us(&repeated_latency, 99),
    );
    let stats = (upstream_hub.stats(), local_hub.stats());
    assert_eq!(
        stats.0.dropped + stats.0.disconnected,
        0,
        "upstream lost messages"
    );
    assert_eq!(
        stats.1.dropped + stats.1.disconnected,
        0,
        "local lost messages"
    );

    repeater.shutdown().await;
    upstream.shutdown().await;
    local.shutdown().await;
}
