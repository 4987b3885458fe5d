//! Process-level locking of a lake: one writer at a time (exclusive, fails fast with the
//! holder's pid), readers shared. Uses the OS file lock, which the kernel releases when the
//! holding process ends, even by `kill -9`, so a crash never leaves a stale lock.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// A held lock; released on drop.
#[derive(Debug)]
pub struct LockGuard {
    file: File,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

/// Take the write lock or fail at once, naming the holder.
pub fn exclusive(path: &Path, lake: &Path) -> Result<LockGuard> {
    let mut file = open(path)?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.set_len(0);
            let _ = file.rewind();
            let _ = write!(file, "pid {}", std::process::id());
            let _ = file.flush();
            Ok(LockGuard { file })
        }
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            Err(Error::Locked {
                lake: lake.to_path_buf(),
                holder: (!holder.is_empty()).then(|| holder.to_string()),
            })
        }
        Err(TryLockError::Error(e)) => Err(Error::io(path, e)),
    }
}

/// Take a shared (reader) lock, waiting for a running writer to finish.
pub fn shared(path: &Path) -> Result<LockGuard> {
    let file = open(path)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(LockGuard { file }),
        Err(TryLockError::WouldBlock) => {
            eprintln!("waiting for the running ingest to finish...");
            file.lock_shared().map_err(|e| Error::io(path, e))?;
            Ok(LockGuard { file })
        }
        Err(TryLockError::Error(e)) => Err(Error::io(path, e)),
    }
}
