//! The `channels` and `playbacks` resources on Local channels, and the channel events they
//! provoke.

use std::time::Duration;

use ari_client::models::{
    ControlOperation, ExternalMediaEncapsulation, ExternalMediaTransport, HangupReason,
    MuteDirection, SnoopChannelSpy, SnoopChannelWithIdSpy, UnmuteDirection,
};
use ari_client::ErrorKind;
use serde_json::{json, Value};

use crate::suite::{open_socket, Suite};

pub(crate) async fn channel_ops(s: &mut Suite) {
    let c = s.client.clone();
    let ch = c.channels();
    let app = s.app.clone();
    let p = s.prefix.clone();

    // A: an answered call parked in the app (far side silent)
    let a = format!("{p}-a");
    if !s.call_into_app("answer", &a).await {
        s.check(false, "channel A never entered the app");
        return;
    }
    s.get("channels.list", "channels", ch.list()).await;
    s.get("channels.get", &format!("channels/{a}"), ch.get(&a))
        .await;
    s.call("channels.answer", ch.answer(&a)).await;
    s.call("channels.ring", ch.ring(&a)).await;
    s.call("channels.ringStop", ch.ring_stop(&a)).await;
    s.call("channels.progress", ch.progress(&a)).await;
    s.call("channels.mute", ch.mute(&a).direction(MuteDirection::Both))
        .await;
    s.call(
        "channels.unmute",
        ch.unmute(&a).direction(UnmuteDirection::Both),
    )
    .await;
    s.call("channels.hold", ch.hold(&a)).await;
    s.call("channels.unhold", ch.unhold(&a)).await;
    s.call("channels.startSilence", ch.start_silence(&a)).await;
    s.call("channels.stopSilence", ch.stop_silence(&a)).await;
    s.call("channels.startMoh", ch.start_moh(&a).moh_class("default"))
        .await;
    s.call("channels.stopMoh", ch.stop_moh(&a)).await;
    s.call(
        "channels.setChannelVar",
        ch.set_channel_var(&a, "CONF_VAR").value("v1"),
    )
    .await;
    if let Some(v) = s
        .get(
            "channels.getChannelVar",
            &format!("channels/{a}/variable?variable=CONF_VAR"),
            ch.get_channel_var(&a, "CONF_VAR"),
        )
        .await
    {
        s.check(
            v.value == "v1",
            format!("channel variable read back {:?}", v.value),
        );
    }
    s.call(
        "channels.setChannelVars",
        ch.set_channel_vars(&a, [("CONF_X", json!("x")), ("CONF_Y", json!("y"))]),
    )
    .await;
    if let Some(v) = s
        .get(
            "channels.getChannelVars",
            &format!("channels/{a}/variables?variables=CONF_X,CONF_Y"),
            ch.get_channel_vars(&a, ["CONF_X", "CONF_Y"]),
        )
        .await
    {
        s.check(
            serde_json::to_string(&v).unwrap().contains("\"x\""),
            format!("channel variables read back {v:?}"),
        );
    }
    // caller id change → ChannelCallerId
    s.call(
        "channels.setChannelVar",
        ch.set_channel_var(&a, "CALLERID(num)").value("4242"),
    )
    .await;
    s.call(
        "channels.sendDTMF",
        ch.send_dtmf(&a).dtmf("12").between(100).duration(100),
    )
    .await;

    // playback: pause/unpause/restart/forward/reverse, stop; a media list → PlaybackContinuing
    let pb = format!("{p}-pb");
    if s.call(
        "channels.playWithId",
        ch.play_with_id(&a, &pb, ["sound:beep", "sound:hello-world"])
            .lang("en"),
    )
    .await
    .is_some()
    {
        s.wait_type("PlaybackContinuing", Duration::from_secs(3), |v| {
            v["playback"]["id"] == pb.as_str()
        })
        .await;
        s.get(
            "playbacks.get",
            &format!("playbacks/{pb}"),
            c.playbacks().get(&pb),
        )
        .await;
        for op in [
            ControlOperation::Pause,
            ControlOperation::Unpause,
            ControlOperation::Forward,
            ControlOperation::Reverse,
            ControlOperation::Restart,
        ] {
            s.call("playbacks.control", c.playbacks().control(&pb, op))
                .await;
        }
        s.call("playbacks.stop", c.playbacks().stop(&pb)).await;
        s.wait_type("PlaybackFinished", Duration::from_secs(3), |v| {
            v["playback"]["id"] == pb.as_str()
        })
        .await;
    }
    if let Some(playback) = s
        .call(
            "channels.play",
            ch.play(&a, "sound:beep").offsetms(0).skipms(3000),
        )
        .await
    {
        s.wait_type("PlaybackFinished", Duration::from_secs(3), |v| {
            v["playback"]["id"] == playback.id.as_str()
        })
        .await;
    }

    // snoop → the snoop channel's own StasisStart
    let snoop_id = format!("{p}-snoop");
    if let Some(snoop) = s
        .call(
            "channels.snoopChannelWithId",
            ch.snoop_channel_with_id(&a, &snoop_id, &app)
                .spy(SnoopChannelWithIdSpy::Both),
        )
        .await
    {
        s.check(snoop.id == snoop_id, format!("snoop id {:?}", snoop.id));
        s.stasis_started(&snoop_id).await;
        s.channels.push(snoop_id.clone());
        let _ = ch.hangup(&snoop_id).await;
    }
    if let Some(snoop) = s
        .call(
            "channels.snoopChannel",
            ch.snoop_channel(&a, &app)
                .spy(SnoopChannelSpy::In)
                .app_args("snooped"),
        )
        .await
    {
        s.channels.push(snoop.id.clone());
        s.stasis_started(&snoop.id).await;
        let _ = ch.hangup(&snoop.id).await;
    }
    // Local channels have no RTP; redirect needs a channel driver with redirect (SIP)
    s.expect_err(
        "channels.rtpstatistics",
        &[
            ErrorKind::NotFound,
            ErrorKind::Server,
            ErrorKind::PreconditionFailed,
            ErrorKind::Forbidden,
        ],
        "no RTP statistics on a Local channel (no RTP instance); sip_ops asks a PJSIP channel",
        ch.rtp_statistics(&a),
    )
    .await;
    s.expect_err(
        "channels.redirect",
        &[
            ErrorKind::Unprocessable,
            ErrorKind::PreconditionFailed,
            ErrorKind::BadRequest,
            ErrorKind::NotFound,
            ErrorKind::Server,
        ],
        "redirect needs a channel technology that can redirect (PJSIP: sip_ops); Local cannot",
        ch.redirect(&a, "Local/answer@ari-test"),
    )
    .await;
    s.expect_err(
        "channels.transfer_progress",
        &[
            ErrorKind::Unprocessable,
            ErrorKind::PreconditionFailed,
            ErrorKind::BadRequest,
            ErrorKind::NotFound,
            ErrorKind::Server,
            ErrorKind::Conflict,
        ],
        "transfer progress only applies to a channel whose REFER Asterisk handed to ARI (PJSIP_TRANSFER_HANDLING()=ari-only); a Local channel has none",
        ch.transfer_progress(&a, "channel_answered"),
    )
    .await;

    // DTMF sent to a channel whose far side echoes it comes back as ChannelDtmfReceived
    let d1 = format!("{p}-d1");
    let d2 = format!("{p}-d2");
    if s.call(
        "channels.originate",
        ch.originate("Local/echo@ari-test")
            .app(&app)
            .channel_id(&d1)
            .other_channel_id(&d2),
    )
    .await
    .is_some()
    {
        s.channels.extend([d1.clone(), d2.clone()]);
        s.stasis_started(&d1).await;
        s.call(
            "channels.sendDTMF",
            ch.send_dtmf(&d1).dtmf("45").between(100).duration(120),
        )
        .await;
        s.wait_type("ChannelDtmfReceived", Duration::from_secs(3), |v| {
            v["channel"]["id"] == d1.as_str()
        })
        .await;
        let _ = ch.hangup(&d1).await;
    }

    // create + dial
    let created = format!("{p}-created");
    if s.call(
        "channels.create",
        ch.create("Local/answer@ari-test", &app)
            .channel_id(&created)
            .variables([("CONF_CREATED", json!("1"))]),
    )
    .await
    .is_some()
    {
        s.channels.push(created.clone());
        s.stasis_started(&created).await;
        s.call("channels.dial", ch.dial(&created).timeout(5)).await;
        s.wait_type("Dial", Duration::from_secs(3), |v| {
            v["peer"]["id"] == created.as_str() && v["dialstatus"] == "ANSWER"
        })
        .await;
        s.call(
            "channels.hangup",
            ch.hangup(&created).reason(HangupReason::Normal),
        )
        .await;
    }

    // originate with id + continue in the dialplan (StasisEnd)
    let cont = format!("{p}-cont");
    if s.call(
        "channels.originateWithId",
        ch.originate_with_id(&cont, "Local/answer@ari-test")
            .app(&app)
            .app_args("a,b")
            .variables([("CONF_ORIG", json!("yes"))]),
    )
    .await
    .is_some()
    {
        s.channels.push(cont.clone());
        s.stasis_started(&cont).await;
        s.call(
            "channels.continueInDialplan",
            ch.continue_in_dialplan(&cont)
                .context("ari-test")
                .extension("hangup")
                .priority(1),
        )
        .await;
        s.wait_type("StasisEnd", Duration::from_secs(3), |v| {
            v["channel"]["id"] == cont.as_str()
        })
        .await;
    }

    // move to another app (StasisEnd, StasisStart there), and to a missing one (ApplicationMoveFailed);
    // its sockets are not subscribed to all: they close while channels change device states
    let other_app = format!("{p}-other");
    let other_ws = open_socket(&s.ws_url(&other_app, false), "other", s.frames.clone()).await;
    let mv = format!("{p}-move");
    if s.call_into_app("answer", &mv).await {
        s.call(
            "channels.move",
            ch.move_to_app(&mv, &other_app).app_args("moved"),
        )
        .await;
        s.wait_type("StasisStart", Duration::from_secs(3), |v| {
            v["channel"]["id"] == mv.as_str() && v["application"] == other_app.as_str()
        })
        .await;
        let _ = ch.hangup(&mv).await;
    }
    let mv2 = format!("{p}-move2");
    if s.call_into_app("answer", &mv2).await {
        let _ = ch.move_to_app(&mv2, format!("{p}-no-such-app")).await;
        s.wait_type("ApplicationMoveFailed", Duration::from_secs(2), |_| true)
            .await;
        let _ = ch.hangup(&mv2).await;
    }
    // a second socket for the same app takes it over: ApplicationReplaced on the first
    let dup_ws = open_socket(&s.ws_url(&other_app, false), "other-dup", s.frames.clone()).await;
    s.wait_type("ApplicationReplaced", Duration::from_secs(2), |v| {
        v["application"] == other_app.as_str()
    })
    .await;
    drop(dup_ws);
    drop(other_ws);

    // external media (UnicastRTP): it has RTP statistics
    let em = format!("{p}-em");
    if let Some(chan) = s
        .call(
            "channels.externalMedia",
            ch.external_media(&app, "ulaw")
                .channel_id(&em)
                .external_host("127.0.0.1:40000")
                .encapsulation(ExternalMediaEncapsulation::Rtp)
                .transport(ExternalMediaTransport::Udp),
        )
        .await
    {
        s.channels.push(chan.id.clone());
        s.check(chan.id == em, format!("external media id {:?}", chan.id));
        let _ = ch.hangup(&em).await;
    }

    // hold and talk detection on a channel whose far side sends a 1004 Hz tone
    let echo = format!("{p}-tone");
    if s.call_into_app("tone", &echo).await {
        let is_echo = |v: &Value| v["channel"]["id"] == echo.as_str();
        let _ = ch.hold(&echo).await;
        s.wait_type("ChannelHold", Duration::from_secs(1), is_echo)
            .await;
        let _ = ch.unhold(&echo).await;
        s.wait_type("ChannelUnhold", Duration::from_secs(1), is_echo)
            .await;
        let talk = ch
            .set_channel_var(&echo, "TALK_DETECT(set)")
            .value("300")
            .await;
        s.check(talk.is_ok(), format!("TALK_DETECT(set): {talk:?}"));
        s.wait_type("ChannelTalkingStarted", Duration::from_secs(3), is_echo)
            .await;
        s.wait_type("ChannelTalkingFinished", Duration::from_secs(3), is_echo)
            .await;
        let _ = ch.hangup(&echo).await;
    }

    s.call("channels.hangup", ch.hangup(&a).reason_code("16"))
        .await;
    s.wait_type("ChannelDestroyed", Duration::from_secs(3), |v| {
        v["channel"]["id"] == a.as_str()
    })
    .await;
}
