//! Shared helpers for the integration tests: a temporary working directory that runs the real
//! `opsintel` binary.
#![allow(dead_code)]

use polars::prelude::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every dataset, in ingest order.
pub const DATASETS: [&str; 9] = [
    "customers",
    "assets",
    "customer_assets",
    "incidents",
    "changes",
    "maintenance",
    "slas",
    "churn",
    "revenue",
];

const BIN: &str = env!("CARGO_BIN_EXE_opsintel");

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary working directory with a lake at `./lake`.
pub struct Work {
    pub dir: tempfile::TempDir,
}

impl Work {
    /// A work directory whose `./lake` holds the bundled sample data.
    pub fn with_sample() -> Self {
        let w = Work::new();
        w.ok(&[
            "--lake",
            "lake",
            "ingest",
            "--dir",
            repo().join("sample-data").to_str().unwrap(),
        ]);
        w
    }

    pub fn new() -> Self {
        Work {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, content).unwrap();
        p
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(self.dir.path())
            .env_remove("OPSINTEL_LAKE")
            .args(args);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run opsintel")
    }

    /// Run and expect success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "opsintel {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run and expect failure; returns (exit code, stderr).
    pub fn fail(&self, args: &[&str]) -> (i32, String) {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            !out.status.success(),
            "opsintel {args:?} should have failed"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            out.stdout.is_empty(),
            "errors must not print results: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        (out.status.code().unwrap_or(-1), stderr)
    }

    pub fn manifest_bytes(&self) -> Option<Vec<u8>> {
        fs::read(self.path("lake/_opsintel/manifest.json")).ok()
    }

    pub fn manifest(&self) -> serde_json::Value {
        serde_json::from_slice(&self.manifest_bytes().expect("manifest")).unwrap()
    }

    pub fn rows(&self, dataset: &str) -> u64 {
        self.manifest()["datasets"][dataset]["rows"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Read a dataset the way another tool would: a glob over the dataset folder.
    pub fn scan(&self, dataset: &str) -> DataFrame {
        let glob = self.path(&format!("lake/{dataset}/**/*.parquet"));
        LazyFrame::scan_parquet(
            PlRefPath::new(glob.to_str().unwrap()),
            ScanArgsParquet::default(),
        )
        .unwrap()
        .collect()
        .unwrap()
    }
}

pub fn csv_rows(path: &Path) -> u64 {
    // The generator writes no multi-line fields, so rows = lines - header.
    fs::read_to_string(path).unwrap().lines().count() as u64 - 1
}

pub fn str_at(df: &DataFrame, column: &str, key_col: &str, key: &str) -> Option<String> {
    let keys = df.column(key_col).unwrap().str().unwrap().clone();
    let idx = keys.iter().position(|k| k == Some(key))?;
    let c = df.column(column).unwrap().cast(&DataType::String).unwrap();
    c.str().unwrap().get(idx).map(str::to_string)
}

pub fn micros_at(df: &DataFrame, column: &str, key_col: &str, key: &str) -> i64 {
    let keys = df.column(key_col).unwrap().str().unwrap().clone();
    let idx = keys
        .iter()
        .position(|k| k == Some(key))
        .expect("key present");
    let c = df.column(column).unwrap().to_physical_repr();
    c.i64().unwrap().get(idx).unwrap()
}
