//! The append-only, hash-chained audit log: one JSON object per line,
//! `{"seq", "time", "event", "prev", "hash"}`, where
//! `hash = sha256(prev ‖ canonical JSON of {seq, time, event})` and `prev` is the previous
//! line's hash (zero for the first). Editing, removing or reordering any line breaks the
//! chain at that line; [`verify`] reports where. Each line is written and `fsync`ed before
//! the signature it records is returned, so a signature is never handed out unlogged.
//!
//! A crash mid-write leaves at most one partial last line; [`AuditLog::open`] cuts it off
//! (it recorded nothing that was returned) and refuses a log broken anywhere else.

use std::{
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

use alloy_primitives::B256;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// 0, 1, 2, ... with no gaps.
    pub seq: u64,
    /// Unix seconds.
    pub time: u64,
    /// What happened (`{"kind": "signed" | "denied" | "held" | ..., ...}`).
    pub event: Value,
    /// The previous entry's hash; zero for the first.
    pub prev: B256,
    /// This entry's hash.
    pub hash: B256,
}

/// The hash of an entry with these fields.
pub fn entry_hash(prev: &B256, seq: u64, time: u64, event: &Value) -> B256 {
    #[derive(Serialize)]
    struct Body<'a> {
        seq: u64,
        time: u64,
        event: &'a Value,
    }
    // `Value` objects serialise with sorted keys, so the encoding is canonical.
    let body = serde_json::to_vec(&Body { seq, time, event }).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(prev.as_slice());
    h.update(&body);
    B256::from_slice(&h.finalize())
}

/// Why a log does not verify.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// I/O.
    #[error("audit log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The chain is broken at this line (1-based).
    #[error("audit log {path}, line {line}: {reason}")]
    Broken {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// What [`verify`] found in an intact log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Entries.
    pub entries: u64,
    /// The last entry's hash (zero when empty): pin it to detect a later truncation.
    pub head: B256,
    /// Whether the file ends in a partial line (a crash mid-write), ignored.
    pub partial_tail: bool,
    /// Bytes of complete, verified lines.
    pub verified_len: u64,
}

/// Checks every line of the log at `path`.
pub fn verify(path: &Path) -> Result<Verified, AuditError> {
    read(path).map(|(v, _)| v)
}

/// Verifies and returns the entries.
fn read(path: &Path) -> Result<(Verified, Vec<Entry>), AuditError> {
    let io = |source| AuditError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let mut reader = BufReader::new(file);
    let mut entries = Vec::new();
    let mut prev = B256::ZERO;
    let mut line = Vec::new();
    let mut partial_tail = false;
    let mut verified_len = 0u64;
    for n in 1.. {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(io)? == 0 {
            break;
        }
        let broken = |reason: String| AuditError::Broken {
            path: path.to_owned(),
            line: n,
            reason,
        };
        if line.last() != Some(&b'\n') {
            partial_tail = true;
            break;
        }
        let e: Entry = serde_json::from_slice(&line[..line.len() - 1])
            .map_err(|e| broken(format!("not an entry ({e})")))?;
        if e.seq != entries.len() as u64 {
            return Err(broken(format!(
                "sequence {} where {} was expected (a line was removed or moved)",
                e.seq,
                entries.len()
            )));
        }
        if e.prev != prev {
            return Err(broken(
                "prev does not match the previous line's hash".into(),
            ));
        }
        if entry_hash(&e.prev, e.seq, e.time, &e.event) != e.hash {
            return Err(broken("hash does not match the content (edited)".into()));
        }
        prev = e.hash;
        verified_len += line.len() as u64;
        entries.push(e);
    }
    Ok((
        Verified {
            entries: entries.len() as u64,
            head: prev,
            partial_tail,
            verified_len,
        },
        entries,
    ))
}

/// An open log, appended to by the signer.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: File,
    seq: u64,
    head: B256,
}

impl AuditLog {
    /// Opens (or creates) the log at `path`, verifying it; a partial last line left by a
    /// crash is cut off. Returns the log and its entries.
    pub fn open(path: &Path) -> Result<(Self, Vec<Entry>), AuditError> {
        let io = |source| AuditError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        let (verified, entries) = read(path)?;
        if verified.partial_tail {
            tracing::warn!(path = %path.display(), "audit log ends in a partial line (a crash mid-write); cutting it off");
            file.set_len(verified.verified_len).map_err(io)?;
            file.seek(SeekFrom::End(0)).map_err(io)?;
        }
        Ok((
            AuditLog {
                path: path.to_owned(),
                file,
                seq: verified.entries,
                head: verified.head,
            },
            entries,
        ))
    }

    /// Appends `event` at `time` and syncs it to disk.
    pub fn append(&mut self, time: u64, event: Value) -> Result<B256, AuditError> {
        let hash = entry_hash(&self.head, self.seq, time, &event);
        let entry = Entry {
            seq: self.seq,
            time,
            event,
            prev: self.head,
            hash,
        };
        let mut line = serde_json::to_vec(&entry).unwrap_or_default();
        line.push(b'\n');
        let io = |source| AuditError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&line).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.seq += 1;
        self.head = hash;
        Ok(hash)
    }

    /// The last entry's hash.
    pub fn head(&self) -> B256 {
        self.head
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn log_with(n: u64) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let path = dir.path().join("audit.log");
        let (mut log, entries) = AuditLog::open(&path).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(entries.is_empty());
        for i in 0..n {
            log.append(1_000 + i, json!({"kind": "signed", "i": i}))
                .unwrap_or_else(|e| unreachable!("{e}"));
        }
        (dir, path)
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn write(path: &Path, lines: &[String]) {
        std::fs::write(path, lines.join("\n") + "\n").unwrap_or_else(|e| unreachable!("{e}"));
    }

    #[test]
    fn an_intact_log_verifies_and_reopens_where_it_ended() {
        let (_d, path) = log_with(5);
        let v = verify(&path).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(v.entries, 5);
        assert!(!v.partial_tail);
        let (mut log, entries) = AuditLog::open(&path).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(entries.len(), 5);
        assert_eq!(log.head(), v.head);
        log.append(2_000, json!({"kind": "x"}))
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(verify(&path).map(|v| v.entries).ok(), Some(6));
    }

    #[test]
    fn an_edited_line_is_found() {
        let (_d, path) = log_with(4);
        let mut l = lines(&path);
        l[2] = l[2].replace("\"i\":2", "\"i\":7");
        write(&path, &l);
        let err = verify(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("line 3") && err.contains("edited"), "{err}");
        assert!(
            AuditLog::open(&path).is_err(),
            "the signer refuses a broken log"
        );
    }

    #[test]
    fn a_removed_or_moved_line_is_found() {
        let (_d, path) = log_with(4);
        let mut l = lines(&path);
        l.remove(1);
        write(&path, &l);
        let err = verify(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("line 2") && err.contains("removed"), "{err}");

        let (_d, path) = log_with(4);
        let mut l = lines(&path);
        l.swap(1, 2);
        write(&path, &l);
        assert!(verify(&path).is_err());
    }

    #[test]
    fn a_rehashed_forgery_breaks_the_next_link() {
        // Editing a line and recomputing its own hash still breaks the next line's `prev`.
        let (_d, path) = log_with(3);
        let mut l = lines(&path);
        let mut e: Entry = serde_json::from_str(&l[0]).unwrap_or_else(|e| unreachable!("{e}"));
        e.event = json!({"kind": "signed", "i": 99});
        e.hash = entry_hash(&e.prev, e.seq, e.time, &e.event);
        l[0] = serde_json::to_string(&e).unwrap_or_default();
        write(&path, &l);
        let err = verify(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("line 2") && err.contains("prev"), "{err}");
    }

    #[test]
    fn a_partial_last_line_from_a_crash_is_cut_off_on_open() {
        let (_d, path) = log_with(3);
        let mut f = OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| unreachable!("{e}"));
        f.write_all(b"{\"seq\":3,\"ti")
            .unwrap_or_else(|e| unreachable!("{e}"));
        drop(f);
        assert!(verify(&path).is_ok_and(|v| v.partial_tail && v.entries == 3));
        let (mut log, entries) = AuditLog::open(&path).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(entries.len(), 3);
        log.append(5_000, json!({"kind": "after"}))
            .unwrap_or_else(|e| unreachable!("{e}"));
        let v = verify(&path).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!((v.entries, v.partial_tail), (4, false));
    }
}
