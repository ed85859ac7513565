//! Generates ari-client's Rust API from Asterisk's ARI Swagger files.
//!
//! The pipeline has clear stages:
//!
//! 1. [`spec`]: serde structs for exactly the Swagger 1.1/1.2 dialect Asterisk writes,
//!    tolerant of its quirks;
//! 2. [`fixups`]: named corrections of known upstream spec bugs, each of which fails
//!    when it no longer applies (in strict mode), so an upstream fix is noticed;
//! 3. [`ir`]: validation (duplicate names, unknown types, path templates against path
//!    parameters) and an intermediate representation with every name and type resolved
//!    across all files;
//! 4. `emit`: `quote!` tokens, then `syn::parse2` + `prettyplease::unparse`.
//!
//! The output is deterministic: regenerating an unchanged spec changes no byte.
//!
//! ```no_run
//! let out = ari_codegen::generate(std::path::Path::new("swagger-specs")).unwrap();
//! println!("{} operations", out.counts.operations);
//! ```

#![deny(missing_docs)]

mod docs;
mod emit;
pub mod fixups;
pub mod ir;
pub mod names;
pub mod spec;

use std::fmt;
use std::path::Path;

/// An error of the generator. Its `Display` names the file and the JSON path of the
/// offending item (`channels.json#/apis/3/operations/0: …`).
#[derive(Debug)]
pub struct Error {
    file: String,
    pointer: String,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    pub(crate) fn new(
        file: impl Into<String>,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            pointer: pointer.into(),
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The spec file the error is about (`channels.json`), or the spec folder.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The JSON pointer inside [`file`](Self::file) (`/apis/3/operations/0`), possibly empty.
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}#{}: {}", self.file, self.pointer, self.message)
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// How to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Fail when a fixup no longer applies (the default). When false, such fixups are
    /// skipped and listed in [`Generated::skipped_fixups`]: useful for specs of other
    /// Asterisk versions.
    pub strict_fixups: bool,
    /// Format the output with prettyplease (the default). When false the sources are
    /// the raw token streams: faster, still valid Rust, but one long line per item.
    pub pretty: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            strict_fixups: true,
            pretty: true,
        }
    }
}

/// Counts of what was generated, for coverage checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Operations in the IR (all of the spec's operations).
    pub operations: usize,
    /// Operations that got a repository method (all but [`ir::EXCLUDED_OPERATIONS`]).
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
}

/// The generated sources, one per ari-client module.
#[derive(Debug, Clone)]
pub struct Generated {
    /// `models`: one struct per model, one enum per allowable-values list.
    pub models: String,
    /// `events`: one struct per event type, the `Event` enum and its `EventType` impls.
    pub events: String,
    /// `api`: one repository module per resource with one builder per operation.
    pub api: String,
    /// Methods on the hand-written domain objects (`crate::objects::Channel`, …).
    pub objects: String,
    /// What was generated.
    pub counts: Counts,
    /// The fixups that were applied, by name.
    pub applied_fixups: Vec<&'static str>,
    /// Fixups that no longer apply (only without [`Options::strict_fixups`]), with why.
    pub skipped_fixups: Vec<(&'static str, String)>,
    /// The spec files that were read, for `cargo:rerun-if-changed`.
    pub inputs: Vec<std::path::PathBuf>,
}

impl Generated {
    /// All sources in one text, with a header per module (for golden snapshots).
    pub fn combined(&self) -> String {
        let mut out = String::new();
        for (name, text) in [
            ("models", &self.models),
            ("events", &self.events),
            ("api", &self.api),
            ("objects", &self.objects),
        ] {
            out.push_str(&format!("// ===== {name}.rs =====\n"));
            out.push_str(text);
            out.push('\n');
        }
        out
    }
}

/// Generates the sources from the spec folder (`resources.json` and the API declarations)
/// with the default [`Options`].
pub fn generate(spec_dir: &Path) -> Result<Generated, Error> {
    generate_with(spec_dir, &Options::default())
}

/// Generates the sources with explicit [`Options`].
pub fn generate_with(spec_dir: &Path, options: &Options) -> Result<Generated, Error> {
    let mut spec = spec::load(spec_dir)?;
    let inputs = spec.inputs.clone();
    let (applied_fixups, skipped_fixups) = fixups::apply_all(&mut spec, options.strict_fixups)?;
    let api = ir::Api::build(&spec)?;
    let mut out = emit::emit(&api, options.pretty)?;
    out.applied_fixups = applied_fixups;
    out.skipped_fixups = skipped_fixups;
    out.inputs = inputs;
    Ok(out)
}

/// Loads, fixes up and resolves the spec folder into the [`ir`] without emitting code.
pub fn load_ir(spec_dir: &Path, options: &Options) -> Result<ir::Api, Error> {
    let mut spec = spec::load(spec_dir)?;
    fixups::apply_all(&mut spec, options.strict_fixups)?;
    ir::Api::build(&spec)
}
