//! Content negotiation for `/metrics`: the exposition format from `Accept`, gzip from
//! `Accept-Encoding`.

use http::header::HeaderValue;

use crate::exposition::Format;

/// The format a scraper asked for: OpenMetrics only when it says so, else the classic text.
pub fn negotiate(accept: Option<&HeaderValue>) -> Format {
    let accept = accept.and_then(|v| v.to_str().ok()).unwrap_or_default();
    let wants_openmetrics = accept.split(',').any(|part| {
        let mut params = part.split(';').map(str::trim);
        params.next() == Some("application/openmetrics-text")
            && !params.any(|p| p.replace(' ', "") == "q=0")
    });
    if wants_openmetrics {
        Format::OpenMetrics
    } else {
        Format::Classic
    }
}

/// Whether the client accepts gzip (and has not refused it with `q=0`).
pub fn accepts_gzip(accept_encoding: Option<&HeaderValue>) -> bool {
    let value = accept_encoding
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    value.split(',').any(|part| {
        let mut params = part.split(';').map(str::trim);
        matches!(params.next(), Some("gzip") | Some("x-gzip"))
            && !params.any(|p| p.replace(' ', "") == "q=0")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hv(s: &str) -> HeaderValue {
        HeaderValue::from_str(s).unwrap()
    }

    #[test]
    fn openmetrics_only_when_asked_for() {
        assert_eq!(negotiate(None), Format::Classic);
        assert_eq!(negotiate(Some(&hv("text/plain"))), Format::Classic);
        // What Prometheus sends.
        assert_eq!(
            negotiate(Some(&hv(
                "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
            ))),
            Format::OpenMetrics
        );
        assert_eq!(
            negotiate(Some(&hv("application/openmetrics-text; q=0, text/plain"))),
            Format::Classic
        );
    }

    #[test]
    fn gzip_when_accepted_and_not_refused() {
        assert!(accepts_gzip(Some(&hv("gzip"))));
        assert!(accepts_gzip(Some(&hv("deflate, gzip;q=1.0, *;q=0.5"))));
        assert!(!accepts_gzip(Some(&hv("gzip;q=0"))));
        assert!(!accepts_gzip(Some(&hv("identity"))));
        assert!(!accepts_gzip(None));
    }
}
