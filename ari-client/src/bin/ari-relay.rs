//! `ari-relay`: the relay of one Asterisk node for app instances on a NATS server
//! (`ari_client::nats::Relay`; see `docs/nats.md`).
//!
//! ```sh
//! ari-relay --node pbx-a --ari-url http://127.0.0.1:8088 --ari-user asterisk \
//!     --ari-password asterisk --app ivr --nats nats://127.0.0.1:4222
//! ```
//!
//! Every flag has an environment variable (`--node` is `ARI_RELAY_NODE`, …; `ari-relay
//! --help` lists them). It runs until SIGTERM or Ctrl-C, prints the node's state changes
//! and, every `--stats-every` seconds and at the end, its counters.

use std::process::ExitCode;
use std::time::Duration;

use ari_client::nats::Relay;
use ari_client::{Client, ConnectionState};

const USAGE: &str = "usage: ari-relay [options]
  --node NAME              the node's name, stable across restarts      (ARI_RELAY_NODE)
  --ari-url URL            Asterisk's ARI, http://host:port             (ARI_URL)
  --ari-user USER          ARI user                                     (ARI_USER, default asterisk)
  --ari-password PASSWORD  ARI password                                 (ARI_PASSWORD, default asterisk)
  --app APP                a Stasis application; repeat, or a,b         (ARI_RELAY_APPS)
  --nats URL               the NATS server                              (NATS_URL, default nats://127.0.0.1:4222)
  --prefix PREFIX          the subject prefix                           (ARI_RELAY_PREFIX, default ari)
  --instance-timeout-ms N  an instance silent this long is dead         (ARI_RELAY_INSTANCE_TIMEOUT_MS, default 2000)
  --stats-every SECONDS    print the counters this often (0: never)     (ARI_RELAY_STATS_EVERY, default 0)";

struct Options {
    node: String,
    url: String,
    user: String,
    password: String,
    apps: Vec<String>,
    nats: String,
    prefix: String,
    instance_timeout: Duration,
    stats_every: u64,
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        node: env("ARI_RELAY_NODE", ""),
        url: env("ARI_URL", ""),
        user: env("ARI_USER", "asterisk"),
        password: std::env::var("ARI_PASSWORD")
            .or_else(|_| std::env::var("ARI_PASS"))
            .unwrap_or_else(|_| "asterisk".into()),
        apps: env("ARI_RELAY_APPS", "")
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
        nats: env("NATS_URL", "nats://127.0.0.1:4222"),
        prefix: env("ARI_RELAY_PREFIX", "ari"),
        instance_timeout: Duration::from_millis(
            env("ARI_RELAY_INSTANCE_TIMEOUT_MS", "2000")
                .parse()
                .map_err(|_| "ARI_RELAY_INSTANCE_TIMEOUT_MS: not a number".to_owned())?,
        ),
        stats_every: env("ARI_RELAY_STATS_EVERY", "0")
            .parse()
            .map_err(|_| "ARI_RELAY_STATS_EVERY: not a number".to_owned())?,
    };
    let mut args = std::env::args().skip(1);
    let mut from_flags = Vec::new();
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--node" => o.node = value()?,
            "--ari-url" => o.url = value()?,
            "--ari-user" => o.user = value()?,
            "--ari-password" => o.password = value()?,
            "--app" => from_flags.extend(
                value()?
                    .split(',')
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned),
            ),
            "--nats" => o.nats = value()?,
            "--prefix" => o.prefix = value()?,
            "--instance-timeout-ms" => {
                o.instance_timeout = Duration::from_millis(
                    value()?
                        .parse()
                        .map_err(|_| "--instance-timeout-ms: not a number".to_owned())?,
                )
            }
            "--stats-every" => {
                o.stats_every = value()?
                    .parse()
                    .map_err(|_| "--stats-every: not a number".to_owned())?
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if !from_flags.is_empty() {
        o.apps = from_flags;
    }
    if o.node.is_empty() {
        return Err("--node is required".into());
    }
    if o.url.is_empty() {
        return Err("--ari-url is required".into());
    }
    if o.apps.is_empty() {
        return Err("at least one --app is required".into());
    }
    Ok(o)
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse() {
        Ok(o) => o,
        Err(e) => {
            if e.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("ari-relay: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ari-relay: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(o: Options) -> Result<(), String> {
    let nats = async_nats::ConnectOptions::new()
        .name(format!("ari-relay {}", o.node))
        .connect(&o.nats)
        .await
        .map_err(|e| format!("cannot connect to NATS at {}: {e}", o.nats))?;
    let relay = Relay::builder(
        nats,
        &o.node,
        Client::builder(&o.url, &o.user, &o.password),
        o.apps.iter().cloned(),
    )
    .prefix(&o.prefix)
    .instance_timeout(o.instance_timeout)
    .start()
    .await
    .map_err(|e| format!("cannot start: {e}"))?;
    println!(
        "ari-relay: node {} (epoch {}) at {} for apps {} on {} (prefix {}), pid {}",
        o.node,
        relay.epoch(),
        o.url,
        o.apps.join(","),
        o.nats,
        o.prefix,
        std::process::id()
    );
    let mut changes = relay.client().state_changes();
    let printer = tokio::spawn({
        let node = o.node.clone();
        async move {
            while let Some(state) = changes.next().await {
                match state {
                    ConnectionState::Disconnected { reason } => {
                        println!("ari-relay: node {node}: ARI connection lost: {reason}")
                    }
                    ConnectionState::Connected => {
                        println!("ari-relay: node {node}: ARI connection open")
                    }
                    _ => {}
                }
            }
        }
    });
    let stats = (o.stats_every > 0).then(|| {
        let relay = relay.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(o.stats_every));
            tick.tick().await;
            loop {
                tick.tick().await;
                println!("ari-relay: {:?}", relay.stats());
            }
        })
    });
    let stop = relay.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        println!("ari-relay: stopping");
        stop.shutdown();
        // a relay that cannot finish (NATS gone) still exits
        tokio::time::sleep(Duration::from_secs(5)).await;
        println!("ari-relay: not stopped within 5 s; exiting");
        std::process::exit(1);
    });
    let ended = relay.wait().await;
    printer.abort();
    if let Some(stats) = stats {
        stats.abort();
    }
    println!("ari-relay: {:?}", relay.stats());
    ended.map_err(|e| e.to_string())
}
