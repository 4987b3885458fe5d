//! A streaming CSV writer for generated rows (RFC 4180 quoting), so generation at scale never
//! holds a whole dataset in memory. Writing only: input CSV is always read by polars.

use crate::error::{Error, Result};
use flate2::write::GzEncoder;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct CsvOut {
    name: String,
    path: PathBuf,
    w: Sink,
    rows: u64,
}

/// Where rows go: a plain file, or a gzip stream (for data sets larger than the disk allows).
enum Sink {
    Plain(BufWriter<File>),
    Gzip(Box<BufWriter<GzEncoder<File>>>),
}

impl Sink {
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.write_all(b),
            Sink::Gzip(w) => w.write_all(b),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Sink::Plain(mut w) => w.flush(),
            Sink::Gzip(w) => (*w)
                .into_inner()
                .map_err(|e| e.into_error())?
                .finish()
                .and_then(|mut f| f.flush()),
        }
    }
}

impl CsvOut {
    /// Create `<dir>/<dataset>.csv` (`.csv.gz` with `gzip`) with a header row.
    pub fn create(dir: &Path, dataset: &str, header: &[&str], gzip: bool) -> Result<Self> {
        let name = format!("{dataset}.csv{}", if gzip { ".gz" } else { "" });
        let path = dir.join(&name);
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let w = if gzip {
            Sink::Gzip(Box::new(BufWriter::with_capacity(
                1 << 20,
                GzEncoder::new(file, flate2::Compression::fast()),
            )))
        } else {
            Sink::Plain(BufWriter::with_capacity(1 << 20, file))
        };
        let mut out = CsvOut {
            name,
            path,
            w,
            rows: 0,
        };
        out.line(header)?;
        out.rows = 0;
        Ok(out)
    }

    pub fn row(&mut self, fields: &[&str]) -> Result<()> {
        self.line(fields)
    }

    fn line(&mut self, fields: &[&str]) -> Result<()> {
        let mut s = String::with_capacity(256);
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            if f.contains([',', '"', '\n', '\r']) {
                s.push('"');
                s.push_str(&f.replace('"', "\"\""));
                s.push('"');
            } else {
                s.push_str(f);
            }
        }
        s.push('\n');
        self.rows += 1;
        self.w
            .write_all(s.as_bytes())
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Flush and return (file name, data rows).
    pub fn finish(self) -> Result<(String, u64)> {
        self.w.finish().map_err(|e| Error::io(&self.path, e))?;
        Ok((self.name, self.rows))
    }
}
