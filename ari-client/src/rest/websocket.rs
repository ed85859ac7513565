//! REST over the event websocket (Asterisk 20.14, 21.9, 22.4 and later): a request is a
//! `RESTRequest` text frame on the websocket, its answer a `RESTResponse` event with the
//! same `request_id` (`res/ari/ari_websocket_requests.c`; `docs/ari-spec-notes.md` §10).
//!
//! The [`Tunnel`] correlates them. The connection layer [`attach`](Tunnel::attach)es each
//! websocket it opens (the frames to write arrive on the receiver it gets), hands every
//! text frame it reads to [`answer`](Tunnel::answer) first, and
//! [`detach`](Tunnel::detach)es the websocket when it is lost: every request in flight
//! then fails at once with [`ErrorKind::WebSocket`]. A request made while no websocket is
//! attached waits for the next one, within its timeout.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::Request;
use crate::error::{Error, ErrorKind, Result};

/// How many request frames wait for the websocket's writer at most; the next request
/// waits for room.
const OUTGOING: usize = 64;

/// Asterisk's answer to one request.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// `reason_phrase`: Asterisk's own words for errors it finds before the operation runs
    /// ("Not Acceptable.  Use HTTP GET" for a file download).
    pub(crate) reason: String,
    /// `message_body`: the operation's JSON, when it has one.
    pub(crate) body: Option<String>,
}

/// The `RESTRequest` frame (the spec's `RESTRequest` model in `events.json`).
#[derive(serde::Serialize)]
struct RestRequest<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    transaction_id: &'a str,
    request_id: &'a str,
    method: &'static str,
    /// Relative to `/ari/`, without a leading slash (Asterisk's router stops at an empty
    /// segment), with the query string.
    uri: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_body: Option<&'a str>,
}

/// The members of a `RESTResponse` event the tunnel reads.
#[derive(serde::Deserialize)]
struct RestResponse {
    request_id: String,
    status_code: u16,
    #[serde(default)]
    reason_phrase: String,
    #[serde(default)]
    message_body: Option<String>,
}

/// The requests in flight over the websocket, and the websocket's writer.
pub(crate) struct Tunnel {
    next_id: AtomicU64,
    /// Request id → who waits for its answer.
    pending: Mutex<HashMap<u64, oneshot::Sender<Result<Answer>>>>,
    /// `pending.len()`, read by the reader for every frame without the lock.
    in_flight: AtomicUsize,
    /// The attached websocket's queue of frames to write, if one is attached.
    link: watch::Sender<Link>,
    /// Whether a websocket was ever attached (before that, a client with an HTTP URL sends
    /// its requests over HTTP).
    engaged: std::sync::atomic::AtomicBool,
}

/// Where request frames go now.
#[derive(Clone)]
enum Link {
    /// No websocket yet, or between two: requests wait for the next.
    Waiting,
    /// The attached websocket's queue of frames to write.
    Open(mpsc::Sender<String>),
    /// The event connection ended (shut down, given up, a call's websocket closed): no
    /// websocket will come, requests fail at once.
    Closed,
}

impl Default for Tunnel {
    fn default() -> Self {
        Self {
            next_id: AtomicU64::new(0),
            pending: Mutex::new(HashMap::new()),
            in_flight: AtomicUsize::new(0),
            link: watch::channel(Link::Waiting).0,
            engaged: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// Removes a request from `pending` when its caller stops waiting (an answer, a timeout,
/// a dropped future).
struct Waiting<'a> {
    tunnel: &'a Tunnel,
    id: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.tunnel.lock().remove(&self.id).is_some() {
            self.tunnel.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Tunnel {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Result<Answer>>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a websocket was ever attached.
    pub(crate) fn engaged(&self) -> bool {
        self.engaged.load(Ordering::Acquire)
    }

    /// A websocket was opened: requests go over it from now on. The frames to write
    /// arrive on the receiver.
    pub(crate) fn attach(&self) -> mpsc::Receiver<String> {
        let (tx, rx) = mpsc::channel(OUTGOING);
        self.engaged.store(true, Ordering::Release);
        self.link.send_replace(Link::Open(tx));
        rx
    }

    /// Whether the event connection ended: requests over the websocket would fail.
    pub(crate) fn closed(&self) -> bool {
        matches!(*self.link.borrow(), Link::Closed)
    }

    /// The websocket was lost (`why`): every request in flight fails, later ones wait for
    /// the next websocket.
    pub(crate) fn detach(&self, why: &str) {
        self.link.send_replace(Link::Waiting);
        self.fail_in_flight(why);
    }

    /// The event connection ended (`why`): every request in flight fails, and so does
    /// every later one, at once, until a websocket is attached again.
    pub(crate) fn close(&self, why: &str) {
        self.link.send_replace(Link::Closed);
        self.fail_in_flight(why);
    }

    fn fail_in_flight(&self, why: &str) {
        let lost: Vec<_> = self.lock().drain().collect();
        self.in_flight.fetch_sub(lost.len(), Ordering::AcqRel);
        for (_, waiter) in lost {
            let _ = waiter.send(Err(Error::new(ErrorKind::WebSocket).with_message(format!(
                "the websocket was lost before Asterisk answered ({why}); the request may or may not have been carried out"
            ))));
        }
    }

    /// Takes `text` if it is the answer to a request in flight (then the caller routes it
    /// no further). Costs an atomic load for every other frame while nothing is in flight.
    pub(crate) fn answer(&self, text: &str) -> bool {
        if self.in_flight.load(Ordering::Acquire) == 0
            || crate::scan::string_field(text, "type") != Some("RESTResponse")
        {
            return false;
        }
        let Ok(response) = serde_json::from_str::<RestResponse>(text) else {
            return false;
        };
        let Ok(id) = response.request_id.parse::<u64>() else {
            return false;
        };
        let Some(waiter) = self.lock().remove(&id) else {
            return false;
        };
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        let _ = waiter.send(Ok(Answer {
            status: response.status_code,
            reason: response.reason_phrase,
            body: response.message_body,
        }));
        true
    }

    /// Sends `req` over the websocket and waits for its answer, all within `timeout`.
    pub(crate) async fn send(&self, req: &Request, timeout: Duration) -> Result<Answer> {
        let op = req.op.name;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let id_text = id.to_string();
        let uri = format!("{}{}", req.path.trim_start_matches('/'), req.query);
        let body = match req.body.as_deref() {
            // generated code writes bodies with serde_json: always UTF-8
            Some(body) => Some(std::str::from_utf8(body).map_err(|e| {
                Error::new(ErrorKind::InvalidArgument)
                    .with_operation(op)
                    .with_source(e)
            })?),
            None => None,
        };
        let frame = serde_json::to_string(&RestRequest {
            kind: "RESTRequest",
            transaction_id: &id_text,
            request_id: &id_text,
            method: req.op.method.as_str(),
            uri: &uri,
            content_type: body.map(|_| "application/json"),
            message_body: body,
        })
        .map_err(|e| {
            Error::new(ErrorKind::InvalidArgument)
                .with_operation(op)
                .with_source(e)
        })?;
        let (tx, rx) = oneshot::channel();
        self.lock().insert(id, tx);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting { tunnel: self, id };
        let mut link = self.link.subscribe();
        let mut sent = false;
        let exchange = async {
            let link = link
                .wait_for(|l| !matches!(l, Link::Waiting))
                .await
                .map_err(|_| Error::new(ErrorKind::Closed))?
                .clone();
            let Link::Open(writer) = link else {
                return Err(Error::new(ErrorKind::Closed).with_message(
                    "the event connection has ended: no websocket to send the request on; nothing was sent",
                ));
            };
            writer.send(frame).await.map_err(|_| {
                Error::new(ErrorKind::WebSocket)
                    .with_message("the websocket closed before the request was written")
            })?;
            sent = true;
            rx.await.unwrap_or_else(|_| {
                Err(Error::new(ErrorKind::WebSocket)
                    .with_message("the websocket closed before Asterisk answered"))
            })
        };
        let answered = tokio::time::timeout(timeout, exchange).await;
        match answered {
            Ok(answer) => answer.map_err(|e| e.with_operation(op)),
            Err(_) => Err(Error::new(ErrorKind::Timeout)
                .with_operation(op)
                .with_message(if sent {
                    format!("no RESTResponse within {timeout:?}; the request may or may not have been carried out")
                } else {
                    format!("no websocket to send the request on within {timeout:?}; nothing was sent")
                })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::{Method, Operation, UNCHECKED};

    static OP: Operation = Operation {
        index: UNCHECKED,
        name: "channels.get",
        method: Method::Get,
        path: "/channels/{channelId}",
        params: &["channelId", "x"],
        since: &[],
        errors: &[],
    };

    fn request() -> Request {
        let mut req = Request::new(&OP, "/channels/a%20b".into());
        req.query("x", "1 2").unwrap();
        req
    }

    fn response(id: &str, status: u16) -> String {
        format!(
            r#"{{"type":"RESTResponse","transaction_id":"{id}","request_id":"{id}","status_code":{status},"reason_phrase":"OK","uri":"channels/a","content_type":"application/json","message_body":"{{\"id\":\"a\"}}","application":"app"}}"#
        )
    }

    #[tokio::test]
    async fn requests_are_framed_and_answers_matched_by_id_in_any_order() {
        let tunnel = std::sync::Arc::new(Tunnel::default());
        let mut out = tunnel.attach();
        let (t1, t2) = (tunnel.clone(), tunnel.clone());
        let first = tokio::spawn(async move { t1.send(&request(), Duration::from_secs(5)).await });
        let frame: serde_json::Value = serde_json::from_str(&out.recv().await.unwrap()).unwrap();
        assert_eq!(frame["type"], "RESTRequest");
        assert_eq!(frame["method"], "GET");
        assert_eq!(frame["uri"], "channels/a%20b?x=1%202");
        assert!(frame.get("message_body").is_none());
        let second = tokio::spawn(async move { t2.send(&request(), Duration::from_secs(5)).await });
        let frame2: serde_json::Value = serde_json::from_str(&out.recv().await.unwrap()).unwrap();
        let (id1, id2) = (
            frame["request_id"].as_str().unwrap(),
            frame2["request_id"].as_str().unwrap(),
        );
        assert_ne!(id1, id2);
        // the second is answered first; an event and an unknown id are not taken
        assert!(!tunnel.answer(r#"{"type":"StasisStart","request_id":"1"}"#));
        assert!(!tunnel.answer(&response("999", 200)));
        assert!(tunnel.answer(&response(id2, 404)));
        assert!(tunnel.answer(&response(id1, 200)));
        let a1 = first.await.unwrap().unwrap();
        assert_eq!(
            (a1.status, a1.body.as_deref()),
            (200, Some(r#"{"id":"a"}"#))
        );
        assert_eq!(second.await.unwrap().unwrap().status, 404);
        assert_eq!(tunnel.in_flight.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn a_lost_websocket_fails_what_is_in_flight_and_the_next_request_waits() {
        let tunnel = std::sync::Arc::new(Tunnel::default());
        let mut out = tunnel.attach();
        let t = tunnel.clone();
        let lost = tokio::spawn(async move { t.send(&request(), Duration::from_secs(5)).await });
        out.recv().await.unwrap();
        tunnel.detach("EOF");
        let e = lost.await.unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WebSocket);
        assert_eq!(e.operation(), Some("channels.get"));
        assert!(e.to_string().contains("EOF"), "{e}");
        // no websocket: the request waits, then times out saying nothing was sent
        let e = tunnel
            .send(&request(), Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.to_string().contains("nothing was sent"), "{e}");
        // a websocket attached meanwhile carries it
        let t = tunnel.clone();
        let waiting = tokio::spawn(async move { t.send(&request(), Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut out = tunnel.attach();
        let frame: serde_json::Value = serde_json::from_str(&out.recv().await.unwrap()).unwrap();
        assert!(tunnel.answer(&response(frame["request_id"].as_str().unwrap(), 204)));
        assert_eq!(waiting.await.unwrap().unwrap().status, 204);
    }

    #[tokio::test]
    async fn once_closed_requests_fail_at_once_until_a_websocket_is_attached_again() {
        let tunnel = std::sync::Arc::new(Tunnel::default());
        let mut out = tunnel.attach();
        let t = tunnel.clone();
        let in_flight =
            tokio::spawn(async move { t.send(&request(), Duration::from_secs(5)).await });
        out.recv().await.unwrap();
        tunnel.close("shut down");
        assert!(tunnel.closed());
        assert_eq!(
            in_flight.await.unwrap().unwrap_err().kind(),
            ErrorKind::WebSocket
        );
        let started = std::time::Instant::now();
        let e = tunnel
            .send(&request(), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
        assert!(started.elapsed() < Duration::from_secs(1));
        let _out = tunnel.attach();
        assert!(!tunnel.closed());
    }

    #[tokio::test]
    async fn an_unanswered_request_times_out_and_is_forgotten() {
        let tunnel = Tunnel::default();
        let mut out = tunnel.attach();
        let e = tunnel
            .send(&request(), Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.to_string().contains("no RESTResponse"), "{e}");
        assert_eq!(tunnel.in_flight.load(Ordering::Acquire), 0);
        // its late answer is not taken: it is routed as an event
        let frame: serde_json::Value = serde_json::from_str(&out.recv().await.unwrap()).unwrap();
        assert!(!tunnel.answer(&response(frame["request_id"].as_str().unwrap(), 200)));
    }

    #[tokio::test]
    async fn bodies_are_sent_as_json_text() {
        static POST: Operation = Operation {
            index: UNCHECKED,
            name: "channels.setChannelVar",
            method: Method::Post,
            path: "/channels/{channelId}/variable",
            params: &["variables"],
            since: &[],
            errors: &[],
        };
        let tunnel = std::sync::Arc::new(Tunnel::default());
        let mut out = tunnel.attach();
        let mut req = Request::new(&POST, "/channels/c/variable".into());
        req.json_body(
            "variables",
            &serde_json::json!({"variables": {"A": "b\"c"}}),
        )
        .unwrap();
        let t = tunnel.clone();
        let sent = tokio::spawn(async move { t.send(&req, Duration::from_millis(100)).await });
        let frame: serde_json::Value = serde_json::from_str(&out.recv().await.unwrap()).unwrap();
        assert_eq!(frame["method"], "POST");
        assert_eq!(frame["content_type"], "application/json");
        let body: serde_json::Value =
            serde_json::from_str(frame["message_body"].as_str().unwrap()).unwrap();
        assert_eq!(body["variables"]["A"], "b\"c");
        let _ = sent.await;
    }
}
