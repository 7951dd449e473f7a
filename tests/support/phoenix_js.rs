//! Drives the official phoenix.js client (`tests/js/phoenix_client.js`) from a test: one
//! JSON command a line on its stdin, one JSON event a line on its stdout.
//!
//! Shared by the endpoint's interop tests and the repeater's end-to-end test.

#![allow(dead_code, reason = "each test uses part of the driver")]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How long to wait for phoenix.js to report something.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// A running phoenix.js client.
pub(crate) struct PhoenixJs {
    child: Child,
    stdin: ChildStdin,
    events: Lines<BufReader<ChildStdout>>,
}

impl PhoenixJs {
    /// Starts phoenix.js against `server_url` (an endpoint URL ending in `/websocket`), run
    /// from the repository at `root`, with the script's `options`.
    pub(crate) fn spawn(root: &Path, server_url: &str, options: &Value) -> PhoenixJs {
        assert!(
            root.join("node_modules/phoenix").is_dir() && root.join("node_modules/ws").is_dir(),
            "node_modules is missing: run `npm ci` in {} before these tests",
            root.display()
        );
        // phoenix.js appends `/websocket` itself.
        let url = server_url
            .strip_suffix("/websocket")
            .expect("the default socket path");
        let mut child = Command::new("node")
            .arg(root.join("tests/js/phoenix_client.js"))
            .arg(url)
            .arg(options.to_string())
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("`node` on PATH (Node.js 20 or later)");
        let stdin = child.stdin.take().unwrap();
        let events = BufReader::new(child.stdout.take().unwrap()).lines();
        PhoenixJs {
            child,
            stdin,
            events,
        }
    }

    /// Sends the script a command.
    pub(crate) async fn send(&mut self, command: Value) {
        let line = format!("{command}\n");
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The next event, whatever it is.
    pub(crate) async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(PATIENCE, self.events.next_line())
            .await
            .expect("phoenix.js reported nothing in time")
            .unwrap()
            .expect("phoenix.js exited early");
        serde_json::from_str(&line).expect("one JSON event a line")
    }

    /// The next event of type `kind` for which `wanted` holds, skipping others.
    pub(crate) async fn wait_for(&mut self, kind: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let mut skipped = Vec::new();
        loop {
            let line = tokio::time::timeout(PATIENCE, self.events.next_line())
                .await
                .unwrap_or_else(|_| panic!("no {kind} event; saw {skipped:?}"))
                .unwrap()
                .unwrap_or_else(|| panic!("phoenix.js exited before {kind}; saw {skipped:?}"));
            let event: Value = serde_json::from_str(&line).expect("one JSON event a line");
            if event["type"] == kind && wanted(&event) {
                return event;
            }
            skipped.push(event);
        }
    }

    /// The next event of type `kind`, failing on any other but `open`.
    pub(crate) async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let event = self.next().await;
            if event["type"] == kind {
                return event;
            }
            assert_eq!(event["type"], "open", "expected {kind}, got {event}");
        }
    }

    /// Joins `topic` and waits for phoenix.js to report it joined.
    pub(crate) async fn join(&mut self, topic: &str) -> Value {
        self.send(json!({ "cmd": "join", "topic": topic })).await;
        self.wait_for("joined", |e| e["topic"] == topic).await
    }

    /// Tells the script to exit, and checks that it did, successfully.
    pub(crate) async fn exit(mut self) {
        self.send(json!({ "cmd": "exit" })).await;
        let status = tokio::time::timeout(PATIENCE, self.child.wait()).await;
        assert!(status.unwrap().unwrap().success());
    }
}
