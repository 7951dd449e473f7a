//! Talking to a running client from the rest of the program: messages with
//! `ClientHandle::send` (handled by `Client::on_info`) and requests with an answer with
//! `ClientHandle::call` (handled by `Client::on_call`).
//!
//! The client here implements the `Client` trait by hand, to show what the DSL hides:
//! the `Info`, `Call` and `Answer` types, and an answer given *later*. A call asking to join
//! a topic cannot be answered inside `on_call`, because the server's reply arrives as a
//! separate event (`on_join` or `on_topic_close`). So `on_call` answers at once with a
//! receiver, keeps the sender, and `on_join` completes it: the caller awaits the call, then
//! the receiver, and gets the server's join response or its refusal. (Elixir's Slipstream
//! does this with `GenServer.reply` from `handle_join`.)
//!
//! The scenario, against a Phoenix-protocol server the example starts on loopback: a join
//! by message, a ping, a join by call answered from the join reply, a refused join, a status
//! query, and a message that makes the client disconnect and stop.
//!
//! ```sh
//! cargo run --example info_and_call
//! ```
#![allow(clippy::print_stdout, reason = "the example prints what happens")]

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use slipstream::endpoint::{EndpointServer, Hub};
use slipstream::protocol::{Payload, SharedStr};
use slipstream::{Client, ClientHandle, Config, Socket, TopicCloseReason};
use tokio::sync::oneshot;

/// Messages the program sends the client; nothing comes back.
#[derive(Debug)]
enum Note {
    /// Join this topic.
    Join(String),
    /// Leave everything, disconnect and stop.
    Conclude,
}

/// Requests the program makes of the client; each gets an [`Answer`].
#[derive(Debug)]
enum Ask {
    Ping,
    Join(String),
    Status,
}

/// How a join requested by a call ended: the server's response, or why it refused.
type JoinOutcome = Result<Payload, String>;

/// The client's answers.
#[derive(Debug)]
enum Answer {
    Pong,
    /// Completed once the server answers the join.
    Joining(oneshot::Receiver<JoinOutcome>),
    Status {
        connected: bool,
        joined: Vec<String>,
    },
}

/// The client: keeps the callers waiting for a join until the server answers it.
#[derive(Default)]
struct Desk {
    waiting: HashMap<SharedStr, oneshot::Sender<JoinOutcome>>,
}

#[async_trait]
impl Client for Desk {
    type Info = Note;
    type Call = Ask;
    type Answer = Answer;

    async fn on_info(&mut self, socket: &mut Socket, note: Note) -> slipstream::Result<()> {
        match note {
            Note::Join(topic) => socket.join(topic, Payload::empty()).await,
            Note::Conclude => {
                println!("client: concluding");
                socket.disconnect().await;
                socket.stop();
                Ok(())
            }
        }
    }

    async fn on_call(&mut self, socket: &mut Socket, ask: Ask) -> slipstream::Result<Answer> {
        match ask {
            Ask::Ping => Ok(Answer::Pong),
            Ask::Join(topic) => {
                let (answer, joining) = oneshot::channel();
                if socket.is_joined(&topic) {
                    let _ = answer.send(Ok(Payload::empty()));
                } else {
                    socket.join(topic.as_str(), Payload::empty()).await?;
                    self.waiting.insert(topic.into(), answer);
                }
                Ok(Answer::Joining(joining))
            }
            Ask::Status => {
                let mut joined: Vec<String> = socket
                    .topics()
                    .filter(|t| socket.is_joined(t))
                    .map(ToString::to_string)
                    .collect();
                joined.sort();
                Ok(Answer::Status {
                    connected: socket.is_connected(),
                    joined,
                })
            }
        }
    }

    async fn on_join(
        &mut self,
        _: &mut Socket,
        topic: &SharedStr,
        response: Payload,
    ) -> slipstream::Result<()> {
        println!("client: joined {topic}");
        if let Some(caller) = self.waiting.remove(topic) {
            let _ = caller.send(Ok(response));
        }
        Ok(())
    }

    async fn on_topic_close(
        &mut self,
        socket: &mut Socket,
        topic: &SharedStr,
        reason: TopicCloseReason,
    ) -> slipstream::Result<()> {
        println!("client: {topic}: {reason}");
        match reason {
            TopicCloseReason::Refused(response) => {
                if let Some(caller) = self.waiting.remove(topic) {
                    let _ = caller.send(Err(json_text(&response).to_owned()));
                }
                Ok(())
            }
            // What the default does: try again later, the caller keeps waiting.
            _ => socket.rejoin(topic),
        }
    }
}

fn json_text(payload: &Payload) -> &str {
    payload.as_json().map_or("<binary>", |json| json.as_str())
}

/// A server that welcomes joins to `rooms:*` and refuses `rooms:secret`.
async fn server() -> std::io::Result<EndpointServer> {
    EndpointServer::builder(Hub::new())
        .topics(["rooms:*"])
        .on_join(|join| match join.topic {
            "rooms:secret" => Err(json!({ "reason": "unauthorized" }).into()),
            topic => Ok(json!({ "welcome": topic, "motd": "be nice" }).into()),
        })
        .bind("127.0.0.1:0")
        .await
}

/// Calls the client to join `topic` and waits for the server's answer.
async fn join_by_call(client: &ClientHandle<Desk>, topic: &str) -> Result<JoinOutcome, String> {
    let Answer::Joining(joining) = client
        .call(Ask::Join(topic.into()))
        .await
        .map_err(|e| e.to_string())?
    else {
        return Err("unexpected answer".into());
    };
    joining
        .await
        .map_err(|_| "the client dropped the join".into())
}

async fn run(client: &ClientHandle<Desk>) -> Result<(), String> {
    client
        .send(Note::Join("rooms:lobby".into()))
        .await
        .map_err(|e| e.to_string())?;

    let pong = client.call(Ask::Ping).await.map_err(|e| e.to_string())?;
    println!("call Ping -> {pong:?}");

    match join_by_call(client, "rooms:ops").await? {
        Ok(response) => println!("call Join(rooms:ops) -> joined: {}", json_text(&response)),
        Err(refusal) => return Err(format!("rooms:ops refused: {refusal}")),
    }
    match join_by_call(client, "rooms:secret").await? {
        Ok(_) => return Err("rooms:secret was accepted".into()),
        Err(refusal) => println!("call Join(rooms:secret) -> refused: {refusal}"),
    }

    match client.call(Ask::Status).await.map_err(|e| e.to_string())? {
        Answer::Status { connected, joined } => {
            println!("call Status -> connected {connected}, joined {joined:?}");
        }
        other => return Err(format!("unexpected answer {other:?}")),
    }

    client
        .send(Note::Conclude)
        .await
        .map_err(|e| e.to_string())?;
    client.stopped().await;
    println!("client stopped by itself");
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
    let config = Config::new(server.url()).expect("the server's own URL is valid");
    let client = Desk::default().start(config);

    let outcome = tokio::time::timeout(Duration::from_secs(5), run(&client)).await;
    client.shutdown().await;
    server.shutdown().await;
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(message)) => {
            println!("failed: {message}");
            ExitCode::FAILURE
        }
        Err(_) => {
            println!("the scenario did not finish within 5 s");
            ExitCode::FAILURE
        }
    }
}
