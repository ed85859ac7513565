//! Compile-shape checks: the generated API type-checks as documented. Nothing here runs
//! against a server.

#![allow(dead_code, clippy::let_underscore_future)]

use ari_client::api::{self, Applications, Asterisk, Bridges, Channels, Recordings};
use ari_client::models::{self, ConfigTuple, HangupReason, RecordIfExists};
use ari_client::objects;
use ari_client::Result;

fn _builders_are_values(c: Channels) {
    let _ = c.originate("Local/x@y").app("a").extension("100");
    let _ = c.hangup("id").reason(HangupReason::Busy).reason_code("17");
    let _ = c.play("id", "sound:hello-world").lang("en").offsetms(0);
    let _ = c.play("id", ["sound:a", "digits:12"]);
    let _ = c.play("id", vec![String::from("sound:a")]);
    let _ = c.send_dtmf("id").dtmf("12#");
    let _ = c.move_to_app("id", "other-app").app_args("a,b");
    let _ = c.rtp_statistics("id");
    let _ = c
        .external_media("app", "ulaw")
        .external_host("127.0.0.1:4000");
    let _ = c.set_channel_vars("id", [("A", "1"), ("B", "2")]);
    let _ = c
        .originate("Local/x@y")
        .variables([("CALLERID(name)", "Alice")]);
    let _ = c
        .record("id", "name", "wav")
        .if_exists(RecordIfExists::Overwrite);
}

async fn _await_sends(
    c: Channels,
    b: Bridges,
    a: Asterisk,
    r: Recordings,
    apps: Applications,
) -> Result<()> {
    // one object type per resource: what an operation returns has the methods
    let channel: objects::Channel = c.originate("Local/x@y").app("a").await?;
    let _: () = c.answer(&channel.id).await?;
    let _: () = c.get(&channel.id).await?.answer().await?;
    let _: Vec<objects::Channel> = c.list().await?;
    let playback: objects::Playback = c.play(channel.id.clone(), "sound:x").send().await?;
    let _: ari_client::events::PlaybackFinished = playback.finished().await?;
    let _: &models::Playback = playback.data();
    let _: objects::Bridge = b.create().kind("mixing").name("conf").await?;
    let _: () = b
        .add_channel("bridge", ["chan-1", "chan-2"])
        .absorb_dtmf(true)
        .await?;
    let _: Vec<ConfigTuple> = a
        .update_object("res_pjsip", "endpoint", "alice")
        .fields(vec![ConfigTuple {
            attribute: "allow".into(),
            value: "ulaw".into(),
        }])
        .await?;
    let _: models::AsteriskInfo = a.get_info().only([models::GetInfoOnly::Build]).await?;
    let _: Vec<u8> = r.get_stored_file("rec").await?;
    let _: objects::Application = apps
        .filter("app")
        .filter(serde_json::json!({"allowed": [{"type": "StasisStart"}]}))
        .await?;
    Ok(())
}

fn _futures_are_send(c: Channels) {
    fn send<T: Send>(_: T) {}
    send(std::future::IntoFuture::into_future(c.answer("id")));
    send(c.answer("id").send());
}

fn _repositories(client: ari_client::Client) {
    let _: api::Channels = client.channels();
    let _: api::DeviceStates = client.device_states();
    let _: api::Events = client.events_api();
}

fn _object_methods(ch: ari_client::objects::Channel, b: ari_client::objects::Bridge) {
    let _ = ch.answer();
    let _ = ch.play("sound:hello-world").lang("en");
    let _ = ch.hangup().reason(HangupReason::Normal);
    let _ = ch.get_channel_var("X");
    let _ = b.add_channel(["chan-1"]);
    let _ = b.destroy();
}

fn _objects_of_data(
    client: ari_client::Client,
    data: models::Channel,
    dial: ari_client::events::Dial,
) {
    let _: objects::Channel = client.object(data);
    let _: objects::Channel = client.object(dial.peer);
    let _: objects::PendingLiveRecording = client.pending_live_recording_with_id("my-recording");
}

async fn _awaitables(channel: objects::Channel, recording: objects::LiveRecording) -> Result<()> {
    use std::time::Duration;
    let _: ari_client::events::ChannelDtmfReceived = channel
        .next::<ari_client::events::ChannelDtmfReceived>()
        .timeout(Duration::from_secs(5))
        .await?;
    let mut digits: objects::Events<ari_client::events::ChannelDtmfReceived> = channel.events();
    let _: Option<ari_client::events::ChannelDtmfReceived> = digits.next().await;
    let _: objects::Channel = channel.wait_for_answer().await?;
    let _: ari_client::events::RecordingFinished = recording.finished().await?;
    Ok(())
}
