//! Reads a CSV file (plain or gzip-compressed) as a sequence of chunks of whole records, each
//! with the header in front and the line its first record starts on, so ingest validates and
//! stores a file of any size in bounded memory. Record boundaries follow RFC 4180 (a line
//! break inside a quoted field does not end the record). The SHA-256 of the file's bytes (as
//! stored, compressed or not) is computed on the way.

use super::read::{check_nul, check_text, empty_file, line_at, open_input, sniff_separator};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Default chunk size: large enough that polars' parallel CSV reader is efficient, small
/// enough that a chunk's text, its string table and its typed rows stay well under 1 GiB.
pub const DEFAULT_CHUNK_BYTES: usize = 64 << 20;

/// Whether a path names a gzip-compressed file (`.gz`).
pub fn is_gzip(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// The path without a trailing `.gz`, for format detection and dataset names.
pub fn without_gz(path: &Path) -> PathBuf {
    if is_gzip(path) {
        path.with_extension("")
    } else {
        path.to_path_buf()
    }
}

/// A reader that hashes the bytes passing through it into a digest its owner keeps (the
/// reader itself ends up boxed, under a decompressor).
struct Hashing<R> {
    inner: R,
    sha: Arc<Mutex<Sha256>>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.lock().expect("hash lock").update(&buf[..n]);
        Ok(n)
    }
}

/// SHA-256 of a file's bytes, read in blocks.
pub fn sha256_file(path: &Path) -> Result<String> {
    let sha = Arc::new(Mutex::new(Sha256::new()));
    let mut r = Hashing {
        inner: open_input(path)?,
        sha: sha.clone(),
    };
    std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| Error::io(path, e))?;
    let digest = sha.lock().expect("hash lock").clone().finalize();
    Ok(format!("{digest:x}"))
}

/// One chunk: the header record, then whole records.
#[derive(Debug)]
pub struct Chunk {
    /// Header line(s) and records, UTF-8.
    pub text: String,
    /// Line (1-based, in the file) on which the chunk's first record starts.
    pub first_line: u64,
}

/// Scanner state carried across reads: where the last complete record ended.
#[derive(Default)]
struct Scan {
    in_quotes: bool,
    field_start: bool,
    /// Line breaks seen outside and inside quotes since the start of the pending bytes.
    lines: u64,
}

/// Splits a CSV stream into chunks of whole records.
pub struct CsvChunks {
    path: PathBuf,
    reader: Box<dyn Read + Send>,
    /// SHA-256 of the file's bytes as stored, complete once the stream is exhausted.
    sha: Arc<Mutex<Sha256>>,
    header: Vec<u8>,
    pending: Vec<u8>,
    /// Line on which `pending` starts.
    pending_line: u64,
    chunk_bytes: usize,
    eof: bool,
    scan: Scan,
    /// Bytes of `pending` already scanned, and the end of the last complete record in them
    /// (with the line count at that point).
    scanned: usize,
    cut: Option<(usize, u64)>,
    /// The separator sniffed from the header (a quote opens a field only after it).
    sep: Option<u8>,
    /// Whether a chunk was returned yet (a file with a header only gives one empty chunk, so
    /// its header is still checked).
    yielded: bool,
}

impl CsvChunks {
    /// Open `path` (decompressing `.gz`) and read its header record.
    pub fn open(path: &Path, chunk_bytes: usize) -> Result<Self> {
        let sha = Arc::new(Mutex::new(Sha256::new()));
        let hashed = Hashing {
            inner: BufReader::with_capacity(1 << 20, open_input(path)?),
            sha: sha.clone(),
        };
        let reader: Box<dyn Read + Send> = if is_gzip(path) {
            Box::new(flate2::read::MultiGzDecoder::new(hashed))
        } else {
            Box::new(hashed)
        };
        let mut me = CsvChunks {
            path: path.to_path_buf(),
            reader,
            sha,
            header: Vec::new(),
            pending: Vec::new(),
            pending_line: 1,
            chunk_bytes: chunk_bytes.max(1),
            eof: false,
            scan: Scan {
                field_start: true,
                ..Scan::default()
            },
            scanned: 0,
            cut: None,
            sep: None,
            yielded: false,
        };
        me.read_header()?;
        Ok(me)
    }

    /// The file's SHA-256, once every chunk has been read (the decompressor reads the file
    /// to its end before it reports the end of the stream).
    pub fn sha256(&self) -> Option<String> {
        let sha = self
            .eof
            .then(|| self.sha.lock().expect("hash lock").clone())?;
        Some(format!("{:x}", sha.finalize()))
    }

    /// Read until `want` bytes are pending or the stream ends. The bytes go straight into
    /// `pending`'s spare room (no intermediate buffer, no zero-filling).
    fn fill(&mut self, want: usize) -> Result<()> {
        while !self.eof && self.pending.len() < want {
            let room = (want - self.pending.len()).max(1 << 16) as u64;
            let n = (&mut self.reader)
                .take(room)
                .read_to_end(&mut self.pending)
                .map_err(|e| {
                    Error::input(
                        &self.path,
                        format!("cannot be read: {e}"),
                        if is_gzip(&self.path) {
                            Some("the .gz file may be truncated or not gzip")
                        } else {
                            None
                        },
                    )
                })?;
            if n == 0 {
                self.eof = true;
            }
        }
        Ok(())
    }

    /// Scan pending bytes from `self.scanned` on, remembering the end of the last complete
    /// record seen; with a `limit`, stop at the first record end at or past it.
    fn scan(&mut self, limit: Option<usize>) {
        let b = &self.pending;
        let s = &mut self.scan;
        let is_sep = |c: u8| match self.sep {
            Some(sep) => c == sep,
            None => c == b',' || c == b';' || c == b'\t',
        };
        let mut i = self.scanned;
        // Where the line a quote was last found on ends: up to there, byte by byte (trying the
        // jump below again at every byte outside quotes would search the rest of the line
        // once per field of a quoted record).
        let mut bytewise_until = 0;
        while i < b.len() {
            if limit.is_some_and(|l| i >= l) && self.cut.is_some() {
                break;
            }
            if !s.in_quotes && i >= bytewise_until {
                // Most records hold no quote: then the line ends the record. Jump to its end.
                let (line, quoted) = line_at(&b[i..]);
                if quoted {
                    bytewise_until = i + line.len();
                } else {
                    i += line.len();
                    if i < b.len() {
                        // The line break.
                        i += 1;
                        s.lines += 1;
                        s.field_start = true;
                        self.cut = Some((i, s.lines));
                    } else if let Some(&last) = line.last() {
                        s.field_start = is_sep(last);
                    }
                    continue;
                }
            }
            let c = b[i];
            if s.in_quotes {
                if c == b'"' {
                    if i + 1 == b.len() && !self.eof {
                        // A quote at the end of what was read: wait for the next byte.
                        break;
                    }
                    if b.get(i + 1) == Some(&b'"') {
                        i += 1;
                    } else {
                        s.in_quotes = false;
                    }
                } else if c == b'\n' {
                    s.lines += 1;
                }
            } else if c == b'"' && s.field_start {
                s.in_quotes = true;
                s.field_start = false;
            } else if c == b'\n' {
                s.lines += 1;
                s.field_start = true;
                self.cut = Some((i + 1, s.lines));
            } else {
                s.field_start = is_sep(c);
            }
            i += 1;
        }
        self.scanned = i;
    }

    fn read_header(&mut self) -> Result<()> {
        loop {
            self.fill(self.pending.len() + (1 << 16))?;
            if self.pending.len() >= 3 && self.pending.starts_with(b"\xEF\xBB\xBF") {
                self.pending.drain(..3);
                self.scanned = self.scanned.saturating_sub(3);
            }
            self.scan(Some(0));
            if self.cut.is_some() || self.eof {
                break;
            }
        }
        let end = match self.cut.take() {
            Some((end, _)) => end,
            None => self.pending.len(),
        };
        let header: Vec<u8> = self.pending.drain(..end).collect();
        if self.pending.iter().all(u8::is_ascii_whitespace)
            && self.eof
            && header.iter().all(u8::is_ascii_whitespace)
        {
            return Err(empty_file(&self.path));
        }
        check_text(&self.path, &header, 1)?;
        self.pending_line = 1 + self.scan.lines;
        self.scan.lines = 0;
        self.scanned = 0;
        let mut header = header;
        while header.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
            header.pop();
        }
        let text = String::from_utf8_lossy(&header);
        self.sep = Some(sniff_separator(&text));
        self.header = header;
        Ok(())
    }

    /// The next chunk of whole records, or `None` at the end of the file.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        let (end, lines) = loop {
            self.fill(self.chunk_bytes)?;
            self.scan(Some(self.chunk_bytes));
            if let Some(cut) = self.cut.filter(|_| self.scanned >= self.chunk_bytes) {
                break cut;
            }
            if self.eof {
                self.scan(None);
                break (self.pending.len(), self.scan.lines);
            }
            // A record longer than the chunk: read more.
            self.chunk_bytes += self.chunk_bytes.max(1 << 16);
        };
        if end == 0 && self.yielded {
            return Ok(None);
        }
        self.yielded = true;
        let first_line = self.pending_line;
        // The header, a line break and the records, copied once; checked as text once.
        let mut bytes = Vec::with_capacity(self.header.len() + 1 + end);
        bytes.extend_from_slice(&self.header);
        bytes.push(b'\n');
        bytes.extend_from_slice(&self.pending[..end]);
        // The header is valid text, so bad bytes are in the records: located there.
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                check_text(&self.path, &self.pending[..end], first_line)?;
                return Err(Error::input(
                    &self.path,
                    format!("not valid UTF-8: {e}"),
                    None,
                ));
            }
        };
        check_nul(&self.path, &self.pending[..end], first_line)?;
        self.pending.drain(..end);
        self.pending_line += lines;
        self.scan.lines -= lines;
        self.scanned -= end;
        self.cut = None;
        Ok(Some(Chunk { text, first_line }))
    }
}

/// Chunks read ahead by a thread (decompression and record scanning overlap validation), at
/// most `ahead` chunks in flight. The thread ends when the receiver is dropped.
pub struct ReadAhead {
    rx: std::sync::mpsc::Receiver<Result<Chunk>>,
    thread: Option<std::thread::JoinHandle<Option<String>>>,
    sha: Option<String>,
}

impl ReadAhead {
    pub fn new(mut chunks: CsvChunks, ahead: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel(ahead);
        let thread = std::thread::spawn(move || {
            loop {
                match chunks.next_chunk() {
                    Ok(Some(c)) => {
                        if tx.send(Ok(c)).is_err() {
                            return None;
                        }
                    }
                    Ok(None) => return chunks.sha256(),
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return None;
                    }
                }
            }
        });
        ReadAhead {
            rx,
            thread: Some(thread),
            sha: None,
        }
    }

    /// The next chunk, or `None` at the end of the file.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        match self.rx.recv() {
            Ok(c) => c.map(Some),
            Err(_) => {
                if let Some(t) = self.thread.take() {
                    self.sha = t.join().unwrap_or(None);
                }
                Ok(None)
            }
        }
    }

    /// The file's SHA-256, once every chunk has been read.
    pub fn sha256(&self) -> Option<String> {
        self.sha.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn chunks_of(content: &[u8], name: &str, size: usize) -> Result<(Vec<Chunk>, String)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let mut c = CsvChunks::open(&path, size)?;
        let mut out = Vec::new();
        while let Some(ch) = c.next_chunk()? {
            out.push(ch);
        }
        let sha = c.sha256().unwrap();
        assert_eq!(sha, sha256_file(&path).unwrap());
        Ok((out, sha))
    }

    #[test]
    fn chunks_hold_whole_records_and_know_their_lines() {
        // Record 2 spans lines 3-4 (a quoted line break); record 4 has an escaped quote.
        let text = b"\xEF\xBB\xBFid,title\n1,a\n2,\"x\ny\"\n3,b\n4,\"q\"\"z\"\n";
        let (chunks, _) = chunks_of(text, "t.csv", 4).unwrap();
        let bodies: Vec<(&str, u64)> = chunks
            .iter()
            .map(|c| (c.text.as_str(), c.first_line))
            .collect();
        assert_eq!(
            bodies,
            vec![
                ("id,title\n1,a\n", 2),
                ("id,title\n2,\"x\ny\"\n", 3),
                ("id,title\n3,b\n", 5),
                ("id,title\n4,\"q\"\"z\"\n", 6),
            ]
        );
        // One big chunk holds everything.
        let (one, _) = chunks_of(text, "t.csv", 1 << 20).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(
            one[0].text,
            "id,title\n1,a\n2,\"x\ny\"\n3,b\n4,\"q\"\"z\"\n"
        );
    }

    #[test]
    fn every_chunk_size_cuts_only_between_records() {
        // Records end after "1,a\n", the blank line, the quoted line break's record, the
        // record with a quote inside a field (literal: it opens nothing), the quoted separator
        // ending in \r\n, and the last record (no line break).
        let body = "1,a\n\n2,\"x\ny\"\n3,b\"c\n4,\"p,q\"\r\n5,z";
        let ends = [4, 5, 13, 19, 28, body.len()];
        for size in 1..=body.len() + 1 {
            let (chunks, _) = chunks_of(format!("id,t\n{body}").as_bytes(), "t.csv", size).unwrap();
            let (mut at, mut line) = (0, 2);
            for c in &chunks {
                let part = c.text.strip_prefix("id,t\n").unwrap();
                assert_eq!(&body[at..at + part.len()], part, "size {size}");
                assert_eq!(c.first_line, line, "size {size}");
                at += part.len();
                line += part.matches('\n').count() as u64;
                assert!(ends.contains(&at), "size {size}: cut at {at}");
            }
            assert_eq!(at, body.len(), "size {size}");
        }
    }

    #[test]
    fn gzip_is_read_and_hashed_as_stored() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"id,n\n1,2\n3,4").unwrap();
        let bytes = gz.finish().unwrap();
        let (chunks, sha) = chunks_of(&bytes, "t.csv.gz", 1 << 20).unwrap();
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].text, "id,n\n1,2\n3,4");
        assert_eq!(sha, format!("{:x}", Sha256::digest(&bytes)));
    }

    #[test]
    fn bad_bytes_are_located_in_the_file() {
        let err = chunks_of(b"id,n\n1,a\n2,caf\xE9\n", "t.csv", 4)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3, column 6"), "{err}");
        let err = chunks_of(b"  \n", "t.csv", 4).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
    }
}
