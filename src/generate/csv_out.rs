//! A streaming CSV writer for generated rows (RFC 4180 quoting), so generation at scale never
//! holds a whole dataset in memory. Writing only: input CSV is always read by polars.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct CsvOut {
    name: String,
    path: PathBuf,
    w: BufWriter<File>,
    rows: u64,
}

impl CsvOut {
    /// Create `<dir>/<dataset>.csv` with a header row.
    pub fn create(dir: &Path, dataset: &str, header: &[&str]) -> Result<Self> {
        let name = format!("{dataset}.csv");
        let path = dir.join(&name);
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut out = CsvOut {
            name,
            path,
            w: BufWriter::with_capacity(1 << 20, file),
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
    pub fn finish(mut self) -> Result<(String, u64)> {
        self.w.flush().map_err(|e| Error::io(&self.path, e))?;
        Ok((self.name, self.rows))
    }
}
