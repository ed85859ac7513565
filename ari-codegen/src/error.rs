//! [`Error`]: what went wrong, where in which spec file.

use std::fmt;

/// An error of the generator. Its `Display` names the file and the JSON path of the
/// offending item (`channels.json#/apis/3/operations/0: …`) when there is one.
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
        match (self.file.is_empty(), self.pointer.is_empty()) {
            (true, true) => f.write_str(&self.message),
            (true, false) => write!(f, "#{}: {}", self.pointer, self.message),
            (false, true) => write!(f, "{}: {}", self.file, self.message),
            (false, false) => write!(f, "{}#{}: {}", self.file, self.pointer, self.message),
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
