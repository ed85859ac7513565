//! Golden files: the generated sources, one file per generated module, must equal the
//! checked-in snapshots under `tests/golden/<case>/`. The cases are the bundled specs
//! (`asterisk`) and the small spec sets of `tests/specs/` for the tricky shapes: body
//! parameters, multi-value query parameters, keywords, odd enum values, the excluded
//! operation (`shapes`), and a made-up domain object kind with events, an end rule, a
//! creator and methods (`widgets`).
//!
//! `UPDATE_GOLDEN=1 cargo test -p ari-codegen --test golden` rewrites them; review the diff.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ari_codegen::{Generated, ObjectSpec, Options};

fn here() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bundled() -> PathBuf {
    here().join("../swagger-specs")
}

/// The fixture specs have none of Asterisk's bugs: no fixup applies.
fn fixture_options() -> Options {
    Options::default().strict_fixups(false)
}

fn widget_objects() -> Vec<ObjectSpec> {
    vec![
        ObjectSpec::new("Widget", "Widget", "widgets", "/widgets/{widgetId}")
            .id("widgetId", "id")
            .doc("A widget: the fixture's object kind.")
            .named_by(&["widget", "by"])
            .ended_by(&["WidgetDestroyed"])
            .created_by("widgets", "create", "widgetId")
            .created_by("widgets", "createWithId", "widgetId"),
    ]
}

fn generate(case: &str) -> Generated {
    match case {
        "asterisk" => ari_codegen::generate(&bundled()),
        "shapes" => ari_codegen::generate_with(
            &here().join("tests/specs/shapes"),
            &fixture_options().objects(Vec::new()),
        ),
        "widgets" => ari_codegen::generate_with(
            &here().join("tests/specs/widgets"),
            &fixture_options().objects(widget_objects()),
        ),
        other => panic!("no case {other}"),
    }
    .unwrap_or_else(|e| panic!("case {case}: {e}"))
}

/// Compares (or with `UPDATE_GOLDEN`, rewrites) every file of one case, and finds golden
/// files the generator no longer writes.
fn check(case: &str) {
    let generated = generate(case);
    let dir = here().join("tests/golden").join(case);
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut stale = Vec::new();
    for (path, text) in &generated.files {
        let golden = dir.join(path);
        if update {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, text).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        if expected != *text {
            let line = expected
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| expected.lines().count().min(text.lines().count()))
                + 1;
            stale.push(format!(
                "{} (first difference at line {line})",
                golden.display()
            ));
        }
    }
    let mut extra = Vec::new();
    for sub in ["", "api"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                continue;
            }
            let rel = path
                .strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if !generated.files.iter().any(|(p, _)| *p == rel) {
                if update {
                    std::fs::remove_file(&path).unwrap();
                } else {
                    extra.push(rel);
                }
            }
        }
    }
    assert!(
        stale.is_empty() && extra.is_empty(),
        "stale golden files: {stale:?}; golden files no longer generated: {extra:?}; \
         regenerate with `UPDATE_GOLDEN=1 cargo test -p ari-codegen --test golden` and review the diff"
    );
}

#[test]
fn asterisk_golden_files_are_current() {
    check("asterisk");
}

#[test]
fn shapes_golden_files_are_current() {
    check("shapes");
}

#[test]
fn widgets_golden_files_are_current() {
    check("widgets");
}

/// The made-up kind gets its wrapper, its routing, its end rule, its creators and its
/// methods from the one table entry.
#[test]
fn a_new_object_kind_is_generated_from_its_table_entry() {
    let g = generate("widgets");
    let events = g.file("events.rs").unwrap();
    let objects = g.file("objects.rs").unwrap();
    let api = g.file("api/widgets.rs").unwrap();
    for (text, what) in [
        (events, "pub enum ObjectKind {"),
        (events, "Widget,"),
        (events, "(\"widget\", ObjectKind::Widget, &[\"id\"])"),
        (events, "(\"by\", ObjectKind::Widget, &[\"id\"])"),
        (
            events,
            "matches!((self, kind), (EventKind::WidgetDestroyed, ObjectKind::Widget))",
        ),
        (
            events,
            "pub widget: ::std::sync::Arc<crate::models::Widget>",
        ),
        (events, "pub fn widget(\n"),
        (events, "pub(crate) fn find_widget("),
        (objects, "pub struct Widget {"),
        (objects, "impl crate::objects::EventObject for Widget {"),
        (objects, "pub fn on_widget_event<E, F, Fut>"),
        (objects, "pub struct PendingWidget {"),
        (objects, "pub fn pending_widget(&self) -> PendingWidget"),
        (api, "impl crate::objects::Widget {"),
        (api, "pub fn poke(&self, times: i32) -> WidgetPoke"),
        (api, "pub fn destroy(&self) -> WidgetDestroy"),
    ] {
        assert!(text.contains(what), "`{what}` not generated");
    }
    // `…WithId` on the object's own path creates another object: not a method
    let methods = &api[api.find("impl crate::objects::Widget {").unwrap()..];
    assert!(!methods.contains("pub fn create_with_id"));
    assert_eq!(g.counts.object_kinds, 1);
    assert_eq!(g.counts.object_methods, 3, "get, destroy, poke");
    // without the table entry there is no such kind
    let plain = ari_codegen::generate_with(
        &here().join("tests/specs/widgets"),
        &fixture_options().objects(Vec::new()),
    )
    .unwrap();
    assert!(!plain
        .file("events.rs")
        .unwrap()
        .contains("ObjectKind::Widget"));
    assert!(!plain
        .file("objects.rs")
        .unwrap()
        .contains("pub struct Widget"));
}

#[test]
fn a_table_entry_that_does_not_fit_the_spec_is_an_error() {
    let bad = [
        (
            ObjectSpec::new("Widget", "Gadget", "widgets", "/widgets/{widgetId}"),
            "model `Gadget` is not in the spec",
        ),
        (
            ObjectSpec::new("Widget", "Widget", "widgets", "/widgets/{widgetId}")
                .id("widgetId", "colour"),
            "needs a required string field `colour`",
        ),
        (
            ObjectSpec::new("Widget", "Widget", "widgets", "/widgets/{widgetId}")
                .id("widgetId", "id")
                .named_by(&["gizmo"]),
            "no event has a field `gizmo` of type `Widget`",
        ),
        (
            ObjectSpec::new("Widget", "Widget", "widgets", "/widgets/{widgetId}")
                .id("widgetId", "id")
                .named_by(&["widget"])
                .ended_by(&["WidgetExploded"]),
            "event type `WidgetExploded` is not in the spec",
        ),
        (
            ObjectSpec::new("Widget", "Widget", "widgets", "/widgets/{widgetId}")
                .id("widgetId", "id")
                .named_by(&["widget"])
                .created_by("widgets", "poke", "times"),
            "creator widgets.poke has no string parameter `times`",
        ),
        (
            ObjectSpec::new("Widget", "Widget", "widgets", "/widgets/{widgetId}")
                .id("widgetId", "id")
                .named_by(&["widget"])
                .end_needs_subscription(),
            "the end needs a subscription, but no event source is given",
        ),
        (
            ObjectSpec::new("Widget", "Widget", "widgets", "/widgets/{widgetId}")
                .id("widgetId", "id")
                .subscribed_by("widgets", "subscribe", "source"),
            "widgets.subscribe is not in the spec",
        ),
        (
            ObjectSpec::new("Widget", "Widget", "widgets", "/widgets/{widgetId}")
                .id("widgetId", "id")
                .subscribed_by("widgets", "poke", "times"),
            "widgets.poke has no string query parameter `times`",
        ),
    ];
    for (spec, message) in bad {
        let e = ari_codegen::generate_with(
            &here().join("tests/specs/widgets"),
            &fixture_options().objects(vec![spec]),
        )
        .expect_err("must fail");
        assert!(e.to_string().contains(message), "{e}");
    }
}

#[test]
fn output_is_deterministic() {
    let a = generate("asterisk");
    let b = generate("asterisk");
    assert_eq!(a.files, b.files);
}

#[test]
fn generation_is_fast() {
    // build scripts run unoptimized in the dev profile, like this test
    let start = Instant::now();
    let g = generate("asterisk");
    let pretty = start.elapsed();
    let start = Instant::now();
    ari_codegen::generate_with(&bundled(), &Options::default().pretty(false)).unwrap();
    let raw = start.elapsed();
    let lines: usize = g.files.iter().map(|(_, t)| t.lines().count()).sum();
    eprintln!("generate(): {pretty:?} with prettyplease, {raw:?} without; {lines} lines");
    assert!(pretty.as_secs() < 20, "codegen took {pretty:?}");
}
