//! Records a call: a Local channel that plays a tone enters the app, is recorded for
//! three seconds, the stored recording is downloaded and played back: a straight-line
//! flow, each step awaited. Runs until Ctrl-C.

use ari_client::events::StasisStart;
use ari_client::models::RecordIfExists;
use ari_client::objects::Channel;
use ari_client::Result;

mod support;

/// Records `channel` for 3 s, downloads the recording and plays it back to it.
pub(crate) async fn record_and_play_back(channel: Channel) -> Result<()> {
    let name = format!("ari-rs-{}", channel.id);
    println!("{}: recording {name}.wav for 3 s", channel.id);
    let recording = channel
        .record(&name, "wav")
        .max_duration_seconds(3)
        .if_exists(RecordIfExists::Overwrite)
        .await?;
    let finished = recording.finished().await?;
    println!(
        "{name}: finished, {} s",
        finished.recording.duration.unwrap_or_default()
    );
    let wav = channel.client().recordings().get_stored_file(&name).await?;
    println!("{name}: downloaded {} bytes", wav.len());
    println!("{}: playing it back", channel.id);
    channel
        .play(format!("recording:{name}"))
        .await?
        .finished()
        .await?;
    println!("{}: played it back", channel.id);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let (client, app) = support::connect().await?;
    client.start([app.as_str()]).await?;
    client.on_channel_event(|channel: Channel, _e: StasisStart| record_and_play_back(channel));

    let call = client
        .channels()
        .originate("Local/tone@ari-test")
        .app(&app)
        .await?;
    println!("{}: originated Local/tone@ari-test", call.id);

    tokio::signal::ctrl_c().await.ok();
    client.channels().hangup(&call.id).await.ok();
    client.shutdown();
    client.wait().await
}

/// The recording flow against the fake Asterisk (`cargo test --example record --features
/// testing`): 3 s of recording and its playback take no real time.
#[cfg(all(test, feature = "testing"))]
mod tests {
    use ari_client::events::StasisStart;
    use ari_client::objects::Channel;
    use ari_client::testing::FakeAsterisk;
    use ari_client::Result;
    use tokio::sync::mpsc;

    #[tokio::test]
    async fn records_three_seconds_then_plays_them_back() -> Result<()> {
        let fake = FakeAsterisk::start().await?;
        let client = fake.client().await?;
        let (done, mut finished) = mpsc::unbounded_channel();
        client.on_channel_event(move |channel: Channel, _: StasisStart| {
            let done = done.clone();
            async move {
                let _ = done.send(super::record_and_play_back(channel).await);
                Ok(())
            }
        });
        client.start(["record"]).await?;
        let start = fake.now();
        let call = fake.call_in("200").app("record").await?;
        finished.recv().await.expect("the flow ran")?;

        let name = format!("ari-rs-{}", call.id());
        assert_eq!(call.recordings(), [name.as_str()]);
        assert_eq!(fake.stored_recordings(), [name.as_str()]);
        assert_eq!(call.played(), [format!("recording:{name}")]);
        // 3 s recorded, 3 s played back, in virtual time
        let took_ms = fake.now().unix_millis() - start.unix_millis();
        assert!(took_ms >= 6_000, "{took_ms} ms");
        Ok(())
    }
}
