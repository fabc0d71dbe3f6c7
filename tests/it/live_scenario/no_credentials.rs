//! No credentials at all: the process stays up, unready, with one clear error per refresh.

use super::*;

#[test]
fn without_credentials_the_process_stays_up_unready_with_one_clear_error_per_refresh() {
    let s = Scenario::start();
    let mut e = Exporter::start_with(ExporterOpts {
        args: vec!["--refresh.interval=1s".into()],
        aws_endpoint: Some(s.endpoint()),
        env: vec![
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("AWS_CONFIG_FILE".into(), "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), "/dev/null".into()),
        ],
        env_remove: vec![
            "AWS_ACCESS_KEY_ID".into(),
            "AWS_SECRET_ACCESS_KEY".into(),
            "AWS_SESSION_TOKEN".into(),
            "AWS_PROFILE".into(),
            "AWS_WEB_IDENTITY_TOKEN_FILE".into(),
            "AWS_ROLE_ARN".into(),
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI".into(),
            "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
        ],
        ..Default::default()
    });
    e.wait_listening(Duration::from_secs(10));
    e.wait_for_metric(
        "aws_iam_exporter_refreshes_total",
        &[("result", "failure")],
        Duration::from_secs(15),
        |v| v >= 3.0,
    );
    e.assert_running("AWS keeps failing");
    assert_eq!(e.get("/healthz").0, 200);
    assert_eq!(e.get("/readyz").0, 503);
    let m1 = e.scrape();
    let log = e.stderr();
    let m2 = e.scrape();
    assert_eq!(
        val(
            &m1,
            "aws_iam_exporter_refresh_success",
            &[("account_id", "unknown")]
        ),
        0.0
    );
    assert!(
        metric_value(
            &m1,
            "aws_iam_exporter_aws_errors_total",
            &[("code", "NoCredentials")]
        )
        .is_some_and(|v| v >= 1.0),
        "{m1}"
    );
    assert_eq!(
        s.total_calls(),
        0,
        "an unsigned request reached the endpoint"
    );
    // Failing fast means no credential provider waited on the network (IMDS, SSO...).
    let took = val(
        &m1,
        "aws_iam_exporter_refresh_duration_seconds",
        &[("account_id", "unknown")],
    );
    assert!(took < 1.0, "a refresh without credentials took {took} s");

    let errors: Vec<&str> = log.lines().filter(|l| l.contains("level=error")).collect();
    let f1 = val(
        &m1,
        "aws_iam_exporter_refreshes_total",
        &[("result", "failure")],
    );
    let f2 = val(
        &m2,
        "aws_iam_exporter_refreshes_total",
        &[("result", "failure")],
    );
    let n = errors.len() as f64;
    assert!(
        f1 <= n && n <= f2 + 1.0,
        "{n} ERROR lines for {f1}..{f2} failed refreshes:\n{log}"
    );
    assert!(
        errors[0].to_ascii_lowercase().contains("credentials"),
        "{}",
        errors[0]
    );
    // One logfmt record per line: no multi-line SDK error chains or stacks.
    for line in log.lines() {
        assert!(
            line.starts_with("ts="),
            "not a logfmt record: {line:?}\n{log}"
        );
    }
}
