//! The library's error type: every failure a user can meet, with the context needed to act on
//! it (file, dataset, column) and a hint. `anyhow` is used only at the binary edge.

use std::path::PathBuf;

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in opsintel, phrased for the user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file that cannot be read as a whole (encoding, format, missing column, empty).
    #[error("{}: {message}", path.display())]
    Input {
        path: PathBuf,
        message: String,
        hint: Option<String>,
    },

    /// `--strict` ingest with rejected rows: nothing was written.
    #[error("{}: {rejected} of {read} rows rejected; --strict: nothing was written\n{first}", path.display())]
    Strict {
        path: PathBuf,
        read: u64,
        rejected: u64,
        first: String,
    },

    /// Another process holds the lake's write lock.
    #[error("the lake at {} is locked by another ingest{}", lake.display(), holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Locked {
        lake: PathBuf,
        holder: Option<String>,
    },

    /// The lake's own files are unreadable or inconsistent.
    #[error("lake at {}: {message}", lake.display())]
    Lake { lake: PathBuf, message: String },

    /// A command-line value that does not make sense.
    #[error("{0}")]
    Usage(String),

    /// An operating-system I/O failure on a named path.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A failure inside polars (reading or writing Parquet, a computation).
    #[error("{context}: {source}")]
    Polars {
        context: String,
        source: polars::error::PolarsError,
    },
}

impl Error {
    /// A suggestion of what to do, printed under the error.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Input { hint, .. } => hint.clone(),
            Error::Strict { .. } => {
                Some("fix the rows listed (or drop --strict to ingest the good rows and quarantine the rest)".into())
            }
            Error::Locked { .. } => Some(
                "wait for the other ingest to finish; if none is running, the lock is released automatically when its process ends".into(),
            ),
            Error::Lake { .. } => Some("run `opsintel lake check` for details".into()),
            _ => None,
        }
    }

    /// Exit code for the binary: 2 for usage and input problems, 3 for a locked lake, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Input { .. } | Error::Strict { .. } => 2,
            Error::Locked { .. } => 3,
            _ => 1,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn input(path: impl Into<PathBuf>, message: impl Into<String>, hint: Option<&str>) -> Self {
        Error::Input {
            path: path.into(),
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }

    pub fn polars(context: impl Into<String>) -> impl FnOnce(polars::error::PolarsError) -> Self {
        let context = context.into();
        move |source| Error::Polars { context, source }
    }
}
