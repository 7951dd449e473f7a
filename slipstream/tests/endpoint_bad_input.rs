//! Bad input never takes a connection or the server down: garbage frames are counted and
//! ignored, an oversized frame closes only its own connection with 1009, malformed join
//! payloads get replies, and 10,000 joins on one socket are answered with clear errors past
//! the limit, while other sockets carry on.

mod support;

use futures_util::SinkExt;
use serde_json::json;
use slipstream::endpoint::{Endpoint, EndpointServer, Hub};
use support::{RawClient, Received, fixture_server};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn garbage_frames_are_counted_and_the_connection_stays_up() {
    let hub = Hub::new();
    let server = fixture_server(&hub).bind("127.0.0.1:0").await.unwrap();
    let mut bystander = RawClient::connect(&server, "2.0.0").await;
    bystander.join("rooms:lobby", "1").await;
    let mut client = RawClient::connect(&server, "2.0.0").await;
    client.join("rooms:lobby", "1").await;

    let texts = [
        "",
        "not json",
        "[1,2]",
        "{}",
        r#"["1","2",5,"ping",{}]"#,
        r#"["1","2","rooms:lobby","ping"]"#,
        r#"["1","2","rooms:lobby","ping",{"unterminated":"#,
        r#"["1","2","rooms:lobby","ping",{}] trailing"#,
        "\u{0}\u{1}\u{2}",
    ];
    for text in texts {
        client.send_text(text).await;
    }
    let binaries: [&[u8]; 4] = [b"", &[9, 1, 1], &[0, 200, 1, 1, 1], &[0xff; 64]];
    for bytes in binaries {
        client.send_binary(bytes).await;
    }
    client.heartbeat("3").await;
    assert_eq!(
        server.stats().malformed_frames,
        (texts.len() + binaries.len()) as u64
    );

    // Both connections still receive broadcasts.
    assert_eq!(hub.broadcast("rooms:lobby", "news", json!({})), 2);
    let news = r#"[null,null,"rooms:lobby","news",{}]"#;
    client.expect_text(news).await;
    bystander.expect_text(news).await;
}

#[tokio::test]
async fn v1_connections_count_binary_frames_as_malformed() {
    let hub = Hub::new();
    let server = EndpointServer::bind("127.0.0.1:0", hub).await.unwrap();
    let mut client = RawClient::connect(&server, "1.0.0").await;
    client
        .send_binary(&[0, 1, 1, 1, 1, b'1', b'1', b't', b'e'])
        .await;
    client
        .send_text(r#"{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"1"}"#)
        .await;
    client
        .expect_text(r#"{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"phoenix"}"#)
        .await;
    assert_eq!(server.stats().malformed_frames, 1);
}

#[tokio::test]
async fn an_oversized_frame_closes_only_its_connection_with_1009() {
    let hub = Hub::new();
    let server = EndpointServer::builder(hub.clone())
        .max_frame_size(4 * 1024)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let mut bystander = RawClient::connect(&server, "2.0.0").await;
    bystander.join("rooms:lobby", "1").await;
    let mut client = RawClient::connect(&server, "2.0.0").await;
    client.join("rooms:lobby", "1").await;

    // Just under the limit is fine.
    let payload = "x".repeat(3 * 1024);
    client
        .send_text(&format!(
            r#"[null,"2","phoenix","heartbeat",{{"pad":"{payload}"}}]"#
        ))
        .await;
    client
        .expect_text(r#"[null,"2","phoenix","phx_reply",{"response":{},"status":"ok"}]"#)
        .await;

    let huge = "x".repeat(64 * 1024);
    client
        .send_text(&format!(
            r#"["1","3","rooms:lobby","ping",{{"pad":"{huge}"}}]"#
        ))
        .await;
    client.expect_close(CloseCode::Size).await;
    assert_eq!(server.stats().oversized_frames, 1);

    assert_eq!(hub.broadcast("rooms:lobby", "still", json!({})), 1);
    bystander
        .expect_text(r#"[null,null,"rooms:lobby","still",{}]"#)
        .await;
}

#[tokio::test]
async fn malformed_join_payloads_get_replies() {
    let hub = Hub::new();
    let server = fixture_server(&hub).bind("127.0.0.1:0").await.unwrap();
    let mut client = RawClient::connect(&server, "2.0.0").await;

    for (n, params) in ["\"text\"", "[1,2]", "null", "42", "{\"deep\":[[[[{}]]]]}"]
        .into_iter()
        .enumerate()
    {
        let topic = format!("rooms:{n}");
        client
            .send_text(&format!(r#"["{n}","{n}","{topic}","phx_join",{params}]"#))
            .await;
        let Some(Received::Text(reply)) = client.recv().await else {
            panic!("a join reply");
        };
        assert!(
            reply.starts_with(&format!(r#"["{n}","{n}","{topic}","phx_reply""#)),
            "{reply}"
        );
    }

    // A binary join (V2 push kind 0) has binary params: the hook cannot read them as JSON
    // and answers with its default.
    let mut binary = vec![0u8, 1, 1, 7, 8, b'9', b'9'];
    binary.extend_from_slice(b"rooms:bphx_join");
    binary.extend_from_slice(&[0xde, 0xad]);
    client.send_binary(&binary).await;
    client
        .expect_text(r#"["9","9","rooms:b","phx_reply",{"response":{},"status":"ok"}]"#)
        .await;

    // A join without any ref still gets an answer, with null refs.
    client
        .send_text(r#"[null,null,"rooms:noref","phx_join",{}]"#)
        .await;
    client
        .expect_text(r#"[null,null,"rooms:noref","phx_reply",{"response":{},"status":"ok"}]"#)
        .await;
    assert_eq!(server.stats().malformed_frames, 0);
}

#[tokio::test]
async fn ten_thousand_joins_on_one_socket_hit_a_clear_limit() {
    let hub = Hub::new();
    let server = EndpointServer::bind("127.0.0.1:0", hub.clone())
        .await
        .unwrap();
    let mut bystander = RawClient::connect(&server, "2.0.0").await;
    bystander.join("rooms:lobby", "1").await;

    let mut ws = RawClient::connect(&server, "2.0.0").await.into_inner();
    const JOINS: usize = 10_000;
    for n in 0..JOINS {
        let join = format!(r#"["{n}","{n}","t:{n}","phx_join",{{}}]"#);
        ws.feed(WsMessage::text(join)).await.unwrap();
    }
    ws.flush().await.unwrap();

    let mut client = RawClient::from_ws(ws);
    let mut ok = 0;
    let mut refused = 0;
    for n in 0..JOINS {
        let Some(Received::Text(reply)) = client.recv().await else {
            panic!("reply {n}");
        };
        if reply.ends_with(r#"{"response":{},"status":"ok"}]"#) {
            ok += 1;
        } else {
            let limit = r#"{"response":{"reason":"too many joined topics"},"status":"error"}]"#;
            assert!(reply.ends_with(limit), "{reply}");
            refused += 1;
        }
    }
    assert_eq!((ok, refused), (1024, JOINS - 1024));
    assert_eq!(hub.subscriber_count("t:0"), 1);

    client.heartbeat("h").await;
    assert_eq!(hub.broadcast("rooms:lobby", "still", json!({})), 1);
    bystander
        .expect_text(r#"[null,null,"rooms:lobby","still",{}]"#)
        .await;

    // Closing the socket leaves all its topics.
    drop(client);
    let left = async {
        while hub.subscriber_count("t:0") > 0 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(support::PATIENCE, left).await.unwrap();
    assert_eq!(hub.subscriber_count("t:1023"), 0);
}
