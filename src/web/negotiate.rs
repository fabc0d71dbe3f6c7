//! Content negotiation for `/metrics`: the exposition format from `Accept`, gzip from
//! `Accept-Encoding`. RFC 9110: media types, codings and parameter names are
//! case-insensitive and `q` is a number, so `q=0`, `q=0.0`, `Q=0.000` all refuse.

use http::header::HeaderValue;

use crate::exposition::Format;

/// One element of an `Accept` or `Accept-Encoding` list, lower-cased, with its weight.
/// Elements whose `q` is not a number in 0..=1 are dropped (never read as a yes).
fn weighted(value: Option<&HeaderValue>) -> impl Iterator<Item = (String, f32)> + '_ {
    let text = value.and_then(|v| v.to_str().ok()).unwrap_or_default();
    text.split(',').filter_map(|element| {
        let mut parts = element.split(';');
        let name = parts.next()?.trim().to_ascii_lowercase();
        if name.is_empty() {
            return None;
        }
        let mut q = 1.0;
        for param in parts {
            let Some((key, value)) = param.split_once('=') else {
                continue;
            };
            if key.trim().eq_ignore_ascii_case("q") {
                q = value
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))?;
            }
        }
        Some((name, q))
    })
}

/// The format a scraper asked for: OpenMetrics only when it names it with a weight above
/// zero and at least that of the classic text (`text/plain`, `text/*`, `*/*`), as
/// client_golang negotiates; else the classic text.
pub fn negotiate(accept: Option<&HeaderValue>) -> Format {
    let (mut openmetrics, mut classic) = (0.0f32, 0.0f32);
    for (range, q) in weighted(accept) {
        match range.as_str() {
            "application/openmetrics-text" => openmetrics = openmetrics.max(q),
            "text/plain" | "text/*" | "*/*" => classic = classic.max(q),
            _ => {}
        }
    }
    if openmetrics > 0.0 && openmetrics >= classic {
        Format::OpenMetrics
    } else {
        Format::Classic
    }
}

/// Whether the client accepts gzip: `gzip` (or `x-gzip`) with a weight above zero, or
/// `*` with a weight above zero when gzip is not named.
pub fn accepts_gzip(accept_encoding: Option<&HeaderValue>) -> bool {
    let (mut named, mut any) = (None::<f32>, None::<f32>);
    for (coding, q) in weighted(accept_encoding) {
        match coding.as_str() {
            "gzip" | "x-gzip" => named = Some(named.map_or(q, |n| n.max(q))),
            "*" => any = Some(any.map_or(q, |a| a.max(q))),
            _ => {}
        }
    }
    named.or(any).is_some_and(|q| q > 0.0)
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

    #[test]
    fn accept_weights_are_numbers_and_names_are_case_insensitive() {
        use Format::{Classic, OpenMetrics};
        let cases: &[(&str, Format)] = &[
            ("application/openmetrics-text", OpenMetrics),
            ("application/OpenMetrics-Text", OpenMetrics),
            ("APPLICATION/OPENMETRICS-TEXT;version=1.0.0", OpenMetrics),
            ("application/openmetrics-text;q=0", Classic),
            ("application/openmetrics-text;q=0.0", Classic),
            ("application/openmetrics-text;q=0.000", Classic),
            ("application/openmetrics-text;Q=0", Classic),
            ("application/openmetrics-text ; q = 0", Classic),
            (
                "application/openmetrics-text;version=1.0.0 ;q=0.0, text/plain",
                Classic,
            ),
            ("application/openmetrics-text;q=0.001", OpenMetrics),
            ("application/openmetrics-text;q=1.0", OpenMetrics),
            // Not a number in 0..=1: the element is dropped, never read as a yes.
            ("application/openmetrics-text;q=zero", Classic),
            ("application/openmetrics-text;q=2", Classic),
            ("application/openmetrics-text;q=-1", Classic),
            // The higher weight wins; a tie goes to the type named explicitly.
            (
                "text/plain;q=1, application/openmetrics-text;q=0.5",
                Classic,
            ),
            ("*/*;q=0.9, application/openmetrics-text;q=0.8", Classic),
            (
                "text/plain;q=0.5, application/openmetrics-text;q=0.5",
                OpenMetrics,
            ),
            ("application/openmetrics-text, */*", OpenMetrics),
            (
                "text/plain;q=0, application/openmetrics-text;q=0.1",
                OpenMetrics,
            ),
            // Wildcards never choose OpenMetrics: only asking for it by name does.
            ("application/*", Classic),
            ("*/*", Classic),
            ("", Classic),
            (",,;", Classic),
        ];
        for (accept, want) in cases {
            assert_eq!(negotiate(Some(&hv(accept))), *want, "Accept: {accept}");
        }
    }

    #[test]
    fn accept_encoding_weights_are_numbers_and_codings_are_case_insensitive() {
        let cases: &[(&str, bool)] = &[
            ("gzip", true),
            ("GZIP", true),
            ("x-gzip", true),
            ("Gzip;q=0.5", true),
            ("gzip;q=0", false),
            ("gzip;q=0.0", false),
            ("gzip;q=0.000", false),
            ("gzip;Q=0", false),
            ("gzip ; q = 0", false),
            ("gzip;q=nope", false),
            ("deflate, br", false),
            // `*` stands for gzip unless gzip is named.
            ("*", true),
            ("*;q=0.1", true),
            ("*;q=0", false),
            ("*, gzip;q=0", false),
            ("gzip;q=0, *", false),
            ("gzip;q=0.0, *;q=1.0", false),
            ("identity, *;q=0.5", true),
            ("", false),
        ];
        for (accept_encoding, want) in cases {
            assert_eq!(
                accepts_gzip(Some(&hv(accept_encoding))),
                *want,
                "Accept-Encoding: {accept_encoding}"
            );
        }
    }
}
