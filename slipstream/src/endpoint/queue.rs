//! A bounded queue with one consumer, many producers and an explicit overflow policy.
//!
//! Producers never wait: [`Queue::push`] either queues the item or applies the
//! [`Overflow`] policy and says what it did, so the caller can count and log it. The
//! consumer takes everything queued in one step ([`Queue::poll_take`]), which is what lets a
//! WebSocket writer feed a whole batch of frames and flush once.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// What a subscriber's queue does when a message arrives and the queue is full.
///
/// # Examples
///
/// ```
/// use slipstream::endpoint::{Hub, Overflow};
///
/// // A dashboard that only cares about recent values: keep the newest messages.
/// let hub = Hub::builder().capacity(64).overflow(Overflow::DropOldest).build();
/// # drop(hub);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Overflow {
    /// End the subscription: a WebSocket subscriber is closed, a [`Subscription`] stream
    /// ends after the messages already queued, with [`EndReason::Lagged`]. Nothing is lost
    /// silently; the subscriber knows it has a gap and can reconnect. The default.
    ///
    /// [`Subscription`]: super::Subscription
    #[default]
    Disconnect,
    /// Drop the oldest queued message to make room for the new one.
    DropOldest,
    /// Drop the new message and keep what is queued.
    DropNewest,
}

/// Why a subscription or connection stopped receiving messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndReason {
    /// Its queue overflowed under [`Overflow::Disconnect`]: it did not keep up.
    Lagged,
    /// It was disconnected: by [`Hub::disconnect`](super::Hub::disconnect), by its
    /// connection closing, or by the server shutting down.
    Disconnected,
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EndReason::Lagged => "subscriber lagged behind and was disconnected",
            EndReason::Disconnected => "subscriber was disconnected",
        })
    }
}

/// What [`Queue::push`] did with an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// The item is queued.
    Queued,
    /// The queue was full: the oldest item was dropped and this one queued. `streak`
    /// counts the drops since the consumer last took items.
    DroppedOldest { streak: u64 },
    /// The queue was full: this item was dropped.
    DroppedNewest { streak: u64 },
    /// The queue was full and has now been closed with [`EndReason::Lagged`].
    Disconnected,
    /// The queue was already closed; the item was dropped.
    Closed,
}

/// A bounded multi-producer, single-consumer queue.
#[derive(Debug)]
pub(crate) struct Queue<T> {
    state: Mutex<State<T>>,
    capacity: usize,
    overflow: Overflow,
}

#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
    waker: Option<Waker>,
    closed: Option<EndReason>,
    streak: u64,
}

impl<T> Queue<T> {
    /// An empty queue holding at most `capacity` items (at least one).
    pub(crate) fn new(capacity: usize, overflow: Overflow) -> Self {
        Queue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                waker: None,
                closed: None,
                streak: 0,
            }),
            capacity: capacity.max(1),
            overflow,
        }
    }

    /// Queues `item`, or applies the overflow policy when the queue is full. Never waits.
    pub(crate) fn push(&self, item: T) -> Pushed {
        let mut state = self.lock();
        if state.closed.is_some() {
            return Pushed::Closed;
        }

        let outcome = if state.items.len() < self.capacity {
            state.items.push_back(item);
            Pushed::Queued
        } else {
            self.overflow(&mut state, item)
        };

        if !matches!(outcome, Pushed::DroppedNewest { .. }) {
            wake(state);
        }
        outcome
    }

    fn overflow(&self, state: &mut State<T>, item: T) -> Pushed {
        match self.overflow {
            Overflow::Disconnect => {
                state.closed = Some(EndReason::Lagged);
                Pushed::Disconnected
            }
            Overflow::DropOldest => {
                state.items.pop_front();
                state.items.push_back(item);
                state.streak += 1;
                Pushed::DroppedOldest {
                    streak: state.streak,
                }
            }
            Overflow::DropNewest => {
                state.streak += 1;
                Pushed::DroppedNewest {
                    streak: state.streak,
                }
            }
        }
    }

    /// Closes the queue with `reason` unless it is already closed, and wakes the consumer.
    /// Items already queued stay readable. Returns whether this call closed it.
    pub(crate) fn close(&self, reason: EndReason) -> bool {
        let mut state = self.lock();
        if state.closed.is_some() {
            return false;
        }
        state.closed = Some(reason);
        wake(state);
        true
    }

    /// Why the queue was closed, if it was.
    pub(crate) fn end_reason(&self) -> Option<EndReason> {
        self.lock().closed
    }

    /// Takes every queued item in arrival order. Pending while the queue is empty and
    /// open; `Err` once it is empty and closed.
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Result<VecDeque<T>, EndReason>> {
        let mut state = self.lock();
        if !state.items.is_empty() {
            state.streak = 0;
            return Poll::Ready(Ok(std::mem::take(&mut state.items)));
        }
        match state.closed {
            Some(reason) => Poll::Ready(Err(reason)),
            None => {
                register(&mut state.waker, cx);
                Poll::Pending
            }
        }
    }

    /// Takes the oldest item. Pending while the queue is empty and open; `None` once it is
    /// empty and closed.
    pub(crate) fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.lock();
        if let Some(item) = state.items.pop_front() {
            state.streak = 0;
            return Poll::Ready(Some(item));
        }
        if state.closed.is_some() {
            return Poll::Ready(None);
        }
        register(&mut state.waker, cx);
        Poll::Pending
    }

    /// Waits for [`Queue::poll_take`]'s result.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: items are only taken when the future completes.
    pub(crate) async fn take(&self) -> Result<VecDeque<T>, EndReason> {
        poll_fn(|cx| self.poll_take(cx)).await
    }

    /// Resolves once the queue is closed, with the reason. Shares the consumer's waker
    /// slot, so it must not be polled at the same time as [`Queue::take`].
    pub(crate) async fn closed(&self) -> EndReason {
        poll_fn(|cx| {
            let mut state = self.lock();
            match state.closed {
                Some(reason) => Poll::Ready(reason),
                None => {
                    register(&mut state.waker, cx);
                    Poll::Pending
                }
            }
        })
        .await
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // No code path panics while holding the lock, and the state stays consistent
        // between statements, so a poisoned lock is still safe to use.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// Wakes the consumer after releasing the lock, so it does not wake into a held lock.
fn wake<T>(mut state: MutexGuard<'_, State<T>>) {
    let waker = state.waker.take();
    drop(state);
    if let Some(waker) = waker {
        waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::task::noop_waker_ref;

    fn take_now<T>(queue: &Queue<T>) -> Poll<Result<Vec<T>, EndReason>> {
        let mut cx = Context::from_waker(noop_waker_ref());
        queue
            .poll_take(&mut cx)
            .map(|r| r.map(|items| items.into_iter().collect()))
    }

    #[test]
    fn takes_everything_in_order() {
        let queue = Queue::new(4, Overflow::Disconnect);
        assert_eq!(queue.push(1), Pushed::Queued);
        assert_eq!(queue.push(2), Pushed::Queued);
        assert_eq!(take_now(&queue), Poll::Ready(Ok(vec![1, 2])));
        assert!(take_now(&queue).is_pending());
    }

    #[test]
    fn disconnect_closes_but_keeps_what_was_queued() {
        let queue = Queue::new(2, Overflow::Disconnect);
        queue.push(1);
        queue.push(2);
        assert_eq!(queue.push(3), Pushed::Disconnected);
        assert_eq!(queue.push(4), Pushed::Closed);
        assert_eq!(queue.end_reason(), Some(EndReason::Lagged));
        assert_eq!(take_now(&queue), Poll::Ready(Ok(vec![1, 2])));
        assert_eq!(take_now(&queue), Poll::Ready(Err(EndReason::Lagged)));
    }

    #[test]
    fn drop_oldest_keeps_the_newest() {
        let queue = Queue::new(2, Overflow::DropOldest);
        for i in 1..=4 {
            queue.push(i);
        }
        assert_eq!(queue.push(5), Pushed::DroppedOldest { streak: 3 });
        assert_eq!(take_now(&queue), Poll::Ready(Ok(vec![4, 5])));
        queue.push(6);
        queue.push(7);
        assert_eq!(queue.push(8), Pushed::DroppedOldest { streak: 1 });
    }

    #[test]
    fn drop_newest_keeps_the_oldest() {
        let queue = Queue::new(2, Overflow::DropNewest);
        for i in 1..=3 {
            queue.push(i);
        }
        assert_eq!(queue.push(4), Pushed::DroppedNewest { streak: 2 });
        assert_eq!(take_now(&queue), Poll::Ready(Ok(vec![1, 2])));
    }

    #[tokio::test]
    async fn a_push_wakes_the_consumer() {
        let queue = std::sync::Arc::new(Queue::new(8, Overflow::Disconnect));
        let consumer = tokio::spawn({
            let queue = queue.clone();
            async move { queue.take().await }
        });
        tokio::task::yield_now().await;
        queue.push("hello");
        let items = consumer.await.unwrap().unwrap();
        assert_eq!(items, ["hello"]);
    }

    #[tokio::test]
    async fn close_wakes_a_waiter() {
        let queue = std::sync::Arc::new(Queue::<u8>::new(8, Overflow::Disconnect));
        let waiter = tokio::spawn({
            let queue = queue.clone();
            async move { queue.closed().await }
        });
        tokio::task::yield_now().await;
        assert!(queue.close(EndReason::Disconnected));
        assert!(!queue.close(EndReason::Lagged));
        assert_eq!(waiter.await.unwrap(), EndReason::Disconnected);
    }
}
