//! The offline daemon: plain, gzipped and OpenMetrics answers, a report file that breaks and
//! recovers, SIGTERM.

use super::*;

/// Replaces `path` atomically (write a sibling, rename).
fn replace_file(path: &Path, contents: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn start_offline(report: &Path, extra: &[&str]) -> Exporter {
    let mut args = vec![
        "--credential-report.file".to_string(),
        report.display().to_string(),
        "--refresh.interval=1s".to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Exporter::start_with(ExporterOpts {
        args,
        ..Default::default()
    })
}

fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_string(&mut out)
        .expect("valid gzip");
    out
}

#[test]
fn offline_daemon_serves_the_report_plain_gzipped_and_as_openmetrics() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.csv");
    std::fs::copy(fixture("reports/full.csv"), &report).unwrap();
    let mut e = start_offline(&report, &[]);
    e.wait_ready(Duration::from_secs(10));
    assert_eq!(e.get("/healthz").0, 200);

    let plain = e.request("/metrics", &[]);
    assert_eq!(plain.status, 200);
    assert!(
        plain
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        plain.headers
    );
    assert_eq!(plain.header("content-encoding"), None);
    let plain = plain.text();
    assert_eq!(val(&plain, "aws_iam_users", &[A]), 6.0);
    assert_eq!(
        val(
            &plain,
            "aws_iam_user_active_access_keys",
            &[("user", "ops,bob")]
        ),
        2.0
    );

    // Counters and timestamps move with every 1 s refresh: compare the rest.
    let stable = |t: &str| normalise(t, &["aws_iam_exporter_refreshes_total"]);
    let gz = e.request("/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert!(gz.body.starts_with(&[0x1f, 0x8b]), "not gzip");
    assert!(gz.body.len() < plain.len() / 3, "gzip does not compress");
    assert_eq!(stable(&gunzip(&gz.body)), stable(&plain));

    let om = e.request(
        "/metrics",
        &[("Accept", "application/openmetrics-text; version=1.0.0")],
    );
    assert_eq!(om.status, 200);
    assert!(
        om.header("content-type")
            .is_some_and(|c| c.starts_with("application/openmetrics-text")),
        "{:?}",
        om.headers
    );
    let om = om.text();
    assert!(
        om.ends_with("# EOF\n"),
        "OpenMetrics must end with # EOF: {:?}",
        &om[om.len().saturating_sub(200)..]
    );
    assert_eq!(om.matches("# EOF").count(), 1);
    assert!(
        om.contains("# TYPE aws_iam_exporter_refreshes counter\n"),
        "{om}"
    );
    assert_eq!(val(&om, "aws_iam_users", &[A]), 6.0);

    let om_gz = e.request(
        "/metrics",
        &[
            ("Accept", "application/openmetrics-text"),
            ("Accept-Encoding", "gzip"),
        ],
    );
    assert_eq!(om_gz.header("content-encoding"), Some("gzip"));
    assert!(gunzip(&om_gz.body).ends_with("# EOF\n"));
}

#[test]
fn offline_daemon_keeps_the_last_good_data_when_the_file_breaks_and_recovers_then_stops_on_sigterm()
{
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.csv");
    let good = std::fs::read(fixture("reports/full.csv")).unwrap();
    std::fs::write(&report, &good).unwrap();
    let mut e = start_offline(&report, &[]);
    e.wait_ready(Duration::from_secs(10));
    e.wait_for_metric(
        "aws_iam_exporter_refresh_success",
        &[A],
        Duration::from_secs(5),
        |v| v == 1.0,
    );

    replace_file(
        &report,
        &std::fs::read(fixture("reports/missing-column.bad.csv")).unwrap(),
    );
    e.wait_for_metric(
        "aws_iam_exporter_refresh_success",
        &[A],
        Duration::from_secs(10),
        |v| v == 0.0,
    );
    let m = e.scrape();
    assert_eq!(
        val(&m, "aws_iam_users", &[A]),
        6.0,
        "last good data is served"
    );
    assert_eq!(
        val(
            &m,
            "aws_iam_user_active_access_keys",
            &[("user", "ops,bob")]
        ),
        2.0
    );
    assert!(
        val(
            &m,
            "aws_iam_exporter_refreshes_total",
            &[A, ("result", "failure")]
        ) >= 1.0
    );
    assert!(
        val(
            &m,
            "aws_iam_exporter_last_refresh_success_timestamp_seconds",
            &[A]
        ) > 0.0
    );
    assert_eq!(e.get("/readyz").0, 200, "ready stays once data exists");
    assert!(
        e.stderr().contains("missing required column `user`"),
        "{}",
        e.stderr()
    );

    replace_file(&report, &good);
    e.wait_for_metric(
        "aws_iam_exporter_refresh_success",
        &[A],
        Duration::from_secs(10),
        |v| v == 1.0,
    );

    let t = Instant::now();
    let status = e.sigterm(Duration::from_secs(5));
    let status = status.unwrap_or_else(|| panic!("no exit within 5 s of SIGTERM"));
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn sigterm_with_a_stalled_client_exits_0_once_the_5s_grace_has_passed() {
    use std::io::{Read, Write};
    let mut e = start_offline(&fixture("reports/full.csv"), &[]);
    e.wait_ready(Duration::from_secs(10));
    // A scrape whose request never completes (slow or stuck client).
    let mut stalled = std::net::TcpStream::connect(("127.0.0.1", e.port())).unwrap();
    stalled
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let t = Instant::now();
    let status = e.sigterm(Duration::from_secs(8));
    let took = t.elapsed();
    let status = status.unwrap_or_else(|| panic!("still running 8 s after SIGTERM"));
    assert_eq!(status.code(), Some(0), "{status:?}");
    // In-flight requests get a 5 s grace (src/server.rs SHUTDOWN_GRACE), then
    // the process exits anyway.
    assert!(took < Duration::from_secs(6), "exit took {took:?}");
    let log = e.stderr();
    assert!(log.contains("SIGTERM received"), "{log}");
    assert!(log.contains("message=stopped"), "{log}");
    stalled
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        matches!(stalled.read(&mut buf), Ok(0) | Err(_)),
        "the stalled connection is closed"
    );
}
