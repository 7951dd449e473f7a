//! Every example runs to completion on loopback, exits 0 and prints proof of its scenario;
//! the repeater demo reports live traffic and survives its upstream restart; bad repeater
//! arguments give exit status 2 and one line naming the argument.
//!
//! The examples are run from the binaries `cargo test` builds into `target/<profile>/examples`.
//! `cargo test --test examples_run` alone does not build them: run `cargo build --examples`
//! first, or plain `cargo test`.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::process::Command;

/// The path of the compiled example `name`, next to this test's own binary.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    // target/<profile>/deps/examples_run-HASH -> target/<profile>/examples/NAME
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary is in target/<profile>/deps")
        .join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: build the examples first (`cargo build --examples`, or plain `cargo test`)",
        path.display()
    );
    path
}

/// Runs example `name` with `args` and returns its output; fails after `limit`.
async fn run(name: &str, args: &[&str], limit: Duration) -> Output {
    let child = Command::new(example(name))
        .args(args)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start example {name}: {e}"));
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(output) => output.expect("the example's output is readable"),
        Err(_) => panic!("example {name} {args:?} did not exit within {limit:?}"),
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs an example that needs no arguments and checks it exits 0 having printed `proofs`.
async fn runs_clean(name: &str, proofs: &[&str]) -> String {
    let output = run(name, &[], Duration::from_secs(15)).await;
    let out = stdout(&output);
    assert!(
        output.status.success(),
        "{name} exited with {}\nstdout:\n{out}\nstderr:\n{}",
        output.status,
        stderr(&output)
    );
    for proof in proofs {
        assert!(
            out.contains(proof),
            "{name} did not print {proof:?}:\n{out}"
        );
    }
    out
}

#[tokio::test]
async fn minimal_client_joins_pushes_and_prints_broadcasts() {
    runs_clean(
        "minimal_client",
        &[
            "joined rooms:lobby",
            "reply ok: {\"pong\":true}",
            "broadcast 3: <cy> welcome!",
            "received 3 broadcasts",
        ],
    )
    .await;
}

#[tokio::test]
async fn graceful_startup_names_each_bad_field_and_carries_on() {
    runs_clean(
        "graceful_startup",
        &[
            "feed not started: field `url`: unknown scheme \"http\"",
            "feed not started: field `push_timeout`",
            "feed not started: field `headers`",
            "feed started and joined feed:prices",
            "the application ran to the end",
        ],
    )
    .await;
}

#[tokio::test]
async fn graceful_startup_refuses_a_bad_url_from_the_command_line() {
    let output = run(
        "graceful_startup",
        &["http://127.0.0.1:1/socket/websocket"],
        Duration::from_secs(10),
    )
    .await;
    let out = stdout(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("feed not started: field `url`"), "{out}");
    assert!(out.contains("the application ran to the end"), "{out}");
    assert!(!out.contains("feed started"), "{out}");
}

#[tokio::test]
async fn rejoin_dynamic_topics_rejoins_all_three_after_a_restart() {
    let out = runs_clean(
        "rejoin_dynamic_topics",
        &[
            "server #2: join rooms:foo (params via \"ClientHandle::join\")",
            "server #2: join rooms:bar (params via \"on_info\")",
            "rejoined 3 topics: [\"rooms:bar\", \"rooms:baz\", \"rooms:foo\"]",
            "(reconnects 1, rejoins 3)",
        ],
    )
    .await;
    assert_eq!(out.matches("server #2: join").count(), 3, "{out}");
}

#[tokio::test]
async fn info_and_call_answers_a_join_call_from_the_join_reply() {
    runs_clean(
        "info_and_call",
        &[
            "call Ping -> Pong",
            "call Join(rooms:ops) -> joined: {\"motd\":\"be nice\",\"welcome\":\"rooms:ops\"}",
            "call Join(rooms:secret) -> refused: {\"reason\":\"unauthorized\"}",
            "call Status -> connected true, joined [\"rooms:lobby\", \"rooms:ops\"]",
            "client stopped by itself",
        ],
    )
    .await;
}

#[tokio::test]
async fn script_tells_a_timeout_from_an_error_reply_and_a_refusal() {
    runs_clean(
        "script",
        &[
            "join rooms:secret refused: {\"reason\":\"unauthorized\"}",
            "push ping -> ok {\"pong\":true}",
            "push delete -> error {\"reason\":\"not allowed\"}",
            "push whisper -> Error::Timeout: timed out waiting for the reply",
            "message shout {\"text\":\"hello, room\"}",
            "next message -> Error::Timeout: timed out waiting for a message",
            "left rooms:lobby",
            "disconnected; script finished",
        ],
    )
    .await;
}

#[tokio::test]
async fn token_refresh_reconnects_after_a_403_with_a_fresh_token() {
    let out = runs_clean(
        "token_refresh",
        &[
            "server: connect refused: token expired",
            "client: connect refused with HTTP 403; refreshing the token",
            "server: connect accepted",
            "client: joined rooms:lobby",
            "refused connects 1, accepted 1",
        ],
    )
    .await;
    assert!(!out.contains("token-"), "a token was printed:\n{out}");
}

#[tokio::test]
async fn repeater_demo_reports_traffic_and_survives_the_upstream_restart() {
    let output = run("repeater", &["--seconds", "7"], Duration::from_secs(20)).await;
    let out = stdout(&output);
    assert!(
        output.status.success(),
        "exit {}\n{out}\n{}",
        output.status,
        stderr(&output)
    );
    let reports: Vec<&str> = out.lines().filter(|l| l.contains(" msg/s ")).collect();
    assert!(reports.len() >= 5, "{} report lines:\n{out}", reports.len());
    assert!(
        reports.iter().any(|l| l.contains("reconnects 1")),
        "no report shows the reconnect:\n{out}"
    );
    assert!(
        reports
            .last()
            .is_some_and(|l| !l.starts_with("    0 msg/s")),
        "traffic did not resume after the restart:\n{out}"
    );
}

/// Runs the repeater with bad `args`: exit status 2, one line on stderr naming `argument`.
async fn repeater_refuses(args: &[&str], argument: &str) {
    let output = run("repeater", args, Duration::from_secs(10)).await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: stderr {err:?}");
    assert_eq!(err.lines().count(), 1, "{args:?}: stderr {err:?}");
    assert!(err.starts_with("repeater: "), "{err:?}");
    assert!(
        err.contains(argument),
        "{args:?}: {err:?} does not name {argument}"
    );
    assert!(!err.contains("panicked"), "{err:?}");
}

#[tokio::test]
async fn repeater_refuses_an_http_url() {
    repeater_refuses(&["--from", "http://x", "--topic", "t"], "--from").await;
}

#[tokio::test]
async fn repeater_refuses_a_source_without_topics() {
    repeater_refuses(&["--from", "ws://127.0.0.1:9/s"], "--topic").await;
}

#[tokio::test]
async fn repeater_refuses_an_unparsable_listen_address() {
    repeater_refuses(&["--listen", "nope"], "--listen").await;
}
