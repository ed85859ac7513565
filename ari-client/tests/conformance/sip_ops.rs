//! PJSIP over ARI dynamic configuration, driven by the suite's own SIP user agent
//! (tests/sip).

use std::time::Duration;

use ari_client::models::ConfigTuple;
use ari_client::ErrorKind;
use serde_json::{json, Value};

use crate::sip;
use crate::suite::Suite;

fn tuples(fields: &[(&str, String)]) -> Vec<ConfigTuple> {
    fields
        .iter()
        .map(|(k, v)| ConfigTuple {
            attribute: (*k).into(),
            value: v.clone(),
        })
        .collect()
}

/// PJSIP on 127.0.0.1: the suite's own SIP user agent (tests/sip) behind an endpoint and an
/// AOR it creates over ARI dynamic configuration (sorcery.conf keeps them in memory).
/// Without res_pjsip (an old sandbox config) the operations get their documented errors.
pub(crate) async fn sip_ops(s: &mut Suite) {
    let c = s.client.clone();
    let a = c.asterisk();
    let ep = c.endpoints();
    let ch = c.channels();
    let app = s.app.clone();
    let p = s.prefix.clone();
    let id = format!("{p}-sip");

    // the transport from pjsip.conf tells where Asterisk listens for SIP
    let transport = s
        .get(
            "asterisk.getObject",
            "asterisk/config/dynamic/res_pjsip/transport/transport-udp",
            a.get_object("res_pjsip", "transport", "transport-udp"),
        )
        .await;
    let sip_addr: Option<std::net::SocketAddr> = transport.as_ref().and_then(|fields| {
        fields
            .iter()
            .find(|t| t.attribute == "bind")
            .and_then(|t| t.value.parse().ok())
    });
    let Some(sip_addr) = sip_addr.filter(|a| a.ip().is_loopback()) else {
        no_sip(s, &id).await;
        return;
    };
    let ua = match sip::Ua::bind(&id, sip_addr).await {
        Ok(ua) => ua,
        Err(e) => {
            s.check(false, format!("SIP agent: cannot bind 127.0.0.1: {e}"));
            return;
        }
    };
    ua.deaf.store(true, std::sync::atomic::Ordering::Relaxed);
    // AOR with a static contact (our agent) qualified every second, then the endpoint
    s.call(
        "asterisk.updateObject",
        a.update_object("res_pjsip", "aor", &id).fields(tuples(&[
            ("contact", format!("sip:{id}@127.0.0.1:{}", ua.port)),
            ("qualify_frequency", "1".into()),
            ("qualify_timeout", "1.0".into()),
        ])),
    )
    .await;
    let made = s
        .call(
            "asterisk.updateObject",
            a.update_object("res_pjsip", "endpoint", &id)
                .fields(tuples(&[
                    ("transport", "transport-udp".into()),
                    ("aors", id.clone()),
                    ("context", "ari-sip".into()),
                    ("message_context", "ari-sip-messages".into()),
                    ("disallow", "all".into()),
                    ("allow", "ulaw".into()),
                    ("direct_media", "no".into()),
                    // RTP on 127.0.0.1 only, like everything else
                    ("media_address", "127.0.0.1".into()),
                    ("bind_rtp_to_media_address", "yes".into()),
                    ("rtp_symmetric", "yes".into()),
                ])),
        )
        .await;
    if made.is_none() {
        s.check(false, "PJSIP endpoint could not be created over ARI");
        no_sip(s, &id).await;
        return;
    }
    s.get(
        "asterisk.getObject",
        &format!("asterisk/config/dynamic/res_pjsip/endpoint/{id}"),
        a.get_object("res_pjsip", "endpoint", &id),
    )
    .await;
    // subscribeAll covers endpoint state; TextMessageReceived needs the endpoint itself
    let _ = c
        .applications()
        .subscribe(&app, format!("endpoint:PJSIP/{id}").as_str())
        .await;
    let is_ours = |v: &Value| v["endpoint"]["resource"] == id.as_str();
    // the agent ignores the first qualify OPTIONS: contact Unreachable, endpoint offline;
    // then it answers: Reachable, and the endpoint comes online (EndpointStateChange)
    s.wait_type("ContactStatusChange", Duration::from_secs(4), |v| {
        is_ours(v) && v["contact_info"]["contact_status"] == "Unreachable"
    })
    .await;
    ua.deaf.store(false, std::sync::atomic::Ordering::Relaxed);
    s.wait_type("PeerStatusChange", Duration::from_secs(2), is_ours)
        .await;
    s.wait_type("EndpointStateChange", Duration::from_secs(4), |v| {
        is_ours(v) && v["endpoint"]["state"] == "online"
    })
    .await;
    s.get(
        "endpoints.listByTech",
        "endpoints/PJSIP",
        ep.list_by_tech("PJSIP"),
    )
    .await;
    s.get(
        "endpoints.get",
        &format!("endpoints/PJSIP/{id}"),
        ep.get("PJSIP", &id),
    )
    .await;

    // messages and out-of-dialog REFERs from Asterisk to the agent
    s.call(
        "endpoints.sendMessage",
        ep.send_message(format!("pjsip:{id}"), "sip:conformance@127.0.0.1")
            .body("hello from ARI")
            .variables([("X-Conformance", json!("1"))]),
    )
    .await;
    s.call(
        "endpoints.sendMessageToEndpoint",
        ep.send_message_to_endpoint("PJSIP", &id, "sip:conformance@127.0.0.1")
            .body("hello again"),
    )
    .await;
    let got = ua
        .wait_request("MESSAGE", Duration::from_secs(3), |m| {
            m.body.contains("hello from ARI")
        })
        .await;
    s.check(got.is_some(), "the SIP agent received no MESSAGE from ARI");
    s.call(
        "endpoints.refer",
        ep.refer(
            format!("pjsip:{id}"),
            "sip:conformance@127.0.0.1",
            "sip:bob@127.0.0.1",
        ),
    )
    .await;
    s.call(
        "endpoints.referToEndpoint",
        ep.refer_to_endpoint(
            "PJSIP",
            &id,
            "sip:conformance@127.0.0.1",
            "sip:bob@127.0.0.1",
        ),
    )
    .await;

    // a MESSAGE from the agent: TextMessageReceived
    // (Stasis routes a MESSAGE by its To user: the endpoint the app subscribed to)
    let status = ua.message(&id, "hello from SIP").await;
    s.check(
        status.is_some_and(|st| (200..300).contains(&st)),
        format!("MESSAGE to Asterisk answered {status:?}"),
    );
    s.wait_type("TextMessageReceived", Duration::from_secs(2), |v| {
        v["message"]["body"] == "hello from SIP"
    })
    .await;

    let sip_channel = |v: &Value| {
        v["channel"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with(&format!("PJSIP/{id}-")))
    };
    // call 1, ringing in the app: redirect (302 to the agent)
    let mut call = ua.invite(&app).await;
    let started = s
        .wait_event(Duration::from_secs(4), |v| {
            v["type"] == "StasisStart" && sip_channel(v)
        })
        .await;
    if let Some(chan) = started.as_ref().and_then(|v| v["channel"]["id"].as_str()) {
        let chan = chan.to_string();
        s.channels.push(chan.clone());
        s.call(
            "channels.redirect",
            ch.redirect(&chan, format!("PJSIP/sip:bob@127.0.0.1:{}", ua.port)),
        )
        .await;
        let status = ua.wait_final(&mut call, Duration::from_secs(3)).await;
        s.check(
            status == Some(302),
            format!("redirect: the agent got {status:?}, not 302"),
        );
    } else {
        s.check(false, "SIP call 1 never entered the app");
    }

    // call 2: answered by ARI; RTP both ways, hold/unhold by re-INVITE, REFER handed to ARI
    let mut call = ua.invite(&app).await;
    let started = s
        .wait_event(Duration::from_secs(4), |v| {
            v["type"] == "StasisStart"
                && sip_channel(v)
                && v["channel"]["id"]
                    != started
                        .as_ref()
                        .map_or(Value::Null, |f| f["channel"]["id"].clone())
        })
        .await;
    let Some(chan) = started
        .as_ref()
        .and_then(|v| v["channel"]["id"].as_str())
        .map(String::from)
    else {
        s.check(false, "SIP call 2 never entered the app");
        cleanup_sip(s, &id).await;
        return;
    };
    s.channels.push(chan.clone());
    s.call("channels.answer", ch.answer(&chan)).await;
    let status = ua.wait_final(&mut call, Duration::from_secs(3)).await;
    s.check(
        status == Some(200),
        format!("answer: the agent got {status:?}"),
    );
    let talk = ch
        .set_channel_var(&chan, "TALK_DETECT(set)")
        .value("300")
        .await;
    s.check(talk.is_ok(), format!("TALK_DETECT(set): {talk:?}"));
    ua.send_rtp(&call, 40, true).await;
    ua.send_rtp(&call, 30, false).await;
    s.get(
        "channels.rtpstatistics",
        &format!("channels/{chan}/rtp_statistics"),
        ch.rtp_statistics(&chan),
    )
    .await;
    let is_chan = |v: &Value| v["channel"]["id"] == chan.as_str();
    ua.reinvite(&mut call, "sendonly").await;
    s.wait_type("ChannelHold", Duration::from_secs(2), is_chan)
        .await;
    ua.reinvite(&mut call, "sendrecv").await;
    s.wait_type("ChannelUnhold", Duration::from_secs(2), is_chan)
        .await;
    let handled = ch
        .set_channel_var(&chan, "PJSIP_TRANSFER_HANDLING()")
        .value("ari-only")
        .await;
    s.check(
        handled.is_ok(),
        format!("PJSIP_TRANSFER_HANDLING()=ari-only: {handled:?}"),
    );
    let refer = ua
        .in_dialog(
            &mut call,
            "REFER",
            &format!("Refer-To: <sip:bob@127.0.0.1>\r\nReferred-By: <sip:{id}@127.0.0.1>\r\n"),
        )
        .await;
    s.check(
        refer == Some(202),
        format!("REFER answered {refer:?}, not 202"),
    );
    if s.wait_type("ChannelTransfer", Duration::from_secs(3), |v| {
        v["refer_to"]["requested_destination"].is_object()
    })
    .await
    .is_some()
    {
        s.call(
            "channels.transfer_progress",
            ch.transfer_progress(&chan, "channel_answered"),
        )
        .await;
    }
    ua.in_dialog(&mut call, "BYE", "").await;
    s.wait_type("ChannelDestroyed", Duration::from_secs(3), is_chan)
        .await;

    // call 3 in a Stasis bridge with a Local channel: a REFER that Asterisk handles itself
    // (core) is a blind transfer of the bridge to sip:<app>, i.e. [ari-sip] Stasis(<app>)
    let mut call = ua.invite(&app).await;
    let third = s
        .wait_event(Duration::from_secs(4), |v| {
            v["type"] == "StasisStart"
                && sip_channel(v)
                && v["channel"]["id"] != chan.as_str()
                && !s.channels.iter().any(|c| v["channel"]["id"] == c.as_str())
        })
        .await
        .and_then(|v| v["channel"]["id"].as_str().map(String::from));
    let peer = format!("{p}-xfer");
    let bridge = format!("{p}-xbridge");
    if let Some(third) = third {
        s.channels.push(third.clone());
        let _ = ch.answer(&third).await;
        ua.wait_final(&mut call, Duration::from_secs(3)).await;
        if s.call_into_app("answer", &peer).await
            && c.bridges()
                .create_with_id(&bridge)
                .kind("mixing")
                .await
                .is_ok()
        {
            s.bridges.push(bridge.clone());
            let _ = c
                .bridges()
                .add_channel(&bridge, [third.as_str(), peer.as_str()])
                .await;
            s.wait_type("ChannelEnteredBridge", Duration::from_secs(2), |v| {
                v["channel"]["id"] == third.as_str()
            })
            .await;
            let refer = ua
                .in_dialog(
                    &mut call,
                    "REFER",
                    &format!(
                        "Refer-To: <sip:{app}@127.0.0.1>\r\nReferred-By: <sip:{id}@127.0.0.1>\r\n"
                    ),
                )
                .await;
            s.check(
                refer == Some(202),
                format!("blind REFER answered {refer:?}, not 202"),
            );
            s.wait_type("BridgeBlindTransfer", Duration::from_secs(3), |_| true)
                .await;
        }
        ua.in_dialog(&mut call, "BYE", "").await;
        let _ = ch.hangup(&third).await;
    } else {
        s.check(false, "SIP call 3 never entered the app");
    }
    let _ = ch.hangup(&peer).await;
    let _ = c.bridges().destroy(&bridge).await;

    // the agent stops answering OPTIONS: contact unreachable, endpoint offline
    ua.deaf.store(true, std::sync::atomic::Ordering::Relaxed);
    s.wait_type("EndpointStateChange", Duration::from_secs(5), |v| {
        is_ours(v) && v["endpoint"]["state"] == "offline"
    })
    .await;
    cleanup_sip(s, &id).await;
}

/// Deletes the suite's PJSIP endpoint and AOR.
async fn cleanup_sip(s: &mut Suite, id: &str) {
    let a = s.client.asterisk();
    s.call(
        "asterisk.deleteObject",
        a.delete_object("res_pjsip", "endpoint", id),
    )
    .await;
    s.call(
        "asterisk.deleteObject",
        a.delete_object("res_pjsip", "aor", id),
    )
    .await;
}

/// No PJSIP here: every SIP-only operation is called anyway and must give its documented error.
async fn no_sip(s: &mut Suite, id: &str) {
    let c = s.client.clone();
    let a = c.asterisk();
    let ep = c.endpoints();
    let no_sorcery = "dynamic configuration needs res_pjsip (sorcery): this sandbox runs no SIP (old asterisk/conf?)";
    let kinds = [
        ErrorKind::NotFound,
        ErrorKind::BadRequest,
        ErrorKind::Forbidden,
        ErrorKind::Server,
    ];
    s.expect_err(
        "asterisk.getObject",
        &kinds,
        no_sorcery,
        a.get_object("res_pjsip", "endpoint", id),
    )
    .await;
    s.expect_err(
        "asterisk.updateObject",
        &kinds,
        no_sorcery,
        a.update_object("res_pjsip", "endpoint", id)
            .fields(tuples(&[("allow", "ulaw".into())])),
    )
    .await;
    s.expect_err(
        "asterisk.deleteObject",
        &kinds,
        no_sorcery,
        a.delete_object("res_pjsip", "endpoint", id),
    )
    .await;
    let nf = [
        ErrorKind::NotFound,
        ErrorKind::BadRequest,
        ErrorKind::Unprocessable,
    ];
    let no_sip =
        "no endpoint exists: Local is not an endpoint technology and this sandbox runs no SIP";
    s.expect_err(
        "endpoints.listByTech",
        &nf,
        no_sip,
        ep.list_by_tech("PJSIP"),
    )
    .await;
    s.expect_err("endpoints.get", &nf, no_sip, ep.get("PJSIP", id))
        .await;
    let to = format!("pjsip:{id}");
    s.expect_err(
        "endpoints.sendMessage",
        &nf,
        no_sip,
        ep.send_message(to.as_str(), "sip:conformance")
            .body("hello"),
    )
    .await;
    s.expect_err(
        "endpoints.sendMessageToEndpoint",
        &nf,
        no_sip,
        ep.send_message_to_endpoint("PJSIP", id, "sip:conformance")
            .body("hello"),
    )
    .await;
    s.expect_err(
        "endpoints.refer",
        &nf,
        no_sip,
        ep.refer(to.as_str(), "sip:conformance", "sip:bob"),
    )
    .await;
    s.expect_err(
        "endpoints.referToEndpoint",
        &nf,
        no_sip,
        ep.refer_to_endpoint("PJSIP", id, "sip:conformance", "sip:bob"),
    )
    .await;
}
