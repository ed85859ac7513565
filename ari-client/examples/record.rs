//! Records a call: a Local channel that plays a tone enters the app, is recorded for
//! three seconds, the stored recording is downloaded and played back. Runs until Ctrl-C.

use ari_client::events::{RecordingFinished, StasisStart};
use ari_client::objects::{Channel, LiveRecording};
use ari_client::Result;

mod support;

#[tokio::main]
async fn main() -> Result<()> {
    let (client, app) = support::connect().await?;
    client.start([app.as_str()]).await?;

    client.on_channel_event(|channel: Channel, _e: StasisStart| async move {
        let name = format!("ari-rs-{}", channel.id);
        println!("{}: recording {name}.wav for 3 s", channel.id);
        let data = channel
            .record(&name, "wav")
            .max_duration_seconds(3)
            .if_exists("overwrite".parse().expect("a valid ifExists value"))
            .await?;
        let recording = channel.client().live_recording_object(data);
        let chan = channel.clone();
        recording.on_event(move |rec: LiveRecording, e: RecordingFinished| {
            let channel = chan.clone();
            async move {
                println!(
                    "{}: finished, {} s",
                    rec.name,
                    e.recording.duration.unwrap_or_default()
                );
                let client = channel.client();
                let wav = client.recordings().get_stored_file(&rec.name).await?;
                println!("{}: downloaded {} bytes", rec.name, wav.len());
                channel.play(format!("recording:{}", rec.name)).await?;
                println!("{}: playing it back", channel.id);
                Ok::<_, ari_client::Error>(())
            }
        });
        Ok::<_, ari_client::Error>(())
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
