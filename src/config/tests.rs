//! Flags, the config file and their validation.

use super::*;
use crate::audit::{FailOn, Format};
use crate::posture::Severity;

fn flags(args: &[&str]) -> Result<Flags, clap::Error> {
    Flags::try_parse_from(std::iter::once("aws-iam-exporter").chain(args.iter().copied()))
}

fn config(args: &[&str]) -> Result<Config, ConfigError> {
    Config::from_flags(flags(args).expect("flags parse"))
}

#[test]
fn defaults_match_the_readme() {
    let c = config(&[]).unwrap();
    assert_eq!(
        c.listen_address,
        ListenAddress {
            host: None,
            port: 9741
        }
    );
    assert_eq!(c.listen_address.to_string(), ":9741");
    assert_eq!(c.telemetry_path, "/metrics");
    assert_eq!(c.refresh_interval, Duration::from_secs(300));
    assert_eq!(c.aws.region, "us-east-1");
    assert!(c.per_user);
    assert_eq!(c.mode, Mode::DefaultAccount);
    assert_eq!(c.thresholds, Thresholds::default());
    assert_eq!(c.concurrency, 8);
    assert_eq!(c.fast_interval, Some(Duration::from_secs(60)));
}

#[test]
fn listen_addresses_take_host_names_ipv6_and_port_zero() {
    for (flag, host, port) in [
        ("localhost:9741", Some("localhost"), 9741),
        ("[::1]:9741", Some("::1"), 9741),
        ("127.0.0.1:0", Some("127.0.0.1"), 0),
        ("0.0.0.0:9741", Some("0.0.0.0"), 9741),
        (":9741", None, 9741),
    ] {
        let c = config(&["--web.listen-address", flag]).unwrap();
        let want = ListenAddress {
            host: host.map(str::to_owned),
            port,
        };
        assert_eq!(c.listen_address, want, "{flag}");
        assert_eq!(c.listen_address.to_string(), flag);
    }
}

#[test]
fn per_user_takes_an_explicit_false() {
    assert!(!config(&["--metrics.per-user=false"]).unwrap().per_user);
    assert!(config(&["--metrics.per-user"]).unwrap().per_user);
}

#[test]
fn bad_flags_are_clap_errors_with_exit_code_2() {
    let e = flags(&["--refresh.interval", "soon"]).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("refresh.interval"));
    let e = flags(&["--web.listen-address", "nowhere"]).unwrap_err();
    assert!(e.to_string().contains("HOST:PORT"));
    assert!(flags(&["--no-such-flag"]).is_err());
    assert!(flags(&["--account-summary.file", "x.json"]).is_err());
}

#[test]
fn audit_takes_the_source_and_control_flags_after_it_with_its_defaults() {
    let c = config(&[
        "audit",
        "--credential-report.file",
        "r.csv",
        "--control.access-key-max-age",
        "30d",
    ])
    .unwrap();
    assert_eq!(c.run, Run::Audit(AuditSettings::default()));
    assert_eq!(c.thresholds.access_key_max_age, 30 * 86_400);
    assert_eq!(
        c.log_level,
        LogLevel::Warn,
        "a person reads the table, not the progress"
    );
    assert_ne!(c.run, Run::Once);
    assert!(matches!(c.mode, Mode::Offline(_)));
    // Before the subcommand too.
    let c = config(&["--credential-report.file", "r.csv", "audit"]).unwrap();
    assert!(matches!(c.mode, Mode::Offline(_)));
    assert_eq!(config(&[]).unwrap().log_level, LogLevel::Info);
    assert_eq!(config(&[]).unwrap().run, Run::Daemon);

    let c = config(&[
        "audit",
        "--format",
        "json",
        "--fail-on",
        "never",
        "--max-offenders",
        "0",
        "--cis-version",
        "7.0.0",
        "--log.level",
        "debug",
    ])
    .unwrap();
    assert_eq!(
        c.run,
        Run::Audit(AuditSettings {
            format: Format::Json,
            fail_on: FailOn::Never,
            max_offenders: 0,
            cis_version: "7.0.0",
        })
    );
    assert_eq!(c.log_level, LogLevel::Debug);
    for (flag, want) in [
        ("critical", Severity::Critical),
        ("high", Severity::High),
        ("medium", Severity::Medium),
        ("low", Severity::Low),
    ] {
        let c = config(&["audit", "--fail-on", flag]).unwrap();
        let Run::Audit(settings) = c.run else {
            panic!("audit: {:?}", c.run)
        };
        assert_eq!(settings.fail_on.floor(), Some(want));
    }
    for (flag, want) in [
        ("table", Format::Table),
        ("json", Format::Json),
        ("ocsf", Format::Ocsf),
        ("junit", Format::Junit),
        ("csv", Format::Csv),
    ] {
        let c = config(&["audit", "--format", flag]).unwrap();
        let Run::Audit(settings) = c.run else {
            panic!("audit: {:?}", c.run)
        };
        assert_eq!(settings.format, want, "{flag}");
    }
}

#[test]
fn audit_refuses_the_servers_flags_once_and_bad_values() {
    for args in [
        &["audit", "--web.listen-address", ":1"][..],
        &["audit", "--once"],
        &["audit", "--fail-on", "severe"],
        &["audit", "--format", "yaml"],
        &["audit", "--cis-version", "8.0.0"],
        &["audit", "--account-summary.file", "s.json"],
        &["audti"],
    ] {
        let e = flags(args).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{args:?}");
    }
    let e = config(&["--once", "audit"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--once: cannot be combined with audit, which refreshes once itself"
    );
}

#[test]
fn shard_index_must_be_below_count() {
    let e = config(&["--shard.count", "2", "--shard.index", "2"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--shard.index: 2 is not below --shard.count 2"
    );
}

#[test]
fn offline_mode_from_report_file() {
    let c = config(&["--credential-report.file", "r.csv", "--once"]).unwrap();
    assert_eq!(c.run, Run::Once);
    assert_eq!(
        c.mode,
        Mode::Offline(Files {
            report: "r.csv".into(),
            summary: None
        })
    );
}

#[test]
fn config_file_parses_the_documented_example() {
    let c = parse_config_file(
        r#"
accounts:
  - role_arn: arn:aws:iam::222233334444:role/aws-iam-exporter
    external_id: optional
    name: staging
organizations:
  role_name: aws-iam-exporter
  include_management_account: true
  exclude_accounts: ["111111111111"]
refresh_interval: 5m
concurrency: 8
"#,
    )
    .unwrap();
    assert_eq!(c.accounts[0].name.as_deref(), Some("staging"));
    assert_eq!(c.organizations.unwrap().exclude_accounts, ["111111111111"]);
    assert_eq!(c.concurrency, Some(8));
}

#[test]
fn config_file_errors_name_the_key() {
    let e = parse_config_file("accounts:\n  - role_arn: x\n    nmae: typo\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("nmae"), "{e}");
    let e = parse_config_file("concurrency: many\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("concurrency"), "{e}");
}

#[test]
fn config_file_values_are_validated_and_flags_override_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yml");
    std::fs::write(
            &path,
            "accounts:\n  - role_arn: arn:aws:iam::222233334444:role/r\nrefresh_interval: 1m\nconcurrency: 3\n",
        )
        .unwrap();
    let p = path.to_str().unwrap();
    let c = config(&["--config.file", p]).unwrap();
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    assert_eq!(c.concurrency, 3);
    let c = config(&["--config.file", p, "--refresh.interval", "2m"]).unwrap();
    assert_eq!(c.refresh_interval, Duration::from_secs(120));

    std::fs::write(&path, "accounts:\n  - role_arn: arn:aws:s3:::bucket\n").unwrap();
    let e = config(&["--config.file", p]).unwrap_err().to_string();
    assert!(e.contains("accounts[0].role_arn"), "{e}");
    std::fs::write(&path, "refresh_interval: 0s\naccounts: []\n").unwrap();
    let e = config(&["--config.file", p]).unwrap_err().to_string();
    assert!(e.contains("refresh_interval"), "{e}");
    let e = config(&["--config.file", "/nonexistent.yml"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent.yml"), "{e}");
}

mod properties {
    use super::super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_config_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse_config_file(&text);
        }

        #[test]
        fn arbitrary_flag_values_never_panic(v in "\\PC{0,30}") {
            for flag in ["--refresh.interval", "--web.listen-address", "--shard.count", "--metrics.per-user", "--web.telemetry-path"] {
                let _ = Flags::try_parse_from(["x", flag, v.as_str()]).map(Config::from_flags);
            }
        }
    }
}

#[test]
fn durations_out_of_range_are_usage_errors_not_panics() {
    let e = flags(&["--aws.timeout", "100000000000y", "--once"]).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("aws.timeout"), "{e}");
    let e = flags(&["--aws.timeout", "2h"]).unwrap_err();
    assert!(e.to_string().contains("at most 1h"), "{e}");
    let e = flags(&["--refresh.interval", "8d"]).unwrap_err();
    assert!(e.to_string().contains("at most 7days"), "{e}");
    // The largest accepted values keep every derived budget finite.
    let c = config(&[
        "--aws.timeout",
        "1h",
        "--aws.max-attempts",
        "10",
        "--credential-report.timeout",
        "1h",
    ])
    .unwrap();
    assert!(c.aws.refresh_deadline() < Duration::from_secs(400 * 3600));
}

#[test]
fn password_thresholds_must_be_positive_and_possible() {
    assert!(flags(&["--control.password-min-length=-5"]).is_err());
    assert!(flags(&["--control.password-min-length=0"]).is_err());
    assert!(flags(&["--control.password-reuse-prevention=25"]).is_err());
    assert!(flags(&["--control.password-min-length=20"]).is_ok());
}

#[test]
fn fast_checks_are_off_with_0_or_off_and_when_not_below_the_refresh_interval() {
    let fast = |args: &[&str]| config(args).unwrap().fast_interval;
    assert_eq!(
        fast(&["--refresh.fast-interval=30s"]),
        Some(Duration::from_secs(30))
    );
    for off in ["0", "0s", "off"] {
        assert_eq!(fast(&["--refresh.fast-interval", off]), None, "{off}");
    }
    // A refresh every minute reads the same signals as often: no fast checks.
    assert_eq!(fast(&["--refresh.interval=1m"]), None);
    assert_eq!(
        fast(&["--refresh.interval=30s", "--refresh.fast-interval=1m"]),
        None
    );
    assert_eq!(
        fast(&["--refresh.interval=2m"]),
        Some(Duration::from_secs(60))
    );
    let e = flags(&["--refresh.fast-interval=soon"])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--refresh.fast-interval") && e.contains("or 0 / off"),
        "{e}"
    );

    let c = config_text(
        "accounts:\n  - role_arn: arn:aws:iam::222233334444:role/r\nrefresh_fast_interval: 20s\n",
    )
    .unwrap();
    assert_eq!(c.fast_interval, Some(Duration::from_secs(20)));
    let c = config_text(
        "accounts:\n  - role_arn: arn:aws:iam::222233334444:role/r\nrefresh_fast_interval: off\n",
    )
    .unwrap();
    assert_eq!(c.fast_interval, None);
    let e = config_text(
        "accounts:\n  - role_arn: arn:aws:iam::222233334444:role/r\nrefresh_fast_interval: often\n",
    )
    .unwrap_err();
    assert!(e.contains("refresh_fast_interval"), "{e}");
}

#[test]
fn each_strong_password_parameter_expiry_and_api_key_lifetime_is_a_flag() {
    let c = config(&[]).unwrap();
    assert_eq!(c.thresholds.password_max_age, 90 * 86_400);
    assert_eq!(c.thresholds.api_key_max_lifetime, 90 * 86_400);
    assert_eq!(
        c.thresholds.strong_password,
        crate::posture::StrongPassword::default()
    );
    assert_eq!(c.thresholds.strong_password.reuse_prevention, None);
    assert_eq!(c.thresholds.strong_password.max_age, None);
    let c = config(&[
        "--control.strong-password.require-uppercase=false",
        "--control.strong-password.require-lowercase=false",
        "--control.strong-password.require-symbols=false",
        "--control.strong-password.require-numbers=false",
        "--control.strong-password.min-length=12",
        "--control.strong-password.reuse-prevention=12",
        "--control.strong-password.max-age=60d",
        "--control.password-max-age=45d",
        "--control.api-key-max-lifetime=7d",
    ])
    .unwrap();
    let s = c.thresholds.strong_password;
    assert!(!s.require_uppercase && !s.require_lowercase);
    assert!(!s.require_symbols && !s.require_numbers);
    assert_eq!(s.min_length, 12);
    assert_eq!(s.reuse_prevention, Some(12));
    assert_eq!(s.max_age, Some(60 * 86_400));
    assert_eq!(c.thresholds.password_max_age, 45 * 86_400);
    assert_eq!(c.thresholds.api_key_max_lifetime, 7 * 86_400);
    // A bare boolean flag means true.
    let c = config(&["--control.strong-password.require-symbols"]).unwrap();
    assert!(c.thresholds.strong_password.require_symbols);
    // What a policy cannot hold is refused.
    for bad in [
        "--control.strong-password.min-length=5",
        "--control.strong-password.min-length=129",
        "--control.strong-password.reuse-prevention=0",
        "--control.strong-password.reuse-prevention=25",
        "--control.strong-password.require-numbers=maybe",
        "--control.strong-password.max-age=0s",
        "--control.password-max-age=0s",
        "--control.api-key-max-lifetime=4000d",
    ] {
        assert!(flags(&[bad]).is_err(), "{bad}");
    }
}

#[test]
fn web_config_with_once_is_refused() {
    let e = config(&["--once", "--web.config.file", "web.yml"]).unwrap_err();
    assert!(e.to_string().contains("--web.config.file"), "{e}");
    assert!(e.to_string().contains("--once"), "{e}");
}

fn config_text(text: &str) -> Result<Config, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yml");
    std::fs::write(&path, text).unwrap();
    config(&["--config.file", path.to_str().unwrap()]).map_err(|e| e.to_string())
}

#[test]
fn the_same_account_listed_twice_is_a_usage_error_naming_both_entries() {
    let e = config_text(
            "accounts:\n  - role_arn: arn:aws:iam::111111111111:role/A\n    name: a\n  - role_arn: arn:aws:iam::111111111111:role/B\n    name: b\n",
        )
        .unwrap_err();
    assert!(e.contains("accounts[1]"), "{e}");
    assert!(e.contains("accounts[0]"), "{e}");
    assert!(e.contains("111111111111"), "{e}");
}

#[test]
fn role_arns_are_checked_for_partition_account_and_role_name() {
    for (arn, why) in [
        ("arn:aws:iam::111111111111:role/", "role name"),
        ("arn:awz:iam::111111111111:role/R", "partition"),
        ("arn:aws:iam::111111111111:role/R ", "role name"),
        (" arn:aws:iam::111111111111:role/R", "not an IAM role ARN"),
        ("arn:aws:iam::11111111111:role/R", "12-digit"),
        ("arn:aws:iam::111111111111:user/R", "not a role ARN"),
    ] {
        let e = config_text(&format!("accounts:\n  - role_arn: \"{arn}\"\n")).unwrap_err();
        assert!(e.contains("accounts[0].role_arn"), "{arn}: {e}");
        assert!(e.contains(why), "{arn}: {e}");
    }
    for ok in [
        "arn:aws:iam::111111111111:role/R",
        "arn:aws-cn:iam::111111111111:role/path/to/Role-1",
        "arn:aws-us-gov:iam::111111111111:role/a+b=c,d.e@f_g",
    ] {
        assert!(
            config_text(&format!("accounts:\n  - role_arn: {ok}\n")).is_ok(),
            "{ok}"
        );
    }
}

#[test]
fn a_huge_one_line_config_file_gives_a_short_error() {
    let text = format!("accounts: [{}", "x".repeat(10 << 20));
    let e = config_text(&text).unwrap_err();
    assert!(e.len() < 600, "{} bytes", e.len());
    assert!(!e.contains('\n'));
}

#[test]
fn flag_errors_are_one_line_that_keeps_what_helps() {
    let e = one_line_flag_error(&flags(&["--log.level=verbose"]).unwrap_err());
    assert!(e.contains("possible values"), "{e}");
    assert!(e.contains("debug"), "{e}");
    let e = one_line_flag_error(&flags(&["--web.listen-adress", ":1"]).unwrap_err());
    assert!(e.contains("--web.listen-address"), "did you mean: {e}");
    let e = one_line_flag_error(&flags(&["--account-summary.file", "x"]).unwrap_err());
    assert!(
        e.contains("--credential-report.file"),
        "which flag is missing: {e}"
    );
    assert!(!e.contains('\n') && !e.contains("Usage"), "{e}");
}

#[test]
fn a_bad_audit_value_is_refused_naming_every_value_there_is() {
    for (flag, value, values) in [
        (
            "--format",
            "yaml",
            "[possible values: table, json, ocsf, junit, csv]",
        ),
        (
            "--fail-on",
            "severe",
            "[possible values: critical, high, medium, low, never]",
        ),
        (
            "--cis-version",
            "8.0.0",
            "[possible values: 1.4.0, 1.5.0, 2.0.0, 3.0.0, 4.0.1, 5.0.0, 6.0.0, 7.0.0]",
        ),
    ] {
        let e = one_line_flag_error(&flags(&["audit", flag, value]).unwrap_err());
        assert!(
            e.contains(&format!("invalid value '{value}' for '{flag}")),
            "{e}"
        );
        assert!(e.contains(values), "{e}");
    }
}

#[test]
fn the_audit_defaults_are_the_flags_defaults() {
    let Run::Audit(parsed) = config(&["audit"]).unwrap().run else {
        panic!("audit")
    };
    assert_eq!(parsed, AuditSettings::default());
}

#[test]
fn a_config_file_error_keeps_its_cause() {
    use std::error::Error as _;
    let e = config(&["--config.file", "/nonexistent.yml"]).unwrap_err();
    let io = e.source().and_then(|s| s.downcast_ref::<std::io::Error>());
    assert_eq!(
        io.map(std::io::Error::kind),
        Some(std::io::ErrorKind::NotFound),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yml");
    std::fs::write(&path, "concurrency: many\n").unwrap();
    let e = config(&["--config.file", path.to_str().unwrap()]).unwrap_err();
    assert!(
        e.source().is_some_and(|s| s.is::<serde_yaml_ng::Error>()),
        "{e}"
    );
    assert!(e.to_string().contains("concurrency"), "{e}");
}

#[test]
fn organizations_take_a_role_name_a_root_audit_or_both_and_the_audit_interval() {
    // A root audit alone: no role name; every root audit an hour apart by default.
    let c = config_text("organizations:\n  root_audit: true\n").unwrap();
    let Mode::MultiAccount {
        organizations: Some(o),
        ..
    } = &c.mode
    else {
        panic!("{:?}", c.mode)
    };
    assert!(o.root_audit && o.role_name.is_none());
    assert_eq!(c.root_audit_interval, Duration::from_secs(3600));
    // Both, with the interval in the file; the flag overrides it.
    let text = "organizations:\n  role_name: aws-iam-exporter\n  root_audit: true\n  root_audit_interval: 2h\n";
    assert_eq!(
        config_text(text).unwrap().root_audit_interval,
        Duration::from_secs(7200)
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yml");
    std::fs::write(&path, text).unwrap();
    let c = config(&[
        "--config.file",
        path.to_str().unwrap(),
        "--root-audit.interval",
        "30m",
    ])
    .unwrap();
    assert_eq!(c.root_audit_interval, Duration::from_secs(1800));
    // Neither: nothing says how to read the members.
    let e = config_text("organizations:\n  include_management_account: false\n").unwrap_err();
    assert!(
        e.contains("set `role_name`") && e.contains("root_audit: true"),
        "{e}"
    );
    let e = config_text("organizations:\n  role_name: r\n  root_audit_interval: 1h\n").unwrap_err();
    assert!(
        e.contains("root_audit_interval: needs `root_audit: true`"),
        "{e}"
    );
    let e =
        config_text("organizations:\n  root_audit: true\n  root_audit_interval: 0s\n").unwrap_err();
    assert!(e.contains("organizations.root_audit_interval"), "{e}");
    // The flag, likewise, needs a root audit.
    let e = config(&["--root-audit.interval", "1h"])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("root-audit.interval") && e.contains("organizations.root_audit: true"),
        "{e}"
    );
    let e = flags(&["--root-audit.interval", "9d"])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("root-audit.interval") && e.contains("at most"),
        "{e}"
    );
}
