//! The text exposition format read back: samples, values by name and labels (one or a table
//! of them asserted), and the AWS error counters less moto's known gaps.

use std::collections::BTreeMap;

/// The controls that read the password policy, besides CIS 1.8/1.9 (length and reuse): the
/// character classes, expiry and the strong policy of Security Hub (IAM.7, IAM.11-14, IAM.17).
pub const PASSWORD_POLICY_CONTROLS: [&str; 6] = [
    "password_policy_uppercase",
    "password_policy_lowercase",
    "password_policy_symbols",
    "password_policy_numbers",
    "password_policy_expiry",
    "password_policy_strong",
];

/// One sample of the classic text (or OpenMetrics) exposition format.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Parses one sample line; `None` for comments, blank and malformed lines.
pub fn parse_sample_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = line[..name_end].to_string();
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if rest.starts_with('{') {
        let mut chars = rest.char_indices().skip(1).peekable();
        let close = loop {
            // skip separators
            while let Some(&(_, c)) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    chars.next();
                } else {
                    break;
                }
            }
            let (i, c) = chars.next()?;
            if c == '}' {
                break i;
            }
            let mut key = String::from(c);
            loop {
                let (_, c) = chars.next()?;
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            if chars.next()?.1 != '"' {
                return None;
            }
            let mut val = String::new();
            loop {
                let (_, c) = chars.next()?;
                match c {
                    '\\' => match chars.next()?.1 {
                        'n' => val.push('\n'),
                        other => val.push(other),
                    },
                    '"' => break,
                    c => val.push(c),
                }
            }
            labels.insert(key.trim().to_string(), val);
        };
        rest = &rest[close + 1..];
    }
    let value = parse_value(rest.split_whitespace().next()?)?;
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// All samples of `name` in an exposition.
pub fn metric_samples(exposition: &str, name: &str) -> Vec<Sample> {
    exposition
        .lines()
        .filter_map(parse_sample_line)
        .filter(|s| s.name == name)
        .collect()
}

/// The value of the first sample named `name` whose labels include every
/// `(label, value)` pair given (a subset match; `&[]` matches any).
pub fn metric_value(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    exposition
        .lines()
        .filter_map(parse_sample_line)
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
        })
        .map(|s| s.value)
}

/// The value of `name` with (at least) `labels`; panics with the exposition when absent.
pub fn val(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    metric_value(text, name, labels)
        .unwrap_or_else(|| panic!("no sample {name}{labels:?} in:\n{text}"))
}

/// One expected sample: its name, (at least) these labels, its value.
pub type Expected<'a> = (&'a str, &'a [(&'a str, &'a str)], f64);

/// Asserts each `(name, labels, want)`: the sample exists and has the value `want`; a
/// failure names the sample. For a run of expected values read from one exposition.
#[track_caller]
pub fn assert_samples(text: &str, want: &[Expected]) {
    for (name, labels, value) in want {
        assert_eq!(val(text, name, labels), *value, "{name}{labels:?}");
    }
}

/// Asserts that `name` has no sample at all (unknown is absent, never guessed).
#[track_caller]
pub fn assert_absent(text: &str, name: &str) {
    assert_eq!(
        metric_value(text, name, &[]),
        None,
        "{name} should be absent"
    );
}

/// The AWS errors counted, less the calls moto 5.2.5 does not implement (it answers them with
/// HTTP 500): ListServiceSpecificCredentials and ListOrganizationsFeatures. The scenario
/// server covers those two; any other error, and any other code for them, still counts.
pub fn aws_errors_beyond_moto_gaps(exposition: &str) -> Vec<Sample> {
    metric_samples(exposition, "aws_iam_exporter_aws_errors_total")
        .into_iter()
        .filter(|s| {
            let gap = matches!(
                s.labels.get("operation").map(String::as_str),
                Some("ListServiceSpecificCredentials" | "ListOrganizationsFeatures")
            );
            !(gap && s.labels.get("code").map(String::as_str) == Some("HTTP500"))
        })
        .collect()
}
