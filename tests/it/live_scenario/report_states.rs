//! Report generation: a report still being generated, in progress, not present or expired.

use super::*;

#[test]
fn a_report_still_being_generated_is_polled_until_complete_and_its_generated_time_exported() {
    let s = Scenario::start();
    s.set_report(report_with_users(RootRow::default(), 3));
    let generated = parse_time("2026-01-02T03:04:05Z");
    s.set_report_generated(generated);
    s.set_generate_pending(2);
    let t = Instant::now();
    let m = once_ok(&s, &[]);
    let took = t.elapsed();
    // STARTED, INPROGRESS, COMPLETE; polls after 0.5 s and 1 s.
    assert_eq!(s.calls("GenerateCredentialReport"), 3);
    assert_eq!(s.calls("GetCredentialReport"), 1);
    assert!(
        took >= Duration::from_millis(1400),
        "polled too fast: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(val(&m, "aws_iam_users", &[ACCT]), 3.0);
    // The scenario server stamps GeneratedTime when a generation completes.
    let stamped = val(
        &m,
        "aws_iam_credential_report_generated_timestamp_seconds",
        &[ACCT],
    );
    assert!(
        (stamped - unix(now()) as f64).abs() < 30.0,
        "GeneratedTime of the new report: {stamped}"
    );

    // Without a generation, GeneratedTime is what the server says.
    let s = Scenario::start();
    s.set_report_generated(generated);
    let m = once_ok(&s, &[]);
    assert_eq!(
        val(
            &m,
            "aws_iam_credential_report_generated_timestamp_seconds",
            &[ACCT]
        ),
        unix(generated) as f64
    );
}

#[test]
fn report_in_progress_not_present_or_expired_once_makes_the_exporter_regenerate_and_succeed() {
    for (fault, code) in [
        (Fault::report_in_progress(), "ReportInProgress"),
        (Fault::report_not_present(), "ReportNotPresent"),
        (Fault::report_expired(), "ReportExpired"),
    ] {
        let s = Scenario::start();
        s.set_report(report_with_users(RootRow::default(), 2));
        s.push_faults("GetCredentialReport", fault, 1);
        let m = once_ok(&s, &[]);
        assert_eq!(s.calls("GenerateCredentialReport"), 2, "{code}");
        assert_eq!(s.calls("GetCredentialReport"), 2, "{code}");
        assert_eq!(val(&m, "aws_iam_users", &[ACCT]), 2.0, "{code}");
        assert_eq!(val(&m, "aws_iam_exporter_refresh_success", &[ACCT]), 1.0);
        // What the binary does: the transient answer is counted, the refresh succeeds.
        assert_eq!(
            errors_total(&m, "GetCredentialReport", code),
            Some(1.0),
            "{code}:\n{m}"
        );
    }
}
