//! A minimal SIP user agent over UDP on 127.0.0.1, for the conformance suite: enough to
//! answer Asterisk's OPTIONS (qualify), MESSAGE, REFER and NOTIFY requests, send a MESSAGE,
//! place a call with an SDP offer (PCMU), ACK, re-INVITE to hold/unhold, REFER and BYE.
//! Loopback only: it binds 127.0.0.1 and talks only to the sandbox's PJSIP transport.
//! No retransmissions (loopback loses nothing) and no authentication.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

/// One SIP message as received.
#[derive(Debug, Clone)]
pub(crate) struct SipMsg {
    pub(crate) first_line: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl SipMsg {
    fn parse(text: &str) -> Option<SipMsg> {
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
        let mut lines = head.split("\r\n");
        let first_line = lines.next()?.to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Some(SipMsg {
            first_line,
            headers,
            body: body.to_string(),
        })
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn is_response(&self) -> bool {
        self.first_line.starts_with("SIP/2.0 ")
    }

    /// The status code of a response.
    pub(crate) fn status(&self) -> Option<u16> {
        self.is_response()
            .then(|| self.first_line.split_whitespace().nth(1)?.parse().ok())?
    }

    /// The method of a request.
    pub(crate) fn method(&self) -> &str {
        self.first_line.split_whitespace().next().unwrap_or("")
    }

    fn cseq(&self) -> &str {
        self.header("CSeq").unwrap_or("")
    }

    /// The `tag` parameter of the To header.
    fn to_tag(&self) -> Option<String> {
        let to = self.header("To")?;
        to.split(';')
            .find_map(|p| p.trim().strip_prefix("tag="))
            .map(String::from)
    }
}

/// A call placed by the agent (UAC side of a dialog).
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) call_id: String,
    request_uri: String,
    to: String,
    from_tag: String,
    to_tag: Option<String>,
    cseq: u32,
    /// The final response to the INVITE.
    pub(crate) status: Option<u16>,
    /// Asterisk's RTP address from its SDP answer.
    pub(crate) remote_rtp: Option<SocketAddr>,
}

/// The user agent: a UDP socket on 127.0.0.1 and a task that answers Asterisk's requests.
pub(crate) struct Ua {
    socket: Arc<UdpSocket>,
    rtp: Arc<UdpSocket>,
    pub(crate) port: u16,
    pub(crate) rtp_port: u16,
    asterisk: SocketAddr,
    /// The SIP user (the PJSIP endpoint id that identifies this agent).
    pub(crate) user: String,
    /// Every message received, in order.
    pub(crate) received: Arc<Mutex<Vec<SipMsg>>>,
    seq: AtomicU32,
    rtp_seq: AtomicU32,
    /// When set, OPTIONS (qualify) go unanswered: the contact becomes unreachable.
    pub(crate) deaf: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Ua {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn response_to(req: &SipMsg, code: u16, reason: &str) -> String {
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    for (k, v) in &req.headers {
        if k.eq_ignore_ascii_case("Via") || k.eq_ignore_ascii_case("v") {
            out.push_str(&format!("Via: {v}\r\n"));
        }
    }
    let to = req.header("To").unwrap_or("");
    let to = if to.contains(";tag=") {
        to.to_string()
    } else {
        format!("{to};tag=ua{}", std::process::id())
    };
    out.push_str(&format!(
        "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\nContent-Length: 0\r\n\r\n",
        req.header("From").unwrap_or(""),
        req.header("Call-ID").unwrap_or(""),
        req.cseq()
    ));
    out
}

impl Ua {
    /// Binds 127.0.0.1:0 (SIP) and 127.0.0.1:0 (RTP); `asterisk` is the sandbox's PJSIP
    /// transport (must be on 127.0.0.1).
    pub(crate) async fn bind(user: &str, asterisk: SocketAddr) -> std::io::Result<Ua> {
        assert!(
            asterisk.ip().is_loopback(),
            "the test SIP agent talks to 127.0.0.1 only"
        );
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let rtp = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let port = socket.local_addr()?.port();
        let rtp_port = rtp.local_addr()?.port();
        let received: Arc<Mutex<Vec<SipMsg>>> = Arc::default();
        let deaf = Arc::new(AtomicBool::new(false));
        let (sock, log, deaf2) = (socket.clone(), received.clone(), deaf.clone());
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            loop {
                let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                    break;
                };
                // only Asterisk (loopback) is ever answered
                if !from.ip().is_loopback() {
                    continue;
                }
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                let Some(msg) = SipMsg::parse(&text) else {
                    continue;
                };
                let ignored = msg.method() == "OPTIONS" && deaf2.load(Ordering::Relaxed);
                if !msg.is_response() && !ignored {
                    let answer = match msg.method() {
                        "OPTIONS" | "MESSAGE" | "NOTIFY" | "BYE" | "INFO" | "UPDATE" => {
                            Some(response_to(&msg, 200, "OK"))
                        }
                        "REFER" => Some(response_to(&msg, 202, "Accepted")),
                        "ACK" => None,
                        _ => Some(response_to(&msg, 501, "Not Implemented")),
                    };
                    if let Some(answer) = answer {
                        let _ = sock.send_to(answer.as_bytes(), from).await;
                    }
                }
                log.lock().unwrap().push(msg);
            }
        });
        Ok(Ua {
            socket,
            rtp,
            port,
            rtp_port,
            asterisk,
            user: user.to_string(),
            received,
            seq: AtomicU32::new(1),
            rtp_seq: AtomicU32::new(0),
            deaf,
            task,
        })
    }

    fn next(&self) -> u32 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    fn branch(&self) -> String {
        format!("z9hG4bK-ari-{}-{}", std::process::id(), self.next())
    }

    fn contact(&self) -> String {
        format!("<sip:{}@127.0.0.1:{}>", self.user, self.port)
    }

    fn from(&self, tag: &str) -> String {
        format!("<sip:{}@127.0.0.1>;tag={tag}", self.user)
    }

    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        method: &str,
        uri: &str,
        to: &str,
        from_tag: &str,
        call_id: &str,
        cseq: u32,
        branch: &str,
        extra: &str,
        content_type: &str,
        body: &str,
    ) -> String {
        let ctype = if body.is_empty() {
            String::new()
        } else {
            format!("Content-Type: {content_type}\r\n")
        };
        format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch={branch};rport\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {cseq_method}\r\nContact: {contact}\r\nUser-Agent: ari-rs conformance\r\n{extra}{ctype}Content-Length: {len}\r\n\r\n{body}",
            port = self.port,
            from = self.from(from_tag),
            cseq_method = if method == "ACK" { "INVITE" } else { method },
            contact = self.contact(),
            len = body.len(),
        )
    }

    async fn send(&self, text: &str) {
        let _ = self.socket.send_to(text.as_bytes(), self.asterisk).await;
    }

    /// Waits for the final response (>= 200) to the request with this Call-ID and CSeq.
    async fn final_response(&self, call_id: &str, cseq: &str, timeout: Duration) -> Option<SipMsg> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self
                .received
                .lock()
                .unwrap()
                .iter()
                .find(|m| {
                    m.status().is_some_and(|s| s >= 200)
                        && m.header("Call-ID") == Some(call_id)
                        && m.cseq() == cseq
                })
                .cloned();
            if found.is_some() || Instant::now() > deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for a request of `method` from Asterisk that `pred` accepts.
    pub(crate) async fn wait_request(
        &self,
        method: &str,
        timeout: Duration,
        pred: impl Fn(&SipMsg) -> bool,
    ) -> Option<SipMsg> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self
                .received
                .lock()
                .unwrap()
                .iter()
                .find(|m| !m.is_response() && m.method() == method && pred(m))
                .cloned();
            if found.is_some() || Instant::now() > deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// An out-of-dialog MESSAGE to `sip:<to_user>@<asterisk>`; the final status.
    pub(crate) async fn message(&self, to_user: &str, body: &str) -> Option<u16> {
        let call_id = format!("msg-{}-{}@127.0.0.1", std::process::id(), self.next());
        let uri = format!("sip:{to_user}@{}", self.asterisk);
        let to = format!("<{uri}>");
        let req = self.request(
            "MESSAGE",
            &uri,
            &to,
            "m1",
            &call_id,
            1,
            &self.branch(),
            "",
            "text/plain",
            body,
        );
        self.send(&req).await;
        self.final_response(&call_id, "1 MESSAGE", Duration::from_secs(5))
            .await?
            .status()
    }

    fn sdp(&self, direction: &str) -> String {
        format!(
            "v=0\r\no=ari 1 {v} IN IP4 127.0.0.1\r\ns=ari-rs\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na={direction}\r\n",
            v = self.next(),
            port = self.rtp_port,
        )
    }

    /// Sends an INVITE to `sip:<exten>@<asterisk>` and returns at once (the call rings in
    /// Asterisk until ARI answers or redirects it); see [`Ua::wait_final`].
    pub(crate) async fn invite(&self, exten: &str) -> Call {
        let call_id = format!("call-{}-{}@127.0.0.1", std::process::id(), self.next());
        let uri = format!("sip:{exten}@{}", self.asterisk);
        let mut call = Call {
            call_id,
            to: format!("<{uri}>"),
            request_uri: uri,
            from_tag: format!("c{}", self.next()),
            to_tag: None,
            cseq: 1,
            status: None,
            remote_rtp: None,
        };
        let sdp = self.sdp("sendrecv");
        let req = self.request(
            "INVITE",
            &call.request_uri,
            &call.to,
            &call.from_tag,
            &call.call_id,
            call.cseq,
            &self.branch(),
            "",
            "application/sdp",
            &sdp,
        );
        self.send(&req).await;
        call.status = None;
        call
    }

    /// Waits for the final response to the call's last INVITE and ACKs it.
    pub(crate) async fn wait_final(&self, call: &mut Call, timeout: Duration) -> Option<u16> {
        let cseq = format!("{} INVITE", call.cseq);
        let resp = self.final_response(&call.call_id, &cseq, timeout).await?;
        let status = resp.status()?;
        if call.to_tag.is_none() {
            call.to_tag = resp.to_tag();
        }
        let to = match &call.to_tag {
            Some(tag) => format!("{};tag={tag}", call.to),
            None => call.to.clone(),
        };
        // ACK: same branch for a non-2xx answer (same transaction), a new one for 2xx; a
        // non-2xx ACK must carry the To of the response, i.e. its tag
        let branch = if status >= 300 {
            resp.header("Via")
                .and_then(|v| v.split(';').find_map(|p| p.trim().strip_prefix("branch=")))
                .unwrap_or("")
                .to_string()
        } else {
            self.branch()
        };
        let ack = self.request(
            "ACK",
            &call.request_uri,
            &to,
            &call.from_tag,
            &call.call_id,
            call.cseq,
            &branch,
            "",
            "",
            "",
        );
        self.send(&ack).await;
        if let Some(port) = resp
            .body
            .lines()
            .find_map(|l| l.strip_prefix("m=audio "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|p| p.parse::<u16>().ok())
        {
            call.remote_rtp = Some(SocketAddr::from(([127, 0, 0, 1], port)));
        }
        call.status = Some(status);
        Some(status)
    }

    fn dialog_to(&self, call: &Call) -> String {
        match &call.to_tag {
            Some(tag) => format!("{};tag={tag}", call.to),
            None => call.to.clone(),
        }
    }

    /// A re-INVITE with `a=<direction>` (sendonly: hold; sendrecv: unhold); the final status.
    pub(crate) async fn reinvite(&self, call: &mut Call, direction: &str) -> Option<u16> {
        call.cseq += 1;
        let sdp = self.sdp(direction);
        let req = self.request(
            "INVITE",
            &call.request_uri,
            &self.dialog_to(call),
            &call.from_tag,
            &call.call_id,
            call.cseq,
            &self.branch(),
            "",
            "application/sdp",
            &sdp,
        );
        self.send(&req).await;
        self.wait_final(call, Duration::from_secs(5)).await
    }

    /// An in-dialog request without body (REFER, BYE); the final status.
    pub(crate) async fn in_dialog(
        &self,
        call: &mut Call,
        method: &str,
        extra: &str,
    ) -> Option<u16> {
        call.cseq += 1;
        let req = self.request(
            method,
            &call.request_uri,
            &self.dialog_to(call),
            &call.from_tag,
            &call.call_id,
            call.cseq,
            &self.branch(),
            extra,
            "",
            "",
        );
        self.send(&req).await;
        let cseq = format!("{} {method}", call.cseq);
        self.final_response(&call.call_id, &cseq, Duration::from_secs(5))
            .await?
            .status()
    }

    /// Sends `count` 20 ms PCMU packets to Asterisk's RTP port of `call`: silence, or a
    /// full-scale square wave (`loud`, something talk detection hears).
    pub(crate) async fn send_rtp(&self, call: &Call, count: u16, loud: bool) {
        let Some(to) = call.remote_rtp else { return };
        for _ in 0..count {
            let n = self.rtp_seq.fetch_add(1, Ordering::Relaxed);
            let mut pkt = vec![0x80, 0x00];
            pkt.extend_from_slice(&(n as u16).to_be_bytes());
            pkt.extend_from_slice(&n.wrapping_mul(160).to_be_bytes());
            pkt.extend_from_slice(&0x1234_5678u32.to_be_bytes());
            // mu-law: 0xFF is 0, 0x80/0x00 the positive/negative maximum
            pkt.extend((0..160).map(|i| match (loud, (i / 10) % 2) {
                (false, _) => 0xFFu8,
                (true, 0) => 0x80,
                (true, _) => 0x00,
            }));
            let _ = self.rtp.send_to(&pkt, to).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
