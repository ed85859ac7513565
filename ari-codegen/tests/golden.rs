//! The generated source, rendered from `../swagger-specs`, must equal the checked-in
//! snapshot `tests/golden/ari_generated.rs`.

use std::path::{Path, PathBuf};
use std::time::Instant;

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../swagger-specs")
}

#[test]
fn golden_snapshot_is_current() {
    let generated = ari_codegen::generate(&spec_dir()).expect("the bundled specs generate");
    let text = generated.combined();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/ari_generated.rs");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != text {
        let line = expected
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(text.lines().count()))
            + 1;
        panic!(
            "{} is stale (first difference at line {line}); \
             regenerate it with `UPDATE_GOLDEN=1 cargo test -p ari-codegen --test golden` and review the diff",
            path.display()
        );
    }
}

#[test]
fn output_is_deterministic() {
    let a = ari_codegen::generate(&spec_dir()).unwrap();
    let b = ari_codegen::generate(&spec_dir()).unwrap();
    assert_eq!(a.combined(), b.combined());
}

#[test]
fn generation_is_fast() {
    // build scripts run unoptimized in the dev profile, like this test
    let start = Instant::now();
    let g = ari_codegen::generate(&spec_dir()).unwrap();
    let pretty = start.elapsed();
    let start = Instant::now();
    ari_codegen::generate_with(
        &spec_dir(),
        &ari_codegen::Options {
            pretty: false,
            ..Default::default()
        },
    )
    .unwrap();
    let raw = start.elapsed();
    let lines = g.combined().lines().count();
    eprintln!("generate(): {pretty:?} with prettyplease, {raw:?} without; {lines} lines");
    assert!(pretty.as_secs() < 20, "codegen took {pretty:?}");
}
