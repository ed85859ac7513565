//! End-to-end benchmarks of `ari-client` against in-process fake servers, each figure with
//! a baseline measured in the same run. Run with `cargo xtask bench` (or
//! `cargo bench -p ari-client --bench e2e`); see docs/benchmarks.md.
//!
//! Everything runs on 127.0.0.1: one server thread (its own single-threaded runtime) speaks
//! just enough HTTP/1.1 (keep-alive) for `GET /ari/channels/{id}` and `/ari/asterisk/ping`,
//! and accepts the event websocket with `tokio-tungstenite`, then writes pre-encoded
//! websocket frames as fast as the socket takes them, and answers `RESTRequest` frames.
//! With `ARI_URL` set (`http://127.0.0.1:8088`), figures 3 and 4 are also measured against
//! that Asterisk.
//!
//! The client-only peak RSS and the bytes per per-channel subscription are measured in a
//! child process (this binary again, with `ARI_BENCH_CHILD` set) so that the server's
//! pre-encoded frames do not count.
//!
//! Layout: `frames` builds the pre-encoded events, `server` is the fake Asterisk, and one
//! module per figure: `event_path` (1, 2), `instructions` (1c), `rest` (3, over HTTP and over the websocket), `connect` (4), `memory` (5, its
//! child processes), `codegen` (6).

mod codegen;
mod connect;
mod event_path;
mod frames;
mod instructions;
mod memory;
mod nats_relay;
mod rest;
mod server;

use std::sync::Arc;
use std::time::Instant;

use codegen::codegen_bench;
use connect::connect_bench;
use event_path::event_path_bench;
use frames::build_frames;
use instructions::instructions_bench;
use memory::{child, memory_bench};
use rest::{rest_asterisk_bench, rest_bench};
use server::{start_server, Server};

pub(crate) const EVENTS: usize = 100_000;
pub(crate) const PER_CALL: usize = 11;
pub(crate) const REST_CALLS: usize = 2_000;
pub(crate) const REST_CONCURRENCY: usize = 64;
pub(crate) const CONNECT_RUNS: usize = 50;
pub(crate) const SUBSCRIPTIONS: usize = 4_096;
pub(crate) const RUNS: usize = 5;
/// REST round trips are short and this machine is noisy: more alternating runs.
pub(crate) const REST_RUNS: usize = 9;

// ---------------------------------------------------------------- helpers

pub(crate) fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub(crate) fn verdict(ok: bool) -> &'static str {
    if ok {
        "MET"
    } else {
        "NOT MET"
    }
}

pub(crate) fn fmt_rate(r: f64) -> String {
    let s = format!("{:.0}", r);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whether figure group `figure` (`1`: figures 1 and 2, `1c`, `3`, `4`, `5`, `6`, `7`) runs:
/// all of them, unless `ARI_BENCH_ONLY` lists some (comma-separated), for working on one.
fn wanted(figure: &str) -> bool {
    std::env::var("ARI_BENCH_ONLY").map_or(true, |only| only.split(',').any(|f| f.trim() == figure))
}

// ---------------------------------------------------------------- main

fn main() {
    if let Some(mode) = std::env::var_os("ARI_BENCH_CHILD") {
        let url = std::env::var("ARI_BENCH_URL").expect("ARI_BENCH_URL");
        child(&mode.to_string_lossy(), &url);
        return;
    }
    // `cargo bench` passes `--bench`; a filter argument is not supported, the environment
    // selects figures instead (`ARI_BENCH_ONLY=1c,5`: see `wanted`)
    let t0 = Instant::now();
    let server = Server::default();
    let url = start_server(server.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "ari-client e2e bench: {} cores, tokio multi-thread runtime with 2 workers, fake server on its own thread; medians of {RUNS} runs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let frames32 = Arc::new(build_frames(32));
    println!(
        "   event set: {} events ({} calls x {PER_CALL}), average {} bytes of JSON per event",
        frames32.events,
        frames32.calls,
        frames32.payload / frames32.events
    );
    if wanted("1") {
        rt.block_on(event_path_bench(&url, &server, &frames32));
    }
    if wanted("1c") {
        instructions_bench(&url, &server);
    }
    // and against a real Asterisk, when one is named (`ARI_URL=http://127.0.0.1:8088`)
    let asterisk = std::env::var("ARI_URL").ok();
    if wanted("3") {
        rt.block_on(rest_bench(&url, &server));
        if let Some(asterisk) = &asterisk {
            rt.block_on(rest_asterisk_bench(asterisk));
        }
    }
    if wanted("4") {
        rt.block_on(connect_bench(&url, "the fake"));
        if let Some(asterisk) = &asterisk {
            rt.block_on(connect_bench(asterisk, &format!("Asterisk at {asterisk}")));
        }
    }
    if wanted("5") {
        memory_bench(&url, &server, &frames32);
    }
    if wanted("6") {
        codegen_bench();
    }
    if wanted("7") {
        nats_relay::nats_bench(&url, &server, &frames32);
    }
    println!("total bench time: {:.1} s", t0.elapsed().as_secs_f64());
}
