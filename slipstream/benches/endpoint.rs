//! Endpoint benchmarks, printed as a table:
//!
//! - fan-out over loopback WebSockets: 1,000 subscribers on one topic, bursts of
//!   broadcasts, deliveries per second (target: at least 500,000/s on a 2-core machine);
//! - in-process hub fan-out, deliveries per second, for scale;
//! - memory per idle joined connection: 10,000 connections opened by a child process, the
//!   server's RSS growth divided by their number (target: at most 16 KiB each).
//!
//! Run with `cargo bench -p slipstream --bench endpoint`. The memory test needs 10,000 file
//! descriptors in this process and as many in its child: raise `ulimit -n` (to 12,000 or
//! more) in the shell first if it is lower, or set `ENDPOINT_BENCH_IDLE` to fewer
//! connections.
#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use slipstream::endpoint::{Endpoint, EndpointServer, Hub};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const CHILD_ENV: &str = "ENDPOINT_BENCH_CHILD";
const SUBSCRIBERS: usize = 1_000;
const BURST: u64 = 100;
const BURSTS: u64 = 200;

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return idle_clients(&spec);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("| benchmark | result | target |");
    println!("| --- | --- | --- |");
    runtime.block_on(hub_fan_out());
    runtime.block_on(websocket_fan_out());
    runtime.block_on(idle_memory());
}

/// In-process: 1,000 subscriptions to one topic, each drained by its own task.
async fn hub_fan_out() {
    let total = BURST * BURSTS;
    let hub = Hub::builder().capacity(total as usize).build();
    let received = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..SUBSCRIBERS {
        let mut subscription = hub.subscribe("rooms:lobby");
        let received = Arc::clone(&received);
        tasks.push(tokio::spawn(async move {
            while subscription.recv().await.is_some() {
                received.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    let expected = total * SUBSCRIBERS as u64;
    let started = Instant::now();
    for n in 0..total {
        hub.broadcast("rooms:lobby", "msg", json!({ "n": n }));
    }
    wait_until(&received, expected).await;
    let elapsed = started.elapsed();
    report(
        &format!("hub fan-out, {SUBSCRIBERS} subscribers × {total} broadcasts"),
        expected,
        elapsed,
        "(for scale)",
    );
    drop(hub);
    for task in tasks {
        task.await.unwrap();
    }
}

/// Over loopback: 1,000 WebSocket subscribers, bursts of 100 broadcasts, at most two bursts
/// in flight. The clients only count frames, so most of the CPU goes to the server.
async fn websocket_fan_out() {
    let hub = Hub::new();
    let server = EndpointServer::bind("127.0.0.1:0", hub.clone())
        .await
        .unwrap();
    let received = Arc::new(AtomicU64::new(0));
    for _ in 0..SUBSCRIBERS {
        let stream = joined_stream(&server).await;
        tokio::spawn(count_frames(stream, Arc::clone(&received)));
    }
    assert_eq!(hub.subscriber_count("rooms:lobby"), SUBSCRIBERS);

    let per_burst = BURST * SUBSCRIBERS as u64;
    let started = Instant::now();
    for burst in 0..BURSTS {
        for n in 0..BURST {
            let payload = json!({ "n": burst * BURST + n, "body": "hello, subscribers" });
            hub.broadcast("rooms:lobby", "msg", payload);
        }
        if burst > 0 {
            wait_until(&received, (burst - 1) * per_burst).await;
        }
    }
    wait_until(&received, BURSTS * per_burst).await;
    let elapsed = started.elapsed();
    report(
        &format!("WebSocket fan-out, {SUBSCRIBERS} subscribers × {BURSTS} bursts of {BURST}"),
        BURSTS * per_burst,
        elapsed,
        "≥ 500,000/s",
    );
    assert_eq!(server.stats().lagged, 0, "no subscriber lagged");
    server.shutdown().await;
}

/// Joins `rooms:lobby` over a WebSocket, then hands back the bare TCP stream.
async fn joined_stream(server: &EndpointServer) -> TcpStream {
    let url = format!("{}?vsn=2.0.0", server.url());
    let stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    ws.send(WsMessage::text(r#"["1","1","rooms:lobby","phx_join",{}]"#))
        .await
        .unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert!(reply.to_text().unwrap().contains(r#""status":"ok""#));
    // Nothing more has been sent, so tungstenite holds no buffered bytes.
    ws.into_inner()
}

/// Counts the server's WebSocket frames (unmasked, so only headers need reading).
async fn count_frames(mut stream: TcpStream, received: Arc<AtomicU64>) {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut filled = 0;
    loop {
        let Ok(n) = stream.read(&mut buffer[filled..]).await else {
            return;
        };
        if n == 0 {
            return;
        }
        filled += n;
        let (frames, used) = complete_frames(&buffer[..filled]);
        received.fetch_add(frames, Ordering::Relaxed);
        buffer.copy_within(used..filled, 0);
        filled -= used;
    }
}

fn complete_frames(mut bytes: &[u8]) -> (u64, usize) {
    let mut frames = 0;
    let mut used = 0;
    while bytes.len() >= 2 {
        let (header, len) = match bytes[1] & 0x7f {
            126 if bytes.len() >= 4 => (4, u16::from_be_bytes([bytes[2], bytes[3]]) as usize),
            127 if bytes.len() >= 10 => {
                let len = u64::from_be_bytes(bytes[2..10].try_into().unwrap());
                (10, len as usize)
            }
            126 | 127 => break,
            len => (2, len as usize),
        };
        if bytes.len() < header + len {
            break;
        }
        frames += 1;
        used += header + len;
        bytes = &bytes[header + len..];
    }
    (frames, used)
}

/// RSS growth of the server for idle joined connections opened by a child process.
async fn idle_memory() {
    let count: usize = std::env::var("ENDPOINT_BENCH_IDLE")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let hub = Hub::new();
    let server = EndpointServer::bind("127.0.0.1:0", hub.clone())
        .await
        .unwrap();
    // Warm the server's code paths and allocator with a few connections first.
    for _ in 0..10 {
        drop(joined_stream(&server).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, format!("{} {count}", server.local_addr()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    tokio::task::block_in_place(|| lines.read_line(&mut ready)).unwrap();
    assert_eq!(ready.trim(), "ready", "the child opened its connections");
    while hub.subscriber_count("rooms:lobby") < count {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let after = rss_kib();

    let per_connection = (after.saturating_sub(before)) as f64 / count as f64;
    println!(
        "| memory per idle joined connection ({count} open) | {per_connection:.1} KiB (RSS {before} → {after} KiB) | ≤ 16 KiB |"
    );
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(b"done\n");
    drop(stdin);
    let _ = child.wait();
    server.shutdown().await;
}

/// The child: opens `count` joined connections to `addr`, says "ready", and holds them until
/// its stdin closes.
fn idle_clients(spec: &str) {
    let (addr, count) = spec.split_once(' ').unwrap();
    let count: usize = count.parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let streams = runtime.block_on(async {
        let url = format!("ws://{addr}/socket/websocket?vsn=2.0.0");
        let mut streams = Vec::with_capacity(count);
        let mut pending = futures_util::stream::iter(0..count)
            .map(|_| open_idle(&url, addr))
            .buffer_unordered(64);
        while let Some(stream) = pending.next().await {
            streams.push(stream);
        }
        streams
    });
    println!("ready");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(streams);
}

async fn open_idle(url: &str, addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    ws.send(WsMessage::text(r#"["1","1","rooms:lobby","phx_join",{}]"#))
        .await
        .unwrap();
    ws.next().await.unwrap().unwrap();
    ws.into_inner()
}

async fn wait_until(counter: &AtomicU64, target: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while counter.load(Ordering::Relaxed) < target {
        assert!(Instant::now() < deadline, "deliveries stalled");
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

fn report(name: &str, deliveries: u64, elapsed: Duration, target: &str) {
    let rate = deliveries as f64 / elapsed.as_secs_f64();
    println!(
        "| {name} | {} deliveries/s ({deliveries} in {:.2} s) | {target} |",
        thousands(rate as u64),
        elapsed.as_secs_f64()
    );
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
