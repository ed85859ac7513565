//! `cargo xtask demo`: the hello example answering a scripted call, end to end.
//!
//! 1. Unless `ARI_URL` is set: install the sandbox if needed and start it if it is not running.
//! 2. `cargo build --example hello -p ari-client`, then run `target/debug/examples/hello`
//!    (`ARI_APP=hello`) with its output streamed as `[hello] …`, and wait until
//!    `GET /ari/applications/hello` succeeds (the app is registered).
//! 3. Originate `Local/hello-dtmf@ari-test` into the app: the far side presses 1, 2, 3, #
//!    (1.5 s apart, from 3 s after answer) and hangs up 4 s later. Wait until
//!    `GET /ari/channels/<id>` is 404 (hang the channel up if it is not gone in time).
//! 4. Read the sounds Asterisk played on that channel from the lines `messages.log` got since
//!    the demo began (skipped under `ARI_URL`: the log is not ours to read).
//! 5. Ctrl-C (SIGINT) to the example, SIGKILL after 5 s; stop Asterisk if step 1 started it.
//!
//! The REST calls of steps 2-3 go through `ari-client`, on a tokio runtime of the command's
//! own. The last line is `demo: ok — played …` (exit 0) or `demo: FAILED — …` (exit 1).

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ari_client::{Client, ErrorKind};

use crate::args::Args;
use crate::asterisk::Sandbox;
use crate::error::{Error, Result};
use crate::server::{Caller, Server};

/// The Stasis application the example registers.
const APP: &str = "hello";
/// The scripted caller of `asterisk/conf/extensions.conf`.
const ENDPOINT: &str = "Local/hello-dtmf@ari-test";
/// What the hello example plays for that call, in order.
const EXPECTED_SOUNDS: [&str; 5] = ["hello-world", "digits/1", "digits/2", "digits/3", "goodbye"];
/// How long the example may take to register its app.
const REGISTER_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the call may last (the script itself takes ~13 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Between SIGINT and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long to wait for the expected lines to reach messages.log after the call ended.
const LOG_SETTLE: Duration = Duration::from_secs(2);
/// Timeout of one REST request.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

const CALLER: Caller = Caller {
    name: "demo",
    prefix: "demo",
};

/// Why the demo failed: the text after `demo: FAILED — `.
type Failure = String;

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let args = Args::parse(args, Sandbox::OPTIONS, &[])?;
    if let Some(extra) = args.positional.first() {
        return Err(Error::usage(format!("demo: unexpected argument `{extra}`")));
    }
    let t0 = Instant::now();
    let server = match Server::prepare(&args, CALLER) {
        Ok(server) => server,
        Err(e) => {
            println!("demo: FAILED — {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let outcome = run_demo(&server);
    server.finish();
    eprintln!("demo: total {:.1} s", t0.elapsed().as_secs_f64());
    match outcome {
        Ok(summary) => {
            println!("demo: ok — {summary}");
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            println!("demo: FAILED — {why}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Steps 2-5 (the sandbox is up); `Ok` is the success summary.
fn run_demo(server: &Server) -> Result<String, Failure> {
    let log = server.messages_log();
    let log_start = log.as_deref().map(log_len);

    build_example()?;
    let mut example = Example::spawn(server)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
    let (id, name) = runtime.block_on(call(server, &mut example))?;
    // the example's last lines (it reacts to the final events) before it is stopped
    thread::sleep(Duration::from_millis(500));
    let handled = example
        .lines()
        .iter()
        .filter(|line| line.contains(&id))
        .count();
    example.stop();

    let (Some(log), Some(start)) = (log.as_deref(), log_start) else {
        println!("demo: external Asterisk (ARI_URL): skipping the check of the sounds played (its log is not readable from here)");
        if handled == 0 {
            return Err(format!(
                "the hello example printed nothing about channel {id}"
            ));
        }
        return Ok(format!(
            "call {id} handled by the hello example ({handled} lines); sounds not checked (external Asterisk)"
        ));
    };
    let played = wait_sounds(log, start, &name);
    println!(
        "demo: Asterisk played on {name}: {}",
        if played.is_empty() {
            "nothing".to_string()
        } else {
            played.join(", ")
        }
    );
    if played != EXPECTED_SOUNDS {
        return Err(format!(
            "expected {}, Asterisk played {} (from {})",
            EXPECTED_SOUNDS.join(", "),
            if played.is_empty() {
                "nothing".to_string()
            } else {
                played.join(", ")
            },
            log.display()
        ));
    }
    Ok(format!("played {}", played.join(", ")))
}

/// `cargo build --example hello -p ari-client`, progress on stderr.
fn build_example() -> Result<(), Failure> {
    let t = Instant::now();
    eprintln!("demo: cargo build --example hello -p ari-client");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(crate::workspace_root())
        .args(["build", "--example", "hello", "-p", "ari-client"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`cargo build --example hello -p ari-client` failed ({status})"
        ));
    }
    eprintln!(
        "demo: built the hello example ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `<target>/debug/examples/hello`.
fn example_path() -> PathBuf {
    crate::target_dir().join("debug/examples").join(APP)
}

/// The running hello example: its output is echoed as `[hello] …` and kept.
#[derive(Debug)]
struct Example {
    child: Child,
    /// Every line it printed (stdout and stderr), in arrival order.
    lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
    stopped: bool,
}

impl Example {
    fn spawn(server: &Server) -> Result<Self, Failure> {
        let path = example_path();
        let mut child = Command::new(&path)
            .current_dir(crate::workspace_root())
            .env("ARI_URL", &server.url)
            .env("ARI_USER", &server.user)
            .env("ARI_PASSWORD", &server.password)
            .env("ARI_APP", APP)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", path.display()))?;
        eprintln!(
            "demo: started {} (PID {}, ARI_APP={APP})",
            path.display(),
            child.id()
        );
        let lines = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(echo_lines(stdout, Arc::clone(&lines), false));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(echo_lines(stderr, Arc::clone(&lines), true));
        }
        Ok(Example {
            child,
            lines,
            readers,
            stopped: false,
        })
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// `Some(status)` once it has exited.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGINT (its Ctrl-C handler shuts the client down), SIGKILL after [`STOP_GRACE`].
    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let pid = self.child.id();
        if self.exited().is_none() {
            eprintln!("demo: Ctrl-C (SIGINT) to the hello example (PID {pid})");
            let sent = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            let deadline = Instant::now() + STOP_GRACE;
            while sent && Instant::now() < deadline && self.exited().is_none() {
                thread::sleep(Duration::from_millis(50));
            }
            if self.exited().is_none() {
                eprintln!(
                    "demo: the hello example is still running after {} s: SIGKILL",
                    STOP_GRACE.as_secs()
                );
                let _ = self.child.kill();
            }
        }
        match self.child.wait() {
            Ok(status) => eprintln!("demo: the hello example exited ({status})"),
            Err(e) => eprintln!("warning: waiting for the hello example: {e}"),
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A thread that prints every line of `source` as `[hello] …` and records it.
fn echo_lines(
    source: impl Read + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
    to_stderr: bool,
) -> JoinHandle<()> {
    thread::spawn(move || {
        for line in BufReader::new(source).lines() {
            let Ok(line) = line else { break };
            if to_stderr {
                eprintln!("[{APP}] {line}");
            } else {
                println!("[{APP}] {line}");
            }
            if let Ok(mut all) = lines.lock() {
                all.push(line);
            }
        }
    })
}

/// Steps 2-3 over ARI: waits for the app, places the call and waits until it is gone. `Ok` is
/// the channel's `(id, name)`.
async fn call(server: &Server, example: &mut Example) -> Result<(String, String), Failure> {
    let client = Client::builder(&server.url, &server.user, &server.password)
        .request_timeout(HTTP_TIMEOUT)
        .connect()
        .await
        .map_err(|e| format!("cannot connect to ARI at {}: {e}", server.url))?;
    wait_registered(&client, example).await?;

    let channel = client
        .channels()
        .originate(ENDPOINT)
        .app(APP)
        .await
        .map_err(|e| format!("originating {ENDPOINT} into app `{APP}`: {e}"))?;
    let (id, name) = (channel.id.to_string(), channel.name.to_string());
    println!("demo: call placed: channel {id} ({name}); the far side presses 1 2 3 # and hangs up (~13 s)");
    let call_started = Instant::now();
    wait_call_ended(&client, &id).await?;
    println!(
        "demo: call ended after {:.1} s",
        call_started.elapsed().as_secs_f64()
    );
    Ok((id, name))
}

/// Polls `GET /ari/applications/hello` until it succeeds.
async fn wait_registered(client: &Client, example: &mut Example) -> Result<(), Failure> {
    let t = Instant::now();
    loop {
        if let Some(status) = example.exited() {
            return Err(format!(
                "the hello example exited ({status}) before its app was registered"
            ));
        }
        let error = match client.applications().get(APP).await {
            Ok(_) => {
                eprintln!(
                    "demo: app `{APP}` is registered ({:.1} s after start)",
                    t.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            Err(e) => e,
        };
        if t.elapsed() > REGISTER_TIMEOUT {
            return Err(format!(
                "app `{APP}` not registered after {} s (GET /ari/applications/{APP} never succeeded; last: {error})",
                REGISTER_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `GET /ari/channels/<id>` until 404; hangs the channel up on timeout.
async fn wait_call_ended(client: &Client, id: &str) -> Result<(), Failure> {
    let t = Instant::now();
    loop {
        if let Err(e) = client.channels().get(id).await {
            if e.kind() == ErrorKind::NotFound {
                return Ok(());
            }
        }
        if t.elapsed() > CALL_TIMEOUT {
            let _ = client.channels().hangup(id).await;
            return Err(format!(
                "channel {id} still up after {} s (hung it up)",
                CALL_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The size of the log now (0 when it does not exist yet).
fn log_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The sounds played on channel `name` since byte `start` of the log, waiting up to
/// [`LOG_SETTLE`] for all the expected ones (Asterisk's logger writes asynchronously).
fn wait_sounds(log: &Path, start: u64, name: &str) -> Vec<String> {
    let t = Instant::now();
    loop {
        let played = sounds_played(&read_from(log, start), name);
        if played.len() >= EXPECTED_SOUNDS.len() || t.elapsed() > LOG_SETTLE {
            return played;
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// The log's text from byte `start` (from the beginning if it shrank: rotated).
fn read_from(path: &Path, start: u64) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = if len < start { 0 } else { start };
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_ok() {
        let _ = file.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// From lines like `… file.c: <Local/hello-dtmf@ari-test-00000003;1> Playing 'digits/1.gsm'
/// (language 'en')`: the sounds (without extension) played on channel `name`, in order.
fn sounds_played(log: &str, name: &str) -> Vec<String> {
    let tag = format!("<{name}>");
    log.lines()
        .filter(|line| line.contains(&tag))
        .filter_map(|line| {
            let rest = &line[line.find("Playing '")? + "Playing '".len()..];
            let file = &rest[..rest.find('\'')?];
            let base = file.rfind('/').map_or(0, |i| i + 1);
            Some(match file[base..].rfind('.') {
                Some(dot) if dot > 0 => file[..base + dot].to_string(),
                _ => file.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sounds_of_one_channel() {
        let log = "\
[2026-11-26 14:20:19.044] VERBOSE[1][C-00000001] file.c: <Local/hello-dtmf@ari-test-00000003;1> Playing 'hello-world.gsm' (language 'en')
[2026-11-26 14:20:19.044] VERBOSE[1][C-00000001] file.c: <Local/hello-dtmf@ari-test-00000003;2> Playing 'tt-monkeys.gsm' (language 'en')
[2026-11-26 14:20:19.044] VERBOSE[1][C-00000001] file.c: <Local/hello-dtmf@ari-test-00000004;1> Playing 'beep.gsm' (language 'en')
[2026-11-26 14:20:21.044] VERBOSE[1][C-00000001] file.c: <Local/hello-dtmf@ari-test-00000003;1> Playing 'digits/1.gsm' (language 'en')
[2026-11-26 14:20:21.044] NOTICE[1] something else
[2026-11-26 14:20:29.044] VERBOSE[1][C-00000001] file.c: <Local/hello-dtmf@ari-test-00000003;1> Playing 'goodbye' (language 'en')
";
        assert_eq!(
            sounds_played(log, "Local/hello-dtmf@ari-test-00000003;1"),
            ["hello-world", "digits/1", "goodbye"]
        );
    }
}
