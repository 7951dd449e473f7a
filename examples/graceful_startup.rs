//! Graceful start-up: a bad client configuration is reported, naming the field at fault, and
//! the program carries on without the client instead of panicking. (In Elixir's Slipstream,
//! `init/1` returns `:ignore`; here, starting the client is simply skipped.)
//!
//! `Config::builder(..).build()` validates everything at once, so a mistake (an `http://`
//! URL, a zero timeout, a header with a line break) is caught at start-up with the field's
//! name in `ConfigError::field`, not at the first connect.
//!
//! ```sh
//! cargo run --example graceful_startup                          # three bad configs, then the good default
//! cargo run --example graceful_startup -- http://127.0.0.1:4000/socket/websocket   # yours
//! FEED_URL=ws://127.0.0.1:0/socket cargo run --example graceful_startup   # or from the environment
//! ```
//!
//! Without a URL, the client connects to a Phoenix-protocol server the example starts on
//! loopback.
#![allow(clippy::print_stdout, reason = "the example prints what happens")]

use std::time::Duration;

use slipstream::endpoint::{EndpointServer, Hub};
use slipstream::protocol::SharedStr;
use slipstream::{ClientHandle, Config, ConfigBuilder};
use tokio::sync::oneshot;

/// The part of the application that follows a feed; the rest of it works without.
struct Feed {
    joined: Option<oneshot::Sender<SharedStr>>,
}

#[slipstream::client(topics = ["feed:prices"])]
impl Feed {
    #[on_join]
    fn joined(&mut self, topic: &SharedStr) {
        if let Some(joined) = self.joined.take() {
            let _ = joined.send(topic.clone());
        }
    }
}

/// Builds the configuration and starts the feed, or reports why not and returns `None`.
fn start_feed(
    builder: ConfigBuilder,
    joined: oneshot::Sender<SharedStr>,
) -> Option<ClientHandle<Feed>> {
    match builder.build() {
        Ok(config) => Some(
            Feed {
                joined: Some(joined),
            }
            .start(config),
        ),
        Err(error) => {
            // A service would log this at `warn`; `error.field()` names the builder method.
            println!(
                "feed not started: field `{}`: {}",
                error.field(),
                error.message()
            );
            None
        }
    }
}

/// Starts the feed from `builder` and reports how it went; never fails the program.
async fn try_feed(name: &str, builder: ConfigBuilder) {
    println!("-- {name}");
    let (joined_tx, joined) = oneshot::channel();
    let Some(feed) = start_feed(builder, joined_tx) else {
        println!("the application carries on without the feed");
        return;
    };
    match tokio::time::timeout(Duration::from_secs(3), joined).await {
        Ok(Ok(topic)) => println!("feed started and joined {topic}"),
        _ => println!("feed started but not joined within 3 s (it would keep retrying)"),
    }
    feed.shutdown().await;
}

#[tokio::main]
async fn main() {
    let server = match EndpointServer::bind("127.0.0.1:0", Hub::new()).await {
        Ok(server) => Some(server),
        Err(error) => {
            println!("cannot start the local server ({error}); the default URL will not answer");
            None
        }
    };
    let default_url = server.as_ref().map_or_else(
        || "ws://127.0.0.1:4000/socket/websocket".to_owned(),
        EndpointServer::url,
    );

    let given = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("FEED_URL").ok());
    match given {
        Some(url) => try_feed("the URL given", Config::builder(url)).await,
        None => show_mistakes(&default_url).await,
    }

    println!("the application ran to the end");
    if let Some(server) = server {
        server.shutdown().await;
    }
}

/// Three configurations that do not build, then the good default.
async fn show_mistakes(good_url: &str) {
    let http_url = good_url.replacen("ws://", "http://", 1);
    try_feed("an http:// URL", Config::builder(http_url)).await;
    try_feed(
        "a zero push timeout",
        Config::builder(good_url).push_timeout(Duration::ZERO),
    )
    .await;
    try_feed(
        "a header with a line break",
        Config::builder(good_url).header("x-team", "payments\r\nx-evil: 1"),
    )
    .await;
    try_feed("the default", Config::builder(good_url)).await;
}
