//! Root audit without member roles (issue 21): `organizations: { root_audit: true }` reads every
//! member's root through sts:AssumeRoot from the management account, on the scenario server,
//! which grants the audit task policy only, answers the root-task calls from the session's
//! member, and records any other call made with a root session.
//!
//! Three members: a root with an active key and no MFA ("keyed"), a credential-less root
//! ("bare"), and a root with a password and a FIDO security key ("fido"). The management
//! account (the server's default account, the exporter's own) is watched with the exporter's
//! own credentials.

use super::*;

const KEYED: &str = "210000000001";
const BARE: &str = "210000000002";
const FIDO: &str = "210000000003";
const MEMBERS: [&str; 3] = [KEYED, BARE, FIDO];

/// The organization (management: the default account) and its three member roots.
fn three_members(s: &Scenario) {
    s.set_organization(Some(OrganizationState::new(DEFAULT_ACCOUNT).members(&[
        (KEYED, "keyed"),
        (BARE, "bare"),
        (FIDO, "fido"),
    ])));
    s.account(KEYED)
        .set_root(RootState::default().with_key(RootAccessKey::active(
            "AKIAKEYEDROOT0000001",
            200,
            Some(3),
        )));
    s.account(BARE).set_root(RootState::default());
    s.account(FIDO).set_root(
        RootState::default()
            .with_password(400, Some(2))
            .with_mfa(MfaKind::Fido, FIDO),
    );
}

/// A config file of `organizations:` with `root_audit: true` and `extra` keys.
fn config(dir: &Path, extra: &str) -> PathBuf {
    write_file(
        dir,
        "root-audit.yml",
        &format!("organizations:\n  root_audit: true\n{extra}"),
    )
}

/// The exporter on `cfg` with `flags` (one attempt per call; refresh every 2 s and a root
/// audit every hour unless `flags` say otherwise).
fn root_audit_exporter(s: &Scenario, cfg: &Path, flags: &[&str]) -> Exporter {
    let given = |name: &str| flags.iter().any(|f| f.starts_with(name));
    let mut args = vec![
        format!("--config.file={}", cfg.display()),
        "--aws.max-attempts=1".to_owned(),
    ];
    for (name, default) in [
        ("--refresh.interval", INTERVAL),
        ("--root-audit.interval", "--root-audit.interval=1h"),
        ("--aws.timeout", "--aws.timeout=10s"),
    ] {
        if !given(name) {
            args.push(default.to_owned());
        }
    }
    args.extend(flags.iter().map(|f| f.to_string()));
    let mut exp = Exporter::start_with(ExporterOpts {
        args,
        aws_endpoint: Some(s.endpoint()),
        ..Default::default()
    });
    exp.wait_listening(Duration::from_secs(30));
    exp
}

fn v(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metric_value(text, name, labels)
}

fn control_of(text: &str, account: &str, control: &str) -> Option<f64> {
    v(
        text,
        "aws_iam_control_failing",
        &[("account_id", account), ("control", control)],
    )
}

/// The controls evaluated for `account`.
fn controls_of(text: &str, account: &str) -> BTreeSet<String> {
    metric_samples(text, "aws_iam_control_failing")
        .into_iter()
        .filter(|x| x.labels.get("account_id").map(String::as_str) == Some(account))
        .filter_map(|x| x.labels.get("control").cloned())
        .collect()
}

const ROOT_CONTROLS: [&str; 5] = [
    "root_access_key",
    "root_mfa",
    "root_hardware_mfa",
    "root_recent_use",
    "root_signing_certificate",
];

#[test]
fn three_member_roots_are_read_through_assume_root_with_no_role_and_no_call_outside_the_task_policy()
 {
    let s = Scenario::start();
    three_members(&s);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let mut exp = root_audit_exporter(&s, &cfg, &[]);
    let text = wait_all_fresh(&mut exp, &[DEFAULT_ACCOUNT, KEYED, BARE, FIDO]);

    // The keyed root: key present and active (slot 1), no MFA, used 3 days ago.
    let keyed = [("account_id", KEYED), ("account_name", "keyed")];
    assert_eq!(
        v(&text, "aws_iam_root_access_keys_present", &keyed),
        Some(1.0)
    );
    assert_eq!(
        v(
            &text,
            "aws_iam_root_access_key_active",
            &[("account_id", KEYED), ("key", "1")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            &text,
            "aws_iam_root_access_key_active",
            &[("account_id", KEYED), ("key", "2")]
        ),
        Some(0.0)
    );
    assert!(
        v(
            &text,
            "aws_iam_root_last_used_timestamp_seconds",
            &[("account_id", KEYED), ("credential", "access_key_1")]
        )
        .is_some()
    );
    assert!(
        v(
            &text,
            "aws_iam_root_access_key_last_rotated_timestamp_seconds",
            &[("account_id", KEYED), ("key", "1")]
        )
        .is_some()
    );
    assert_eq!(v(&text, "aws_iam_root_mfa_enabled", &keyed), Some(0.0));
    assert_eq!(v(&text, "aws_iam_root_password_present", &keyed), Some(0.0));
    assert_eq!(
        v(&text, "aws_iam_root_credentials_present", &keyed),
        Some(1.0)
    );
    for (c, want) in [
        ("root_access_key", 1.0),
        ("root_mfa", 1.0),
        ("root_hardware_mfa", 1.0),
        ("root_recent_use", 1.0),
        ("root_signing_certificate", 0.0),
    ] {
        assert_eq!(control_of(&text, KEYED, c), Some(want), "keyed {c}");
    }

    // The credential-less root: no credential, both MFA controls pass.
    let bare = [("account_id", BARE), ("account_name", "bare")];
    assert_eq!(
        v(&text, "aws_iam_root_credentials_present", &bare),
        Some(0.0)
    );
    assert_eq!(
        v(&text, "aws_iam_root_access_keys_present", &bare),
        Some(0.0)
    );
    for c in ROOT_CONTROLS {
        assert_eq!(control_of(&text, BARE, c), Some(0.0), "bare {c}");
    }

    // The root with a password and a FIDO key: hardware MFA, password used 2 days ago.
    let fido = [("account_id", FIDO), ("account_name", "fido")];
    assert_eq!(v(&text, "aws_iam_root_password_present", &fido), Some(1.0));
    assert_eq!(v(&text, "aws_iam_root_mfa_enabled", &fido), Some(1.0));
    assert_eq!(
        v(&text, "aws_iam_root_hardware_mfa_enabled", &fido),
        Some(1.0)
    );
    assert!(
        v(
            &text,
            "aws_iam_root_last_used_timestamp_seconds",
            &[("account_id", FIDO), ("credential", "password")]
        )
        .is_some()
    );
    assert_eq!(control_of(&text, FIDO, "root_mfa"), Some(0.0));
    assert_eq!(control_of(&text, FIDO, "root_hardware_mfa"), Some(0.0));
    assert_eq!(control_of(&text, FIDO, "root_recent_use"), Some(1.0));

    // Members: the root controls only, no user series or counts (users unknown, not zero),
    // no credential report.
    for m in MEMBERS {
        assert_eq!(
            controls_of(&text, m),
            ROOT_CONTROLS.iter().map(|c| c.to_string()).collect(),
            "{m}"
        );
        for family in [
            "aws_iam_users",
            "aws_iam_console_users",
            "aws_iam_active_access_keys",
            "aws_iam_credential_report_generated_timestamp_seconds",
            "aws_iam_password_policy_present",
        ] {
            assert_eq!(v(&text, family, &[("account_id", m)]), None, "{m} {family}");
        }
    }
    // The management account: its own credentials, the full report; never an AssumeRoot target.
    assert!(v(&text, "aws_iam_users", &[("account_id", DEFAULT_ACCOUNT)]).is_some());
    assert_eq!(s.calls("AssumeRoot"), 0);
    assert_eq!(s.calls_all_accounts("AssumeRole"), 0, "no role anywhere");

    // Every AssumeRoot: the member, the audit task policy, at most 900 seconds.
    let assume: Vec<RecordedRequest> = s
        .requests()
        .into_iter()
        .filter(|r| r.action == "AssumeRoot")
        .collect();
    let targets: BTreeSet<&str> = assume
        .iter()
        .map(|r| r.params["TargetPrincipal"].as_str())
        .collect();
    assert_eq!(targets, BTreeSet::from(MEMBERS));
    for r in &assume {
        assert_eq!(r.params["TaskPolicyArn.arn"], AUDIT_TASK_POLICY);
        let d: i64 = r.params["DurationSeconds"].parse().unwrap();
        assert!((1..=900).contains(&d), "{d}");
    }
    // The calls of a root session: the task policy's, none other (recorded otherwise).
    assert!(
        s.root_session_calls().is_empty(),
        "{:?}",
        s.root_session_calls()
    );
    for m in MEMBERS {
        let calls = s.account(m).all_calls();
        for (action, n) in &calls {
            assert!(
                action == "AssumeRoot" || AUDIT_TASK_ACTIONS.iter().any(|(a, _)| a == action),
                "{m}: {action} x{n}"
            );
        }
        assert_eq!(calls.get("GetUser"), Some(&1), "{m}: {calls:?}");
    }
    assert_eq!(s.account(KEYED).calls("GetAccessKeyLastUsed"), 1);

    // The cadence: refreshes every 2 s, but each member is audited once per hour.
    std::thread::sleep(Duration::from_secs(5));
    let later = wait_all_fresh(&mut exp, &[DEFAULT_ACCOUNT, KEYED, BARE, FIDO]);
    for m in MEMBERS {
        assert_eq!(s.account(m).calls("AssumeRoot"), 1, "{m}");
        assert_eq!(
            v(
                &later,
                "aws_iam_exporter_refresh_success",
                &[("account_id", m)]
            ),
            Some(1.0)
        );
    }
    assert!(
        s.calls("GetAccountSummary") >= 2,
        "the management account refreshes as usual"
    );
    let errors: Vec<Sample> = metric_samples(&later, "aws_iam_exporter_aws_errors_total");
    assert!(errors.is_empty(), "{errors:?}");
}

/// The log lines of a failed root audit (one per logged failure).
fn root_audit_failures(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("root audit failed"))
        .collect()
}

#[test]
fn each_refusal_fails_its_member_alone_counted_and_logged_once_per_change_as_one_line() {
    let s = Scenario::start();
    three_members(&s);
    // The feature is off: every member is refused; the management account goes on.
    s.refuse_assume_root(Some(RootRefusal::FeatureOff));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let mut exp = root_audit_exporter(&s, &cfg, &["--refresh.interval=1s"]);
    let text = wait_scrape(&mut exp, "every member refused", |t| {
        let ok = refresh_success(t);
        ok.get(DEFAULT_ACCOUNT) == Some(&1.0) && MEMBERS.iter().all(|m| ok.get(*m) == Some(&0.0))
    });
    for m in MEMBERS {
        assert_eq!(
            aws_errors(&text, m).1,
            BTreeSet::from([("AssumeRoot".to_owned(), "AccessDenied".to_owned())]),
            "{m}"
        );
    }
    // Retried with backoff, logged once: one line per member, whatever the retries.
    std::thread::sleep(Duration::from_secs(6));
    let log = exp.stderr();
    let lines = root_audit_failures(&log);
    assert_eq!(lines.len(), 3, "{log}");
    for m in MEMBERS {
        let line = lines.iter().find(|l| l.contains(m)).expect(m);
        assert!(line.contains("operation=AssumeRoot"), "{line}");
        assert!(line.contains("code=AccessDenied"), "{line}");
        assert!(
            line.contains("centralized root access is not enabled"),
            "{line}"
        );
        assert!(
            line.contains("RootCredentialsManagement"),
            "what to do: {line}"
        );
        assert!(
            line.contains("iam-policy-root-audit.json"),
            "what to do: {line}"
        );
    }
    let attempts = s.account(KEYED).calls("AssumeRoot");
    assert!(
        (2..=5).contains(&attempts),
        "backoff: {attempts} AssumeRoot in ~8 s"
    );

    // The refusal changes (the caller is not the management account): logged again, once.
    s.refuse_assume_root(Some(RootRefusal::NotManagementOrDelegatedAdministrator));
    std::thread::sleep(Duration::from_secs(20));
    let log = exp.stderr();
    assert_eq!(root_audit_failures(&log).len(), 6, "{log}");
    assert!(
        root_audit_failures(&log)
            .iter()
            .filter(|l| l.contains("not the management account or the delegated administrator"))
            .count()
            == 3
    );

    // An SCP denies one member: that member alone fails, the others recover.
    s.refuse_assume_root(None);
    s.account(FIDO)
        .refuse_assume_root(Some(RootRefusal::ScpDeny));
    let text = wait_scrape(&mut exp, "two members recover, one SCP-denied", |t| {
        let ok = refresh_success(t);
        ok.get(KEYED) == Some(&1.0) && ok.get(BARE) == Some(&1.0) && ok.get(FIDO) == Some(&0.0)
    });
    assert_eq!(refresh_success(&text).get(DEFAULT_ACCOUNT), Some(&1.0));
    // FIDO failed before too: wait for its audit refused by the SCP (its retry backs off).
    let scp_lines = |log: &str| -> Vec<String> {
        root_audit_failures(log)
            .into_iter()
            .filter(|l| l.contains("explicit deny in a service control policy"))
            .map(str::to_owned)
            .collect()
    };
    poll_until(WAIT, || {
        (!scp_lines(&exp.stderr()).is_empty()).then_some(())
    })
    .unwrap_or_else(|| panic!("no SCP refusal logged\n{}", exp.stderr()));
    // Its retries refused alike are not logged again.
    std::thread::sleep(Duration::from_secs(3));
    let log = exp.stderr();
    let scp = scp_lines(&log);
    assert_eq!(scp.len(), 1, "{log}");
    assert!(scp[0].contains(FIDO));
    for line in log.lines() {
        assert!(
            !line.contains("ASIASCENARIO"),
            "no credentials in the log: {line}"
        );
    }
    assert!(s.root_session_calls().is_empty());
}

#[test]
fn a_restart_audits_every_member_at_once_instead_of_blanking_the_fleet() {
    let s = Scenario::start();
    three_members(&s);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let mut exp = root_audit_exporter(&s, &cfg, &["--refresh.interval=1h"]);
    wait_all_fresh(&mut exp, &[DEFAULT_ACCOUNT, KEYED, BARE, FIDO]);
    drop(exp);
    let started = Instant::now();
    let mut exp = root_audit_exporter(&s, &cfg, &["--refresh.interval=1h"]);
    let text = wait_all_fresh(&mut exp, &[DEFAULT_ACCOUNT, KEYED, BARE, FIDO]);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the first refreshes come at once, not an interval later: {:?}",
        started.elapsed()
    );
    assert_eq!(
        v(
            &text,
            "aws_iam_root_access_keys_present",
            &[("account_id", KEYED)]
        ),
        Some(1.0)
    );
    for m in MEMBERS {
        assert_eq!(s.account(m).calls("AssumeRoot"), 2, "{m}: one per start");
    }
}

#[test]
fn with_a_role_name_the_role_is_used_where_it_works_and_the_root_audit_where_it_does_not() {
    let s = Scenario::start();
    three_members(&s);
    // KEYED has the role; BARE's cannot be assumed.
    s.account(KEYED).seed_users(4, days_ago(30), days_ago(20));
    let bare_role = format!("arn:aws:iam::{BARE}:role/aws-iam-exporter");
    s.account(BARE).deny_assume_role(&bare_role);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "  role_name: aws-iam-exporter\n");
    let mut exp = root_audit_exporter(&s, &cfg, &[]);
    let text = wait_all_fresh(&mut exp, &[DEFAULT_ACCOUNT, KEYED, BARE, FIDO]);
    // KEYED through its role: the full report (4 users), no AssumeRoot.
    assert_eq!(
        v(&text, "aws_iam_users", &[("account_id", KEYED)]),
        Some(4.0)
    );
    assert_eq!(s.account(KEYED).calls("AssumeRoot"), 0);
    // BARE through the root audit: root only.
    assert_eq!(v(&text, "aws_iam_users", &[("account_id", BARE)]), None);
    assert_eq!(
        v(
            &text,
            "aws_iam_root_credentials_present",
            &[("account_id", BARE)]
        ),
        Some(0.0)
    );
    assert_eq!(s.account(BARE).calls("AssumeRoot"), 1);
    // The refused AssumeRole is counted; the account's refresh still succeeds.
    assert!(
        aws_errors(&text, BARE)
            .1
            .contains(&("AssumeRole".to_owned(), "AccessDenied".to_owned()))
    );
    // One series per account and family, never both sources at once.
    let mut seen = BTreeSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let series = line.rsplit_once(' ').map_or(line, |(s, _)| s);
        assert!(seen.insert(series.to_owned()), "duplicate series {series}");
    }
    // BARE's role works again: the next refresh reads the report through it.
    s.account(BARE).with(|a| a.deny_assume_role.clear());
    s.account(BARE).seed_users(2, days_ago(30), days_ago(20));
    let text = wait_scrape(&mut exp, "BARE through its role again", |t| {
        v(t, "aws_iam_users", &[("account_id", BARE)]) == Some(2.0)
    });
    assert!(
        controls_of(&text, BARE).len() > ROOT_CONTROLS.len(),
        "the user controls are back"
    );
}

#[test]
fn a_slow_member_delays_no_other() {
    let s = Scenario::start();
    three_members(&s);
    // KEYED's AssumeRoot answers after 40 s; the others at once.
    s.account(KEYED)
        .push_faults("AssumeRoot", Fault::hang(Duration::from_secs(40)), 1);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let started = Instant::now();
    let mut exp = root_audit_exporter(&s, &cfg, &["--refresh.concurrency=2", "--aws.timeout=60s"]);
    wait_all_fresh(&mut exp, &[DEFAULT_ACCOUNT, BARE, FIDO]);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let text = exp.request("/metrics", &[]).text();
    assert_eq!(
        refresh_success(&text).get(KEYED),
        None,
        "still waiting for AWS"
    );
}

#[test]
fn audit_gives_each_member_a_section_of_its_root_controls() {
    let s = Scenario::start();
    three_members(&s);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let cfg = cfg.display().to_string();
    let o = crate::audit::audit_cmd(Some(&s.endpoint()), &["--config.file", &cfg])
        .output()
        .unwrap();
    let (out, err) = (crate::audit::stdout_of(&o), crate::audit::stderr_of(&o));
    // The keyed root fails critical controls: exit 1.
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    let headings: Vec<&str> = out.lines().filter(|l| l.starts_with("Account ")).collect();
    assert_eq!(
        headings,
        [
            "Account 123456789012 \"management\"",
            "Account 210000000001 \"keyed\"",
            "Account 210000000002 \"bare\"",
            "Account 210000000003 \"fido\"",
        ],
        "{out}"
    );
    // Each member: the five root controls judged, the others unknown (19 in the table today).
    let sections: Vec<&str> = out.split("\nAccount ").collect();
    let keyed = sections
        .iter()
        .find(|s| s.starts_with("210000000001"))
        .unwrap();
    assert!(
        keyed.contains(
            "root audit through sts:AssumeRoot (no credential report: users unknown); 4 controls fail,"
        ),
        "{keyed}"
    );
    assert!(
        keyed.contains("<root_account> (access_key_1, last used "),
        "{keyed}"
    );
    let unknown = |section: &str, control: &str| {
        section
            .lines()
            .any(|l| l.starts_with("unknown") && l.contains(&format!(" {control} ")))
    };
    for control in [
        "console_user_mfa",
        "access_key_rotation",
        "unused_credentials_45d",
    ] {
        assert!(unknown(keyed, control), "{control}: {keyed}");
    }
    let bare = sections
        .iter()
        .find(|s| s.starts_with("210000000002"))
        .unwrap();
    assert!(bare.contains("; 0 controls fail,"), "{bare}");
    // JSON: the members' users are unknown (null), the management account's counted.
    let o = crate::audit::audit_cmd(
        Some(&s.endpoint()),
        &["--config.file", &cfg, "--format", "json"],
    )
    .output()
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&crate::audit::stdout_of(&o)).unwrap();
    let accounts = v["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 4);
    assert!(accounts[0]["users"].is_number());
    for a in &accounts[1..] {
        assert!(a["users"].is_null(), "{a}");
    }
    assert!(s.root_session_calls().is_empty());
    assert_eq!(s.calls_all_accounts("AssumeRole"), 0);
}

/// The series of the root alerts that page (AwsIamRootAccessKeyPresent, AwsIamRootMfaDisabled)
/// for `members`, as the exporter emits them (values that do not age).
fn root_alert_inputs(exposition: &str, members: &[&str]) -> BTreeSet<String> {
    const FAMILIES: [&str; 4] = [
        "aws_iam_root_access_keys_present{",
        "aws_iam_root_access_key_active{",
        "aws_iam_root_mfa_enabled{",
        "aws_iam_root_credentials_present{",
    ];
    exposition
        .lines()
        .filter(|l| FAMILIES.iter().any(|f| l.starts_with(f)))
        .filter(|l| {
            members
                .iter()
                .any(|id| l.contains(&format!("account_id=\"{id}\"")))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_root_alert_tests_are_fed_the_series_of_a_root_audit() {
    const FILE: &str = "alerts/tests/root-audit.test.yml";
    let s = Scenario::start();
    three_members(&s);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let o = exporter_cmd(Some(&s.endpoint()))
        .arg("--once")
        .arg(format!("--config.file={}", cfg.display()))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let emitted = root_alert_inputs(&out, &[KEYED, BARE]);
    assert_eq!(emitted.len(), 10, "{emitted:#?}");
    assert_eq!(
        promtool_test_inputs(
            FILE,
            "exporter output: a member root with a key and no MFA, a credential-less member root"
        ),
        emitted,
        "regenerate the input series of {FILE} from `--once` (this test's scenario)"
    );
    if let Some(promtool) = require_tool("PROMTOOL", &["promtool"]) {
        let r = std::process::Command::new(promtool)
            .args(["test", "rules", FILE])
            .current_dir(repo_root())
            .output()
            .unwrap();
        assert!(
            r.status.success(),
            "promtool test rules {FILE}:\n{}{}",
            String::from_utf8_lossy(&r.stdout),
            String::from_utf8_lossy(&r.stderr)
        );
    }
}

#[test]
fn a_delegated_administrator_reads_itself_with_its_own_credentials_and_says_the_management_account_is_unread()
 {
    // The exporter runs in the IAM delegated administrator (the server's default account), a
    // member; the management account is another one, which AssumeRoot cannot target.
    const MANAGEMENT: &str = "111100001111";
    let s = Scenario::start();
    s.set_organization(Some(
        OrganizationState::new(MANAGEMENT)
            .members(&[(DEFAULT_ACCOUNT, "security"), (KEYED, "keyed")]),
    ));
    s.account(KEYED)
        .set_root(RootState::default().with_key(RootAccessKey::active(
            "AKIAKEYEDROOT0000001",
            200,
            Some(3),
        )));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let mut exp = root_audit_exporter(&s, &cfg, &[]);
    let text = wait_all_fresh(&mut exp, &[DEFAULT_ACCOUNT, KEYED]);
    assert_eq!(accounts_gauge(&text), Some(2.0));
    assert!(
        !text.contains(MANAGEMENT),
        "the management account is not watched"
    );
    // Its own account: its own credentials, its full report, its organization name.
    assert!(
        v(
            &text,
            "aws_iam_users",
            &[
                ("account_id", DEFAULT_ACCOUNT),
                ("account_name", "security")
            ]
        )
        .is_some()
    );
    assert_eq!(s.account(DEFAULT_ACCOUNT).calls("AssumeRoot"), 0);
    assert_eq!(s.account(KEYED).calls("AssumeRoot"), 1);
    assert_eq!(s.account(MANAGEMENT).calls("AssumeRoot"), 0);
    // The exporter-level control carries the labels of the account it reads with its own
    // credentials, organization name included, as that account's other series do.
    let is_rcm = |x: &Sample| x.labels["control"] == "root_credentials_management";
    let m = wait_scrape(&mut exp, "the hub's root_credentials_management", |m| {
        metric_samples(m, "aws_iam_control_failing")
            .iter()
            .any(is_rcm)
    });
    let control: Vec<Sample> = metric_samples(&m, "aws_iam_control_failing")
        .into_iter()
        .filter(is_rcm)
        .collect();
    assert_eq!(control.len(), 1, "{control:?}");
    assert_eq!(
        control[0].labels.get("account_id").map(String::as_str),
        Some(DEFAULT_ACCOUNT)
    );
    assert_eq!(
        control[0].labels.get("account_name").map(String::as_str),
        Some("security")
    );
    // Said once, whatever the discoveries (every 2 s).
    std::thread::sleep(Duration::from_secs(5));
    assert!(s.calls("ListAccounts") >= 3);
    let log = exp.stderr();
    let said: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("the management account is not watched"))
        .collect();
    assert_eq!(said.len(), 1, "{log}");
    assert!(said[0].contains(MANAGEMENT), "{}", said[0]);
}
