//! Raw-frame conversations with an `EndpointServer`, checked byte for byte against the
//! frames a real Phoenix 1.7 server sent in the same conversations
//! (`tests/fixtures/phoenix-1.7-frames.txt`).

mod support;

use serde_json::json;
use slipstream::endpoint::{Endpoint, EndpointServer, Hub};
use slipstream::protocol::Payload;
use support::{RawClient, Received, fixture, fixture_server, replay};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn v2_conversation_matches_phoenix() {
    let hub = Hub::new();
    let server = fixture_server(&hub).bind("127.0.0.1:0").await.unwrap();
    let mut client = RawClient::connect(&server, "2.0.0").await;

    // 1. join, ping echo, heartbeat; 2. join params echoed in the reply.
    replay(&mut client, &fixture(1)).await;
    replay(&mut client, &fixture(2)).await;

    // 3. a broadcast from the server side.
    assert_eq!(
        hub.broadcast("rooms:lobby", "news", json!({ "text": "hi" })),
        1
    );
    replay(&mut client, &fixture(3)).await;

    // 4. shout: a client push broadcast to the topic, sender included.
    replay(&mut client, &fixture(4)).await;

    // 5. refused join; 6. unmatched topic; 7. push to a topic never joined.
    for section in [5, 6, 7] {
        replay(&mut client, &fixture(section)).await;
    }

    // 8. error reply and unknown event (push_me and delayed_reply need a channel process).
    let eight = fixture(8);
    replay(&mut client, &eight[..2]).await;
    replay(&mut client, &eight[eight.len() - 2..]).await;

    // 11. leave: reply, then phx_close; 12. a second join replaces the first.
    replay(&mut client, &fixture(11)).await;
    replay(&mut client, &fixture(12)).await;

    // 13. binary push and reply, binary shout, binary broadcast from the server.
    // The last frame is the broadcast triggered over HTTP.
    let (blob, thirteen) = fixture(13)
        .split_last()
        .map(|(l, r)| (l.clone(), r.to_vec()))
        .unwrap();
    replay(&mut client, &thirteen).await;
    hub.broadcast("rooms:lobby", "blob", Payload::binary(vec![1u8, 2, 3]));
    replay(&mut client, &[blob]).await;

    // 14. a burst of broadcasts arrives in order.
    for n in 1..=3 {
        hub.broadcast("rooms:lobby", "msg", json!({ "n": n, "total": 3 }));
    }
    replay(&mut client, &fixture(14)).await;

    assert_eq!(server.stats().malformed_frames, 0);
}

#[tokio::test]
async fn v1_conversation_matches_phoenix() {
    let hub = Hub::new();
    let server = fixture_server(&hub).bind("127.0.0.1:0").await.unwrap();
    let mut client = RawClient::connect(&server, "1.0.0").await;

    let eighteen = fixture(18);
    // join, ping, heartbeat.
    replay(&mut client, &eighteen[..6]).await;
    hub.broadcast("rooms:lobby", "news", json!({ "v1": true }));
    replay(&mut client, &eighteen[6..7]).await;
}

#[tokio::test]
async fn v1_subscribers_skip_binary_broadcasts_and_the_loss_is_counted() {
    let hub = Hub::new();
    let server = fixture_server(&hub).bind("127.0.0.1:0").await.unwrap();
    let mut client = RawClient::connect(&server, "1.0.0").await;
    replay(&mut client, &fixture(18)[..2]).await;

    hub.broadcast("rooms:lobby", "blob", Payload::binary(vec![1u8, 2, 3]));
    hub.broadcast("rooms:lobby", "news", json!({ "v1": true }));
    replay(&mut client, &fixture(18)[6..7]).await;
    assert_eq!(server.stats().undeliverable, 1);
}

#[tokio::test]
async fn a_missing_vsn_selects_v1_as_phoenix_does_and_an_unknown_one_is_refused() {
    let hub = Hub::new();
    let server = fixture_server(&hub).bind("127.0.0.1:0").await.unwrap();
    // Fixture 18: with no `vsn`, Phoenix speaks V1.
    let mut client = RawClient::connect(&server, "").await;
    replay(&mut client, &fixture(18)[..2]).await;

    let refused = tokio_tungstenite::connect_async(format!("{}?vsn=3.0.0", server.url())).await;
    assert!(refused.is_err());
    assert_eq!(server.stats().refused, 1);
}

#[tokio::test]
async fn stale_join_refs_are_ignored() {
    let hub = Hub::new();
    let server = fixture_server(&hub).bind("127.0.0.1:0").await.unwrap();
    let mut client = RawClient::connect(&server, "2.0.0").await;
    client.join("rooms:a", "1").await;
    client.join("rooms:a", "2").await;
    client
        .expect_text(r#"["1","1","rooms:a","phx_close",{}]"#)
        .await;

    // A push and a leave under the old join ref get nothing back.
    client.send_text(r#"["1","3","rooms:a","ping",{}]"#).await;
    client
        .send_text(r#"["1","4","rooms:a","phx_leave",{}]"#)
        .await;
    client.heartbeat("5").await;

    // The current join is still joined.
    client.send_text(r#"["2","6","rooms:a","ping",{}]"#).await;
    client
        .expect_text(r#"["2","6","rooms:a","phx_reply",{"response":{},"status":"ok"}]"#)
        .await;
    assert_eq!(hub.subscriber_count("rooms:a"), 1);
}

#[tokio::test]
async fn leaving_stops_broadcasts_and_the_default_push_hook_refuses() {
    let hub = Hub::new();
    let server = EndpointServer::bind("127.0.0.1:0", hub.clone())
        .await
        .unwrap();
    let mut client = RawClient::connect(&server, "2.0.0").await;
    client.join("anything:at-all", "1").await;

    client
        .send_text(r#"["1","2","anything:at-all","hello",{}]"#)
        .await;
    client
        .expect_text(
            r#"["1","2","anything:at-all","phx_reply",{"response":{"reason":"unmatched event"},"status":"error"}]"#,
        )
        .await;

    client
        .send_text(r#"["1","3","anything:at-all","phx_leave",{}]"#)
        .await;
    client
        .expect_text(r#"["1","3","anything:at-all","phx_reply",{"response":{},"status":"ok"}]"#)
        .await;
    client
        .expect_text(r#"["1","1","anything:at-all","phx_close",{}]"#)
        .await;
    assert_eq!(hub.broadcast("anything:at-all", "news", json!({})), 0);
    client.heartbeat("4").await;
}

#[tokio::test]
async fn connect_hook_refuses_with_403_and_sees_the_auth_token() {
    let hub = Hub::new();
    let server = EndpointServer::builder(hub)
        .on_connect(|info| match (info.param("token"), info.auth_token()) {
            (Some("good"), _) | (_, Some("bearer-secret")) => Ok(()),
            _ => Err(slipstream::endpoint::Refusal::new("bad token")),
        })
        .bind("127.0.0.1:0")
        .await
        .unwrap();

    let refused = tokio_tungstenite::connect_async(format!("{}?token=bad", server.url())).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
        }
        other => panic!("expected HTTP 403, got {other:?}"),
    }
    let mut ok = RawClient::connect_url(&format!("{}?token=good&vsn=2.0.0", server.url())).await;
    ok.heartbeat("1").await;

    // phoenix.js's authToken: offered as subprotocols, answered with `phoenix`.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = server.url().into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "phoenix, base64url.bearer.phx.YmVhcmVyLXNlY3JldA"
            .parse()
            .unwrap(),
    );
    let (_ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "phoenix");
    assert_eq!(server.stats().refused, 1);
}

#[tokio::test]
async fn graceful_shutdown_sends_every_socket_a_close_frame() {
    let hub = Hub::new();
    let server = EndpointServer::bind("127.0.0.1:0", hub.clone())
        .await
        .unwrap();
    let mut clients = Vec::new();
    for i in 0..20 {
        let mut client = RawClient::connect(&server, "2.0.0").await;
        client.join("rooms:lobby", &i.to_string()).await;
        clients.push(client);
    }
    assert_eq!(server.stats().connections, 20);

    let shutdown = tokio::spawn(server.shutdown());
    for client in &mut clients {
        client.expect_close(CloseCode::Away).await;
    }
    // The clients answered the close, so shutdown completes without waiting them out.
    shutdown.await.unwrap();
    assert_eq!(hub.subscriber_count("rooms:lobby"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let hub = Hub::new();
    let server = EndpointServer::builder(hub)
        .idle_timeout(std::time::Duration::from_secs(60))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let mut talker = RawClient::connect(&server, "2.0.0").await;
    let mut silent = RawClient::connect(&server, "2.0.0").await;

    let started = tokio::time::Instant::now();
    for n in 0..3 {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        talker.heartbeat(&n.to_string()).await;
    }
    // As Phoenix (Bandit) does: close code 1002, no reason.
    assert_eq!(
        silent.recv().await,
        Some(Received::Close(Some((1002, String::new()))))
    );
    assert!(started.elapsed() >= std::time::Duration::from_secs(60));
    talker.heartbeat("last").await;
    assert_eq!(server.stats().idle_timeouts, 1);
}
