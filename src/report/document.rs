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
/// first is JSON; a body of base64 characters only is base64 (a CSV header always has a comma,
/// base64 never does); anything else is CSV.
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
        Some(_) if is_bare_base64(body) => Ok(ReportDocument {
            csv: decode_base64(body, limit)?,
            generated: None,
        }),
        Some(_) => {
            let bom = bytes.len() - body.len();
            bytes.drain(..bom);
            Ok(ReportDocument {
                csv: bytes,
                generated: None,
            })
        }
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

fn is_bare_base64(body: &[u8]) -> bool {
    body.iter().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=') || b.is_ascii_whitespace()
    })
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
