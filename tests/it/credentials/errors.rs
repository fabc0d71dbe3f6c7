//! A credentials failure is one readable line that says what to do, never a Rust Debug dump
//! of the SDK's error chain: in `--once`'s stderr and in the daemon's log alike.

use super::*;

use std::time::Duration;

/// The most a credentials error may take, whole line included.
const MAX_LINE: usize = 400;

/// Debug output of the SDK's error types (`ProviderError(ProviderError { source: ...`).
fn assert_readable(line: &str) {
    assert!(line.len() < MAX_LINE, "{} characters: {line}", line.len());
    for debug in [
        "ProviderError(",
        "{ source:",
        "FailedToLoadToken",
        "Some(",
        "source: ",
    ] {
        assert!(!line.contains(debug), "a Debug dump ({debug}): {line}");
    }
    for advice in ["AWS_PROFILE", "docs/deployment.md"] {
        assert!(
            line.contains(advice),
            "no `{advice}` to say what to do: {line}"
        );
    }
}

/// `--once`'s stderr: exactly one line, an error.
fn one_error_line(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "stderr:\n{err}");
    assert!(lines[0].starts_with("aws-iam-exporter: error: "), "{err}");
    lines[0].to_owned()
}

#[test]
fn with_instance_metadata_answering_403_once_says_so_in_one_short_line_with_what_to_do() {
    let s = Scenario::start();
    s.deny("ImdsGetToken");
    s.deny("ImdsGetRoleCredentials");
    let home = Home::new();
    let o = once_with_imds(&s, &home);
    let line = one_error_line(&o);
    assert!(s.calls("ImdsGetToken") >= 1, "IMDS was not asked");
    assert_readable(&line);
    assert!(line.contains("403"), "the answer is not named: {line}");
    assert!(
        line.to_ascii_lowercase().contains("instance metadata"),
        "{line}"
    );
}

#[test]
fn with_no_credential_provider_at_all_once_says_so_in_one_short_line_with_what_to_do() {
    let s = Scenario::start();
    let home = Home::new();
    let o = once_with(&s, &home, &[]);
    let line = one_error_line(&o);
    assert_readable(&line);
    assert!(line.contains("no AWS credentials"), "{line}");
    assert_eq!(s.total_calls(), 0, "an unsigned call was sent");
}

#[test]
fn the_daemon_logs_a_credentials_failure_as_one_short_logfmt_line_with_what_to_do() {
    let s = Scenario::start();
    s.deny("ImdsGetToken");
    s.deny("ImdsGetRoleCredentials");
    let home = Home::new();
    let home_path = home.path().to_path_buf();
    let mut e = Exporter::start_with(ExporterOpts {
        args: vec!["--refresh.interval=1s".into()],
        aws_endpoint: Some(s.endpoint()),
        env: [("HOME".into(), home_path.display().to_string())]
            .into_iter()
            .chain(imds_env(&s))
            .collect(),
        env_remove: vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()],
        ..Default::default()
    });
    e.wait_listening(Duration::from_secs(10));
    e.wait_for_metric(
        "aws_iam_exporter_refreshes_total",
        &[("result", "failure")],
        Duration::from_secs(30),
        |v| v >= 1.0,
    );
    let log = e.stderr();
    let failed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("level=error") && l.contains("refresh failed"))
        .collect();
    assert!(!failed.is_empty(), "{log}");
    let error = logfmt_value(failed[0], "error").unwrap_or_else(|| panic!("{}", failed[0]));
    assert_readable(&error);
    assert!(error.contains("403"), "{error}");
}

/// The value of `key=` in a logfmt line (quoted or not), unescaped.
fn logfmt_value(line: &str, key: &str) -> Option<String> {
    let at = line.find(&format!(" {key}="))? + key.len() + 2;
    let rest = &line[at..];
    match rest.strip_prefix('"') {
        Some(quoted) => {
            let mut out = String::new();
            let mut chars = quoted.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.push(chars.next()?),
                    '"' => return Some(out),
                    c => out.push(c),
                }
            }
            None
        }
        None => Some(rest.split(' ').next().unwrap_or_default().to_owned()),
    }
}
