//! The `audit` command's verdicts, table, JSON and exit status on the sample account.

use super::*;
use crate::posture::{AccountData, Facts};

/// 2026-12-01T00:00:00Z, the sample's "today".
pub(super) const NOW: i64 = 1_796_083_200;

pub(super) fn sample() -> AccountInput {
    let report =
        crate::report::parse(include_bytes!("../../examples/credential-report.csv")).unwrap();
    let summary =
        crate::offline::parse_summary_json(include_bytes!("../../examples/account-summary.json"))
            .unwrap();
    AccountInput {
        key: "examples/credential-report.csv".into(),
        account_id: "123456789012".into(),
        name: None,
        data: AccountData {
            report,
            generated: None,
            facts: Facts {
                summary: Some(summary),
                ..Facts::default()
            },
        },
    }
}

pub(super) fn audit(input: &AccountInput) -> Audit<'_> {
    Audit {
        now: NOW,
        accounts: vec![assess(input, &Thresholds::default(), NOW)],
        discovery: None,
        errors: Vec::new(),
    }
}

#[test]
fn the_fixed_clock_is_the_first_of_december_2026() {
    assert_eq!(crate::report::parse_time("2026-12-01T00:00:00Z"), Some(NOW));
}

#[test]
fn failing_rows_come_first_then_unknown_then_passing_each_by_severity() {
    let input = sample();
    let text = table(&audit(&input), &AuditSettings::default(), false);
    let rows: Vec<(Status, Severity)> = text
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let status = match words.next()? {
                "FAIL" => Status::Fail,
                "unknown" => Status::Unknown,
                "pass" => Status::Pass,
                _ => return None,
            };
            let severity = match words.next()? {
                "critical" => Severity::Critical,
                "high" => Severity::High,
                "medium" => Severity::Medium,
                _ => Severity::Low,
            };
            Some((status, severity))
        })
        .collect();
    assert_eq!(rows.len(), CONTROLS.len(), "{text}");
    assert!(
        rows.windows(2)
            .all(|w| w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 >= w[1].1)),
        "{rows:?}"
    );
    assert_eq!(rows[0], (Status::Fail, Severity::Critical));
}

#[test]
fn every_failing_control_names_as_many_offenders_as_the_daemon_counts() {
    let input = sample();
    let a = audit(&input);
    for r in &a.accounts[0].controls {
        let resources = r.offenders.iter().filter(|f| !f.continues).count() as u64;
        match r.status {
            Status::Fail => assert_eq!(Some(resources), r.failing_resources, "{r:?}"),
            Status::Pass => assert_eq!((resources, r.failing_resources), (0, Some(0))),
            Status::Unknown => assert_eq!((resources, r.failing_resources), (0, None)),
        }
    }
}

#[test]
fn without_a_password_policy_its_controls_are_unknown_not_passing() {
    let input = sample();
    let a = audit(&input);
    let status = |id: ControlId| a.accounts[0].controls[id as usize].status;
    assert_eq!(status(ControlId::PasswordPolicyLength), Status::Unknown);
    assert_eq!(status(ControlId::PasswordPolicyReuse), Status::Unknown);
    assert_eq!(status(ControlId::RootAccessKey), Status::Fail);
    assert_eq!(status(ControlId::RootRecentUse), Status::Pass);
    let text = table(&a, &AuditSettings::default(), false);
    assert!(
        text.lines().any(
            |l| l.starts_with("unknown  medium    password_policy_length") && l.contains(" - ")
        ),
        "{text}"
    );
}

#[test]
fn offenders_name_the_user_and_credential_and_the_rest_are_summed_up() {
    let input = sample();
    let a = audit(&input);
    let all = table(&a, &AuditSettings::default(), false);
    assert!(
        all.contains("<root_account> (access_key_1, last used 2026-10-28, 33 days)"),
        "{all}"
    );
    assert!(all.contains("deploy-bot (access_key_2, never used, created 2024-03-01, "));
    let settings = AuditSettings {
        max_offenders: 2,
        ..AuditSettings::default()
    };
    let short = table(&a, &settings, false);
    assert!(
        short.contains("... and 3 more (--max-offenders)"),
        "{short}"
    );
    assert!(!short.contains("legacy-ftp"), "{short}");
    let settings = AuditSettings {
        max_offenders: 0,
        ..AuditSettings::default()
    };
    assert_eq!(
        table(&a, &settings, false),
        all,
        "0 lists all, as 20 does here"
    );
}

#[test]
fn the_exit_status_follows_fail_on_and_errors_win() {
    let input = sample();
    let mut a = audit(&input);
    // The sample fails critical controls (root access key, root MFA).
    for floor in [Severity::Critical, Severity::High, Severity::Low] {
        assert_eq!(a.exit_code(Some(floor)), EXIT_FAIL, "{floor:?}");
    }
    assert_eq!(a.exit_code(None), EXIT_PASS);
    // Only low failures left: high and medium pass, low fails.
    for r in &mut a.accounts[0].controls {
        if r.control.control().severity > Severity::Low {
            r.status = Status::Pass;
        }
    }
    assert_eq!(a.exit_code(Some(Severity::High)), EXIT_PASS);
    assert_eq!(a.exit_code(Some(Severity::Medium)), EXIT_PASS);
    assert_eq!(a.exit_code(Some(Severity::Low)), EXIT_FAIL);
    let text = table(&a, &AuditSettings::default(), false);
    assert!(
        text.ends_with("Result: no control fails at or above high (--fail-on): exit 0\n"),
        "{text}"
    );
    a.errors.push("account 222233334444: AccessDenied".into());
    assert_eq!(a.exit_code(None), EXIT_ERROR);
    assert_eq!(a.exit_code(Some(Severity::Low)), EXIT_ERROR);
    assert!(
        table(&a, &AuditSettings::default(), false).ends_with(
            "Result: 1 account could not be read; no control fails at or above high (--fail-on): exit 2\n"
        )
    );
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    assert!(use_color(true, None));
    assert!(
        use_color(true, Some("")),
        "an empty NO_COLOR is unset (no-color.org)"
    );
    assert!(!use_color(true, Some("1")));
    assert!(!use_color(false, None));
    assert!(!use_color(false, Some("1")));
    let input = sample();
    let a = audit(&input);
    let plain = table(&a, &AuditSettings::default(), false);
    assert!(!plain.contains('\x1b'));
    let coloured = table(&a, &AuditSettings::default(), true);
    assert!(coloured.contains(&format!("{RED}FAIL{RESET}")));
    // Colour does not move the columns.
    let strip = coloured
        .replace(BOLD, "")
        .replace(RED, "")
        .replace(YELLOW, "")
        .replace(GREEN, "")
        .replace(RESET, "");
    assert_eq!(strip, plain);
}

#[test]
fn control_characters_of_a_report_never_reach_the_terminal() {
    assert_eq!(printable("eve\x1b[2J (password)"), "eve?[2J (password)");
    assert_eq!(
        printable("ci,runner (access_key_1)"),
        "ci,runner (access_key_1)"
    );
}

#[test]
fn the_cis_column_follows_cis_version() {
    let input = sample();
    let a = audit(&input);
    let settings = AuditSettings {
        cis_version: "7.0.0",
        ..AuditSettings::default()
    };
    let text = table(&a, &settings, false);
    let row = |id: &str| {
        text.lines()
            .find(|l| l.split_whitespace().nth(2) == Some(id))
            .unwrap()
            .split_whitespace()
            .nth(3)
            .unwrap()
            .to_owned()
    };
    assert!(text.contains("CIS 7.0.0"));
    assert!(table(&a, &AuditSettings::default(), false).contains("  CIS 1.4-4.0  "));
    assert_eq!(row("root_access_key"), "2.4");
    assert_eq!(row("multiple_active_keys"), "-", "dropped in 7.0.0");
}

#[test]
fn json_has_every_control_in_table_order_with_structured_offenders() {
    let input = sample();
    let a = audit(&input);
    let v: serde_json::Value = serde_json::from_str(&json(&a, &AuditSettings::default())).unwrap();
    assert_eq!(v["now"], "2026-12-01T00:00:00Z");
    assert_eq!(v["fail_on"], "high");
    assert_eq!(v["failed"], true);
    assert_eq!(v["exit_code"], 1);
    let account = &v["accounts"][0];
    assert_eq!(account["account_id"], "123456789012");
    assert_eq!(account["users"], 13);
    let controls = account["controls"].as_array().unwrap();
    let ids: Vec<&str> = controls.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let want: Vec<&str> = CONTROLS.iter().map(|c| c.id).collect();
    assert_eq!(ids, want);
    let root_key = &controls[0];
    assert_eq!(root_key["status"], "fail");
    assert_eq!(root_key["cis"], "1.4");
    assert_eq!(root_key["securityhub"], "IAM.4");
    assert_eq!(root_key["failing_resources"], 1);
    let o = &root_key["offenders"][0];
    assert_eq!(o["user"], "<root_account>");
    assert_eq!(o["credential"], "access_key_1");
    assert_eq!(o["last_used"], "2026-10-28T03:10:00Z");
    assert_eq!(o["days"], 33);
    assert_eq!(o["never_used"], false);
    let policy = &controls[ControlId::PasswordPolicyLength as usize];
    assert_eq!(policy["status"], "unknown");
    assert!(policy["failing_resources"].is_null());
}
