//! Figure 1c: instructions per event of the client's event path, counted by callgrind
//! (repeatable for the same binary and input, where events/s on this shared VM are not).
//!
//! The client runs in a child process (this binary again, the `events` child of figure 5a)
//! under `valgrind --tool=callgrind`, against the parent's server, twice: with a small and a
//! large set of calls. The difference of the two totals over the difference of the events
//! leaves out what both runs share (start-up, connect, shutdown).

use std::process::Command;
use std::sync::Arc;

use crate::frames::build_calls;
use crate::server::Server;

/// Calls (of 11 events, 32 interleaved) in the two runs.
const SMALL_CALLS: usize = 300;
const LARGE_CALLS: usize = 2_100;

/// The instructions callgrind counted in a client-only child that handled `calls` calls.
fn counted(url: &str, server: &Server, calls: usize) -> Result<(u64, usize), String> {
    let frames = Arc::new(build_calls(32, calls));
    let events = frames.events;
    server.set_job(frames, None);
    let out_file = std::env::temp_dir().join(format!(
        "ari-bench-callgrind-{}-{calls}.out",
        std::process::id()
    ));
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(exe)
        .env("ARI_BENCH_CHILD", "events")
        .env("ARI_BENCH_URL", url)
        .env("ARI_BENCH_CALLS", calls.to_string())
        .output()
        .map_err(|e| format!("cannot run valgrind: {e}"))?;
    let profile = std::fs::read_to_string(&out_file);
    // `ARI_BENCH_KEEP_PROFILE=1` keeps the profiles for `callgrind_annotate`
    if std::env::var_os("ARI_BENCH_KEEP_PROFILE").is_some() {
        println!("   callgrind profile kept: {}", out_file.display());
    } else {
        let _ = std::fs::remove_file(&out_file);
    }
    if !out.status.success() {
        return Err(format!(
            "the callgrind child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let profile = profile.map_err(|e| format!("no callgrind output: {e}"))?;
    let total = profile
        .lines()
        .find_map(|l| l.strip_prefix("summary:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or("no `summary:` line in the callgrind output")?;
    Ok((total, events))
}

pub(crate) fn instructions_bench(url: &str, server: &Server) {
    let measured = counted(url, server, SMALL_CALLS)
        .and_then(|small| counted(url, server, LARGE_CALLS).map(|large| (small, large)));
    match measured {
        Ok(((small, small_events), (large, large_events))) => {
            let per_event =
                large.saturating_sub(small) as f64 / (large_events - small_events) as f64;
            println!(
                "1c. instructions per event, client only (callgrind, {small_events} and {large_events} events in a child process, the difference): {per_event:.0} (totals {small} and {large})"
            );
        }
        Err(why) => println!(
            "1c. instructions per event: NOT MEASURED: {why} (valgrind is `apt-get install valgrind` on Debian)"
        ),
    }
}
