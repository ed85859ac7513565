//! The one error type of xtask: a message plus the process exit code it maps to.

use std::fmt;

/// An error that ends the command. `Display` is the whole message shown to the user.
#[derive(Debug)]
pub(crate) struct Error {
    message: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Bad command line: the usage text is printed too. Exit 2.
    Usage,
    /// Bad input, I/O or network failure. Exit 2.
    Failed,
    /// A child process failed with this exit code (propagated).
    Child(u8),
}

impl Error {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            kind: Kind::Usage,
        }
    }

    pub(crate) fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            kind: Kind::Failed,
        }
    }

    /// A child process failed; `code` is its exit status (1 when it died from a signal).
    pub(crate) fn child(message: impl Into<String>, code: Option<i32>) -> Self {
        let code = code
            .and_then(|c| u8::try_from(c).ok())
            .filter(|&c| c != 0)
            .unwrap_or(1);
        Error {
            message: message.into(),
            kind: Kind::Child(code),
        }
    }

    pub(crate) fn is_usage(&self) -> bool {
        self.kind == Kind::Usage
    }

    pub(crate) fn exit_code(&self) -> u8 {
        match self.kind {
            Kind::Usage | Kind::Failed => 2,
            Kind::Child(code) => code,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
