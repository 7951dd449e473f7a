//! Topics joined at run time are joined again, by themselves, after a reconnect.
//!
//! The client joins no topic at start-up. The program then asks it to join three: one through
//! `ClientHandle::join`, two through a message to the client (`ClientHandle::send`, handled
//! by `#[on_info]`, which calls `Socket::join`). Then the server restarts on the same port.
//! The client reconnects with backoff and re-joins all three with the params each was joined
//! with; the program has to do nothing, and the client keeps no list of its own. (In
//! Elixir's Slipstream the client records its topics and calls `rejoin` for each in
//! `handle_connect`.)
//!
//! ```sh
//! cargo run --example rejoin_dynamic_topics
//! ```
#![allow(clippy::print_stdout, reason = "the example prints what happens")]

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use slipstream::endpoint::{EndpointServer, Hub};
use slipstream::protocol::SharedStr;
use slipstream::{Config, Socket};
use tokio::sync::mpsc;

/// What the rest of the program can ask the client.
enum Request {
    /// Join a room, as a user's action might ask at any time.
    JoinRoom(String),
}

/// The client: joins rooms when asked and reports every join to the program.
struct Rooms {
    joins: mpsc::UnboundedSender<SharedStr>,
}

#[slipstream::client(dynamic_topics = ["rooms:*"])]
impl Rooms {
    #[on_info]
    async fn requested(&mut self, socket: &mut Socket, request: Request) -> slipstream::Result<()> {
        let Request::JoinRoom(room) = request;
        socket
            .join(format!("rooms:{room}"), json!({ "via": "on_info" }))
            .await
    }

    #[on_join(topic = "rooms:*")]
    fn joined(&mut self, topic: &SharedStr) {
        let _ = self.joins.send(topic.clone());
    }
}

/// Starts a Phoenix-protocol server on `addr` that prints every join it accepts.
async fn server(addr: SocketAddr, generation: u32) -> std::io::Result<EndpointServer> {
    EndpointServer::builder(Hub::new())
        .topics(["rooms:*"])
        .on_join(move |join| {
            let via = join
                .params
                .decode::<serde_json::Value>()
                .unwrap_or_default();
            println!(
                "server #{generation}: join {} (params via {})",
                join.topic, via["via"]
            );
            Ok(json!({}).into())
        })
        .bind(addr)
        .await
}

/// Waits for `count` joins and returns their topics, sorted.
async fn joins(
    seen: &mut mpsc::UnboundedReceiver<SharedStr>,
    count: usize,
) -> Result<Vec<String>, String> {
    let mut topics = Vec::new();
    while topics.len() < count {
        match tokio::time::timeout(Duration::from_secs(5), seen.recv()).await {
            Ok(Some(topic)) => topics.push(topic.to_string()),
            _ => return Err(format!("only {} of {count} joins within 5 s", topics.len())),
        }
    }
    topics.sort();
    Ok(topics)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            println!("failed: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let first = server("127.0.0.1:0".parse().expect("a valid address"), 1)
        .await
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let addr = first.local_addr();
    let config = Config::new(first.url()).map_err(|e| e.to_string())?;
    let (joins_tx, mut seen) = mpsc::unbounded_channel();
    let client = Rooms { joins: joins_tx }.start(config);

    let stopped = |_| "the client stopped".to_owned();
    client
        .join("rooms:foo", json!({ "via": "ClientHandle::join" }))
        .await
        .map_err(stopped)?;
    for room in ["bar", "baz"] {
        client
            .send(Request::JoinRoom(room.into()))
            .await
            .map_err(stopped)?;
    }
    println!("joined {:?}", joins(&mut seen, 3).await?);

    println!("-- restarting the server on {addr} --");
    first.shutdown().await;
    let second = server(addr, 2)
        .await
        .map_err(|e| format!("cannot restart the server on {addr}: {e}"))?;
    let rejoined = joins(&mut seen, 3).await?;
    let counters = client.counters();
    println!(
        "rejoined {} topics: {rejoined:?} (reconnects {}, rejoins {})",
        rejoined.len(),
        counters.reconnects,
        counters.rejoins
    );

    client.shutdown().await;
    second.shutdown().await;
    Ok(())
}
