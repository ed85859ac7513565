//! Hostile ids and values against the live Asterisk: ids that Asterisk would cut short
//! (a NUL, other control characters) must be refused before anything is sent; every other
//! hostile id must reach Asterisk as given and fail there; and after all of them a victim
//! channel, a victim bridge and a victim application are still there.
//!
//! Measured before the client checked values: Asterisk reads ids as C strings, so
//! `bridges.destroy("victim\0")` destroyed the bridge `victim` and
//! `channels.hangup("victim-chan\0anything")` hung up the channel `victim-chan`.

#[path = "support/mod.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ari_client::events::StasisStart;
use ari_client::{Client, Error, ErrorKind};

/// The channels that entered the app, with their arguments.
type Starts = Arc<Mutex<Vec<(String, Vec<String>)>>>;

/// The hostile variants of `base` (an id or an application name that exists).
fn hostile(base: &str) -> Vec<String> {
    vec![
        format!("{base}\0"),
        format!("{base}\0anything"),
        format!("{base}\r\n"),
        format!("{base}\n"),
        format!("{base}\t"),
        format!("{base}\u{7f}"),
        format!("../{base}"),
        format!("{base}/.."),
        "%00".to_owned(),
        format!("{base}%00"),
        "%2F".to_owned(),
        format!("{base}%2Fx"),
        base.replacen("victim", "vïctim", 1),
        format!("{base}\u{202e}"),
        format!("{base}{}", "x".repeat(10 * 1024)),
    ]
}

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_control())
}

/// An id as a short, escaped text for the printed table.
fn short(s: &str) -> String {
    if s.len() > 40 {
        format!(
            "{:?}…({} bytes)",
            s.chars().take(24).collect::<String>(),
            s.len()
        )
    } else {
        format!("{s:?}")
    }
}

/// What became of one call.
#[derive(Debug)]
enum Outcome {
    /// `InvalidArgument` with no HTTP status: refused before sending.
    Refused,
    /// An error of Asterisk's (a status), or of the connection Asterisk closed.
    Asterisk(ErrorKind, Option<u16>),
    /// Asterisk did it.
    Accepted,
}

impl Outcome {
    fn of<T>(r: &Result<T, Error>) -> Self {
        match r {
            Ok(_) => Outcome::Accepted,
            Err(e) if e.kind() == ErrorKind::InvalidArgument && e.http_status().is_none() => {
                Outcome::Refused
            }
            Err(e) => Outcome::Asterisk(e.kind(), e.http_status()),
        }
    }

    fn short(&self) -> String {
        match self {
            Outcome::Refused => "refused".into(),
            Outcome::Asterisk(kind, Some(status)) => format!("{kind:?}({status})"),
            Outcome::Asterisk(kind, None) => format!("{kind:?}"),
            Outcome::Accepted => "accepted".into(),
        }
    }
}

async fn stasis_started(seen: &Mutex<Vec<(String, Vec<String>)>>, id: &str) -> Option<Vec<String>> {
    for _ in 0..250 {
        if let Some((_, args)) = seen.lock().unwrap().iter().find(|(c, _)| c == id) {
            return Some(args.clone());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ids_and_values_never_reach_a_victim() {
    let Some(live) = support::live().await else {
        return;
    };
    let client: Client = live.client().await;
    let app = support::unique_app("victim-app");
    let seen: Starts = Arc::default();
    let record = seen.clone();
    let _starts = client.on_event(move |e: StasisStart| {
        record
            .lock()
            .unwrap()
            .push((e.channel.id.clone(), e.args.clone()));
        async { Ok(()) }
    });
    client.start([app.as_str()]).await.unwrap();

    // the victims: a channel in the app, a bridge of the same id, the app itself
    let victim = support::unique_app("victim");
    client
        .channels()
        .originate_with_id(&victim, "Local/answer@ari-test")
        .app(&app)
        .await
        .expect("originate the victim channel");
    assert!(
        stasis_started(&seen, &victim).await.is_some(),
        "the victim channel entered the app"
    );
    client
        .bridges()
        .create_with_id(&victim)
        .await
        .expect("create the victim bridge");

    let ids = hostile(&victim);
    let apps = hostile(&app);
    let (mut calls, mut refused, mut by_asterisk, mut accepted) = (0, 0, 0, 0);
    let mut wrong = Vec::new();
    let mut originated = Vec::new();
    let mut args_sent = Vec::new();
    println!("hostile id | channels.hangup get | bridges.destroy get | channels.play | originate app= | app_args= | bridges.addChannel channel=");
    for (i, (id, hostile_app)) in ids.iter().zip(&apps).enumerate() {
        let ch = client.channels();
        let br = client.bridges();
        let hangup = ch.hangup(id).await;
        match &hangup {
            Err(e) if !has_control(id) && !e.is_not_found() => println!("    {}: {e}", short(id)),
            _ => {}
        }
        let ops = [
            Outcome::of(&hangup),
            Outcome::of(&ch.get(id).await),
            Outcome::of(&br.destroy(id).await),
            Outcome::of(&br.get(id).await),
            Outcome::of(&ch.play(id, "sound:silence/1").await),
        ];
        // query values: an app name next to the victim app's, and app arguments
        let q_app = format!("{app}-q{i}");
        let by_app = ch
            .originate("Local/answer@ari-test")
            .app(hostile_app)
            .channel_id(&q_app)
            .await;
        let q_args = format!("{app}-a{i}");
        let by_args = ch
            .originate("Local/answer@ari-test")
            .app(&app)
            .app_args(id)
            .channel_id(&q_args)
            .await;
        if by_app.is_ok() {
            originated.push(q_app.clone());
        }
        if by_args.is_ok() {
            originated.push(q_args.clone());
            args_sent.push((q_args.clone(), id.clone()));
        }
        // a list value: the victim channel's look-alike, into the victim bridge
        let into_bridge = br.add_channel(&victim, [id.as_str()]).await;
        let queries = [
            Outcome::of(&by_app),
            Outcome::of(&by_args),
            Outcome::of(&into_bridge),
        ];
        println!(
            "{} | {} | {} | {} | {} | {} | {}",
            short(id),
            ops[..2]
                .iter()
                .map(Outcome::short)
                .collect::<Vec<_>>()
                .join(" "),
            ops[2..4]
                .iter()
                .map(Outcome::short)
                .collect::<Vec<_>>()
                .join(" "),
            ops[4].short(),
            queries[0].short(),
            queries[1].short(),
            queries[2].short(),
        );
        match &by_app {
            Err(e) if !has_control(hostile_app) => {
                println!("    originate app={}: {e}", short(hostile_app))
            }
            _ => {}
        }
        for (n, outcome) in ops.iter().chain(&queries).enumerate() {
            calls += 1;
            let control = if n == 5 {
                has_control(hostile_app)
            } else {
                has_control(id)
            };
            match (outcome, control) {
                (Outcome::Refused, true) => refused += 1,
                (Outcome::Asterisk(..), false) => by_asterisk += 1,
                // the originates: Asterisk takes any app name and arguments
                (Outcome::Accepted, false) if n == 5 || n == 6 => accepted += 1,
                (other, _) => wrong.push(format!("call {n} with {}: {other:?}", short(id))),
            }
        }
    }

    // the app arguments arrived as they were sent
    let mut args_intact = 0;
    for (channel, sent) in &args_sent {
        match stasis_started(&seen, channel).await {
            Some(args) if args == [sent.clone()] => args_intact += 1,
            other => println!(
                "    app_args {} arrived as {:?}",
                short(sent),
                other.map(|a| a.iter().map(|s| short(s)).collect::<Vec<_>>())
            ),
        }
    }
    // no channel given a neighbouring app name entered the victim app
    let strays: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(c, _)| c.starts_with(&format!("{app}-q")))
        .map(|(c, _)| c.clone())
        .collect();

    let channel_alive = client.channels().get(&victim).await;
    let bridge_alive = client.bridges().get(&victim).await;
    // and nothing entered it
    let bridge_alive = bridge_alive.map(|b| b.channels.clone());
    if let Ok(channels) = &bridge_alive {
        if !channels.is_empty() {
            wrong.push(format!("the victim bridge holds {channels:?}"));
        }
    }
    let app_alive = client.applications().get(&app).await;
    let intact = [
        channel_alive.is_ok(),
        bridge_alive.is_ok(),
        app_alive.is_ok() && strays.is_empty(),
    ];
    println!(
        "hostile ids: {} ids tried ({calls} calls), {refused} refused before sending, {by_asterisk} refused by Asterisk, {accepted} accepted by Asterisk (originates with a hostile app name or app args; {args_intact}/{} app args arrived intact), victims intact: {}/3 (channel {}, bridge {}, app {})",
        ids.len(),
        args_sent.len(),
        intact.iter().filter(|&&x| x).count(),
        channel_alive.is_ok(),
        bridge_alive.is_ok(),
        app_alive.is_ok() && strays.is_empty(),
    );

    for id in &originated {
        let _ = client.channels().hangup(id).await;
    }
    let _ = client.channels().hangup(&victim).await;
    let _ = client.bridges().destroy(&victim).await;
    client.shutdown();
    let _ = client.wait().await;

    assert!(wrong.is_empty(), "unexpected outcomes: {wrong:#?}");
    assert!(
        strays.is_empty(),
        "channels entered the victim app: {strays:?}"
    );
    assert!(intact.iter().all(|&x| x), "a victim is gone");
}
