//! Generates ari-client's Rust API from Asterisk's ARI Swagger files.
//!
//! The pipeline has clear stages, one module each (all private; this page is the API):
//!
//! 1. [`spec`]: serde structs for exactly the Swagger 1.1/1.2 dialect Asterisk writes,
//!    tolerant of its quirks;
//! 2. `fixups`: named corrections of known upstream spec bugs, each of which fails when it
//!    no longer applies (in strict mode), so an upstream fix is noticed; and the named
//!    special cases of the spec that are not bugs, checked the same way;
//! 3. `ir`: validation (duplicate names, unknown types, path templates against path
//!    parameters) and an intermediate representation with every name and type resolved
//!    across all files, plus the one table of domain objects ([`ObjectSpec`]) checked
//!    against the spec;
//! 4. `emit`: `quote!` tokens, then `syn::parse2` + `prettyplease::unparse`, one source
//!    file per generated module.
//!
//! The output is deterministic: regenerating an unchanged spec changes no byte.
//!
//! ```no_run
//! let out = ari_codegen::generate(std::path::Path::new("swagger-specs")).unwrap();
//! println!("{} operations in {} files", out.counts.operations, out.files.len());
//! ```

#![deny(missing_docs)]

mod docs;
mod emit;
mod error;
mod fixups;
mod ir;
mod names;
pub mod spec;

use std::path::Path;

pub use error::Error;
pub use ir::{EventRules, ObjectSpec};

/// Internals for this crate's own tests: not part of the API, may change at any time.
#[doc(hidden)]
pub mod internals {
    /// The IR.
    pub mod ir {
        pub use crate::ir::domain::*;
        pub use crate::ir::*;
    }
    /// Identifier conversion.
    pub mod names {
        pub use crate::names::*;
    }
    pub use crate::fixups::{special_cases, FIXUPS};

    /// Loads, fixes up and resolves a spec folder into the IR without emitting code.
    pub fn load_ir(
        spec_dir: &std::path::Path,
        options: &crate::Options,
    ) -> Result<crate::ir::Api, crate::Error> {
        crate::resolve(spec_dir, options).map(|(api, _, _)| api)
    }
}

/// How to generate. Start from [`Options::default`] and change what you need.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    strict_fixups: bool,
    pretty: bool,
    objects: Vec<ObjectSpec>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            strict_fixups: true,
            pretty: true,
            objects: ir::domain::asterisk(),
        }
    }
}

impl Options {
    /// Fail when a fixup or special case no longer applies (the default). When false, such
    /// fixups are skipped and listed in [`Generated::skipped_fixups`]: useful for specs of
    /// other Asterisk versions.
    pub fn strict_fixups(mut self, strict: bool) -> Self {
        self.strict_fixups = strict;
        self
    }

    /// Format the output with prettyplease (the default). When false the sources are the
    /// raw token streams: faster, still valid Rust, but one long line per item.
    pub fn pretty(mut self, pretty: bool) -> Self {
        self.pretty = pretty;
        self
    }

    /// The domain objects to generate (default: Asterisk's, [`Options::asterisk_objects`]).
    pub fn objects(mut self, objects: Vec<ObjectSpec>) -> Self {
        self.objects = objects;
        self
    }

    /// The domain objects of Asterisk's ARI: channels, bridges, playbacks, live and stored
    /// recordings, endpoints, device states, mailboxes, sounds and applications.
    pub fn asterisk_objects() -> Vec<ObjectSpec> {
        ir::domain::asterisk()
    }
}

/// Counts of what was generated, for coverage checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Operations in the IR (all of the spec's operations).
    pub operations: usize,
    /// Operations that got a repository method (all but the events websocket, which the
    /// runtime opens itself).
    pub methods: usize,
    /// Models in the IR (all of the spec's models, including the event types).
    pub models: usize,
    /// Event types (sub-types of `Event`).
    pub events: usize,
    /// Generated string enums.
    pub enums: usize,
    /// Values of all generated string enums.
    pub enum_values: usize,
    /// Domain-object methods.
    pub object_methods: usize,
    /// Kinds of domain objects.
    pub object_kinds: usize,
}

/// The generated sources, one file per generated module.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Generated {
    /// `(path, source)` in a fixed order, paths relative to the output folder with `/`:
    /// `models.rs` (one struct per model, one enum per allowable-values list), `events.rs`
    /// (one struct per event type, the `Event` and `EventKind` enums, `ObjectKind` and the
    /// routing table), `objects.rs` (the domain objects), `cluster.rs` (a cluster's handlers
    /// of each kind of object), `api/mod.rs` (the repositories'
    /// module list and the client's accessors) and `api/<resource>.rs` (one repository with
    /// one builder per operation, and the methods of the resource's domain objects).
    pub files: Vec<(String, String)>,
    /// What was generated.
    pub counts: Counts,
    /// The fixups that were applied, by name.
    pub applied_fixups: Vec<&'static str>,
    /// Fixups and special cases that no longer apply (only without strict fixups), with why.
    pub skipped_fixups: Vec<(&'static str, String)>,
    /// The spec files that were read, for `cargo:rerun-if-changed`.
    pub inputs: Vec<std::path::PathBuf>,
}

impl Generated {
    /// The source of the file at `path` (`"models.rs"`, `"api/channels.rs"`).
    pub fn file(&self, path: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, text)| text.as_str())
    }
}

/// Generates the sources from the spec folder (`resources.json` and the API declarations)
/// with the default [`Options`].
pub fn generate(spec_dir: &Path) -> Result<Generated, Error> {
    generate_with(spec_dir, &Options::default())
}

/// Generates the sources with explicit [`Options`].
pub fn generate_with(spec_dir: &Path, options: &Options) -> Result<Generated, Error> {
    let (api, (applied_fixups, skipped_fixups), inputs) = resolve(spec_dir, options)?;
    Ok(Generated {
        files: emit::emit(&api, options.pretty)?,
        counts: api.counts(),
        applied_fixups,
        skipped_fixups,
        inputs,
    })
}

/// Stages 1-3: the IR, the fixup report and the files read.
fn resolve(
    spec_dir: &Path,
    options: &Options,
) -> Result<(ir::Api, fixups::FixupReport, Vec<std::path::PathBuf>), Error> {
    let mut spec = spec::load(spec_dir)?;
    let report = fixups::apply_all(&mut spec, options.strict_fixups)?;
    let api = ir::Api::build(&spec, &options.objects)?;
    Ok((api, report, spec.inputs))
}
