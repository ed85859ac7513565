//! Call media against the real sandbox Asterisk (see tests/support/mod.rs): for each
//! transport, a call (`Local/play@ari-test`, which plays tt-weasels, 2.96 s, to the app
//! side) is bridged with an external-media channel; the test receives the sound through
//! the media stream (not silence, about its length), then sends a sine into the bridge
//! while Asterisk records the bridge, and finds the sine's frequency in the recording.

mod support;

use std::time::{Duration, Instant};

use ari_client::events::{ChannelDestroyed, RecordingStarted, StasisStart};
use ari_client::media::{AudioFormat, Command, Control, MediaEvent, MediaStream};
use ari_client::models::RecordIfExists;
use ari_client::{Client, ErrorKind};
use support::{live, unique_app};

/// tt-weasels.gsm: 4884 bytes of 33-byte GSM frames of 20 ms.
const WEASELS: Duration = Duration::from_millis(2_960);

/// What the stream delivered of the played sound.
#[derive(Debug)]
struct Received {
    /// Audio received in all, by the frames' durations.
    total: Duration,
    /// From the first to the last frame that is not silence.
    sound: Duration,
    /// Frames that are not silence.
    loud_frames: usize,
    frames: usize,
    /// The frame durations seen.
    frame_durations: Vec<Duration>,
    /// RTP: packets whose sequence number or timestamp did not follow the previous one's.
    rtp_discontinuities: usize,
}

fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt()
}

fn sine(freq: f64, rate: u32, duration: Duration, amplitude: f64) -> Vec<i16> {
    let n = (f64::from(rate) * duration.as_secs_f64()) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            (amplitude * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
        })
        .collect()
}

/// The power of `freq` in `samples` (Goertzel).
fn goertzel(samples: &[i16], rate: u32, freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// The frequency (10 Hz steps, 200 to 3500 Hz) with the most power.
fn dominant_frequency(samples: &[i16], rate: u32) -> f64 {
    (20..=350)
        .map(|f| f64::from(f) * 10.0)
        .map(|f| (f, goertzel(samples, rate, f)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(f, _)| f)
        .unwrap()
}

/// Zero crossings a second / 2: the frequency of a clean tone.
fn zero_crossing_frequency(samples: &[i16], rate: u32) -> f64 {
    let crossings = samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    crossings as f64 / 2.0 / (samples.len() as f64 / f64::from(rate))
}

/// The samples (8 kHz 16-bit mono, what format_wav writes) of a wav file.
fn wav_samples(wav: &[u8]) -> (u32, Vec<i16>) {
    assert!(
        wav.len() >= 12 && &wav[..4] == b"RIFF" && &wav[8..12] == b"WAVE",
        "not a wav"
    );
    let mut at = 12;
    let mut rate = None;
    while at + 8 <= wav.len() {
        let id = &wav[at..at + 4];
        let size = u32::from_le_bytes(wav[at + 4..at + 8].try_into().unwrap()) as usize;
        let body = &wav[at + 8..(at + 8 + size).min(wav.len())];
        match id {
            b"fmt " => {
                assert_eq!(u16::from_le_bytes([body[0], body[1]]), 1, "PCM");
                assert_eq!(u16::from_le_bytes([body[2], body[3]]), 1, "mono");
                assert_eq!(u16::from_le_bytes([body[14], body[15]]), 16, "16-bit");
                rate = Some(u32::from_le_bytes(body[4..8].try_into().unwrap()));
            }
            b"data" => {
                let samples = body
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]))
                    .collect();
                return (rate.expect("fmt before data"), samples);
            }
            _ => {}
        }
        at += 8 + size + size % 2;
    }
    panic!("no data chunk");
}

/// The span of `samples` louder than `threshold`, by 20 ms blocks.
fn loud_span(samples: &[i16], rate: u32, threshold: f64) -> &[i16] {
    let block = rate as usize / 50;
    let loud: Vec<usize> = samples
        .chunks(block)
        .enumerate()
        .filter(|(_, b)| rms(b) > threshold)
        .map(|(i, _)| i)
        .collect();
    let (Some(first), Some(last)) = (loud.first(), loud.last()) else {
        return &[];
    };
    &samples[first * block..((last + 1) * block).min(samples.len())]
}

/// Receives until the caller hangs up (after the sound), or 15 s.
async fn receive_the_sound(
    media: &mut MediaStream,
    caller_gone: ari_client::objects::Wait<ChannelDestroyed>,
) -> Received {
    let mut got = Received {
        total: Duration::ZERO,
        sound: Duration::ZERO,
        loud_frames: 0,
        frames: 0,
        frame_durations: Vec::new(),
        rtp_discontinuities: 0,
    };
    let mut last_rtp: Option<ari_client::media::RtpHeader> = None;
    let (mut first_loud, mut last_loud) = (None, Duration::ZERO);
    let mut caller_gone = Box::pin(caller_gone.timeout(Duration::from_secs(15)));
    loop {
        let event = tokio::select! {
            event = media.next() => event.expect("media stream").expect("the stream ends with the media channel, not the caller"),
            gone = &mut caller_gone => {
                gone.expect("the caller hangs up after the sound");
                break;
            }
        };
        let MediaEvent::Audio(frame) = event else {
            continue;
        };
        if let Some(header) = frame.rtp().copied() {
            if let Some(last) = last_rtp {
                let follows = header.sequence == last.sequence.wrapping_add(1)
                    && header.timestamp == last.timestamp.wrapping_add(frame.sample_count() as u32);
                if !follows || header.ssrc != last.ssrc {
                    got.rtp_discontinuities += 1;
                }
            }
            last_rtp = Some(header);
        }
        let samples = frame.samples();
        assert_eq!(samples.len(), frame.sample_count());
        got.frames += 1;
        if !got.frame_durations.contains(&frame.duration()) {
            got.frame_durations.push(frame.duration());
        }
        if rms(&samples) > 200.0 {
            got.loud_frames += 1;
            first_loud.get_or_insert(got.total);
            last_loud = got.total + frame.duration();
        }
        got.total += frame.duration();
    }
    if let Some(first) = first_loud {
        got.sound = last_loud - first;
    }
    got
}

/// One transport's whole flow; returns nothing, asserts everything.
async fn call_media_round_trip(client: &Client, app: &str, media: MediaStream, tone_hz: f64) {
    let mut media = media;
    let transport = if media.media_start().is_some() {
        "websocket"
    } else {
        "rtp"
    };
    assert_eq!(media.ptime(), Duration::from_millis(20));
    let bridge = client.bridges().create().await.unwrap();

    // the caller: plays tt-weasels to the app side once answered, then hangs up
    let caller = client.pending_channel();
    let caller_in = caller
        .next::<StasisStart>()
        .timeout(Duration::from_secs(10));
    let caller_gone = caller.next::<ChannelDestroyed>();
    client
        .channels()
        .originate("Local/play@ari-test")
        .app(app)
        .channel_id(caller.id())
        .await
        .unwrap();
    caller_in.await.unwrap();
    bridge
        .add_channel([caller.id().to_owned(), media.channel().id.clone()])
        .await
        .unwrap();

    // 1. the sound, received through the media stream
    let got = receive_the_sound(&mut media, caller_gone).await;
    println!(
        "{transport} ({}): received {:?} of audio in {} frames of {:?}; sound {:?} ({} loud frames); tt-weasels is {WEASELS:?}",
        media.format(),
        got.total,
        got.frames,
        got.frame_durations,
        got.sound,
        got.loud_frames
    );
    assert_eq!(got.frame_durations, [Duration::from_millis(20)], "{got:?}");
    assert_eq!(got.rtp_discontinuities, 0, "{got:?}");
    assert!(
        got.total >= WEASELS - Duration::from_millis(200)
            && got.total <= WEASELS + Duration::from_millis(200),
        "the played sound's frames, no more: {got:?}"
    );
    assert!(
        got.loud_frames * 20 > 1_500,
        "mostly sound, not silence: {got:?}"
    );
    assert!(
        got.sound >= WEASELS - Duration::from_millis(500)
            && got.sound <= WEASELS + Duration::from_millis(100),
        "the sound lasts about {WEASELS:?}: {got:?}"
    );

    // 2. a tone sent into the bridge, found in the bridge's recording
    let name = format!("{app}-{transport}");
    let pending = client.pending_live_recording_with_id(&name);
    let started = pending
        .next::<RecordingStarted>()
        .timeout(Duration::from_secs(5));
    let recording = bridge
        .record(&name, "wav")
        .if_exists(RecordIfExists::Overwrite)
        .await
        .unwrap();
    started.await.unwrap();
    let rate = media.format().sample_rate();
    let channel = media.channel().clone();
    let tone = sine(tone_hz, rate, Duration::from_secs(2), 8_000.0);
    let (mut receiver, mut sender) = media.split();
    // keep reading (flow control, the queue-drained answer) while sending
    let (drained_tx, drained_rx) = tokio::sync::oneshot::channel();
    let reading = tokio::spawn(async move {
        let mut drained = Some(drained_tx);
        let mut frames = 0u32;
        while let Some(event) = receiver.next().await.expect("media stream") {
            match event {
                MediaEvent::Control(Control::QueueDrained) => {
                    if let Some(tx) = drained.take() {
                        let _ = tx.send(());
                    }
                }
                MediaEvent::Audio(_) => frames += 1,
                _ => {}
            }
        }
        (frames, receiver.dropped())
    });
    let t0 = Instant::now();
    sender.send(&tone).await.unwrap();
    sender.flush().await.unwrap();
    let took = t0.elapsed();
    println!("{transport}: sent 2 s of {tone_hz} Hz in {took:?} (paced at 20 ms)");
    assert!(
        took >= Duration::from_millis(1_960) && took < Duration::from_millis(2_600),
        "100 frames of 20 ms take 1.98 s: {took:?}"
    );
    if transport == "websocket" {
        // Asterisk plays out its queue at its own timer: wait until it is empty
        sender.command(&Command::ReportQueueDrained).await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), drained_rx)
            .await
            .expect("QUEUE_DRAINED within 5 s")
            .unwrap();
    } else {
        // RTP is played as it comes; a tail of silence carries the last frames through the mix
        sender.send(&vec![0; rate as usize / 5]).await.unwrap();
    }
    recording.stop().await.unwrap();
    recording
        .finished()
        .timeout(Duration::from_secs(5))
        .await
        .unwrap();
    let wav = client.recordings().get_stored_file(&name).await.unwrap();
    let (wav_rate, samples) = wav_samples(&wav);
    let span = loud_span(&samples, wav_rate, 1_000.0);
    let detected = dominant_frequency(span, wav_rate);
    let crossing = zero_crossing_frequency(span, wav_rate);
    let span_duration = Duration::from_secs_f64(span.len() as f64 / f64::from(wav_rate));
    let on = goertzel(span, wav_rate, tone_hz);
    let off = goertzel(span, wav_rate, tone_hz * 1.5);
    println!(
        "{transport}: recording {} bytes at {wav_rate} Hz; tone {span_duration:?}, dominant {detected} Hz, zero crossings {crossing:.1} Hz, power at {tone_hz} Hz / at {} Hz = {:.1e}",
        wav.len(),
        tone_hz * 1.5,
        on / off
    );
    assert!(
        (detected - tone_hz).abs() <= 10.0,
        "dominant {detected} Hz, sent {tone_hz} Hz"
    );
    assert!(
        (crossing - tone_hz).abs() <= 15.0,
        "zero crossings {crossing} Hz"
    );
    assert!(on > off * 100.0, "a clean tone: {on} vs {off}");
    assert!(
        span_duration >= Duration::from_millis(1_900)
            && span_duration <= Duration::from_millis(2_200),
        "the recording has the 2 s tone: {span_duration:?}"
    );
    client.recordings().delete_stored(&name).await.unwrap();

    // 3. the stream ends when the channel does
    channel.hangup().await.unwrap();
    let (frames, dropped) = tokio::time::timeout(Duration::from_secs(5), reading)
        .await
        .expect("the stream ends within 5 s of the hangup")
        .unwrap();
    println!("{transport}: stream ended after the hangup; {frames} frames while sending, {dropped} packets dropped");
    assert_eq!(dropped, 0);
    if transport == "websocket" {
        let e = sender.send(&[0; 320]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Ended, "{e}");
    }
    bridge.destroy().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_media_receives_the_call_and_sends_a_tone() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("media-ws");
    client.start([app.as_str()]).await.unwrap();
    let media = MediaStream::websocket(&client, &app, AudioFormat::Ulaw)
        .await
        .unwrap();
    let start = media.media_start().unwrap().clone();
    println!("websocket: {start:?}");
    assert_eq!(
        (start.format.as_str(), start.ptime, start.optimal_frame_size),
        ("ulaw", 20, 160)
    );
    assert_eq!(
        start.channel_id.as_deref(),
        Some(media.channel().id.as_str())
    );
    call_media_round_trip(&client, &app, media, 800.0).await;
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_media_receives_the_call_and_sends_a_tone() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("media-rtp");
    client.start([app.as_str()]).await.unwrap();
    let media = MediaStream::rtp(
        &client,
        &app,
        AudioFormat::Alaw,
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    assert!(media.media_start().is_none());
    call_media_round_trip(&client, &app, media, 1_200.0).await;
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_channels_and_addresses_are_typed_errors() {
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("media-bad");
    client.start([app.as_str()]).await.unwrap();
    // an unspecified bind address cannot be given to Asterisk; slin16 RTP it would not take
    let e = MediaStream::rtp(
        &client,
        &app,
        AudioFormat::Ulaw,
        "0.0.0.0:0".parse().unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let e = MediaStream::rtp(
        &client,
        &app,
        AudioFormat::Slin,
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    // a channel that is no chan_websocket channel
    let pending = client.pending_channel();
    let up = pending
        .next::<StasisStart>()
        .timeout(Duration::from_secs(10));
    let local = client
        .channels()
        .originate("Local/answer@ari-test")
        .app(&app)
        .channel_id(pending.id())
        .await
        .unwrap();
    up.await.unwrap();
    let e = MediaStream::connect_websocket(&client, &local)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    local.hangup().await.unwrap();
    client.shutdown();
    client.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_control_messages_and_a_command_round_trip() {
    use ari_client::media::ControlFormat;
    use ari_client::models::{
        ExternalMediaConnectionType, ExternalMediaEncapsulation, ExternalMediaTransport,
    };
    let Some(live) = live().await else { return };
    let client = live.client().await;
    let app = unique_app("media-json");
    client.start([app.as_str()]).await.unwrap();
    // a channel of the application's own making: JSON control messages (`f(json)`)
    let pending = client.pending_channel();
    let up = pending
        .next::<StasisStart>()
        .timeout(Duration::from_secs(10));
    let channel = client
        .channels()
        .external_media(&app, "slin16")
        .channel_id(pending.id())
        .transport(ExternalMediaTransport::Websocket)
        .encapsulation(ExternalMediaEncapsulation::None)
        .connection_type(ExternalMediaConnectionType::Server)
        .transport_data("f(json)")
        .await
        .unwrap();
    let media = MediaStream::connect_websocket(&client, &channel)
        .await
        .unwrap();
    up.await.unwrap();
    let start = media.media_start().unwrap();
    println!("json: {start:?}");
    assert_eq!(start.control_format, ControlFormat::Json);
    assert_eq!(
        (start.format.as_str(), start.optimal_frame_size),
        ("slin16", 640)
    );
    assert!(start.channel_variables.is_some());
    assert_eq!(media.format(), AudioFormat::Slin16);
    // a second connection for the same id is refused (409)
    let e = MediaStream::connect_websocket(&client, &channel)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WebSocket, "{e}");
    let (mut receiver, mut sender) = media.split();
    sender.command(&Command::GetStatus).await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match receiver.next().await.unwrap() {
                Some(MediaEvent::Control(Control::Status(status))) => return status,
                Some(_) => {}
                None => panic!("ended before STATUS"),
            }
        }
    })
    .await
    .expect("STATUS within 5 s");
    println!("json: {status:?}");
    assert_eq!((status.xon_level, status.xoff_level), (800, 900));
    assert!(!status.queue_full && !status.media_paused);
    // HANGUP over the websocket: the channel ends, and so does the stream
    let gone = channel
        .next::<ChannelDestroyed>()
        .timeout(Duration::from_secs(5));
    sender.command(&Command::Hangup).await.unwrap();
    gone.await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while receiver.next().await.unwrap().is_some() {}
    })
    .await;
    assert!(end.is_ok(), "the stream ends with the channel");
    client.shutdown();
    client.wait().await.unwrap();
}
