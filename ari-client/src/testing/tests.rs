//! The fake answers every operation of the specs: computed from the specs, like the
//! codegen's coverage test.

use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::spec::Answers;
use super::FakeAsterisk;
use crate::api::OperationId;

/// One raw HTTP/1.1 request to the fake: (status, body).
async fn send(fake: &FakeAsterisk, method: &str, target: &str) -> (u16, String) {
    let addr = fake.url().trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("asterisk:asterisk");
    let head = format!(
        "{method} /ari{target} HTTP/1.1\r\nHost: fake\r\nAuthorization: Basic {auth}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    // the fake keeps connections alive: read one response by its Content-Length
    let mut chunk = [0u8; 65536];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut chunk))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        reply.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&reply).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if body.len() >= length || n == 0 {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                return (status, body.to_owned());
            }
        }
        assert!(n > 0, "connection closed mid-answer");
    }
}

/// A value for a required parameter, valid in the fresh state `setup` made.
fn value(name: &str, channel: &str, n: usize) -> String {
    match name {
        "app" | "application" => "cov".into(),
        "channel" | "channelId" => channel.into(),
        "endpoint" => "PJSIP/cov".into(),
        "media" => "tone:ring".into(),
        "eventSource" => format!("channel:{channel}"),
        "format" => "wav".into(),
        "name" => format!("rec-{n}"),
        "destinationRecordingName" => format!("copy-{n}"),
        "variable" => "COV".into(),
        "deviceState" => "NOT_INUSE".into(),
        "states" => "NOT_INUSE".into(),
        "newMessages" | "oldMessages" => "0".into(),
        "to" => "pjsip:cov".into(),
        "from" => "cov".into(),
        "refer_to" => "cov".into(),
        "operation" => "pause".into(),
        _ => "x".into(),
    }
}

#[tokio::test]
async fn every_operation_gets_a_spec_valid_answer() {
    let fake = FakeAsterisk::start().await.unwrap();
    let client = fake.client().await.unwrap();
    client.start(["cov"]).await.unwrap();
    let answers = Answers::load();
    let mut failed = Vec::new();
    for (n, op) in OperationId::ALL.into_iter().enumerate() {
        if op == OperationId::EventEventWebsocket {
            // the events websocket itself: every test of the fake connects to it
            continue;
        }
        // fresh objects for each operation: a call in the app, a bridge, a playback,
        // a live and a stored recording
        let call = fake.call_in("100").app("cov").await.unwrap();
        let ch = call.id().to_owned();
        let (s, bridge) = send(&fake, "POST", "/bridges").await;
        assert_eq!(s, 200);
        let bridge: Value = serde_json::from_str(&bridge).unwrap();
        let (s, pb) = send(
            &fake,
            "POST",
            &format!("/channels/{ch}/play?media=tone:ring"),
        )
        .await;
        assert_eq!(s, 201);
        let pb: Value = serde_json::from_str(&pb).unwrap();
        let (s, _) = send(
            &fake,
            "POST",
            &format!(
                "/bridges/{}/addChannel?channel={ch}",
                bridge["id"].as_str().unwrap()
            ),
        )
        .await;
        assert_eq!(s, 204);
        let (s, _) = send(
            &fake,
            "POST",
            &format!("/channels/{ch}/variable?variable=COV&value=1"),
        )
        .await;
        assert_eq!(s, 204);
        // the live recording is of another call, so that this one can be recorded
        let other = fake.call_in("101").app("cov").await.unwrap();
        let (s, _) = send(
            &fake,
            "POST",
            &format!("/channels/{}/record?name=live-{n}&format=wav", other.id()),
        )
        .await;
        assert_eq!(s, 201);
        fake.store_recording(&format!("stored-{n}"), "wav", Duration::from_secs(1));
        let mut path = op.path().to_owned();
        if op.name().ends_with("WithId") {
            // the operation creates the object its path names
            let open = path.rfind('{').unwrap();
            let close = path.rfind('}').unwrap();
            path.replace_range(open..=close, &format!("new-{n}"));
        }
        for (param, v) in [
            ("{channelId}", ch.clone()),
            ("{bridgeId}", bridge["id"].as_str().unwrap().to_owned()),
            ("{playbackId}", pb["id"].as_str().unwrap().to_owned()),
            ("{applicationName}", "cov".to_owned()),
            ("{moduleName}", "res_ari.so".to_owned()),
        ] {
            path = path.replace(param, &v);
        }
        let recording = if path.starts_with("/recordings/live/") {
            format!("live-{n}")
        } else {
            format!("stored-{n}")
        };
        path = path.replace("{recordingName}", &recording);
        // the other path parameters: any word
        while let (Some(open), Some(close)) = (path.find('{'), path.find('}')) {
            path.replace_range(open..=close, "cov");
        }
        let mut query = Vec::new();
        for name in required(op) {
            query.push(format!("{name}={}", value(name, &ch, n)));
        }
        if op.name().starts_with("channels.originate") {
            // the spec leaves `app` optional, but Asterisk needs it or an extension
            query.push("app=cov".into());
        }
        let target = if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{}", query.join("&"))
        };
        let (status, body) = send(&fake, op.method(), &target).await;
        let class = answers.response_class(op);
        if (200..300).contains(&status) {
            let value: Value = if body.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&body)
                    .unwrap_or_else(|e| panic!("{} {target}: {e}: {body}", op.name()))
            };
            let class = if status == 204 { "void" } else { class };
            answers.valid(class, &value).unwrap_or_else(|e| {
                panic!(
                    "{} {target} → {status}: not a valid {class}: {e}",
                    op.name()
                )
            });
        } else {
            // an error: one the spec documents for it, with Asterisk's JSON message
            let documented = op.operation().errors.iter().any(|(s, _)| *s == status);
            assert!(
                documented,
                "{} {target} → {status} {body}: not a documented error",
                op.name()
            );
            let v: Value = serde_json::from_str(&body).unwrap();
            assert!(v["message"].is_string(), "{body}");
            failed.push(format!("{} {target} → {status} {body}", op.name()));
        }
    }
    // every operation but the websocket answered with success in a state where it can
    assert!(
        failed.is_empty(),
        "operations that failed in a fresh state: {failed:#?}"
    );
}

/// The required non-path parameters of an operation, from the specs.
fn required(op: OperationId) -> Vec<&'static str> {
    let mut names = Vec::new();
    for (file, text) in super::spec::SPECS {
        if *file == "resources.json" {
            continue;
        }
        let doc: Value = serde_json::from_str(text).unwrap();
        for api in doc["apis"].as_array().unwrap() {
            if api["path"] != op.path() {
                continue;
            }
            for o in api["operations"].as_array().unwrap() {
                if o["httpMethod"] != op.method() {
                    continue;
                }
                for p in o["parameters"].as_array().into_iter().flatten() {
                    if p["required"] == true && p["paramType"] == "query" {
                        let name = p["name"].as_str().unwrap();
                        if let Some(known) = op.parameters().iter().find(|k| **k == name) {
                            names.push(*known);
                        }
                    }
                }
            }
        }
    }
    names
}
