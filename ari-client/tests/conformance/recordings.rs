//! The `recordings` resource: live and stored recordings of a channel.

use std::time::Duration;

use ari_client::models::RecordIfExists;

use crate::suite::Suite;

pub(crate) async fn recording_ops(s: &mut Suite) {
    let c = s.client.clone();
    let ch = c.channels();
    let rec = c.recordings();
    let p = s.prefix.clone();
    let t = format!("{p}-rec");
    if !s.call_into_app("tone", &t).await {
        s.check(false, "recording channel never entered the app");
        return;
    }
    let name = format!("{p}-r1");
    s.stored.push(name.clone());
    if s.call(
        "channels.record",
        ch.record(&t, &name, "wav")
            .max_duration_seconds(10)
            .if_exists(RecordIfExists::Overwrite)
            .beep(false),
    )
    .await
    .is_some()
    {
        s.wait_type("RecordingStarted", Duration::from_secs(3), |v| {
            v["recording"]["name"] == name.as_str()
        })
        .await;
        s.get(
            "recordings.getLive",
            &format!("recordings/live/{name}"),
            rec.get_live(&name),
        )
        .await;
        s.call("recordings.pause", rec.pause(&name)).await;
        s.call("recordings.unpause", rec.unpause(&name)).await;
        s.call("recordings.mute", rec.mute(&name)).await;
        s.call("recordings.unmute", rec.unmute(&name)).await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
        s.call("recordings.stop", rec.stop(&name)).await;
        s.wait_type("RecordingFinished", Duration::from_secs(3), |v| {
            v["recording"]["name"] == name.as_str()
        })
        .await;
    }
    s.get(
        "recordings.listStored",
        "recordings/stored",
        rec.list_stored(),
    )
    .await;
    s.get(
        "recordings.getStored",
        &format!("recordings/stored/{name}"),
        rec.get_stored(&name),
    )
    .await;
    if let Some(bytes) = s
        .call("recordings.getStoredFile", rec.get_stored_file(&name))
        .await
    {
        s.check(
            bytes.starts_with(b"RIFF"),
            format!("stored file is not a wav ({} bytes)", bytes.len()),
        );
    }
    let copy = format!("{p}-r1-copy");
    s.stored.push(copy.clone());
    s.call("recordings.copyStored", rec.copy_stored(&name, &copy))
        .await;
    s.call("recordings.deleteStored", rec.delete_stored(&copy))
        .await;

    // a recording cancelled while it runs
    let cancelled = format!("{p}-r2");
    s.stored.push(cancelled.clone());
    if s.call(
        "channels.record",
        ch.record(&t, &cancelled, "gsm")
            .max_silence_seconds(5)
            .if_exists(RecordIfExists::Overwrite),
    )
    .await
    .is_some()
    {
        s.wait_type("RecordingStarted", Duration::from_secs(3), |v| {
            v["recording"]["name"] == cancelled.as_str()
        })
        .await;
        s.call("recordings.cancel", rec.cancel(&cancelled)).await;
    }
    // a recording whose file name is taken by a folder: RecordingFailed
    let blocker = format!("{p}-rf/z.wav/q");
    s.stored.push(blocker.clone());
    if ch
        .record(&t, &blocker, "wav")
        .max_duration_seconds(1)
        .if_exists(RecordIfExists::Overwrite)
        .await
        .is_ok()
    {
        s.wait_type("RecordingFinished", Duration::from_secs(3), |v| {
            v["recording"]["name"] == blocker.as_str()
        })
        .await;
        let failing = format!("{p}-rf/z");
        if ch
            .record(&t, &failing, "wav")
            .max_duration_seconds(1)
            .await
            .is_ok()
        {
            s.wait_event(Duration::from_secs(3), |v| {
                (v["type"] == "RecordingFailed" || v["type"] == "RecordingFinished")
                    && v["recording"]["name"] == failing.as_str()
            })
            .await;
        }
    }
    let _ = ch.hangup(&t).await;
}
