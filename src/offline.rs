//! I/O EDGE: the offline source. A credential report file (CSV, the JSON of
//! `aws iam get-credential-report`, or its bare base64 `Content`) and optionally the JSON of
//! `aws iam get-account-summary`, read at every refresh, so a file that is replaced is picked
//! up and a file that breaks keeps the last good data served.

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

fn read_limited(path: &Path, max: usize) -> Result<Vec<u8>, FetchError> {
    let err = |why: String| {
        FetchError::new(
            Operation::ReadFile,
            ErrorCode::File,
            format!("{}: {why}", path.display()),
        )
    };
    let len = std::fs::metadata(path)
        .map_err(|e| err(e.to_string()))?
        .len();
    if len > max as u64 {
        return Err(err(format!("{len} bytes, over the limit of {max} bytes")));
    }
    std::fs::read(path).map_err(|e| err(e.to_string()))
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
}
