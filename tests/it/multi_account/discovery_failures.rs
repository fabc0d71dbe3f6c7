//! Organizations discovery that fails, on the scenario server (issue 22, items 8 and 11): the
//! statically listed accounts are watched from the start whatever Organizations answers,
//! discovery is retried within seconds (not one interval later), `--once` and `audit` report the
//! static accounts and name the failure; a renamed account's series follow the new name.

use super::*;

const STATIC: &str = "111111111111";
const MEMBER: &str = "222222222222";

/// One static account (`static-one`, 1 user) and an organization managed by the scenario's
/// default account with one member (`member-two`, 2 users), discovered through the role
/// `IamExporter`, the management account excluded.
const CONFIG: &str = "accounts:
  - role_arn: arn:aws:iam::111111111111:role/IamExporter
    name: static-one
organizations:
  role_name: IamExporter
  include_management_account: false
";

fn org_scenario() -> Scenario {
    let s = Scenario::start();
    seed_scenario_account(&s, STATIC, 1);
    seed_scenario_account(&s, MEMBER, 2);
    s.set_organization(Some(
        OrganizationState::new(DEFAULT_ACCOUNT).member(MEMBER, "member-two"),
    ));
    s
}

/// A daemon on [`CONFIG`] refreshing every 5 minutes: only a retry of discovery can find the
/// member within the tests' waits.
fn daemon_every_5m(s: &Scenario, dir: &Path) -> Exporter {
    let cfg = write_file(dir, "org.yml", CONFIG);
    let mut e = Exporter::start_with(ExporterOpts {
        args: vec![
            format!("--config.file={}", cfg.display()),
            "--refresh.interval=5m".into(),
            "--aws.max-attempts=1".into(),
        ],
        aws_endpoint: Some(s.endpoint()),
        ..Default::default()
    });
    e.wait_listening(Duration::from_secs(30));
    e
}

fn discovery_success(scrape: &str) -> Option<f64> {
    metric_value(scrape, "aws_iam_exporter_account_discovery_success", &[])
}

#[test]
fn static_accounts_are_watched_while_organizations_refuses_and_discovery_is_retried_within_seconds()
{
    let s = org_scenario();
    s.deny("DescribeOrganization");
    let dir = tempfile::tempdir().unwrap();
    let mut e = daemon_every_5m(&s, dir.path());
    let first = wait_all_fresh(&mut e, &[STATIC]);
    assert_eq!(
        metric_value(
            &first,
            "aws_iam_users",
            &[("account_id", STATIC), ("account_name", "static-one")]
        ),
        Some(1.0)
    );
    assert!(!first.contains(MEMBER), "{first}");
    let refused = wait_scrape(&mut e, "discovery to be reported failed", |m| {
        discovery_success(m) == Some(0.0)
    });
    assert!(!refused.contains(MEMBER));
    let tried = s.calls("DescribeOrganization");

    s.allow("DescribeOrganization");
    let allowed = Instant::now();
    let found = wait_all_fresh(&mut e, &[STATIC, MEMBER]);
    let took = allowed.elapsed();
    assert!(
        took < Duration::from_secs(45),
        "found {took:?} after the refusal ended"
    );
    assert!(s.calls("DescribeOrganization") > tried, "not retried");
    assert_eq!(discovery_success(&found), Some(1.0));
    assert_eq!(
        metric_value(
            &found,
            "aws_iam_users",
            &[("account_id", MEMBER), ("account_name", "member-two")]
        ),
        Some(2.0)
    );
    let log = e.stderr();
    let failed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("discovery failed"))
        .collect();
    assert!(!failed.is_empty(), "{log}");
    assert!(failed[0].contains("DescribeOrganization"), "{}", failed[0]);
}

#[test]
fn a_throttled_list_accounts_is_retried_with_a_backoff_of_seconds_doubling() {
    let s = org_scenario();
    s.push_faults(
        "ListAccounts",
        Fault::error(400, "TooManyRequestsException", "Rate exceeded"),
        3,
    );
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut e = daemon_every_5m(&s, dir.path());
    wait_all_fresh(&mut e, &[STATIC]);
    let found = wait_all_fresh(&mut e, &[STATIC, MEMBER]);
    let took = started.elapsed();
    // Three throttled attempts, then one that succeeds: 1 + 2 + 4 s of backoff at least.
    assert_eq!(s.calls("ListAccounts"), 4);
    assert!(took >= Duration::from_secs(7), "{took:?}: no backoff");
    assert!(took < Duration::from_secs(45), "{took:?}");
    assert_eq!(discovery_success(&found), Some(1.0));
}

/// Runs `--once` or `audit` (args) on [`CONFIG`] against `s`.
fn run_on_config(s: &Scenario, dir: &Path, args: &[&str]) -> std::process::Output {
    let cfg = write_file(dir, "org.yml", CONFIG);
    output_within(
        exporter_cmd(Some(&s.endpoint()))
            .args(args)
            .arg(format!("--config.file={}", cfg.display()))
            .arg("--aws.max-attempts=1"),
        Duration::from_secs(60),
    )
    .unwrap()
}

/// The lines of stderr that are errors.
fn error_lines(o: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.starts_with("aws-iam-exporter: error: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn once_prints_the_static_accounts_names_the_discovery_failure_and_exits_1() {
    let s = org_scenario();
    s.deny("DescribeOrganization");
    let dir = tempfile::tempdir().unwrap();
    let o = run_on_config(&s, dir.path(), &["--once"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let errors = error_lines(&o);
    assert_eq!(errors.len(), 1, "{err}");
    for named in ["discovery", "DescribeOrganization", "AccessDeniedException"] {
        assert!(errors[0].contains(named), "`{named}`: {}", errors[0]);
    }
    let m = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        metric_value(
            &m,
            "aws_iam_users",
            &[("account_id", STATIC), ("account_name", "static-one")]
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(discovery_success(&m), Some(0.0), "{m}");
    assert!(!m.contains(MEMBER));
}

#[test]
fn audit_reports_the_static_accounts_names_the_discovery_failure_and_exits_2() {
    let s = org_scenario();
    s.push_faults(
        "ListAccounts",
        Fault::error(400, "TooManyRequestsException", "Rate exceeded"),
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let o = run_on_config(&s, dir.path(), &["audit"]);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{out}\n{err}");
    let errors = error_lines(&o);
    assert_eq!(errors.len(), 1, "{err}");
    for named in ["discovery", "ListAccounts", "TooManyRequestsException"] {
        assert!(errors[0].contains(named), "`{named}`: {}", errors[0]);
    }
    let headings: Vec<&str> = out.lines().filter(|l| l.starts_with("Account ")).collect();
    assert_eq!(headings, ["Account 111111111111 \"static-one\""], "{out}");
    assert!(
        out.lines()
            .last()
            .is_some_and(|l| l.contains("discovery") && l.ends_with("exit 2")),
        "{out}"
    );
}

#[test]
fn a_renamed_account_takes_its_new_name_at_the_next_discovery_and_leaves_no_series_behind() {
    let s = org_scenario();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_file(dir.path(), "org.yml", CONFIG);
    let mut e = start_exporter(&s.endpoint(), &cfg, &[]);
    wait_all_fresh(&mut e, &[STATIC, MEMBER]);
    s.with_organization(|o| {
        let m = o.accounts.iter_mut().find(|a| a.id == MEMBER).unwrap();
        m.name = "member-renamed".into();
    });
    let renamed = wait_scrape(&mut e, "the member's series under its new name", |m| {
        metric_value(
            m,
            "aws_iam_users",
            &[("account_id", MEMBER), ("account_name", "member-renamed")],
        ) == Some(2.0)
    });
    assert!(
        !renamed.contains("\"member-two\""),
        "series left behind under the old name:\n{}",
        renamed
            .lines()
            .filter(|l| l.contains("member-two"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(accounts_gauge(&renamed), Some(2.0));
    // Every series of the member carries the new name.
    for line in renamed.lines().filter(|l| l.contains(MEMBER)) {
        assert!(line.contains("account_name=\"member-renamed\""), "{line}");
    }
}
