//! `http_server_config.headers`: the few response headers exporter-toolkit lets a web
//! config set, checked against its allow-list at load time.

use std::collections::BTreeMap;

use hyper::header::{HeaderName, HeaderValue};

use super::config::{Ctx, WebConfigError};

/// Header names exporter-toolkit lets a web config set, with their allowed values
/// (an empty list means any value).
const ALLOWED_HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

pub(super) fn build_headers(
    ctx: &Ctx<'_>,
    raw: BTreeMap<String, String>,
) -> Result<Vec<(HeaderName, HeaderValue)>, WebConfigError> {
    let mut out = Vec::new();
    for (name, value) in raw {
        let key = format!("http_server_config.headers.{name}");
        let Some((_, allowed_values)) = ALLOWED_HEADERS.iter().find(|(n, _)| *n == name) else {
            let allowed: Vec<&str> = ALLOWED_HEADERS.iter().map(|(n, _)| *n).collect();
            return Err(ctx.invalid(
                key,
                format!(
                    "HTTP header {name:?} can not be configured; allowed: {}",
                    allowed.join(", ")
                ),
            ));
        };
        if value.is_empty() {
            continue; // "Unset if blank."
        }
        if !allowed_values.is_empty() && !allowed_values.contains(&value.as_str()) {
            return Err(ctx.invalid(
                key,
                format!("invalid value {value:?}; expected one of: {allowed_values:?}"),
            ));
        }
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| ctx.invalid(&key, format!("invalid header name: {e}")))?;
        let header_value = HeaderValue::from_str(&value)
            .map_err(|e| ctx.invalid(&key, format!("invalid header value: {e}")))?;
        out.push((header_name, header_value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::web::test_support::*;

    #[test]
    fn a_header_exporter_toolkit_does_not_allow_is_rejected() {
        let err = load_err("http_server_config:\n  headers:\n    X-Powered-By: rust\n");
        assert_eq!(
            err.key(),
            Some("http_server_config.headers.X-Powered-By"),
            "{err}"
        );
        assert!(err.to_string().contains("can not be configured"), "{err}");
    }

    #[test]
    fn an_enumerated_header_with_a_bad_value_is_rejected() {
        let err = load_err("http_server_config:\n  headers:\n    X-Frame-Options: allow\n");
        assert_eq!(
            err.key(),
            Some("http_server_config.headers.X-Frame-Options"),
            "{err}"
        );
    }

    #[test]
    fn a_blank_header_value_leaves_the_header_unset() {
        let cfg = load_ok(
            "http_server_config:\n  headers:\n    Content-Security-Policy: \"\"\n    X-XSS-Protection: \"1; mode=block\"\n",
        );
        let headers = cfg.response_headers();
        assert_eq!(headers.len(), 1);
        assert_eq!(headers[0].0, "x-xss-protection");
        assert_eq!(headers[0].1, "1; mode=block");
    }
}
