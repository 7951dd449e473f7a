//! The smallest useful client: join a topic, print what is broadcast on it, push a message
//! and await the server's reply.
//!
//! The example starts its own Phoenix-protocol server on loopback, so it needs nothing else:
//! the server answers a `ping` push with a `pong` reply, and then three other "users" talk
//! on `rooms:lobby`. The client prints all of it and stops after the third broadcast.
//!
//! ```sh
//! cargo run --example minimal_client
//! ```
#![allow(clippy::print_stdout, reason = "the example prints what happens")]

use std::process::ExitCode;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use slipstream::endpoint::{Endpoint, EndpointServer, Hub, PushReply};
use slipstream::protocol::{Payload, SharedStr};
use slipstream::{Config, Socket};

/// What a `new_msg` broadcast carries.
#[derive(Debug, Deserialize)]
struct NewMsg {
    user: String,
    body: String,
}

/// The client: it counts broadcasts and stops after three.
#[derive(Default)]
struct Lobby {
    received: u32,
}

#[slipstream::client(topics = ["rooms:lobby"])]
impl Lobby {
    #[on_join]
    async fn joined(&mut self, socket: &mut Socket, topic: &SharedStr) -> slipstream::Result<()> {
        println!("joined {topic}");
        let reply = socket
            .request("rooms:lobby", "ping", json!({ "from": "minimal_client" }))
            .await?;
        println!("reply {}: {}", reply.status, json_text(&reply.response));
        Ok(())
    }

    #[on_message(topic = "rooms:lobby", event = "new_msg")]
    fn new_msg(&mut self, socket: &mut Socket, msg: NewMsg) {
        self.received += 1;
        println!("broadcast {}: <{}> {}", self.received, msg.user, msg.body);
        if self.received == 3 {
            println!("received 3 broadcasts; stopping");
            socket.stop();
        }
    }
}

fn json_text(payload: &Payload) -> &str {
    payload.as_json().map_or("<binary>", |json| json.as_str())
}

/// A stand-in for a Phoenix service: it answers `ping` with `pong`, and the other users
/// talk in the lobby once someone has pinged.
async fn server() -> std::io::Result<EndpointServer> {
    let hub = Hub::new();
    let talk = hub.clone();
    EndpointServer::builder(hub)
        .on_push(move |push| match push.event {
            "ping" => {
                for (user, body) in [("ana", "hi"), ("bo", "hello"), ("cy", "welcome!")] {
                    talk.broadcast(push.topic, "new_msg", json!({ "user": user, "body": body }));
                }
                PushReply::Ok(json!({ "pong": true }).into())
            }
            _ => PushReply::Error(json!({ "reason": "unknown event" }).into()),
        })
        .bind("127.0.0.1:0")
        .await
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
    let config = Config::new(server.url()).expect("the server's own URL is valid");

    let client = Lobby::default().start(config);
    let finished = tokio::time::timeout(Duration::from_secs(5), client.stopped()).await;

    server.shutdown().await;
    match finished {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => {
            println!("the scenario did not finish within 5 s");
            ExitCode::FAILURE
        }
    }
}
