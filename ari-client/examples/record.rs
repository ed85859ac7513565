//! Records a call: a Local channel that plays a tone enters the app, is recorded for
//! three seconds, the stored recording is downloaded and played back: a straight-line
//! flow, each step awaited. Runs until Ctrl-C.

use ari_client::events::StasisStart;
use ari_client::models::RecordIfExists;
use ari_client::objects::Channel;
use ari_client::Result;

mod support;

#[tokio::main]
async fn main() -> Result<()> {
    let (client, app) = support::connect().await?;
    client.start([app.as_str()]).await?;

    client.on_channel_event(|channel: Channel, _e: StasisStart| async move {
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
    });

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
