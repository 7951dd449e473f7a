//! Counters a client keeps, readable from its handle.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a client's counters, from [`ClientHandle::counters`](super::ClientHandle::counters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// Frames received from the server.
    pub frames_in: u64,
    /// Frames sent to the server.
    pub frames_out: u64,
    /// Messages handed to [`Client::on_message`](super::Client::on_message).
    pub messages: u64,
    /// Successful connects.
    pub connects: u64,
    /// Connects after the first.
    pub reconnects: u64,
    /// Joins sent again after a reconnect, a crash or a timeout.
    pub rejoins: u64,
    /// Heartbeats that went unanswered.
    pub heartbeat_timeouts: u64,
    /// Frames that did not decode; they were skipped.
    pub decode_errors: u64,
    /// Payloads that did not decode into a handler's type.
    pub payload_errors: u64,
    /// Messages dropped because they belonged to an earlier join or to a topic not joined.
    pub dropped: u64,
    /// Errors returned by callbacks.
    pub callback_errors: u64,
}

#[derive(Debug, Default)]
pub(crate) struct AtomicCounters {
    pub(crate) frames_in: AtomicU64,
    pub(crate) frames_out: AtomicU64,
    pub(crate) messages: AtomicU64,
    pub(crate) connects: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) rejoins: AtomicU64,
    pub(crate) heartbeat_timeouts: AtomicU64,
    pub(crate) decode_errors: AtomicU64,
    pub(crate) payload_errors: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) callback_errors: AtomicU64,
}

impl AtomicCounters {
    /// Adds one, and returns the new count.
    pub(crate) fn bump(counter: &AtomicU64) -> u64 {
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn snapshot(&self) -> Counters {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counters {
            frames_in: get(&self.frames_in),
            frames_out: get(&self.frames_out),
            messages: get(&self.messages),
            connects: get(&self.connects),
            reconnects: get(&self.reconnects),
            rejoins: get(&self.rejoins),
            heartbeat_timeouts: get(&self.heartbeat_timeouts),
            decode_errors: get(&self.decode_errors),
            payload_errors: get(&self.payload_errors),
            dropped: get(&self.dropped),
            callback_errors: get(&self.callback_errors),
        }
    }
}
