//! Content negotiation for `/metrics`: the exposition format from `Accept`, gzip or
//! identity (or neither: 406) from `Accept-Encoding`. RFC 9110: media types, codings and
//! parameter names are case-insensitive and `q` is a number, so `q=0`, `q=0.0`, `Q=0.000` all refuse.

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

/// The content coding of a `/metrics` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Gzip,
    Identity,
}

/// The content coding to answer with, or `None` when the client accepts neither gzip nor
/// identity (answer `406 Not Acceptable`). RFC 9110 §12.5.3:
///
/// * gzip (`gzip` or `x-gzip`) is acceptable when named with a weight above zero, or,
///   when not named, when `*` has a weight above zero;
/// * identity is acceptable unless excluded: `identity;q=0`, or `*;q=0` without an
///   `identity` element; a weight given by `identity` or `*` ranks it against gzip;
/// * the higher weight wins; gzip on a tie, and over an identity no element weighs;
/// * no header, or an empty one, means identity (nothing asked for, nothing compressed).
///
/// RFC 9110 lets a server ignore the header instead of answering 406 when nothing is
/// acceptable; a client that writes `identity;q=0` is taken at its word.
pub fn content_coding(accept_encoding: Option<&HeaderValue>) -> Option<Coding> {
    let (mut gzip, mut identity, mut any) = (None::<f32>, None::<f32>, None::<f32>);
    for (coding, q) in weighted(accept_encoding) {
        let slot = match coding.as_str() {
            "gzip" | "x-gzip" => &mut gzip,
            "identity" => &mut identity,
            "*" => &mut any,
            _ => continue,
        };
        *slot = Some(slot.map_or(q, |seen| seen.max(q)));
    }
    let gzip = gzip.or(any).filter(|q| *q > 0.0);
    // `None` here: identity is acceptable, with no weight to rank it by.
    let identity = identity.or(any);
    match (gzip, identity) {
        (Some(g), Some(i)) if i > g => Some(Coding::Identity),
        (Some(_), _) => Some(Coding::Gzip),
        (None, Some(i)) if i <= 0.0 => None,
        (None, _) => Some(Coding::Identity),
    }
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

    fn gzip(accept_encoding: &str) -> bool {
        content_coding(Some(&hv(accept_encoding))) == Some(Coding::Gzip)
    }

    #[test]
    fn gzip_when_accepted_and_not_refused() {
        assert!(gzip("gzip"));
        assert!(gzip("deflate, gzip;q=1.0, *;q=0.5"));
        assert!(!gzip("gzip;q=0"));
        assert!(!gzip("identity"));
        assert_eq!(content_coding(None), Some(Coding::Identity));
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
            ("", false),
        ];
        for (accept_encoding, want) in cases {
            assert_eq!(
                gzip(accept_encoding),
                *want,
                "Accept-Encoding: {accept_encoding}"
            );
        }
    }

    fn assert_codings(cases: &[(&str, Option<Coding>)]) {
        for (accept_encoding, want) in cases {
            assert_eq!(
                content_coding(Some(&hv(accept_encoding))),
                *want,
                "Accept-Encoding: {accept_encoding}"
            );
        }
    }

    #[test]
    fn nothing_acceptable_is_none_so_the_server_answers_406() {
        assert_codings(&[
            ("identity;q=0", None),
            ("IDENTITY;Q=0.000", None),
            ("identity;q=0, deflate, br", None),
            ("gzip;q=0, identity;q=0", None),
            ("*;q=0", None),
            ("*;q=0, deflate", None),
            ("*;q=0, gzip;q=0", None),
            ("identity;q=0, *;q=0", None),
            // An acceptable alternative, or identity allowed again by a more specific element.
            ("identity;q=0, gzip", Some(Coding::Gzip)),
            ("identity;q=0, *", Some(Coding::Gzip)),
            ("identity;q=0, x-gzip;q=0.1", Some(Coding::Gzip)),
            ("*;q=0, identity", Some(Coding::Identity)),
            ("*;q=0, identity;q=0.5, gzip;q=0", Some(Coding::Identity)),
            ("*;q=0, gzip", Some(Coding::Gzip)),
            // An element whose weight is not a number is dropped, not read as a refusal.
            ("identity;q=none", Some(Coding::Identity)),
        ]);
    }

    #[test]
    fn identity_wins_over_gzip_when_it_weighs_more() {
        use Coding::{Gzip, Identity};
        assert_codings(&[
            ("gzip;q=0.5, identity", Some(Identity)),
            ("identity;q=1.0, gzip;q=0.9", Some(Identity)),
            ("identity, *;q=0.5", Some(Identity)),
            // `*` weighs identity when identity is not named.
            ("*;q=0.8, gzip;q=0.3", Some(Identity)),
            ("*;q=0.3, gzip;q=0.8", Some(Gzip)),
            // A tie goes to gzip; so does an identity that no element weighs.
            ("gzip, identity", Some(Gzip)),
            ("gzip;q=0.5, identity;q=0.5", Some(Gzip)),
            ("gzip;q=0.1", Some(Gzip)),
            ("identity;q=0.2, gzip;q=0.3", Some(Gzip)),
            ("x-gzip;q=0.4, identity;q=0.6", Some(Identity)),
        ]);
    }
}
