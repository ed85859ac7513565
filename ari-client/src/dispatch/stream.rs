//! [`EventStream`]: every event, in the order the server sent them.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc;

use crate::events::Event;

/// A stream of every event the client receives, in arrival order.
///
/// Made by [`Client::events`](crate::Client::events). It is bounded: while it is full, the
/// websocket reader waits for it (nothing is dropped), so keep reading it or drop it.
/// It ends when the client's event connection ends for good.
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::Receiver<Event>,
}

impl EventStream {
    pub(crate) fn new(rx: mpsc::Receiver<Event>) -> Self {
        Self { rx }
    }

    /// The next event, or `None` once the client's event connection ended for good.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, no event is lost.
    pub async fn next(&mut self) -> Option<Event> {
        self.rx.recv().await
    }
}

impl futures_util::Stream for EventStream {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.rx.poll_recv(cx)
    }
}
