//! The await-style API end to end, against a server the test plays.

use std::time::Duration;

use serde_json::json;
use slipstream::protocol::Payload;
use slipstream::testing::{Expect, TestServer};
use slipstream::{ConnectError, Error, Session};

#[tokio::test]
async fn a_script_joins_pushes_awaits_messages_leaves_and_disconnects() {
    let mut server = TestServer::bind().await.unwrap();
    let config = server.config().build().unwrap();
    let (session, conn) = tokio::join!(Session::connect(config), server.accept());
    let (mut session, mut conn) = (session.unwrap(), conn);
    assert!(session.is_connected());

    let server_side = tokio::spawn(async move {
        let join = conn.assert_join("rooms:lobby", Expect::Any).await;
        conn.reply_ok(&join, json!({ "hi": 1 })).await;
        let push = conn
            .assert_push("rooms:lobby", "ping", json!({ "n": 1 }))
            .await;
        conn.broadcast("rooms:lobby", "other", json!({})).await;
        conn.broadcast("rooms:lobby", "news", json!({ "text": "hi" }))
            .await;
        conn.reply_ok(&push, json!({ "pong": 1 })).await;
        let leave = conn.assert_leave("rooms:lobby").await;
        conn.reply_leave(&leave).await;
        conn.assert_closed().await;
    });

    let response = session.join("rooms:lobby", json!({})).await.unwrap();
    assert_eq!(
        response.decode::<serde_json::Value>().unwrap(),
        json!({ "hi": 1 })
    );
    let reply = session
        .push("rooms:lobby", "ping", json!({ "n": 1 }))
        .await
        .unwrap();
    assert!(reply.is_ok());
    let news = session
        .next_message("rooms:lobby", Some("news"))
        .await
        .unwrap();
    assert_eq!(news.payload.as_json().unwrap().as_str(), r#"{"text":"hi"}"#);
    // The message skipped above is still there.
    let other = session.next_message("rooms:lobby", None).await.unwrap();
    assert_eq!(other.event, "other");
    session.leave("rooms:lobby").await.unwrap();
    session.disconnect().await.unwrap();
    server_side.await.unwrap();
}

#[tokio::test]
async fn refused_join_and_timeout_are_distinct_errors() {
    let mut server = TestServer::bind().await.unwrap();
    let config = server.config().build().unwrap();
    let (session, mut conn) = tokio::join!(Session::connect(config), server.accept());
    let mut session = session.unwrap();
    session.set_timeout(Duration::from_millis(300));

    let refusing = tokio::spawn(async move {
        let join = conn.assert_join("rooms:forbidden", Expect::Any).await;
        conn.reply_error(&join, json!({ "reason": "unauthorized" }))
            .await;
        conn
    });
    let err = session
        .join("rooms:forbidden", Payload::empty())
        .await
        .unwrap_err();
    let Error::JoinRefused { response, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(
        response.decode::<serde_json::Value>().unwrap(),
        json!({ "reason": "unauthorized" })
    );
    let _conn = refusing.await.unwrap();

    let err = session.next_message("rooms:lobby", None).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
}

#[tokio::test]
async fn connect_errors_are_returned() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config =
        slipstream::Config::new(format!("ws://127.0.0.1:{port}/socket/websocket")).unwrap();
    let err = Session::connect(config).await.unwrap_err();
    assert!(matches!(err, Error::Connect(ConnectError::Io(_))), "{err}");

    let mut server = TestServer::bind().await.unwrap();
    let config = server.config().build().unwrap();
    let (session, _) = tokio::join!(Session::connect(config), server.refuse(404, &[]));
    let err = session.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connect(ConnectError::Refused { status: 404, .. })
        ),
        "{err}"
    );
}
