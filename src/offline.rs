//! I/O EDGE: the offline source. A credential report file (CSV, the JSON of
//! `aws iam get-credential-report`, or its bare base64 `Content`) and optionally the JSON of
//! `aws iam get-account-summary`, read at every refresh, so a file that is replaced is picked
//! up and a file that breaks keeps the last good data served.
//!
//! Reading is blocking I/O (and decoding CPU work): the caller runs [`FileSource::fetch`] on
//! the blocking pool, as the live path runs parsing, so a file that blocks (a FIFO whose writer
//! stalls) holds a blocking thread until the refresh's deadline, never an async worker. Every
//! read is bounded by the bytes read, not by the length the file claims: a FIFO, `/dev/stdin`,
//! `/dev/zero` or a `/proc` file all say 0.

use std::path::{Path, PathBuf};

use crate::fetch::{ErrorCode, Facts, FetchError, Fetched, Operation};
use crate::posture::{PolicyState, Summary};
use crate::report::decode_document_owned;

/// The offline files: `--credential-report.file` and, optionally, `--account-summary.file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    pub report: PathBuf,
    pub summary: Option<PathBuf>,
}

/// The offline source: the files, read at every refresh, and the largest report accepted.
#[derive(Debug, Clone)]
pub struct FileSource {
    pub files: Files,
    pub max_bytes: usize,
}

/// Largest summary file read (a real one is about 1 KB).
const MAX_SUMMARY_BYTES: usize = 1 << 20;

impl FileSource {
    /// Reads and decodes the files. Blocking: run it on the blocking pool.
    pub fn fetch(&self) -> Result<Fetched, FetchError> {
        let Files { report, summary } = &self.files;
        let bytes = read_limited(report, self.max_bytes)?;
        let report = decode_document_owned(bytes, self.max_bytes).map_err(|e| {
            FetchError::new(
                Operation::ReadFile,
                ErrorCode::BadReport,
                format!("{}: {e}", report.display()),
            )
        })?;
        let summary = match summary {
            None => None,
            Some(path) => Some(
                parse_summary_json(&read_limited(path, MAX_SUMMARY_BYTES)?).map_err(|why| {
                    FetchError::new(
                        Operation::ReadFile,
                        ErrorCode::BadSummary,
                        format!("{}: {why}", path.display()),
                    )
                })?,
            ),
        };
        Ok(Fetched {
            report,
            facts: Facts {
                summary,
                // A report file says nothing of the password policy or MFA devices.
                password_policy: PolicyState::Unknown,
                ..Facts::default()
            },
        })
    }
}

/// Reads at most `max` bytes of `path`; a file with more is refused. A regular file that says
/// it is larger is refused before reading; anything else (a FIFO, a device, a `/proc` file:
/// their length says 0) is read up to `max + 1` bytes, one more than allowed, and no further.
fn read_limited(path: &Path, max: usize) -> Result<Vec<u8>, FetchError> {
    use std::io::Read as _;
    let err = |why: String| {
        FetchError::new(
            Operation::ReadFile,
            ErrorCode::File,
            format!("{}: {why}", path.display()),
        )
    };
    let file = open_without_waiting(path).map_err(|e| err(e.to_string()))?;
    let len = file.metadata().map_err(|e| err(e.to_string()))?.len();
    if len > max as u64 {
        return Err(err(format!("{len} bytes, over the limit of {max} bytes")));
    }
    // The length of a regular file sizes the buffer (capped: it may grow meanwhile).
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(max).min(max));
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(e.to_string()))?;
    if bytes.len() > max {
        return Err(err(format!(
            "more than {max} bytes, over the limit of {max} bytes"
        )));
    }
    Ok(bytes)
}

/// Opens `path` for reading without waiting for a FIFO's writer: a FIFO that nobody writes to
/// reads as empty at once (a refused report, the last good data stays) instead of holding a
/// thread until a writer comes. Reads then block as usual, bounded by the refresh's deadline.
fn open_without_waiting(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    use std::os::unix::io::AsRawFd as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    // SAFETY: fcntl on a descriptor this function owns; F_GETFL/F_SETFL only read and set its
    // status flags.
    unsafe {
        let fd = file.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags == -1 || libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) == -1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(file)
}

/// Parses the JSON of `aws iam get-account-summary`: `{"SummaryMap": {"Users": 3, ...}}`.
pub fn parse_summary_json(bytes: &[u8]) -> Result<Summary, String> {
    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(rename = "SummaryMap")]
        summary_map: std::collections::BTreeMap<String, serde_json::Value>,
    }
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| format!("not summary JSON: {e}"))?;
    doc.summary_map
        .into_iter()
        .map(|(k, v)| match v.as_i64() {
            Some(n) => Ok((k, n)),
            None => Err(format!("SummaryMap.{k}: `{v}` is not an integer")),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_json_keeps_every_key_and_names_bad_values() {
        let s = parse_summary_json(
            br#"{"SummaryMap": {"AccountAccessKeysPresent": 1, "Users": 3, "SomethingNew": 7}}"#,
        )
        .unwrap();
        assert_eq!(s.get("SomethingNew"), Some(7));
        assert_eq!(s.get("AccountAccessKeysPresent"), Some(1));
        let e = parse_summary_json(br#"{"SummaryMap": {"Users": "three"}}"#).unwrap_err();
        assert!(e.contains("SummaryMap.Users"), "{e}");
        assert!(parse_summary_json(b"[]").is_err());
    }

    #[test]
    fn files_over_the_limit_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        std::fs::write(&path, vec![b'a'; 5000]).unwrap();
        let src = FileSource {
            files: Files {
                report: path,
                summary: None,
            },
            max_bytes: 1024,
        };
        let e = src.fetch().unwrap_err();
        assert!(e.message.contains("over the limit"), "{e}");
        assert_eq!(e.code, ErrorCode::File);
    }

    #[test]
    fn a_file_that_says_it_is_empty_is_read_up_to_the_limit_and_no_further() {
        // /dev/zero, like a FIFO or a /proc file, has length 0 and no end.
        let e = read_limited(Path::new("/dev/zero"), 4096).unwrap_err();
        assert_eq!(e.code, ErrorCode::File);
        assert!(
            e.message
                .contains("more than 4096 bytes, over the limit of 4096 bytes"),
            "{e}"
        );
        // A /proc file within the limit is read whole, whatever its length says.
        let status = read_limited(Path::new("/proc/self/status"), 1 << 20).unwrap();
        assert!(
            status.starts_with(b"Name:"),
            "{}",
            String::from_utf8_lossy(&status)
        );
        assert_eq!(
            std::fs::metadata("/proc/self/status").unwrap().len(),
            0,
            "the case under test: a length of 0"
        );
    }

    #[test]
    fn a_fifo_without_a_writer_reads_as_empty_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo has no other precondition.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(read_limited(&path, 1024)));
        let read = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("the read waited for a writer");
        assert_eq!(read.unwrap(), b"");
    }
}
