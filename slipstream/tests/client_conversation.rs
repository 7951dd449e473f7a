//! The conversation Slipstream's own integration suite covers, against a server the test
//! plays.

mod recorder;

use std::time::Duration;

use recorder::{Order, Recorder, Seen, json};
use serde_json::json;
use slipstream::protocol::{Payload, ReplyStatus};
use slipstream::testing::{Expect, ServerConn, TestServer};
use slipstream::{Client, ClientHandle, DisconnectReason, Error, TopicCloseReason};

const SHORT: Duration = Duration::from_millis(200);

async fn joined(
    topics: &[(&str, serde_json::Value)],
) -> (
    TestServer,
    ServerConn,
    ClientHandle<Recorder>,
    recorder::Events,
) {
    let mut server = TestServer::bind().await.unwrap();
    let (client, mut events) = Recorder::new(topics);
    let handle = client.start(server.config().build().unwrap());
    let mut conn = server.accept().await;
    assert!(matches!(events.next().await, Seen::Connected));
    for (topic, params) in topics {
        let join = conn.assert_join(topic, params.clone()).await;
        conn.reply_ok(&join, json!({})).await;
        assert!(matches!(events.next().await, Seen::Joined(t, _) if t == *topic));
    }
    (server, conn, handle, events)
}

#[tokio::test]
async fn refused_connect_reports_status_and_headers() {
    let mut server = TestServer::bind().await.unwrap();
    let (client, mut events) = Recorder::new(&[]);
    let _handle = client.start(server.config().build().unwrap());
    server.refuse(403, &[("x-reason", "bad token")]).await;
    let Seen::Disconnected(DisconnectReason::ConnectFailed(error)) = events.next().await else {
        panic!("expected a failed connect");
    };
    assert_eq!(error.status(), Some(403));
    let slipstream::ConnectError::Refused { headers, .. } = error else {
        panic!("{error}")
    };
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-reason" && v == "bad token"),
        "{headers:?}"
    );
}

#[tokio::test]
async fn join_sends_params_and_reports_the_response() {
    let mut server = TestServer::bind().await.unwrap();
    let (client, mut events) = Recorder::new(&[("rooms:lobby", json!({ "token": "abc", "n": 7 }))]);
    let _handle = client.start(server.config().build().unwrap());
    let mut conn = server.accept().await;
    assert_eq!(
        conn.request().query.get("vsn").map(String::as_str),
        Some("2.0.0")
    );
    assert!(matches!(events.next().await, Seen::Connected));
    let join = conn
        .assert_join(
            "rooms:lobby",
            Expect::Exact(json!({ "token": "abc", "n": 7 })),
        )
        .await;
    assert_eq!(
        join.join_ref(),
        join.reference(),
        "a join's ref is its join ref"
    );
    conn.reply_ok(&join, json!({ "welcome": true })).await;
    let Seen::Joined(topic, response) = events.next().await else {
        panic!()
    };
    assert_eq!(topic, "rooms:lobby");
    assert_eq!(json(&response), json!({ "welcome": true }));
}

#[tokio::test]
async fn duplicate_join_does_nothing() {
    let (_server, mut conn, handle, mut events) = joined(&[("rooms:lobby", json!({}))]).await;
    handle.join("rooms:lobby", json!({})).await.unwrap();
    handle
        .send(Order::Join("rooms:lobby".into(), json!({})))
        .await
        .unwrap();
    conn.refute_join("rooms:lobby", SHORT).await;
    events.refute(SHORT).await;
}

#[tokio::test]
async fn leave_then_duplicate_leave() {
    let (_server, mut conn, handle, mut events) = joined(&[("rooms:lobby", json!({}))]).await;
    handle.leave("rooms:lobby").await.unwrap();
    let leave = conn.assert_leave("rooms:lobby").await;
    assert_eq!(
        leave.join_ref().map(|r| r.as_str()),
        Some("1"),
        "a leave carries the join ref"
    );
    conn.reply_leave(&leave).await;
    assert!(matches!(events.next().await, Seen::Left(t) if t == "rooms:lobby"));
    handle.leave("rooms:lobby").await.unwrap();
    conn.refute_leave("rooms:lobby", SHORT).await;
}

#[tokio::test]
async fn push_is_delivered_with_join_ref_and_reply_comes_back() {
    let (_server, mut conn, handle, _events) = joined(&[("rooms:lobby", json!({}))]).await;
    let pushing = tokio::spawn({
        let handle = handle.clone();
        async move { handle.push("rooms:lobby", "ping", json!({ "n": 1 })).await }
    });
    let push = conn
        .assert_push("rooms:lobby", "ping", json!({ "n": 1 }))
        .await;
    assert_eq!(push.join_ref().map(|r| r.as_str()), Some("1"));
    conn.reply_ok(&push, json!({ "pong": 1 })).await;
    let reply = pushing.await.unwrap().unwrap();
    assert_eq!(reply.status, ReplyStatus::Ok);
    assert_eq!(json(&reply.response), json!({ "pong": 1 }));
}

#[tokio::test]
async fn reply_to_a_socket_push_reaches_on_reply() {
    let (_server, mut conn, handle, mut events) = joined(&[("rooms:lobby", json!({}))]).await;
    handle
        .send(Order::Push(
            "rooms:lobby".into(),
            "ack".into(),
            json!({}).into(),
        ))
        .await
        .unwrap();
    let Seen::Info(note) = events.next().await else {
        panic!()
    };
    let push = conn.assert_push("rooms:lobby", "ack", Expect::Any).await;
    assert_eq!(note, format!("pushed {}", push.reference().unwrap()));
    // A bare `:ok` reply: empty response.
    conn.reply_ok(&push, Payload::empty()).await;
    let Seen::Reply(reference, Ok(reply)) = events.next().await else {
        panic!()
    };
    assert_eq!(
        Some(reference.as_str()),
        push.reference().map(|r| r.as_str())
    );
    assert!(reply.is_ok());
    assert!(reply.response.as_json().unwrap().is_empty_object());
}

#[tokio::test]
async fn error_reply_is_a_reply_not_an_error() {
    let (_server, mut conn, handle, _events) = joined(&[("rooms:lobby", json!({}))]).await;
    let pushing = tokio::spawn({
        let handle = handle.clone();
        async move { handle.push("rooms:lobby", "error_reply", json!({})).await }
    });
    let push = conn
        .assert_push("rooms:lobby", "error_reply", Expect::Any)
        .await;
    conn.reply_error(&push, json!({ "why": "asked" })).await;
    let reply = pushing.await.unwrap().unwrap();
    assert!(reply.is_error());
}

#[tokio::test]
async fn push_before_join_is_refused_locally() {
    let (_server, mut conn, handle, _events) = joined(&[]).await;
    let err = handle
        .push("rooms:lobby", "ping", json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::NotJoined { ref topic } if topic == "rooms:lobby"),
        "{err}"
    );
    conn.refute_push("rooms:lobby", "ping", SHORT).await;
}

#[tokio::test]
async fn server_push_and_broadcast_reach_on_message() {
    let (_server, mut conn, _handle, mut events) = joined(&[("rooms:lobby", json!({}))]).await;
    conn.push("rooms:lobby", "custom", json!({ "x": 1 })).await;
    conn.broadcast("rooms:lobby", "news", json!({ "text": "hi" }))
        .await;
    let Seen::Message(push) = events.next().await else {
        panic!()
    };
    assert_eq!(
        (push.event.as_str(), push.join_ref.as_deref()),
        ("custom", Some("1"))
    );
    let Seen::Message(news) = events.next().await else {
        panic!()
    };
    assert!(news.is_broadcast());
    assert_eq!(news.payload.as_json().unwrap().as_str(), r#"{"text":"hi"}"#);
}

#[tokio::test]
async fn binary_broadcast_push_and_reply() {
    let (_server, mut conn, handle, mut events) = joined(&[("rooms:lobby", json!({}))]).await;
    conn.broadcast("rooms:lobby", "blob", Payload::binary(&b"\x01\x02\x03"[..]))
        .await;
    let Seen::Message(blob) = events.next().await else {
        panic!()
    };
    assert_eq!(
        blob.payload.as_binary().map(|b| b.as_ref()),
        Some(&b"\x01\x02\x03"[..])
    );

    let pushing = tokio::spawn({
        let handle = handle.clone();
        async move {
            handle
                .push("rooms:lobby", "ping", Payload::binary(&b"\x00\xffbin"[..]))
                .await
        }
    });
    let push = conn
        .assert_push(
            "rooms:lobby",
            "ping",
            Expect::Binary(bytes::Bytes::from_static(b"\x00\xffbin")),
        )
        .await;
    conn.reply(&push, ReplyStatus::Ok, Payload::binary(&b"\x02\x03"[..]))
        .await;
    let reply = pushing.await.unwrap().unwrap();
    assert_eq!(
        reply.response.as_binary().map(|b| b.as_ref()),
        Some(&b"\x02\x03"[..])
    );
}

#[tokio::test]
async fn requested_disconnect_sends_close_and_does_not_reconnect() {
    let (mut server, mut conn, handle, mut events) = joined(&[("rooms:lobby", json!({}))]).await;
    handle.disconnect().await.unwrap();
    conn.assert_closed().await;
    assert!(matches!(
        events.next().await,
        Seen::Disconnected(DisconnectReason::Requested)
    ));
    assert!(!handle.is_connected());
    server.refute_connect(SHORT).await;
}

#[tokio::test]
async fn crashed_channel_is_rejoined_with_the_same_params() {
    let (_server, mut conn, _handle, mut events) =
        joined(&[("rooms:crashy", json!({ "p": 1 }))]).await;
    conn.crash("rooms:crashy").await;
    let Seen::TopicClosed(topic, TopicCloseReason::Crashed(_)) = events.next().await else {
        panic!()
    };
    assert_eq!(topic, "rooms:crashy");
    let rejoin = conn
        .assert_join("rooms:crashy", Expect::Exact(json!({ "p": 1 })))
        .await;
    assert_ne!(
        rejoin.join_ref().map(|r| r.as_str()),
        Some("1"),
        "a rejoin has a new join ref"
    );
    conn.reply_ok(&rejoin, json!({})).await;
    assert!(matches!(events.next().await, Seen::Joined(t, _) if t == "rooms:crashy"));
}

#[tokio::test]
async fn channel_stopped_normally_is_a_leave() {
    let (_server, mut conn, _handle, mut events) = joined(&[("rooms:closing", json!({}))]).await;
    conn.close_topic("rooms:closing").await;
    assert!(matches!(events.next().await, Seen::Left(t) if t == "rooms:closing"));
    conn.refute_join("rooms:closing", SHORT).await;
}

#[tokio::test]
async fn refused_join_is_reported_with_its_reason_and_not_retried() {
    let mut server = TestServer::bind().await.unwrap();
    let (client, mut events) = Recorder::new(&[("rooms:forbidden", json!({}))]);
    let _handle = client.start(server.config().build().unwrap());
    let mut conn = server.accept().await;
    let join = conn.assert_join("rooms:forbidden", Expect::Any).await;
    conn.reply_error(&join, json!({ "reason": "unauthorized" }))
        .await;
    let (topic, response) = events
        .until(|seen| match seen {
            Seen::TopicClosed(t, TopicCloseReason::Refused(r)) => Some((t, r)),
            _ => None,
        })
        .await;
    assert_eq!(topic, "rooms:forbidden");
    assert_eq!(json(&response), json!({ "reason": "unauthorized" }));
    conn.refute_join("rooms:forbidden", Duration::from_millis(400))
        .await;
}

#[tokio::test]
async fn stale_join_ref_messages_are_dropped_and_counted() {
    let (_server, mut conn, handle, mut events) = joined(&[("rooms:lobby", json!({}))]).await;
    let stale = r#"["99",null,"rooms:lobby","old",{}]"#;
    conn.send_frame(slipstream::protocol::Frame::Text(stale.into()))
        .await;
    conn.push("rooms:lobby", "fresh", json!({})).await;
    let Seen::Message(message) = events.next().await else {
        panic!()
    };
    assert_eq!(message.event, "fresh");
    assert_eq!(handle.counters().dropped, 1);
}

#[tokio::test]
async fn call_and_info_reach_the_client() {
    let (_server, _conn, handle, mut events) = joined(&[]).await;
    assert_eq!(
        handle.call("status".into()).await.unwrap(),
        "status: connected=true"
    );
    handle.send(Order::Note("hello".into())).await.unwrap();
    assert!(matches!(events.next().await, Seen::Info(n) if n == "hello"));
}

#[tokio::test]
async fn v1_conversation() {
    let mut server = TestServer::bind().await.unwrap();
    let (client, mut events) = Recorder::new(&[("rooms:lobby", json!({}))]);
    let config = server
        .config()
        .serializer(slipstream::protocol::Serializer::V1)
        .build()
        .unwrap();
    let _handle = client.start(config);
    let mut conn = server.accept().await;
    assert_eq!(
        conn.request().query.get("vsn").map(String::as_str),
        Some("1.0.0")
    );
    let join = conn.assert_join("rooms:lobby", Expect::Any).await;
    conn.reply_ok(&join, json!({})).await;
    events
        .until(|s| matches!(s, Seen::Joined(..)).then_some(()))
        .await;
    conn.broadcast("rooms:lobby", "news", json!({ "v1": true }))
        .await;
    let Seen::Message(news) = events.next().await else {
        panic!()
    };
    assert_eq!(json(&news.payload), json!({ "v1": true }));
    conn.crash("rooms:lobby").await;
    assert!(matches!(
        events.next().await,
        Seen::TopicClosed(_, TopicCloseReason::Crashed(_))
    ));
}

#[tokio::test]
async fn auth_token_travels_as_a_subprotocol() {
    let mut server = TestServer::bind().await.unwrap();
    let (client, mut events) = Recorder::new(&[]);
    let _handle = client.start(server.config().auth_token("s3cr>t?~").build().unwrap());
    let conn = server.accept().await;
    assert!(matches!(events.next().await, Seen::Connected));
    let protocols = &conn.request().headers["sec-websocket-protocol"];
    assert_eq!(protocols, "phoenix, base64url.bearer.phx.czNjcj50P34");
}

#[tokio::test]
async fn joins_requested_while_disconnected_go_out_in_order_once_connected() {
    let mut server = TestServer::bind().await.unwrap();
    let (client, mut events) = Recorder::new(&[]);
    let handle = client.start(server.config().build().unwrap());
    let topics = ["rooms:c", "rooms:a", "rooms:b", "rooms:e", "rooms:d"];
    for topic in topics {
        handle.join(topic, json!({})).await.unwrap();
    }
    let mut conn = server.accept().await;
    assert!(matches!(events.next().await, Seen::Connected));
    for topic in topics {
        let join = conn.next().await;
        assert_eq!(
            (join.message.event.as_str(), join.message.topic.as_str()),
            ("phx_join", topic)
        );
    }
}

struct Panicky;

#[async_trait::async_trait]
impl Client for Panicky {
    type Info = ();
    type Call = ();
    type Answer = ();

    async fn on_info(&mut self, _: &mut slipstream::Socket, (): ()) -> slipstream::Result<()> {
        panic!("a bug in a callback");
    }
}

#[tokio::test]
async fn a_panicking_callback_stops_the_client_and_the_handle_says_so() {
    let mut server = TestServer::bind().await.unwrap();
    let handle = Panicky.start(server.config().build().unwrap());
    let _conn = server.accept().await;
    while !handle.is_connected() {
        tokio::task::yield_now().await;
    }
    handle.send(()).await.unwrap();
    handle.stopped().await;
    assert!(handle.is_stopped());
    assert!(!handle.is_connected());
    assert!(matches!(handle.send(()).await, Err(Error::Stopped)));
}
