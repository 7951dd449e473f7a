//! A harness in which the test plays the Phoenix server.
//!
//! [`TestServer`] listens on `127.0.0.1` (port 0). Start the client under test with
//! [`TestServer::config`], accept its connection with [`TestServer::accept`] (or refuse it
//! with [`TestServer::refuse`]), then drive the conversation through the [`ServerConn`]:
//! assert the joins, pushes and leaves the client sends, reply to them, push or broadcast
//! messages, crash or close topics, go silent, drop the connection.
//!
//! Every assertion waits at most [`ServerConn::set_timeout`] (1 s by default) and panics with
//! a message saying what was expected and what came instead; each has a `refute_` twin that
//! passes when nothing of the kind arrives. Heartbeats are answered automatically (until
//! [`ServerConn::go_silent`]) and never count as frames for assertions.
//!
//! Timers work under `#[tokio::test(start_paused = true)]`: the server runs in the test's own
//! runtime over loopback, so a heartbeat interval or a backoff of minutes passes in
//! milliseconds.
//!
//! # Examples
//!
//! ```
//! use slipstream::testing::TestServer;
//! use slipstream::{Client, Socket};
//! use serde_json::json;
//!
//! struct Lobby;
//!
//! #[slipstream::__private::async_trait]
//! impl Client for Lobby {
//!     type Info = ();
//!     type Call = ();
//!     type Answer = ();
//!
//!     async fn on_connect(&mut self, socket: &mut Socket) -> slipstream::Result<()> {
//!         socket.join("rooms:lobby", json!({ "user": "ada" })).await
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut server = TestServer::bind().await.unwrap();
//! let client = Lobby.start(server.config().build().unwrap());
//!
//! let mut conn = server.accept().await;
//! let join = conn.assert_join("rooms:lobby", json!({ "user": "ada" })).await;
//! conn.reply_ok(&join, json!({})).await;
//! conn.broadcast("rooms:lobby", "news", json!({ "text": "hi" })).await;
//!
//! // The client's close handshake waits for the server's answer: run both together.
//! tokio::join!(client.shutdown(), conn.assert_closed());
//! # }
//! ```

mod conn;
mod server;

pub use conn::{Expect, Received, ServerConn};
pub use server::{ConnectRequest, TestServer};

#[cfg(test)]
mod tests;
