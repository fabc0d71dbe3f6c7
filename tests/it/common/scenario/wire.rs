//! The AWS Query protocol on the wire: form-encoded parameters in, XML answers and
//! `ErrorResponse`s out, IAM's `Marker` paging, and the access key id of a SigV4 signature.

use std::collections::BTreeMap;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

use super::super::serve::Resp;
use super::state::Fault;

/// IAM's XML namespace.
pub const IAM_XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// STS's XML namespace.
pub const STS_XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
/// STS's API version (`Version=` of its calls).
pub const STS_VERSION: &str = "2011-06-15";

fn percent_decode(s: &str) -> String {
    fn hex(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                match (
                    b.get(i + 1).copied().and_then(hex),
                    b.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses an `application/x-www-form-urlencoded` body (or query string).
pub fn parse_form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// XML-escapes text.
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

pub(super) fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("5c2f8c2e-0000-4000-8000-{n:012x}")
}

pub(super) fn xml_response(status: u16, body: String) -> Resp {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "text/xml")
        .header("x-amzn-requestid", request_id())
        .body(Full::new(Bytes::from(body)))
        .expect("response")
}

/// One page of `items` as IAM pages them: `Marker` is `marker-<start>`, the page size is the
/// smaller of the request's `MaxItems` and `default_page` (the account's largest page), else
/// everything. Returns the page and the next marker, if any. The one paging of every List
/// action.
pub(super) fn page_of<'a, T>(
    params: &BTreeMap<String, String>,
    default_page: Option<usize>,
    items: &'a [T],
) -> (&'a [T], Option<String>) {
    let start: usize = params
        .get("Marker")
        .and_then(|m| m.strip_prefix("marker-"))
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let page = params
        .get("MaxItems")
        .and_then(|m| m.parse::<usize>().ok())
        .into_iter()
        .chain(default_page)
        .min()
        .unwrap_or(usize::MAX)
        .max(1);
    let end = start.saturating_add(page).min(items.len());
    let next = (end < items.len()).then(|| format!("marker-{end}"));
    (items.get(start..end).unwrap_or(&[]), next)
}

/// The end of a paged answer's result: `IsTruncated`, and the `Marker` of the next page.
pub(super) fn truncation_xml(next_marker: Option<String>) -> String {
    match next_marker {
        Some(m) => format!("    <IsTruncated>true</IsTruncated>\n    <Marker>{m}</Marker>\n  "),
        None => "    <IsTruncated>false</IsTruncated>\n  ".to_string(),
    }
}

pub(super) fn ok_xml(action: &str, xmlns: &str, result: &str) -> Resp {
    let rid = request_id();
    xml_response(
        200,
        format!(
            "<{action}Response xmlns=\"{xmlns}\">\n  <{action}Result>{result}</{action}Result>\n  \
             <ResponseMetadata>\n    <RequestId>{rid}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n"
        ),
    )
}

/// The real AWS Query error shape.
pub fn error_xml(xmlns: &str, kind: &str, code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{xmlns}\">\n  <Error>\n    <Type>{}</Type>\n    <Code>{}</Code>\n    \
         <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        xml_escape(kind),
        xml_escape(code),
        xml_escape(message),
        request_id()
    )
}

pub(super) fn error_response(
    xmlns: &str,
    status: u16,
    kind: &str,
    code: &str,
    message: &str,
) -> Resp {
    xml_response(status, error_xml(xmlns, kind, code, message))
}

pub(super) fn fault_response(xmlns: &str, f: &Fault) -> Resp {
    match f {
        Fault::Error {
            status,
            code,
            message,
            kind,
        } => error_response(xmlns, *status, kind, code, message),
        Fault::Raw {
            status,
            content_type,
            body,
        } => Response::builder()
            .status(StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY))
            .header("content-type", content_type.as_str())
            .body(Full::new(Bytes::from(body.clone())))
            .expect("response"),
        Fault::Hang(_) => unreachable!("hang is handled by the caller"),
    }
}

/// The access key id and the service of a SigV4 `Authorization` header.
pub(super) fn access_key_from_auth(auth: &str) -> (Option<String>, Option<String>) {
    // AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/iam/aws4_request, ...
    let Some(i) = auth.find("Credential=") else {
        return (None, None);
    };
    let scope = &auth[i + "Credential=".len()..];
    let scope = scope.split([',', ' ']).next().unwrap_or("");
    let mut parts = scope.split('/');
    let akid = parts.next().map(str::to_string);
    let service = parts.nth(2).map(str::to_string);
    (akid, service)
}

/// A JSON answer (the credential providers' endpoints).
pub(super) fn json_response(status: u16, body: &serde_json::Value) -> Resp {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}

/// A plain-text answer (IMDS).
pub(super) fn text_response(status: u16, body: &str, headers: &[(&str, &str)]) -> Resp {
    let mut r = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "text/plain");
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}
