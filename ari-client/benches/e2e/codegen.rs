//! Figure 6: the build: codegen time, and the build script's `rerun-if-changed` lines.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::{median, verdict};

pub(crate) fn codegen_bench() {
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../swagger-specs");
    let mut times = Vec::new();
    let mut counts = None;
    for _ in 0..5 {
        let t = Instant::now();
        let generated = ari_codegen::generate(&specs).expect("codegen");
        times.push(t.elapsed().as_secs_f64());
        counts = Some(generated.counts);
    }
    let med = median(times);
    let counts = counts.unwrap();
    println!(
        "6a. codegen (ari_codegen::generate on swagger-specs/: {} operations, {} models, {} events), median of 5: {:.1} ms (target <= 500 ms: {})",
        counts.operations,
        counts.models,
        counts.events,
        med * 1000.0,
        verdict(med <= 0.5)
    );
    // the build script's recorded dependencies: cargo reruns it only when one changes
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let mut outputs = Vec::new();
    for profile in std::fs::read_dir(&target).into_iter().flatten().flatten() {
        let build = profile.path().join("build");
        for dir in std::fs::read_dir(build).into_iter().flatten().flatten() {
            let name = dir.file_name().to_string_lossy().into_owned();
            let output = dir.path().join("output");
            if name.starts_with("ari-client-") && output.is_file() {
                let modified = output.metadata().and_then(|m| m.modified()).ok();
                outputs.push((modified, output));
            }
        }
    }
    outputs.sort();
    let Some((_, newest)) = outputs.last() else {
        println!(
            "6b. build script output: none found under {}",
            target.display()
        );
        return;
    };
    let text = std::fs::read_to_string(newest).unwrap_or_default();
    let reruns: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("cargo:rerun-if-changed="))
        .collect();
    let bad: Vec<&&str> = reruns
        .iter()
        .filter(|p| {
            let p = p.replace('\\', "/");
            p.contains("/src/")
                || p.contains("/examples/")
                || p.ends_with("/src")
                || !p.contains("swagger-specs")
        })
        .collect();
    let all_bad = outputs
        .iter()
        .filter_map(|(_, o)| std::fs::read_to_string(o).ok())
        .flat_map(|t| {
            t.lines()
                .filter_map(|l| l.strip_prefix("cargo:rerun-if-changed=").map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .filter(|p| p.contains("/src/") || p.contains("/examples/") || !p.contains("swagger-specs"))
        .count();
    println!(
        "6b. build script ({}): {} rerun-if-changed lines, all under swagger-specs/, none into src/ or examples/: {} (all {} ari-client build outputs checked: {} bad lines) -> editing user code does not rerun codegen: {}",
        newest.strip_prefix(&target).unwrap_or(newest).display(),
        reruns.len(),
        bad.is_empty(),
        outputs.len(),
        all_bad,
        verdict(bad.is_empty() && all_bad == 0 && !reruns.is_empty())
    );
}
