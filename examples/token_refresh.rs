//! Refreshing an expired token: the server refuses the connect with HTTP 403, the client
//! gets a new token and connects again.
//!
//! The token lives in a shared cell that the `Config::params` closure reads; that closure
//! runs on *every* connect, so whatever the cell holds at that moment is what the server
//! sees. The client's `#[on_disconnect]` handler recognises a refused connect
//! (`DisconnectReason::ConnectFailed` with `ConnectError::status() == Some(403)`), puts a
//! fresh token in the cell, and the default reconnect that runs after the handler does the
//! rest. (Elixir's Slipstream rewrites the URI in its stored config and calls `connect/2`.)
//!
//! The server, started on loopback, checks the `token` parameter in its connect hook. The
//! client starts with a token that has already expired. Tokens are never printed.
//!
//! ```sh
//! cargo run --example token_refresh
//! ```
#![allow(clippy::print_stdout, reason = "the example prints what happens")]

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::json;
use slipstream::endpoint::{EndpointServer, Hub, Refusal};
use slipstream::protocol::SharedStr;
use slipstream::{Config, DisconnectReason};
use tokio::sync::oneshot;

/// Stands in for an auth service: issues tokens with a lifetime and checks them.
#[derive(Clone, Default)]
struct Issuer {
    expiries: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Issuer {
    fn issue(&self, lifetime: Duration) -> String {
        let mut expiries = self.expiries.lock().unwrap_or_else(PoisonError::into_inner);
        let token = format!("token-{}", expiries.len() + 1);
        expiries.insert(token.clone(), Instant::now() + lifetime);
        token
    }

    /// The connect hook's check: a known token that has not expired.
    fn check(&self, token: Option<&str>) -> Result<(), Refusal> {
        let expiries = self.expiries.lock().unwrap_or_else(PoisonError::into_inner);
        match token.and_then(|t| expiries.get(t)) {
            None => Err(Refusal::new("unknown token")),
            Some(expiry) if *expiry <= Instant::now() => Err(Refusal::new("token expired")),
            Some(_) => Ok(()),
        }
    }
}

/// The shared cell the `Config::params` closure reads on every connect.
type TokenCell = Arc<Mutex<String>>;

/// The client: on a 403, it swaps in a fresh token before the default reconnect.
struct Feed {
    token: TokenCell,
    issuer: Issuer,
    joined: Option<oneshot::Sender<()>>,
}

#[slipstream::client(topics = ["rooms:lobby"])]
impl Feed {
    #[on_disconnect]
    fn disconnected(&mut self, reason: &DisconnectReason) {
        match reason {
            DisconnectReason::ConnectFailed(error) if error.status() == Some(403) => {
                println!("client: connect refused with HTTP 403; refreshing the token");
                let fresh = self.issuer.issue(Duration::from_secs(3600));
                *self.token.lock().unwrap_or_else(PoisonError::into_inner) = fresh;
            }
            other => println!("client: disconnected: {other}"),
        }
    }

    #[on_join]
    fn joined(&mut self, topic: &SharedStr) {
        println!("client: joined {topic}");
        if let Some(joined) = self.joined.take() {
            let _ = joined.send(());
        }
    }
}

/// A server whose connect hook accepts only live tokens (a refusal is HTTP 403).
async fn server(issuer: Issuer) -> std::io::Result<EndpointServer> {
    EndpointServer::builder(Hub::new())
        .on_connect(move |info| {
            let verdict = issuer.check(info.param("token"));
            match &verdict {
                Ok(()) => println!("server: connect accepted"),
                Err(refusal) => println!("server: connect refused: {}", refusal.reason()),
            }
            verdict
        })
        .bind("127.0.0.1:0")
        .await
}

#[tokio::main]
async fn main() -> ExitCode {
    let issuer = Issuer::default();
    let server = match server(issuer.clone()).await {
        Ok(server) => server,
        Err(error) => {
            println!("cannot start the local server: {error}");
            return ExitCode::FAILURE;
        }
    };

    // A token issued long ago: it has expired by the time the client connects.
    let token: TokenCell = Arc::new(Mutex::new(issuer.issue(Duration::ZERO)));
    let cell = token.clone();
    let config = Config::builder(server.url())
        .params(move || {
            let token = cell.lock().unwrap_or_else(PoisonError::into_inner).clone();
            json!({ "token": token })
        })
        .build()
        .expect("the server's own URL is valid");

    let (joined_tx, joined) = oneshot::channel();
    let client = Feed {
        token,
        issuer,
        joined: Some(joined_tx),
    }
    .start(config);
    let outcome = tokio::time::timeout(Duration::from_secs(5), joined).await;

    let (connects, refused) = (client.counters().connects, server.stats().refused);
    client.shutdown().await;
    server.shutdown().await;
    match outcome {
        Ok(Ok(())) => {
            println!(
                "joined after a token refresh: refused connects {refused}, accepted {connects}"
            );
            ExitCode::SUCCESS
        }
        _ => {
            println!("the client did not join within 5 s");
            ExitCode::FAILURE
        }
    }
}
