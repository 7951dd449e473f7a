//! What the behaviour tests share: a channel handlers report into, and an endpoint that
//! records every broadcast it gets.

#![allow(dead_code, unreachable_pub, reason = "each test file uses a part")]

use std::sync::{Arc, Mutex};

use slipstream::endpoint::{Broadcast, Endpoint, SubscriberId};
use slipstream::testing::{ServerConn, TestServer};
use tokio::sync::mpsc;

/// What a handler saw, sent to the test.
pub type Events = mpsc::UnboundedSender<String>;

/// Receives the next event a handler reported, or panics after a second.
pub async fn next(events: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(std::time::Duration::from_secs(5), events.recv())
        .await
        .expect("a handler should have run")
        .expect("the client is running")
}

/// An endpoint that keeps every broadcast, in order, and signals each one.
#[derive(Debug)]
pub struct Recorder {
    broadcasts: Mutex<Vec<Broadcast>>,
    signal: mpsc::UnboundedSender<()>,
}

impl Recorder {
    pub fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<()>) {
        let (signal, rx) = mpsc::unbounded_channel();
        let recorder = Recorder {
            broadcasts: Mutex::new(Vec::new()),
            signal,
        };
        (Arc::new(recorder), rx)
    }

    pub fn len(&self) -> usize {
        self.broadcasts.lock().unwrap().len()
    }

    pub fn broadcasts(&self) -> Vec<Broadcast> {
        self.broadcasts.lock().unwrap().clone()
    }
}

impl Endpoint for Recorder {
    fn publish(&self, broadcast: Broadcast, _skip: Option<SubscriberId>) -> usize {
        self.broadcasts.lock().unwrap().push(broadcast);
        let _ = self.signal.send(());
        1
    }
}

/// Accepts the client's connection and answers its joins of `topics`, in order.
pub async fn accept_joined(server: &mut TestServer, topics: &[&str]) -> ServerConn {
    let mut conn = server.accept().await;
    for topic in topics {
        let join = conn
            .assert_join(topic, slipstream::testing::Expect::Any)
            .await;
        conn.reply_ok(&join, serde_json::json!({})).await;
    }
    conn
}

/// Shuts the client down and waits for it to close the connection.
pub async fn stop<C: slipstream::Client>(
    client: slipstream::ClientHandle<C>,
    mut conn: ServerConn,
) {
    tokio::join!(client.shutdown(), conn.assert_closed());
}
