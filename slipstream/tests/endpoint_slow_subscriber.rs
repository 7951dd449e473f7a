//! A subscriber that stops reading does not hold anyone else back: 100 readers get every
//! broadcast in order while the slow one is disconnected (or has messages dropped, per the
//! hub's policy), and the loss is counted.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use slipstream::endpoint::{Endpoint, EndpointServer, Hub, Overflow};
use support::{RawClient, Received};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const READERS: usize = 100;
const BURST: u64 = 50;
/// A hang guard: the slow subscriber's socket buffers fill long before this.
const MAX_BURSTS: u64 = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_subscriber_is_disconnected_and_the_others_get_everything() {
    let hub = Hub::builder().capacity(256).build();
    let server = EndpointServer::bind("127.0.0.1:0", hub.clone())
        .await
        .unwrap();
    let run = Run::start(&server, &hub).await;

    run.publish_until(&hub, || {
        server.stats().lagged == 1 && server.stats().connections == READERS as u64
    })
    .await;
    run.assert_readers_alive();

    assert_eq!(hub.stats().disconnected, 1);
    assert_eq!(server.stats().lagged, 1);
    assert_eq!(hub.subscriber_count("rooms:firehose"), READERS);
    // Everything that was ever queued is gone with the slow connection: what the server
    // still holds is bounded by the queue capacity of the live readers.
    assert!(server.stats().connections == READERS as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_drop_oldest_the_slow_subscriber_stays_and_sees_a_counted_gap() {
    let hub = Hub::builder()
        .capacity(256)
        .overflow(Overflow::DropOldest)
        .build();
    let server = EndpointServer::bind("127.0.0.1:0", hub.clone())
        .await
        .unwrap();
    let mut run = Run::start(&server, &hub).await;

    let sent = run.publish_until(&hub, || hub.stats().dropped > 0).await;
    run.assert_readers_alive();
    assert_eq!(hub.stats().disconnected, 0);
    assert_eq!(server.stats().connections, READERS as u64 + 1);

    // The slow subscriber reads again: increasing numbers with a gap, ending at the end.
    let mut slow = run.slow.take().unwrap();
    let mut last = None;
    let mut received = 0u64;
    loop {
        let Some(Received::Text(text)) = slow.recv().await else {
            panic!("the slow subscriber is still connected");
        };
        let n = number(&text);
        assert!(
            last.is_none_or(|last| n > last),
            "order kept across the gap"
        );
        last = Some(n);
        received += 1;
        if n == sent - 1 {
            break;
        }
    }
    assert!(received < sent, "some messages were dropped");
    assert!(hub.stats().dropped >= sent - received);
}

struct Run {
    progress: Arc<Vec<AtomicU64>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    slow: Option<RawClient>,
}

impl Run {
    async fn start(server: &EndpointServer, hub: &Hub) -> Run {
        let progress: Arc<Vec<AtomicU64>> =
            Arc::new((0..READERS).map(|_| AtomicU64::new(0)).collect());
        let mut readers = Vec::new();
        for i in 0..READERS {
            let mut client = RawClient::connect(server, "2.0.0").await;
            client.join("rooms:firehose", "1").await;
            let progress = Arc::clone(&progress);
            readers.push(tokio::spawn(async move {
                read_in_order(&mut client, &progress[i]).await;
            }));
        }
        let slow = slow_client(server).await;
        assert_eq!(hub.subscriber_count("rooms:firehose"), READERS + 1);
        Run {
            progress,
            readers,
            slow: Some(slow),
        }
    }

    /// Broadcasts bursts, each once every reader has read the previous one, until `done`.
    /// Returns how many were sent.
    async fn publish_until(&self, hub: &Hub, done: impl Fn() -> bool) -> u64 {
        let pad = "x".repeat(1024);
        let mut sent = 0;
        for _ in 0..MAX_BURSTS {
            for _ in 0..BURST {
                hub.broadcast("rooms:firehose", "n", json!({ "n": sent, "pad": pad }));
                sent += 1;
            }
            self.wait_for_readers(sent).await;
            if done() {
                return sent;
            }
        }
        panic!("the slow subscriber never overflowed after {sent} broadcasts");
    }

    async fn wait_for_readers(&self, sent: u64) {
        while self
            .progress
            .iter()
            .any(|p| p.load(Ordering::Acquire) < sent)
        {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    fn assert_readers_alive(&self) {
        for reader in &self.readers {
            assert!(!reader.is_finished(), "every reader is still reading");
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        for reader in &self.readers {
            reader.abort();
        }
    }
}

/// Reads broadcasts and checks they are numbered 0, 1, 2, ... with none missing.
async fn read_in_order(client: &mut RawClient, progress: &AtomicU64) {
    let mut expected = 0;
    while let Some(Received::Text(text)) = client.recv().await {
        assert_eq!(
            number(&text),
            expected,
            "a reader got every broadcast in order"
        );
        expected += 1;
        progress.store(expected, Ordering::Release);
    }
}

/// A client whose socket receive buffer is tiny, so that it backs up quickly; it joins and
/// then never reads again.
async fn slow_client(server: &EndpointServer) -> RawClient {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.local_addr()).await.unwrap();
    let url = format!("{}?vsn=2.0.0", server.url());
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    ws.send(WsMessage::text(
        r#"["1","1","rooms:firehose","phx_join",{}]"#,
    ))
    .await
    .unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert!(reply.to_text().unwrap().contains(r#""status":"ok""#));
    RawClient::from_ws(ws)
}

fn number(text: &str) -> u64 {
    let value: serde_json::Value = serde_json::from_str(text).expect("JSON frame");
    value[4]["n"].as_u64().expect("numbered broadcast")
}
