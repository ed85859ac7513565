//! Many app processes over NATS against the two sandbox Asterisk nodes (`ARI_URL`,
//! `ARI_URL_2`): a nats-server of the test's own (started by `nats/start.sh` on a free
//! loopback port), an `ari-relay` process per node, three app instances (this test binary
//! again, as child processes), 200 calls. One instance is killed (SIGKILL, by PID) and node
//! b restarted (`ARI_RESTART_CMD_2`) under the load.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ari_client::cluster::Cluster;
use ari_client::events::StasisStart;
use ari_client::nats::Instance;
use ari_client::objects::Channel;
use ari_client::Client;
use support::nats::NatsServer;
use support::{live, unique_app, Live};

const CALLS: usize = 200;
/// One call placed every this often, on the nodes in turn.
const PACE: Duration = Duration::from_millis(50);
/// The instance killed after this many calls, and node b restarted after this many.
const KILL_AT: usize = 20;
const RESTART_AT: usize = 80;
/// What each relay waits before it holds an instance dead (its default).
const INSTANCE_TIMEOUT: Duration = Duration::from_secs(2);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

// ------------------------------------------------------------------ the child instance

/// The app instance, run in a child process (`ARI_NATS_CHILD` names it) by the test below
/// (`--ignored --exact child_instance`); not a test of its own.
#[test]
#[ignore = "the app instance of the live test below, run by it as a child process"]
fn child_instance() {
    let id = std::env::var("ARI_NATS_CHILD").expect("run by the live test (ARI_NATS_CHILD)");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run_instance(id));
}

/// A line for the parent (marked: the test harness writes to the same stdout).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "\n@@ {line}");
    let _ = out.flush();
}

/// The channel an event is about: its `channel`, or the channel its playback plays on.
fn channel_of(json: &serde_json::Value) -> Option<String> {
    if let Some(id) = json.pointer("/channel/id").and_then(|v| v.as_str()) {
        return Some(id.to_owned());
    }
    json.pointer("/playback/target_uri")
        .and_then(|v| v.as_str())
        .and_then(|t| t.strip_prefix("channel:"))
        .map(str::to_owned)
}

async fn run_instance(id: String) {
    let url = std::env::var("ARI_NATS_CHILD_URL").expect("ARI_NATS_CHILD_URL");
    let app = std::env::var("ARI_NATS_CHILD_APP").expect("ARI_NATS_CHILD_APP");
    let nats = async_nats::connect(&url).await.expect("NATS");
    let instance = Instance::builder(nats).id(&id).build().unwrap();
    let cluster = Cluster::builder()
        .client(instance.client("a").unwrap())
        .client(instance.client("b").unwrap())
        .connect()
        .await
        .expect("both relays answer");
    cluster.on_channel_event(move |channel: Channel, _: StasisStart| async move {
        let node = channel.client().node().to_owned();
        say(&format!("START {node} {}", channel.id));
        let flow = async {
            channel.answer().await?;
            channel.play("sound:beep").await?.finished().await?;
            channel.hangup().await
        }
        .await;
        let outcome = match flow {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("{:?}", e.kind()),
        };
        say(&format!("END {node} {} {outcome}", channel.id));
        Ok(())
    });
    // each call's events as this instance received them, in order, with their latency
    // from Asterisk's timestamp
    for node in cluster.nodes() {
        let mut events = node.client().events();
        let name = node.name().to_owned();
        tokio::spawn(async move {
            let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
            while let Some(event) = events.next().await {
                let at = now_ms();
                let Ok(json) = serde_json::to_value(&event) else {
                    continue;
                };
                let Some(channel) = channel_of(&json) else {
                    continue;
                };
                let stamp = event.timestamp().map_or(0, |t| t.unix_millis());
                let entry = seen.entry(channel.clone()).or_default();
                entry.push(format!("{}:{stamp}:{}", event.type_name(), at - stamp));
                if event.type_name() == "StasisEnd" {
                    let list = seen.remove(&channel).unwrap_or_default();
                    say(&format!("EVENTS {name} {channel} {}", list.join(",")));
                }
            }
        });
    }
    cluster.start([app.as_str()]).await.expect("start");
    say("READY");
    let stats = instance.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let s = stats.stats();
            say(&format!(
                "STATS {} {} {} {} {}",
                s.calls_taken, s.events, s.gaps, s.missed, s.interruptions
            ));
        }
    });
    // until the parent closes stdin
    let _ = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
            line.clear();
        }
    })
    .await;
    let s = instance.stats();
    say(&format!(
        "STATS {} {} {} {} {}",
        s.calls_taken, s.events, s.gaps, s.missed, s.interruptions
    ));
    say("BYE");
}

// ------------------------------------------------------------------ the parent

/// An event as its owner saw it: type, Asterisk's timestamp (ms), latency (ms).
type Seen = (String, i64, i64);

/// The child processes, killed (SIGKILL, by PID) if the test ends before it stops them.
struct Children(Vec<(String, Child)>);

impl Drop for Children {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// A line a child printed, with who printed it and when it was read.
struct Line {
    from: String,
    text: String,
    at: Instant,
}

/// Reads a child's stdout lines into `lines`.
fn collect(child: &mut Child, from: &str, lines: &Arc<Mutex<Vec<Line>>>) {
    let out = child.stdout.take().expect("piped");
    let (lines, from) = (lines.clone(), from.to_owned());
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(text) = line else { break };
            // an instance's own lines are marked; a relay's are all its own
            let text = match text.split_once("@@ ") {
                Some((_, mine)) => mine.to_owned(),
                None if from.starts_with("relay-") => text,
                None => continue,
            };
            lines.lock().unwrap().push(Line {
                from: from.clone(),
                text,
                at: Instant::now(),
            });
        }
    });
}

fn second(first: &Live) -> Option<(Live, String)> {
    match (
        std::env::var("ARI_URL_2"),
        std::env::var("ARI_RESTART_CMD_2"),
    ) {
        (Ok(url), Ok(restart)) => Some((
            Live {
                url,
                user: first.user.clone(),
                password: first.password.clone(),
            },
            restart,
        )),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but ARI_URL_2 / ARI_RESTART_CMD_2 (the second node) are not set")
        }
        _ => {
            eprintln!("\n*** SKIPPED: ARI_URL_2 or ARI_RESTART_CMD_2 is not set; run `cargo xtask test` ***\n");
            None
        }
    }
}

async fn wait_for(
    lines: &Arc<Mutex<Vec<Line>>>,
    what: &str,
    timeout: Duration,
    f: impl Fn(&[Line]) -> bool,
) {
    let deadline = Instant::now() + timeout;
    while !f(&lines.lock().unwrap()) {
        assert!(Instant::now() < deadline, "not within {timeout:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return -1;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_three_instances_200_calls_one_killed_one_node_restarted() {
    let Some(a) = live().await else { return };
    let Some((b, restart_b)) = second(&a) else {
        return;
    };
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let app = unique_app("nats-load");
    let lines: Arc<Mutex<Vec<Line>>> = Arc::default();
    let mut children = Children(Vec::new());
    for (node, at) in [("a", &a), ("b", &b)] {
        let mut relay = Command::new(env!("CARGO_BIN_EXE_ari-relay"))
            .args(["--node", node, "--ari-url", &at.url, "--ari-user", &at.user])
            .args([
                "--ari-password",
                &at.password,
                "--app",
                &app,
                "--nats",
                &nats.url,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start ari-relay");
        collect(&mut relay, &format!("relay-{node}"), &lines);
        children.0.push((format!("relay-{node}"), relay));
    }
    wait_for(
        &lines,
        "both relays started",
        Duration::from_secs(20),
        |l| {
            l.iter()
                .filter(|l| l.text.starts_with("ari-relay: node"))
                .count()
                == 2
        },
    )
    .await;
    let exe = std::env::current_exe().unwrap();
    let ids = ["inst-1", "inst-2", "inst-3"];
    for id in ids {
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "child_instance",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("ARI_NATS_CHILD", id)
            .env("ARI_NATS_CHILD_URL", &nats.url)
            .env("ARI_NATS_CHILD_APP", &app)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start an app instance");
        collect(&mut child, id, &lines);
        children.0.push((id.to_owned(), child));
    }
    wait_for(
        &lines,
        "three instances ready",
        Duration::from_secs(30),
        |l| l.iter().filter(|l| l.text == "READY").count() == 3,
    )
    .await;

    let direct = [a.client().await, b.client().await];
    let killed = "inst-2";
    let mut kill_at = None;
    let mut alive_at_kill: Vec<String> = Vec::new();
    let mut restarted_after = 0;
    let mut restart: Option<tokio::task::JoinHandle<(Instant, Instant)>> = None;
    let mut placed: Vec<(String, String, Instant)> = Vec::new();
    let mut refused: Vec<(String, String)> = Vec::new();
    let t0 = Instant::now();
    for n in 0..CALLS {
        // mid-call: at the first turn from KILL_AT on where it has a call started and not
        // ended
        if n >= KILL_AT && kill_at.is_none() {
            let in_flight = |lines: &[Line]| -> Vec<String> {
                let mut open = Vec::new();
                for l in lines.iter().filter(|l| l.from == killed) {
                    match l.text.split(' ').collect::<Vec<_>>().as_slice() {
                        ["START", _, id] => open.push((*id).to_owned()),
                        ["END", _, id, _] => open.retain(|o| o != id),
                        _ => {}
                    }
                }
                open
            };
            let open = in_flight(&lines.lock().unwrap());
            if !open.is_empty() {
                let (_, child) = children.0.iter_mut().find(|(id, _)| id == killed).unwrap();
                child.kill().expect("SIGKILL the instance");
                kill_at = Some((n, Instant::now()));
                // its calls still up now are left to the relay (a dead process hangs up
                // nothing)
                for id in open {
                    let node = placed
                        .iter()
                        .find(|(_, i, _)| *i == id)
                        .map(|(n, _, _)| n.clone());
                    let client = if node.as_deref() == Some("a") {
                        &direct[0]
                    } else {
                        &direct[1]
                    };
                    if client.channels().get(&id).await.is_ok() {
                        alive_at_kill.push(id);
                    }
                }
            }
        }
        // node b restarts once the relays have had the time to hold the killed instance
        // dead (its calls on b are the relay's to hang up, not the restart's)
        if n >= RESTART_AT
            && restart.is_none()
            && kill_at
                .is_some_and(|(_, at)| at.elapsed() > INSTANCE_TIMEOUT + Duration::from_secs(1))
        {
            let command = restart_b.clone();
            restarted_after = n;
            restart = Some(tokio::spawn(async move {
                let t = Instant::now();
                support::run_shell(&command).await;
                (t, Instant::now())
            }));
        }
        let (node, client): (&str, &Client) = if n % 2 == 0 {
            ("a", &direct[0])
        } else {
            ("b", &direct[1])
        };
        let id = format!("{app}-{n}");
        match client
            .channels()
            .originate("Local/answer@ari-test")
            .app(&app)
            .channel_id(&id)
            .await
        {
            Ok(_) => placed.push((node.to_owned(), id, Instant::now())),
            Err(e) => refused.push((node.to_owned(), format!("{:?}", e.kind()))),
        }
        tokio::time::sleep(PACE).await;
    }
    let placing = t0.elapsed();
    let (restart_from, restart_to) = restart
        .expect("node b was restarted under the load")
        .await
        .unwrap();
    let (killed_after, kill_at) = kill_at.expect("the instance was killed mid-call");
    // node b is back before the tail of calls is judged
    support::eventually_async("node b answers again", Duration::from_secs(30), || async {
        direct[1].asterisk().ping().await.is_ok()
    })
    .await;

    // every call ends: reported by an instance, or ended by its node
    let ended_by_instance = |lines: &[Line], id: &str| {
        lines
            .iter()
            .any(|l| l.text.starts_with("END ") && l.text.split(' ').nth(2) == Some(id))
    };
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let mut open = 0;
        for (node, id, _) in &placed {
            let done = ended_by_instance(&lines.lock().unwrap(), id);
            if !done {
                let client = if node == "a" { &direct[0] } else { &direct[1] };
                if client.channels().get(id).await.is_ok() {
                    open += 1;
                }
            }
        }
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} call(s) still up after 40 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // the survivors' last counters, then they leave
    for (id, child) in children.0.iter_mut() {
        if ids.contains(&id.as_str()) && id != killed {
            drop(child.stdin.take());
        }
    }
    wait_for(
        &lines,
        "the instances said bye",
        Duration::from_secs(15),
        |l| l.iter().filter(|l| l.text == "BYE").count() == 2,
    )
    .await;
    for (name, child) in &mut children.0 {
        if name.starts_with("relay-") {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
    }
    for (_, child) in &mut children.0 {
        let _ = child.wait();
    }
    let lines = std::mem::take(&mut *lines.lock().unwrap());

    // ---- the figures
    let mut starts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut ends: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut events: BTreeMap<String, (String, Vec<Seen>)> = BTreeMap::new();
    let mut stats: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut killed_started_at: BTreeMap<String, Instant> = BTreeMap::new();
    for line in &lines {
        let parts: Vec<&str> = line.text.split(' ').collect();
        match parts.as_slice() {
            ["START", _, id] => {
                starts
                    .entry((*id).to_owned())
                    .or_default()
                    .push(line.from.clone());
                if line.from == killed {
                    killed_started_at.insert((*id).to_owned(), line.at);
                }
            }
            ["END", _, id, outcome] => {
                ends.insert((*id).to_owned(), (line.from.clone(), (*outcome).to_owned()));
            }
            ["EVENTS", _, id, list] => {
                let list = list
                    .split(',')
                    .filter_map(|e| {
                        let mut f = e.split(':');
                        Some((
                            f.next()?.to_owned(),
                            f.next()?.parse().ok()?,
                            f.next()?.parse().ok()?,
                        ))
                    })
                    .collect();
                events.insert((*id).to_owned(), (line.from.clone(), list));
            }
            ["STATS", rest @ ..] => {
                stats.insert(
                    line.from.clone(),
                    rest.iter().filter_map(|v| v.parse().ok()).collect(),
                );
            }
            _ => {}
        }
    }
    let restart_window = |at: Instant| {
        at + Duration::from_secs(4) >= restart_from && at <= restart_to + Duration::from_secs(2)
    };
    let kill_window =
        |at: Instant| at + Duration::from_secs(2) >= kill_at && at <= kill_at + INSTANCE_TIMEOUT;
    let mut lost = Vec::new();
    let mut by_restart = 0;
    let mut around_kill = 0;
    for (node, id, at) in &placed {
        let owners = starts.get(id).cloned().unwrap_or_default();
        assert!(owners.len() <= 1, "{id} was taken by {owners:?}");
        let touched_by_restart = node == "b" && restart_window(*at);
        match (owners.first(), ends.get(id)) {
            (Some(_), Some((_, outcome))) if outcome == "ok" => {}
            (Some(owner), _) if owner == killed => {}
            _ if touched_by_restart => by_restart += 1,
            (None, _) if kill_window(*at) => around_kill += 1,
            _ => lost.push((node.clone(), id.clone(), owners, ends.get(id).cloned())),
        }
    }
    let mut per_instance: BTreeMap<&str, usize> = BTreeMap::new();
    for owners in starts.values() {
        *per_instance.entry(owners[0].as_str()).or_default() += 1;
    }
    let killed_calls: Vec<&String> = starts
        .iter()
        .filter(|(_, o)| o[0] == killed)
        .map(|(id, _)| id)
        .collect();
    let killed_finished = killed_calls
        .iter()
        .filter(|id| ends.get(**id).is_some_and(|(_, o)| o == "ok"))
        .count();
    let killed_cut = killed_calls.len() - killed_finished;
    // events as their owner saw them, in Asterisk's order
    let mut latencies: Vec<i64> = Vec::new();
    let mut disordered = Vec::new();
    for (id, (_, list)) in &events {
        latencies.extend(list.iter().map(|(_, _, l)| *l));
        let types: Vec<&str> = list.iter().map(|(t, _, _)| t.as_str()).collect();
        let ok = types.first() == Some(&"StasisStart")
            && types.last() == Some(&"StasisEnd")
            && list.windows(2).all(|w| w[0].1 <= w[1].1)
            && match (
                types.iter().position(|t| *t == "PlaybackStarted"),
                types.iter().position(|t| *t == "PlaybackFinished"),
            ) {
                (Some(s), Some(f)) => s < f,
                (None, None) => true,
                _ => false,
            };
        if !ok {
            disordered.push((id.clone(), types.join(",")));
        }
    }
    latencies.sort_unstable();
    let survivors: Vec<(&String, &Vec<u64>)> =
        stats.iter().filter(|(i, _)| i.as_str() != killed).collect();
    let gaps: u64 = survivors
        .iter()
        .map(|(_, s)| s.get(2).copied().unwrap_or(0))
        .sum();
    let missed: u64 = survivors
        .iter()
        .map(|(_, s)| s.get(3).copied().unwrap_or(0))
        .sum();
    // the relays' last counters (printed when they stop)
    let relay_counter = |name: &str| -> u64 {
        lines
            .iter()
            .filter(|l| l.from.starts_with("relay-") && l.text.starts_with("ari-relay: RelayStats"))
            .filter_map(|l| {
                let at = l.text.find(&format!("{name}: "))? + name.len() + 2;
                l.text[at..]
                    .split([',', ' ', '}'])
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum()
    };
    let (dead, orphans, asks, dropped) = (
        relay_counter("instances_dead"),
        relay_counter("orphans_ended"),
        relay_counter("asks_repeated"),
        relay_counter("dropped"),
    );
    let b_after_restart_ok = placed
        .iter()
        .filter(|(n, id, at)| {
            n == "b"
                && *at > restart_to + Duration::from_secs(2)
                && ends.get(id).is_some_and(|(_, o)| o == "ok")
        })
        .count();
    let summary = format!(
        "live nats: {} calls placed in {:.1} s ({} refused: {refused:?}), {} taken by an instance, per instance {per_instance:?}; \
         lost {}; {killed} SIGKILLed after call {killed_after}: it had taken {} calls, {} reported finished before it died, {} not; \
         node b restarted after call {restarted_after} in {:.1} s: {by_restart} b calls touched, {b_after_restart_ok} b calls ended well after it; \
         {around_kill} calls with no owner around the kill; per-call order kept in {}/{} calls; gaps {gaps}, missed {missed}; \
         event latency Asterisk → relay → NATS → instance: p50 {} ms, p99 {} ms, max {} ms over {} events (ms clock); \
         relays: {dead} instance(s) held dead, {orphans} channel(s) of theirs hung up ({} up at the kill), {asks} new-call asks repeated, {dropped} messages dropped",
        placed.len(),
        placing.as_secs_f64(),
        refused.len(),
        starts.len(),
        lost.len(),
        killed_calls.len(),
        killed_finished,
        killed_cut,
        (restart_to - restart_from).as_secs_f64(),
        events.len() - disordered.len(),
        events.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(-1),
        latencies.len(),
        alive_at_kill.len(),
    );
    eprintln!("{summary}");
    let figures = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("live_nats.txt");
    let _ = std::fs::write(&figures, format!("{summary}\n"));
    assert!(lost.is_empty(), "calls lost: {lost:?}");
    assert!(
        disordered.is_empty(),
        "calls whose events came out of order: {disordered:?}"
    );
    assert_eq!(
        (gaps, missed),
        (0, 0),
        "events lost between relays and instances: {stats:?}"
    );
    assert_eq!(
        per_instance.len(),
        3,
        "all three instances took calls: {per_instance:?}"
    );
    assert!(
        killed_cut > 0 || killed_calls.is_empty(),
        "the kill came mid-call"
    );
    // it died mid-call: a relay held it dead and hung up the calls still up
    assert!(
        !alive_at_kill.is_empty(),
        "the kill came while a call of the instance was up"
    );
    assert!(dead >= 1, "a relay held the killed instance dead");
    // (a hangup the instance sent just before it died may beat the relay's to some)
    assert!(
        orphans >= 1,
        "the relays hung up the call(s) up at the kill ({alive_at_kill:?}): {orphans}"
    );
    assert_eq!(dropped, 0, "no message dropped");
    assert!(
        b_after_restart_ok > 0,
        "node b serves calls again after its restart"
    );
    // the killed instance's calls are gone: hung up by the relay, not left in Stasis
    for id in killed_calls {
        let node = placed
            .iter()
            .find(|(_, i, _)| i == id)
            .map(|(n, _, _)| n.clone())
            .unwrap();
        let client = if node == "a" { &direct[0] } else { &direct[1] };
        assert!(
            client
                .channels()
                .get(id)
                .await
                .is_err_and(|e| e.is_not_found()),
            "{id} of the killed instance still exists"
        );
    }
    drop(nats);
}
