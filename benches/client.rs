//! Client benchmark: how fast a `slipstream` client handles a burst of broadcasts, against a
//! raw tokio-tungstenite reader that only counts frames, in the same run (and that reader
//! decoding each frame with `Serializer::V2`, to show how much of the gap is decoding); and
//! the memory of an idle connected client.
//!
//! Run with `cargo bench --bench client`. The server runs in a child process (this binary
//! with `--server`), so the memory figure is the clients' alone.

#![allow(clippy::print_stdout, reason = "a bench binary prints its table")]

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use slipstream::protocol::{Message, Payload, Serializer};
use slipstream::{Client, Config, Socket};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const BURST: u64 = 100_000;
const IDLE_CLIENTS: usize = 1_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--server") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(serve());
        return;
    }
    if args.iter().any(|a| a == "--test" || a == "--list") && !args.iter().any(|a| a == "--bench") {
        return;
    }
    let mut server = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--server")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut port,
    )
    .unwrap();
    let url = format!("ws://127.0.0.1:{}/socket/websocket", port.trim());

    println!();
    println!(
        "| runtime | raw reader msg/s | raw + decode msg/s | slipstream client msg/s | client / raw |"
    );
    println!("| --- | --- | --- | --- | --- |");
    for (name, mut builder) in [
        (
            "multi-thread (2 workers)",
            tokio::runtime::Builder::new_multi_thread(),
        ),
        (
            "current-thread",
            tokio::runtime::Builder::new_current_thread(),
        ),
    ] {
        let runtime = builder.enable_all().build().unwrap();
        let (raw, decoding, ours) = runtime.block_on(throughput(&url));
        println!(
            "| {name} | {raw:.0} | {decoding:.0} | {ours:.0} | {:.1}% |",
            ours / raw * 100.0
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let memory = runtime.block_on(idle_memory(&url));
    println!();
    println!(
        "memory per idle joined client ({IDLE_CLIENTS} clients): {:.1} KiB",
        memory / 1024.0
    );
    let _ = server.kill();
    let _ = server.wait();
}

/// Best of three bursts each, alternating the readers.
async fn throughput(url: &str) -> (f64, f64, f64) {
    let (mut raw, mut decoding, mut ours) = (0.0f64, 0.0f64, 0.0f64);
    for _ in 0..3 {
        raw = raw.max(reader(url, false).await);
        decoding = decoding.max(reader(url, true).await);
        ours = ours.max(slipstream_client(url).await);
    }
    (raw, decoding, ours)
}

/// The burst server: answers joins, then writes `BURST` broadcasts to the connection that
/// joined `rooms:burst`. Prints its port on stdout for the parent.
async fn serve() {
    std::sync::LazyLock::force(&FRAMES);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", listener.local_addr().unwrap().port());
    while let Ok((tcp, _)) = listener.accept().await {
        tcp.set_nodelay(true).unwrap();
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                return;
            };
            while let Some(Ok(WsMessage::Text(text))) = ws.next().await {
                let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
                let reply = serde_json::json!([frame[0], frame[1], frame[2], "phx_reply", {"response": {}, "status": "ok"}]);
                ws.send(WsMessage::Text(reply.to_string().into()))
                    .await
                    .unwrap();
                if frame[3] == "phx_join" && frame[2] == "rooms:burst" {
                    burst(&mut ws).await;
                }
            }
        });
    }
}

/// Every frame of a burst, encoded once when the server starts, so a burst is as fast as the
/// server can write.
static FRAMES: std::sync::LazyLock<Vec<WsMessage>> = std::sync::LazyLock::new(|| {
    (0..BURST)
        .map(|n| {
            let payload = Payload::from(serde_json::json!({ "n": n, "body": "hello" }));
            let message = Message::broadcast("rooms:burst", "msg", payload);
            let slipstream::protocol::Frame::Text(text) =
                Serializer::V2.encode_message(&message).unwrap()
            else {
                unreachable!("a JSON broadcast is a text frame")
            };
            WsMessage::Text(text.as_str().into())
        })
        .collect()
});

async fn burst(ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>) {
    for (n, frame) in FRAMES.iter().cloned().enumerate() {
        ws.feed(frame).await.unwrap();
        if n % 256 == 255 {
            ws.flush().await.unwrap();
        }
    }
    ws.flush().await.unwrap();
}

struct Counter {
    done: mpsc::UnboundedSender<()>,
    seen: u64,
}

#[slipstream::__private::async_trait]
impl Client for Counter {
    type Info = ();
    type Call = ();
    type Answer = ();

    async fn on_connect(&mut self, socket: &mut Socket) -> slipstream::Result<()> {
        socket.join("rooms:burst", Payload::empty()).await
    }

    async fn on_message(&mut self, _: &mut Socket, _: Message) -> slipstream::Result<()> {
        self.seen += 1;
        if self.seen == BURST {
            let _ = self.done.send(());
        }
        Ok(())
    }
}

struct Idle;

#[slipstream::__private::async_trait]
impl Client for Idle {
    type Info = ();
    type Call = ();
    type Answer = ();

    async fn on_connect(&mut self, socket: &mut Socket) -> slipstream::Result<()> {
        socket.join("rooms:idle", Payload::empty()).await
    }
}

/// A raw tokio-tungstenite reader that counts the burst's frames, decoding each with
/// `Serializer::V2` when `decode` is set: how much of the client's cost is decoding.
async fn reader(url: &str, decode: bool) -> f64 {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.send(WsMessage::Text(
        r#"["1","1","rooms:burst","phx_join",{}]"#.into(),
    ))
    .await
    .unwrap();
    let _reply = ws.next().await;
    let started = Instant::now();
    let mut frames = 0;
    while frames < BURST {
        if let Some(Ok(WsMessage::Text(text))) = ws.next().await {
            if decode {
                let frame = slipstream::protocol::Frame::Text(text.as_str().into());
                std::hint::black_box(Serializer::V2.decode_server(&frame).unwrap());
            }
            frames += 1;
        }
    }
    BURST as f64 / started.elapsed().as_secs_f64()
}

async fn slipstream_client(url: &str) -> f64 {
    let (done, mut finished) = mpsc::unbounded_channel();
    let config = Config::builder(url).queue_capacity(4096).build().unwrap();
    let started = Instant::now();
    let handle = Counter { done, seen: 0 }.start(config);
    finished.recv().await.unwrap();
    let elapsed = started.elapsed();
    handle.shutdown().await;
    BURST as f64 / elapsed.as_secs_f64()
}

fn rss_bytes() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib * 1024.0
}

async fn idle_memory(url: &str) -> f64 {
    let before = rss_bytes();
    let mut handles = Vec::new();
    for _ in 0..IDLE_CLIENTS {
        handles.push(Idle.start(Config::new(url).unwrap()));
    }
    // Wait until every client is connected and has had time to join.
    while handles.iter().any(|h| !h.is_connected()) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_bytes();
    for handle in &handles {
        handle.shutdown().await;
    }
    (after - before) / IDLE_CLIENTS as f64
}
