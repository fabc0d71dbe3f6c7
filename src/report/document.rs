//! What a report file or GetCredentialReport holds: the CSV, plain, as the CLI's JSON with a
//! base64 `Content`, or that base64 alone.

use base64::Engine as _;

use super::{ParseError, parse_time, strip_bom};

/// A report as `aws iam get-credential-report` prints it, or as GetCredentialReport returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportDocument {
    pub csv: Vec<u8>,
    /// `GeneratedTime`, seconds since the epoch; unknown for a plain CSV download.
    pub generated: Option<i64>,
}

/// Reads a report file: the console's plain CSV, the CLI's JSON with a base64 `Content`, or that
/// base64 alone (`aws iam get-credential-report --query Content --output text`). Detection: `{`
/// first is JSON; base64 is what is base64 ([`as_base64_report`]: its alphabet, a length in
/// whole quanta, padding only at the end, and a decoded text whose header names the `user`
/// column); anything else is CSV, including a report of the `user` column alone
/// (`user\nalice\n` has no comma and only base64's letters, and is no base64 of a report).
#[cfg(test)]
pub fn decode_document(bytes: &[u8], limit: usize) -> Result<ReportDocument, ParseError> {
    decode_document_owned(bytes.to_vec(), limit)
}

/// [`decode_document`] of bytes the caller owns: a CSV file (the common case) is kept as it is
/// read, not copied.
pub fn decode_document_owned(
    mut bytes: Vec<u8>,
    limit: usize,
) -> Result<ReportDocument, ParseError> {
    if bytes.len() > limit {
        return Err(ParseError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    let body = strip_bom(&bytes);
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => Err(ParseError::Empty),
        Some(b'{') => decode_json(body, limit),
        Some(_) => match as_base64_report(body)? {
            Some(csv) if csv.len() > limit => Err(ParseError::TooLarge {
                size: csv.len(),
                limit,
            }),
            Some(csv) => Ok(ReportDocument {
                csv,
                generated: None,
            }),
            None => {
                let bom = bytes.len() - body.len();
                bytes.drain(..bom);
                Ok(ReportDocument {
                    csv: bytes,
                    generated: None,
                })
            }
        },
    }
}

fn decode_json(body: &[u8], limit: usize) -> Result<ReportDocument, ParseError> {
    #[derive(serde::Deserialize)]
    struct CliReport {
        #[serde(rename = "Content")]
        content: String,
        #[serde(rename = "ReportFormat", default)]
        report_format: Option<String>,
        #[serde(rename = "GeneratedTime", default)]
        generated_time: Option<String>,
    }
    let doc: CliReport =
        serde_json::from_slice(body).map_err(|e| ParseError::BadJson(e.to_string()))?;
    if let Some(format) = doc.report_format.as_deref()
        && format != "text/csv"
    {
        return Err(ParseError::BadJson(format!(
            "`ReportFormat` is `{format}`, expected `text/csv`"
        )));
    }
    let csv = decode_base64(doc.content.as_bytes(), limit)?;
    let generated = match doc.generated_time.as_deref() {
        None => None,
        Some(s) => Some(parse_time(s).ok_or_else(|| {
            ParseError::BadJson(format!("`GeneratedTime` `{s}` is not an RFC 3339 time"))
        })?),
    };
    Ok(ReportDocument { csv, generated })
}

/// The report `body` encodes, when it is base64 of one: only base64's alphabet and line breaks,
/// a whole number of 4-character quanta, `=` padding only at the very end, and decoded bytes
/// whose first line is a CSV header naming the `user` column. `Ok(None)` for a CSV (anything
/// with other characters, or a header naming `user` itself: a report of that column alone);
/// an error for base64's letters alone that are neither.
fn as_base64_report(body: &[u8]) -> Result<Option<Vec<u8>>, ParseError> {
    let alphabet = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    if !body.iter().all(|b| alphabet(b) || b.is_ascii_whitespace()) {
        return Ok(None);
    }
    let compact: Vec<u8> = body.iter().copied().filter(alphabet).collect();
    let padding = compact.iter().rev().take_while(|b| **b == b'=').count();
    let padded_inside = compact[..compact.len() - padding].contains(&b'=');
    let decoded = if !compact.len().is_multiple_of(4) || padding > 2 || padded_inside {
        Err(format!(
            "{} characters with `=` padding {padding}: not whole 4-character quanta padded at the end",
            compact.len()
        ))
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(&compact)
            .map_err(|e| e.to_string())
    };
    match decoded {
        Ok(csv) if names_the_user_column(&csv) => Ok(Some(csv)),
        _ if names_the_user_column(body) => Ok(None),
        Ok(_) => Err(ParseError::BadBase64(
            "it decodes to no CSV header with a `user` column".into(),
        )),
        Err(why) => Err(ParseError::BadBase64(why)),
    }
}

/// Whether the first line of `csv` is a header with a `user` field (quoted or not).
fn names_the_user_column(csv: &[u8]) -> bool {
    let body = strip_bom(csv);
    let header = body.split(|b| *b == b'\n').next().unwrap_or_default();
    std::str::from_utf8(header)
        .is_ok_and(|h| h.split(',').any(|f| f.trim().trim_matches('"') == "user"))
}

/// Standard base64, line breaks allowed (the CLI wraps nothing, a copy from a terminal may).
fn decode_base64(text: &[u8], limit: usize) -> Result<Vec<u8>, ParseError> {
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let csv = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .map_err(|e| ParseError::BadBase64(e.to_string()))?;
    if csv.len() > limit {
        return Err(ParseError::TooLarge {
            size: csv.len(),
            limit,
        });
    }
    Ok(csv)
}
