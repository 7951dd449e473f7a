//! A script in the await style, with `Session`: no struct, no callbacks, one step after the
//! other: connect, join, push and await the reply, await the next message, leave,
//! disconnect.
//!
//! Every wait is bounded, and running out of time is its own error, `Error::Timeout`, never
//! confused with an error *reply* (a `Reply` with status `error`) or a refused join
//! (`Error::JoinRefused`). The script shows all three.
//!
//! It runs against a Phoenix-protocol server it starts on loopback, which answers `ping`,
//! refuses `delete`, never answers `whisper`, and broadcasts a `shout` to the room.
//!
//! ```sh
//! cargo run --example script
//! ```
#![allow(clippy::print_stdout, reason = "the example prints what happens")]

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use slipstream::endpoint::{Endpoint, EndpointServer, Hub, PushReply};
use slipstream::protocol::Payload;
use slipstream::{Config, Error, Session};

fn json_text(payload: &Payload) -> &str {
    payload.as_json().map_or("<binary>", |json| json.as_str())
}

/// The service the script talks to.
async fn server() -> std::io::Result<EndpointServer> {
    let hub = Hub::new();
    let room = hub.clone();
    EndpointServer::builder(hub)
        .on_join(|join| match join.topic {
            "rooms:secret" => Err(json!({ "reason": "unauthorized" }).into()),
            _ => Ok(json!({ "members": 1 }).into()),
        })
        .on_push(move |push| match push.event {
            "ping" => PushReply::Ok(json!({ "pong": true }).into()),
            "delete" => PushReply::Error(json!({ "reason": "not allowed" }).into()),
            "whisper" => PushReply::NoReply,
            "shout" => {
                room.broadcast(push.topic, "shout", push.payload.clone());
                PushReply::Ok(Payload::empty())
            }
            _ => PushReply::Error(json!({ "reason": "unknown event" }).into()),
        })
        .bind("127.0.0.1:0")
        .await
}

async fn script(url: String) -> slipstream::Result<()> {
    // Pushes wait for their reply at most half a second, to keep the demo short.
    let config = Config::builder(url)
        .push_timeout(Duration::from_millis(500))
        .build()?;
    let mut session = Session::connect(config).await?;
    println!("connected");

    let response = session.join("rooms:lobby", json!({})).await?;
    println!("joined rooms:lobby: {}", json_text(&response));
    match session.join("rooms:secret", json!({})).await {
        Err(Error::JoinRefused { topic, response }) => {
            println!("join {topic} refused: {}", json_text(&response));
        }
        other => println!("join rooms:secret: unexpected {other:?}"),
    }

    let reply = session.push("rooms:lobby", "ping", json!({})).await?;
    println!(
        "push ping -> {} {}",
        reply.status,
        json_text(&reply.response)
    );
    let reply = session.push("rooms:lobby", "delete", json!({})).await?;
    println!(
        "push delete -> {} {}",
        reply.status,
        json_text(&reply.response)
    );
    match session.push("rooms:lobby", "whisper", json!({})).await {
        Err(error @ Error::Timeout { .. }) => println!("push whisper -> Error::Timeout: {error}"),
        other => println!("push whisper: unexpected {other:?}"),
    }

    session
        .push("rooms:lobby", "shout", json!({ "text": "hello, room" }))
        .await?;
    let shout = session.next_message("rooms:lobby", Some("shout")).await?;
    println!("message {} {}", shout.event, json_text(&shout.payload));
    session.set_timeout(Duration::from_millis(300));
    match session.next_message("rooms:lobby", None).await {
        Err(error @ Error::Timeout { .. }) => println!("next message -> Error::Timeout: {error}"),
        other => println!("next message: unexpected {other:?}"),
    }

    session.leave("rooms:lobby").await?;
    println!("left rooms:lobby");
    session.disconnect().await?;
    println!("disconnected; script finished");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let server = match server().await {
        Ok(server) => server,
        Err(error) => {
            println!("cannot start the local server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = script(server.url()).await;
    server.shutdown().await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            println!("script failed: {error}");
            ExitCode::FAILURE
        }
    }
}
