//! The `bridges` resource: two Local channels in a mixing bridge.

use std::time::Duration;

use ari_client::models::RecordIfExists;
use serde_json::json;

use crate::suite::Suite;

pub(crate) async fn bridge_ops(s: &mut Suite) {
    let c = s.client.clone();
    let br = c.bridges();
    let p = s.prefix.clone();
    let b1 = format!("{p}-b1");
    let x = format!("{p}-bx");
    let y = format!("{p}-by");
    let joined = s.call_into_app("tone", &x).await & s.call_into_app("answer", &y).await;
    s.check(joined, "bridge channels never entered the app");
    if let Some(b) = s
        .call(
            "bridges.createWithId",
            br.create_with_id(&b1).kind("mixing").name("conformance"),
        )
        .await
    {
        s.bridges.push(b.id.clone());
    }
    if let Some(b) = s
        .call(
            "bridges.create",
            br.create()
                .kind("holding")
                .name("conformance-2")
                .variables([("CONF_B", json!("1"))]),
        )
        .await
    {
        s.bridges.push(b.id.clone());
        s.call("bridges.destroy", br.destroy(&b.id)).await;
        s.wait_type("BridgeDestroyed", Duration::from_secs(2), |v| {
            v["bridge"]["id"] == b.id.as_str()
        })
        .await;
    }
    s.get("bridges.list", "bridges", br.list()).await;
    s.call(
        "bridges.addChannel",
        br.add_channel(&b1, [x.as_str(), y.as_str()])
            .role("participant")
            .absorb_dtmf(false)
            .mute(false),
    )
    .await;
    s.wait_type("ChannelEnteredBridge", Duration::from_secs(2), |v| {
        v["channel"]["id"] == y.as_str()
    })
    .await;
    s.get("bridges.get", &format!("bridges/{b1}"), br.get(&b1))
        .await;
    s.call(
        "bridges.setBridgeVar",
        br.set_bridge_var(&b1, "CONF_BV").value("bv"),
    )
    .await;
    s.get(
        "bridges.getBridgeVar",
        &format!("bridges/{b1}/variable?variable=CONF_BV"),
        br.get_bridge_var(&b1, "CONF_BV"),
    )
    .await;
    s.call(
        "bridges.setBridgeVars",
        br.set_bridge_vars(&b1, [("CONF_B1", json!("1")), ("CONF_B2", json!("2"))]),
    )
    .await;
    s.get(
        "bridges.getBridgeVars",
        &format!("bridges/{b1}/variables?variables=CONF_B1,CONF_B2"),
        br.get_bridge_vars(&b1, ["CONF_B1", "CONF_B2"]),
    )
    .await;
    s.call("bridges.setVideoSource", br.set_video_source(&b1, &x))
        .await;
    s.call("bridges.clearVideoSource", br.clear_video_source(&b1))
        .await;
    s.call("bridges.startMoh", br.start_moh(&b1).moh_class("default"))
        .await;
    s.call("bridges.stopMoh", br.stop_moh(&b1)).await;
    if let Some(pb) = s
        .call("bridges.play", br.play(&b1, "sound:beep").lang("en"))
        .await
    {
        s.wait_type("PlaybackFinished", Duration::from_secs(3), |v| {
            v["playback"]["id"] == pb.id.as_str()
        })
        .await;
    }
    let bpb = format!("{p}-bpb");
    if s.call(
        "bridges.playWithId",
        br.play_with_id(&b1, &bpb, "sound:hello-world"),
    )
    .await
    .is_some()
    {
        let _ = c.playbacks().stop(&bpb).await;
    }
    let brec = format!("{p}-brec");
    s.stored.push(brec.clone());
    if s.call(
        "bridges.record",
        br.record(&b1, &brec, "wav")
            .max_duration_seconds(1)
            .if_exists(RecordIfExists::Overwrite),
    )
    .await
    .is_some()
    {
        s.wait_type("RecordingFinished", Duration::from_secs(4), |v| {
            v["recording"]["name"] == brec.as_str()
        })
        .await;
    }
    s.call("bridges.removeChannel", br.remove_channel(&b1, y.as_str()))
        .await;
    s.wait_type("ChannelLeftBridge", Duration::from_secs(2), |v| {
        v["channel"]["id"] == y.as_str()
    })
    .await;
    s.call("bridges.destroy", br.destroy(&b1)).await;
    let _ = c.channels().hangup(&x).await;
    let _ = c.channels().hangup(&y).await;
}
