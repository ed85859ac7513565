//! Reading a spec set (resources.json + the API declarations it lists) from a folder or from
//! a running Asterisk, with errors that name the file, URL and JSON path.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::jsontext;
use crate::error::{Error, Result};
use crate::http;

/// The `basePath` of Asterisk's installed files; a running Asterisk rewrites it to the
/// request's host, and regen sets it back so the files do not depend on where they came from.
pub(crate) const CANONICAL_BASE_PATH: &str = "http://localhost:8088/ari";

/// The resource listing's file name.
pub(crate) const LISTING: &str = "resources.json";

/// Where specs are read from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Dir(PathBuf),
    Url {
        base: String,
        user: String,
        password: String,
    },
}

/// One spec file: normalized bytes (canonical `basePath`) and their parsed value.
#[derive(Debug, Clone)]
pub(crate) struct SpecFile {
    /// File name, e.g. `channels.json`.
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) value: Value,
}

impl Source {
    /// `from` is a folder or `http://HOST:PORT[/ari]`.
    pub(crate) fn parse(from: &str, user: &str, password: &str) -> Result<Self> {
        if from.starts_with("https://") {
            return Err(Error::new(format!(
                "--from {from}: https is not supported (xtask is built without TLS); Asterisk's ARI sandbox serves plain http on 127.0.0.1"
            )));
        }
        if let Some(rest) = from.strip_prefix("http://") {
            if rest.is_empty() || rest.starts_with('/') {
                return Err(Error::new(format!("--from {from}: no host in URL")));
            }
            let mut base = from.trim_end_matches('/').to_string();
            if !base.ends_with("/ari") {
                base.push_str("/ari");
            }
            return Ok(Source::Url {
                base,
                user: user.to_string(),
                password: password.to_string(),
            });
        }
        let dir = PathBuf::from(from);
        if !dir.is_dir() {
            return Err(Error::new(format!(
                "--from {from}: no such directory (expected a folder or http://HOST:PORT)"
            )));
        }
        Ok(Source::Dir(dir))
    }

    pub(crate) fn is_url(&self) -> bool {
        matches!(self, Source::Url { .. })
    }

    /// Where file `name` comes from (path or URL), for messages.
    pub(crate) fn location(&self, name: &str) -> String {
        match self {
            Source::Dir(dir) => dir.join(name).display().to_string(),
            Source::Url { base, .. } => format!("{base}/api-docs/{name}"),
        }
    }

    fn read(&self, name: &str) -> Result<Vec<u8>> {
        let location = self.location(name);
        match self {
            Source::Dir(dir) => std::fs::read(dir.join(name))
                .map_err(|e| Error::new(format!("cannot read {location}: {e}"))),
            Source::Url { user, password, .. } => {
                let response = http::get(&location, user, password, Duration::from_secs(10))
                    .map_err(|e| Error::new(format!("cannot GET {location}: {e} (is Asterisk running? try `cargo xtask asterisk status`)")))?;
                match response.status {
                    200 => Ok(response.body),
                    401 => Err(Error::new(format!(
                        "authentication failed (401) for {location}; check --user/--password"
                    ))),
                    status => {
                        let body = String::from_utf8_lossy(&response.body);
                        let body: String = body.chars().take(200).collect();
                        Err(Error::new(format!(
                            "HTTP {status} for {location}: {}",
                            body.trim()
                        )))
                    }
                }
            }
        }
    }

    /// Reads the listing and every declaration it lists, in listing order (listing first).
    pub(crate) fn load(&self) -> Result<Vec<SpecFile>> {
        let listing = self.load_file(LISTING)?;
        let names = declaration_names(&listing.value)
            .map_err(|e| Error::new(format!("{}{e}", self.location(LISTING))))?;
        let mut files = vec![listing];
        for (i, name) in names.into_iter().enumerate() {
            files.push(self.load_file(&name).map_err(|e| {
                Error::new(format!(
                    "{e} (listed in {}#/apis/{i}/path)",
                    self.location(LISTING)
                ))
            })?);
        }
        Ok(files)
    }

    fn load_file(&self, name: &str) -> Result<SpecFile> {
        let raw = self.read(name)?;
        let location = self.location(name);
        let value = parse_json(&raw).map_err(|e| Error::new(format!("{location}: {e}")))?;
        if !value.is_object() {
            return Err(Error::new(format!(
                "{location}#: expected a JSON object, found {}",
                kind(&value)
            )));
        }
        // undo Asterisk's basePath rewrite; keep every other byte
        let bytes = match value.get("basePath") {
            Some(Value::String(s)) if s != CANONICAL_BASE_PATH => {
                jsontext::replace_base_path(&raw, CANONICAL_BASE_PATH).ok_or_else(|| {
                    Error::new(format!(
                        "{location}#/basePath: cannot locate the string in the text"
                    ))
                })?
            }
            Some(Value::String(_)) | None => raw,
            Some(other) => {
                return Err(Error::new(format!(
                    "{location}#/basePath: expected a string, found {}",
                    kind(other)
                )))
            }
        };
        // Asterisk serves compact JSON; lay it out like its installed files
        let bytes = if self.is_url() {
            jsontext::pretty_tabs(&bytes)
        } else {
            bytes
        };
        let value = parse_json(&bytes)
            .map_err(|e| Error::new(format!("{location}: after normalizing: {e}")))?;
        Ok(SpecFile {
            name: name.to_string(),
            bytes,
            value,
        })
    }
}

/// Parses JSON, describing errors with line and column.
pub(crate) fn parse_json(bytes: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))
}

/// The declaration file names a resource listing points to (`/api-docs/x.{format}` → `x.json`).
/// Errors start with `#/json/pointer`.
pub(crate) fn declaration_names(listing: &Value) -> Result<Vec<String>, String> {
    let not_listing = "not a Swagger resource listing";
    match listing.get("swaggerVersion") {
        Some(Value::String(_)) => {}
        Some(other) => {
            return Err(format!(
                "#/swaggerVersion: expected a string, found {} ({not_listing})",
                kind(other)
            ))
        }
        None => return Err(format!("#/swaggerVersion: missing ({not_listing})")),
    }
    let apis = match listing.get("apis") {
        Some(Value::Array(apis)) => apis,
        Some(other) => {
            return Err(format!(
                "#/apis: expected an array, found {} ({not_listing})",
                kind(other)
            ))
        }
        None => return Err(format!("#/apis: missing array ({not_listing})")),
    };
    let mut names = Vec::new();
    for (i, api) in apis.iter().enumerate() {
        let path = api
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("#/apis/{i}/path: missing string"))?;
        let stem = path
            .strip_prefix("/api-docs/")
            .and_then(|p| p.strip_suffix(".{format}"))
            .filter(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
            .ok_or_else(|| {
                format!("#/apis/{i}/path: expected \"/api-docs/<name>.{{format}}\", found {path:?}")
            })?;
        let name = format!("{stem}.json");
        if name == LISTING || names.contains(&name) {
            return Err(format!(
                "#/apis/{i}/path: {path:?} is listed twice or names the listing itself"
            ));
        }
        names.push(name);
    }
    Ok(names)
}

/// A JSON value's kind, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The `*.json` files directly in `dir` (sorted), as `(name, bytes)`. Missing folder: empty.
pub(crate) fn json_files_in(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::new(format!("cannot list {}: {e}", dir.display()))),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::new(format!("cannot list {}: {e}", dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && entry.path().is_file() {
            let bytes = std::fs::read(entry.path())
                .map_err(|e| Error::new(format!("cannot read {}: {e}", entry.path().display())))?;
            files.push((name, bytes));
        }
    }
    files.sort();
    Ok(files)
}
