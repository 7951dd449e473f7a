use std::time::Duration;

use serde_json::json;

use super::{Expect, TestServer};
use crate::protocol::Payload;
use crate::{Client, Result, Socket};

/// Joins the topics it is given on every connect, and nothing else.
struct Joiner(Vec<&'static str>);

#[async_trait::async_trait]
impl Client for Joiner {
    type Info = ();
    type Call = ();
    type Answer = ();

    async fn on_connect(&mut self, socket: &mut Socket) -> Result<()> {
        for topic in &self.0 {
            socket
                .join(*topic, json!({ "k": 1, "extra": true }))
                .await?;
        }
        Ok(())
    }
}

/// Runs `body` on its own task and returns its panic message.
async fn panic_message<F: Future<Output = ()> + Send + 'static>(body: F) -> String {
    let error = tokio::spawn(body)
        .await
        .expect_err("the assertion should have failed");
    let panic = error.into_panic();
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[tokio::test]
async fn assert_join_matches_params_partially_or_exactly() {
    let mut server = TestServer::bind().await.unwrap();
    let _client = Joiner(vec!["rooms:a", "rooms:b"]).start(server.config().build().unwrap());
    let mut conn = server.accept().await;
    // Out of order: the kit finds the second join first and keeps the first for later.
    conn.assert_join("rooms:b", Expect::Exact(json!({ "k": 1, "extra": true })))
        .await;
    conn.assert_join("rooms:a", json!({ "k": 1 })).await;
}

#[tokio::test]
async fn assert_join_fails_saying_what_came_instead() {
    let mut server = TestServer::bind().await.unwrap();
    let _client = Joiner(vec!["rooms:a"]).start(server.config().build().unwrap());
    let mut conn = server.accept().await;
    conn.set_timeout(Duration::from_millis(200));
    let message = panic_message(async move {
        conn.assert_join("rooms:b", Expect::Any).await;
    })
    .await;
    assert!(
        message.contains("expected a join of `rooms:b` with any payload within 200ms"),
        "{message}"
    );
    assert!(message.contains("phx_join on rooms:a"), "{message}");
}

#[tokio::test]
async fn assert_join_fails_when_params_differ() {
    let mut server = TestServer::bind().await.unwrap();
    let _client = Joiner(vec!["rooms:a"]).start(server.config().build().unwrap());
    let mut conn = server.accept().await;
    conn.set_timeout(Duration::from_millis(200));
    let message = panic_message(async move {
        conn.assert_join("rooms:a", json!({ "k": 2 })).await;
    })
    .await;
    assert!(
        message.contains(r#"a payload containing {"k":2}"#),
        "{message}"
    );
}

#[tokio::test]
async fn refute_join_fails_when_the_client_joins() {
    let mut server = TestServer::bind().await.unwrap();
    let _client = Joiner(vec!["rooms:a"]).start(server.config().build().unwrap());
    let mut conn = server.accept().await;
    let message = panic_message(async move {
        conn.refute_join("rooms:a", Duration::from_millis(300))
            .await;
    })
    .await;
    assert!(
        message.contains("expected no join of `rooms:a`"),
        "{message}"
    );
}

#[tokio::test]
async fn accept_fails_when_nobody_connects() {
    let mut server = TestServer::bind().await.unwrap();
    server.set_timeout(Duration::from_millis(100));
    let message = panic_message(async move {
        server.accept().await;
    })
    .await;
    assert!(message.contains("the client did not connect"), "{message}");
}

#[tokio::test]
async fn assert_push_and_refute_push() {
    let mut server = TestServer::bind().await.unwrap();
    let client = Joiner(vec!["rooms:a"]).start(server.config().build().unwrap());
    let mut conn = server.accept().await;
    let join = conn.assert_join("rooms:a", Expect::Any).await;
    conn.reply_ok(&join, Payload::empty()).await;
    // Wait for the join to land before pushing.
    let pusher = tokio::spawn(async move {
        loop {
            match client.push("rooms:a", "ping", json!({ "n": 5 })).await {
                Err(crate::Error::NotJoined { .. }) => tokio::task::yield_now().await,
                other => return other,
            }
        }
    });
    conn.refute_push("rooms:a", "other", Duration::from_millis(50))
        .await;
    let push = conn
        .assert_push("rooms:a", "ping", Expect::matching(|p| p.len() == 7))
        .await;
    conn.reply_ok(&push, json!({ "pong": 5 })).await;
    let reply = pusher.await.unwrap().unwrap();
    assert_eq!(
        reply.response.decode::<serde_json::Value>().unwrap(),
        json!({ "pong": 5 })
    );
}

#[tokio::test]
async fn assert_closed_fails_while_the_connection_is_open() {
    let mut server = TestServer::bind().await.unwrap();
    let _client = Joiner(vec![]).start(server.config().build().unwrap());
    let mut conn = server.accept().await;
    conn.set_timeout(Duration::from_millis(100));
    let message = panic_message(async move {
        conn.assert_closed().await;
    })
    .await;
    assert!(
        message.contains("expected the client to close the connection"),
        "{message}"
    );
}

#[tokio::test]
async fn refused_connect_records_the_request() {
    let mut server = TestServer::bind().await.unwrap();
    let config = server
        .config()
        .param("token", "t1")
        .header("x-app", "kit")
        .build()
        .unwrap();
    let _client = Joiner(vec![]).start(config);
    let request = server.refuse(403, &[]).await;
    assert_eq!(request.path, "/socket/websocket");
    assert_eq!(request.query["token"], "t1");
    assert_eq!(request.headers["x-app"], "kit");
}
