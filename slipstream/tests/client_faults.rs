//! Faults Slipstream does not survive, and the client's timers, under paused time.

mod recorder;

use std::time::Duration;

use recorder::{Recorder, Seen};
use serde_json::json;
use slipstream::protocol::Frame;
use slipstream::testing::{Expect, TestServer};
use slipstream::{Backoff, Client, ConnectError, DisconnectReason, Error, TopicCloseReason};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn unanswered_upgrade_times_out() {
    // A listener that accepts TCP and never answers the upgrade.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/socket/websocket", listener.local_addr().unwrap());
    let (client, mut events) = Recorder::new(&[]);
    let config = slipstream::Config::builder(url)
        .upgrade_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let started = Instant::now();
    let _handle = client.start(config);
    let (_stream, _) = listener.accept().await.unwrap();
    let Seen::Disconnected(DisconnectReason::ConnectFailed(ConnectError::UpgradeTimeout(limit))) =
        events.until_within(Duration::from_secs(20), Some).await
    else {
        panic!("expected an upgrade timeout");
    };
    assert_eq!(limit, Duration::from_secs(10));
    assert!(started.elapsed() >= Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn refused_connections_are_retried_on_the_backoff_schedule() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (client, mut events) = Recorder::new(&[]);
    let config = slipstream::Config::builder(format!("ws://127.0.0.1:{port}/socket/websocket"))
        .reconnect_backoff(Backoff::from_millis([10, 50, 100, 2_000]))
        .build()
        .unwrap();
    let _handle = client.start(config);
    let mut failures = Vec::new();
    while failures.len() < 6 {
        if let Seen::Disconnected(DisconnectReason::ConnectFailed(ConnectError::Io(_))) =
            events.next_within(Duration::from_secs(5)).await
        {
            failures.push(Instant::now());
        }
    }
    let gaps: Vec<u128> = failures
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    assert_eq!(gaps, [10, 50, 100, 2_000, 2_000]);
}

#[tokio::test(start_paused = true)]
async fn silent_server_is_detected_within_two_heartbeat_intervals() {
    let mut server = TestServer::bind().await.unwrap();
    let (client, mut events) = Recorder::new(&[]);
    let handle = client.start(server.config().build().unwrap());
    let mut conn = server.accept().await;
    conn.set_timeout(Duration::from_secs(120));
    assert!(matches!(events.next().await, Seen::Connected));
    conn.go_silent();
    let silent_since = Instant::now();
    let reason = events
        .until_within(Duration::from_secs(120), |s| match s {
            Seen::Disconnected(reason) => Some(reason),
            _ => None,
        })
        .await;
    assert!(
        matches!(reason, DisconnectReason::HeartbeatTimeout),
        "{reason}"
    );
    assert!(
        silent_since.elapsed() <= Duration::from_secs(60),
        "{:?}",
        silent_since.elapsed()
    );
    assert_eq!(handle.counters().heartbeat_timeouts, 1);
    // And it comes back.
    server.set_timeout(Duration::from_secs(10));
    let _again = server.accept().await;
}

#[tokio::test(start_paused = true)]
async fn heartbeats_answered_keep_the_connection() {
    let mut server = TestServer::bind().await.unwrap();
    let (client, mut events) = Recorder::new(&[]);
    let handle = client.start(server.config().build().unwrap());
    let mut conn = server.accept().await;
    assert!(matches!(events.next().await, Seen::Connected));
    conn.refute_closed(Duration::from_secs(300)).await;
    assert!(
        conn.heartbeats() >= 9,
        "{} heartbeats in 300 s",
        conn.heartbeats()
    );
    assert!(handle.is_connected());
    assert_eq!(handle.counters().heartbeat_timeouts, 0);
}

#[tokio::test]
async fn peer_that_stops_reading_makes_sends_time_out() {
    let mut server = TestServer::bind().await.unwrap();
    let config = server
        .config()
        .send_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let (conn, handle, mut events) =
        recorder::start_joined(&mut server, "rooms:lobby", config).await;
    // The server stops reading; fill the socket buffers until a write blocks.
    let big = slipstream::protocol::Payload::binary(vec![0u8; 256 * 1024]);
    let pusher = tokio::spawn({
        let handle = handle.clone();
        async move {
            for _ in 0..4_000 {
                let _ = tokio::time::timeout(
                    Duration::from_millis(1),
                    handle.push("rooms:lobby", "blob", big.clone()),
                )
                .await;
                if !handle.is_connected() {
                    break;
                }
            }
        }
    });
    let reason = events
        .until_within(Duration::from_secs(30), |s| match s {
            Seen::Disconnected(reason) => Some(reason),
            _ => None,
        })
        .await;
    assert!(matches!(reason, DisconnectReason::SendTimeout), "{reason}");
    pusher.abort();
    drop(conn);
}

#[tokio::test]
async fn malformed_frames_are_counted_and_skipped() {
    let mut server = TestServer::bind().await.unwrap();
    let config = server.config().build().unwrap();
    let (mut conn, handle, mut events) =
        recorder::start_joined(&mut server, "rooms:lobby", config).await;
    for garbage in [
        "",
        "[",
        "{}",
        "[1,2]",
        "null",
        r#"["1","2","t","phx_reply",{}]"#,
    ] {
        conn.send_frame(Frame::Text(garbage.into())).await;
    }
    conn.send_frame(Frame::Binary(bytes::Bytes::from_static(&[7, 1, 2])))
        .await;
    conn.broadcast("rooms:lobby", "after", json!({})).await;
    let Seen::Message(message) = events.next().await else {
        panic!()
    };
    assert_eq!(message.event, "after");
    assert_eq!(handle.counters().decode_errors, 7);
    assert!(handle.is_connected());
}

#[tokio::test]
async fn ten_thousand_messages_arrive_in_order() {
    let (mut conn, handle, mut events) = {
        let mut server = TestServer::bind().await.unwrap();
        let (client, mut events) = Recorder::new(&[("rooms:tp", json!({}))]);
        let handle = client.start(server.config().build().unwrap());
        let mut conn = server.accept().await;
        let join = conn.assert_join("rooms:tp", Expect::Any).await;
        conn.reply_ok(&join, json!({})).await;
        events
            .until(|s| matches!(s, Seen::Joined(..)).then_some(()))
            .await;
        (conn, handle, events)
    };
    let sender = tokio::spawn(async move {
        for n in 0..10_000 {
            conn.broadcast("rooms:tp", "msg", json!({ "n": n })).await;
        }
        conn
    });
    for expected in 0..10_000u64 {
        let Seen::Message(message) = events.next().await else {
            panic!()
        };
        let n = recorder::json(&message.payload)["n"].as_u64().unwrap();
        assert_eq!(n, expected);
    }
    let _conn = sender.await.unwrap();
    assert_eq!(handle.counters().messages, 10_000);
    assert_eq!(handle.counters().dropped, 0);
}

#[tokio::test(start_paused = true)]
async fn join_timeout_leaves_and_rejoins_with_backoff() {
    let mut server = TestServer::bind().await.unwrap();
    let (client, mut events) = Recorder::new(&[("rooms:slow", json!({}))]);
    let config = server
        .config()
        .join_timeout(Duration::from_secs(10))
        .rejoin_backoff(Backoff::from_millis([100]))
        .build()
        .unwrap();
    let _handle = client.start(config);
    let mut conn = server.accept().await;
    conn.set_timeout(Duration::from_secs(30));
    let first = conn.assert_join("rooms:slow", Expect::Any).await;
    let started = Instant::now();
    let reason = events
        .until_within(Duration::from_secs(30), |s| match s {
            Seen::TopicClosed(_, reason) => Some(reason),
            _ => None,
        })
        .await;
    assert_eq!(reason, TopicCloseReason::JoinTimeout);
    assert!(started.elapsed() >= Duration::from_secs(10));
    let leave = conn.assert_leave("rooms:slow").await;
    assert_eq!(leave.join_ref(), first.join_ref());
    let second = conn.assert_join("rooms:slow", Expect::Any).await;
    assert_ne!(second.join_ref(), first.join_ref());
}

#[tokio::test(start_paused = true)]
async fn push_timeout_is_distinct_from_an_error_reply() {
    let mut server = TestServer::bind().await.unwrap();
    let config = server
        .config()
        .push_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let (mut conn, handle, _events) =
        recorder::start_joined(&mut server, "rooms:lobby", config).await;
    let started = Instant::now();
    let err = handle
        .push("rooms:lobby", "never_answered", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(started.elapsed() >= Duration::from_secs(10));
    conn.assert_push("rooms:lobby", "never_answered", Expect::Any)
        .await;
}

#[tokio::test]
async fn server_restarted_twenty_times_every_topic_rejoined_task_count_flat() {
    let mut server = TestServer::bind().await.unwrap();
    let addr = server.addr();
    let (client, mut events) =
        Recorder::new(&[("rooms:a", json!({ "k": 1 })), ("rooms:b", json!({}))]);
    let config = server
        .config()
        .reconnect_backoff(Backoff::from_millis([5]))
        .build()
        .unwrap();
    let handle = client.start(config);
    let metrics = tokio::runtime::Handle::current().metrics();
    let mut tasks_after_first = None;
    for round in 0..21 {
        let mut conn = server.accept().await;
        for (topic, params) in [("rooms:a", json!({ "k": 1 })), ("rooms:b", json!({}))] {
            let join = conn.assert_join(topic, Expect::Exact(params)).await;
            conn.reply_ok(&join, json!({})).await;
        }
        let mut joined = 0;
        events
            .until(|s| {
                joined += usize::from(matches!(s, Seen::Joined(..)));
                (joined == 2).then_some(())
            })
            .await;
        conn.broadcast("rooms:b", "round", json!({ "round": round }))
            .await;
        let Seen::Message(message) = events
            .until(|s| matches!(s, Seen::Message(_)).then_some(s))
            .await
        else {
            unreachable!()
        };
        assert_eq!(recorder::json(&message.payload)["round"], round);
        let tasks = metrics.num_alive_tasks();
        let first = *tasks_after_first.get_or_insert(tasks);
        assert_eq!(tasks, first, "round {round}: task count grew");
        // Kill the server: drop the connection and the listener, then start it again.
        conn.drop_connection();
        drop(server);
        events
            .until(|s| matches!(s, Seen::Disconnected(_)).then_some(()))
            .await;
        server = TestServer::bind_to(addr).await.unwrap();
    }
    let counters = handle.counters();
    assert_eq!(counters.reconnects, 20);
    assert_eq!(counters.rejoins, 40);
}

#[tokio::test(start_paused = true)]
async fn shutdown_while_the_upgrade_is_unanswered_is_prompt() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/socket/websocket", listener.local_addr().unwrap());
    let (client, _events) = Recorder::new(&[]);
    let handle = client.start(slipstream::Config::new(url).unwrap());
    let (_stream, _) = listener.accept().await.unwrap();
    let started = Instant::now();
    handle.shutdown().await;
    assert!(handle.is_stopped());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "shutdown waited {:?}, as if for the upgrade timeout",
        started.elapsed()
    );
}
