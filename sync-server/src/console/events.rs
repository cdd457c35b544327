//! Live updates: a server-sent event stream per open page, carrying the ids of the staff member's
//! community's incidents (`incidents`) and service orders (`orders`), and a mark when its points ledger
//! changed (`points`), as soon as the replica merged them (within the feed's latency of the sync that
//! brought them). The page fetches what it shows again; the stream itself carries no personal data.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::RecvError;

use super::session::Staffer;
use super::Console;

/// `GET /console/events`.
pub async fn stream(State(console): State<Arc<Console>>, staffer: Staffer) -> Response {
    let mut rx = console.changed.subscribe();
    let mut stopping = console.stopping.clone();
    let community = staffer.staff.community_id.clone();
    let events = async_stream(move |tx| async move {
        loop {
            let received = tokio::select! {
                received = rx.recv() => received,
                // The server is shutting down: end the stream (the page reconnects to the next server).
                Ok(_) = stopping.wait_for(|stop| *stop) => return,
            };
            match received {
                Ok(c) if c.community_id == community => {
                    for event in events_of(&c) {
                        if tx.send(Ok(event)).await.is_err() {
                            return;
                        }
                    }
                }
                Ok(_) => {}
                // Missed some: tell the page to reload what it shows.
                Err(RecvError::Lagged(_)) => {
                    for kind in ["incidents", "orders", "points"] {
                        if tx.send(Ok(Event::default().event(kind).data("*"))).await.is_err() {
                            return;
                        }
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

/// The events of one change: `incidents` and `orders` with the ids that changed, `points` when the ledger did.
fn events_of(c: &super::Changed) -> Vec<Event> {
    let mut out = Vec::new();
    if !c.incidents.is_empty() {
        out.push(Event::default().event("incidents").data(c.incidents.join(",")));
    }
    if !c.orders.is_empty() {
        out.push(Event::default().event("orders").data(c.orders.join(",")));
    }
    if c.points {
        out.push(Event::default().event("points").data("*"));
    }
    out
}

/// A stream fed by a task (the task ends when the page goes away and a send fails).
fn async_stream<F, Fut>(f: F) -> tokio_stream_shim::ReceiverStream<Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Event, Infallible>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(f(tx));
    tokio_stream_shim::ReceiverStream { rx }
}

/// The few lines of a receiver-as-stream adapter (what `tokio-stream` would add as a dependency).
mod tokio_stream_shim {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// An mpsc receiver as a `Stream`.
    pub struct ReceiverStream<T> {
        pub rx: tokio::sync::mpsc::Receiver<T>,
    }

    impl<T> futures_core::Stream for ReceiverStream<T> {
        type Item = T;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
            self.rx.poll_recv(cx)
        }
    }
}
