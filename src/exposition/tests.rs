//! The exposition: both formats, every family, the output forms.

use super::*;
use crate::posture::{AccountData, CONTROLS};
use std::sync::Arc;

fn text_of(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("the exposition is UTF-8")
}
use crate::posture::{Facts, Summary, Thresholds, derive};
use crate::report::parse;
use std::io::Read;

const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::123456789012:root,2015-01-01T00:00:00+00:00,not_supported,2024-05-01T00:00:00+00:00,not_supported,not_supported,false,true,2020-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
\"o\"\"dd,name\",\"arn:aws:iam::123456789012:user/o\"\"dd,name\",2020-01-01T00:00:00Z,true,no_information,2020-01-01T00:00:00Z,N/A,false,true,2020-01-01T00:00:00Z,N/A,N/A,N/A,true,2020-01-01T00:00:00Z,2024-05-01T00:00:00Z,us-east-1,s3,false,N/A,false,N/A
";

fn view(per_user: bool) -> Arc<AccountView> {
    let data = AccountData {
        report: parse(REPORT.as_bytes()).unwrap(),
        generated: Some(1_717_000_000),
        facts: Facts {
            summary: Some(Summary(vec![
                ("AccountAccessKeysPresent".into(), 1),
                ("Users".into(), 1),
            ])),
            ..Facts::default()
        },
    };
    let posture = derive(&data, &Thresholds::default(), 1_717_200_000);
    Arc::new(AccountView {
        labels: vec![("account_id", "123456789012".into())],
        data: data.into(),
        posture,
        per_user,
    })
}

fn published(per_user: bool) -> Published {
    let parts = [
        render_account(view(per_user)),
        render_stats(RefreshStats {
            labels: vec![("account_id", "123456789012".into())],
            success: true,
            last_success: Some(1_717_200_000.0),
            duration_seconds: 0.25,
            successes: 1,
            failures: 0,
            aws_errors: [(("GetCredentialReport", "Throttling".to_string()), 2)].into(),
            ..RefreshStats::default()
        }),
        render_global(1, None, "0.1.0", "abc"),
    ];
    Published::build(
        parts.iter(),
        vec![RootUse {
            labels: vec![("account_id", "123456789012".into())],
            at: 1_714_521_600,
        }],
    )
}

#[test]
fn every_family_name_is_unique_and_prefixed() {
    let mut names: Vec<_> = FAMILIES.iter().map(|f| f.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), FAMILIES.len());
    assert!(FAMILIES.iter().all(|f| f.name.starts_with("aws_iam_")));
    assert!(
        FAMILIES
            .iter()
            .all(|f| !f.help.contains('\n') && !f.help.contains('\\'))
    );
}

#[test]
fn classic_format_has_classic_headers_and_exact_samples() {
    let text = published(true).classic_text(1_714_521_700.0);
    assert!(text.contains("# TYPE aws_iam_exporter_aws_errors_total counter\n"));
    assert!(text.contains(
            "aws_iam_exporter_aws_errors_total{account_id=\"123456789012\",operation=\"GetCredentialReport\",code=\"Throttling\"} 2\n"
        ));
    assert!(text.contains("# TYPE aws_iam_exporter_build_info gauge\n"));
    assert!(text.contains("aws_iam_exporter_build_info{version=\"0.1.0\",revision=\"abc\"} 1\n"));
    assert!(text.contains("aws_iam_root_access_keys_present{account_id=\"123456789012\"} 1\n"));
    assert!(
        text.contains("aws_iam_root_access_key_active{account_id=\"123456789012\",key=\"1\"} 1\n")
    );
    assert!(text.contains("aws_iam_root_last_used_seconds{account_id=\"123456789012\"} 100.0\n"));
    assert!(!text.contains("# EOF"));
    assert!(!text.contains("# UNIT"));
}

#[test]
fn unparsed_report_values_are_a_counter_summed_over_refreshes() {
    let mut stats = RefreshStats {
        labels: vec![("account_id", "123456789012".into())],
        ..RefreshStats::default()
    };
    let report = parse(
        REPORT
            .replacen("true,no_information", "maybe,no_information", 1)
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(report.unparsed, [("password_enabled", 1)].into());
    stats.count_unparsed(&report.unparsed);
    stats.count_unparsed(&report.unparsed);
    let text = text_of(assemble(
        std::iter::once(&render_stats(stats)),
        Format::Classic,
    ));
    assert!(text.contains("# TYPE aws_iam_exporter_report_values_unparsed_total counter\n"));
    assert!(text.contains(
            "aws_iam_exporter_report_values_unparsed_total{account_id=\"123456789012\",column=\"password_enabled\"} 2\n"
        ), "{text}");
}

#[test]
fn control_info_lists_each_control_once_per_benchmark_version() {
    let text = text_of(assemble(
        std::iter::once(&render_control_info()),
        Format::Classic,
    ));
    assert!(
        text.contains("# TYPE aws_iam_control_info gauge\n"),
        "{text}"
    );
    assert!(text.contains(
            "aws_iam_control_info{control=\"root_access_key\",standard=\"cis-aws-foundations\",version=\"7.0.0\",id=\"2.4\"} 1\n"
        ), "{text}");
    assert!(text.contains(
            "aws_iam_control_info{control=\"access_key_rotation\",standard=\"aws-fsbp\",version=\"1.0.0\",id=\"IAM.3\"} 1\n"
        ));
    assert!(!text.contains("account_id"));
    let series = text.lines().filter(|l| !l.starts_with('#')).count();
    let expected: usize = CONTROLS.iter().map(|c| c.benchmarks().count()).sum();
    assert_eq!(series, expected);
    let om = text_of(assemble(
        std::iter::once(&render_control_info()),
        Format::OpenMetrics,
    ));
    assert!(om.contains("# TYPE aws_iam_control info\n"));
}

#[test]
fn virtual_mfa_is_exported_per_console_user_and_counted_only_when_the_device_list_is_known() {
    let mut v = view(true).clone_for_test();
    let text = text_of(assemble(
        std::iter::once(&render_account(Arc::new(v.clone_for_test()))),
        Format::Classic,
    ));
    assert!(!text.contains("virtual_mfa"), "{text}");
    Arc::make_mut(&mut v.data).facts.virtual_mfa_users = Some(vec!["o\"dd,name".into()]);
    v.posture = derive(&v.data, &Thresholds::default(), 1_717_200_000);
    let text = text_of(assemble(
        std::iter::once(&render_account(Arc::new(v))),
        Format::Classic,
    ));
    assert!(
        text.contains(
            "aws_iam_user_virtual_mfa{account_id=\"123456789012\",user=\"o\\\"dd,name\"} 1\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("aws_iam_console_users_with_virtual_mfa{account_id=\"123456789012\"} 1\n")
    );
}

#[test]
fn service_credentials_are_counted_by_service_and_status_and_listed_per_credential() {
    use crate::posture::ServiceCredential;
    let mut v = view(true).clone_for_test();
    let cred = |id: &str, service: &str, status: &str, expires| ServiceCredential {
        user: "dev".into(),
        service: service.into(),
        id: id.into(),
        status: status.into(),
        created: 1_700_000_000,
        expires,
    };
    Arc::make_mut(&mut v.data).facts.service_credentials = Some(vec![
        cred(
            "ACCA1",
            "bedrock.amazonaws.com",
            "active",
            Some(1_800_000_000),
        ),
        cred("ACCA2", "bedrock.amazonaws.com", "active", None),
        cred("ACCA3", "codecommit.amazonaws.com", "inactive", None),
    ]);
    v.posture = derive(&v.data, &Thresholds::default(), 1_717_200_000);
    let text = text_of(assemble(
        std::iter::once(&render_account(Arc::new(v))),
        Format::Classic,
    ));
    for line in [
        "aws_iam_service_specific_credentials{account_id=\"123456789012\",service=\"bedrock.amazonaws.com\",status=\"active\"} 2\n",
        "aws_iam_service_specific_credentials{account_id=\"123456789012\",service=\"codecommit.amazonaws.com\",status=\"inactive\"} 1\n",
        "aws_iam_service_specific_credential_created_timestamp_seconds{account_id=\"123456789012\",user=\"dev\",service=\"bedrock.amazonaws.com\",credential_id=\"ACCA1\"} 1700000000\n",
        "aws_iam_service_specific_credential_expiration_timestamp_seconds{account_id=\"123456789012\",user=\"dev\",service=\"bedrock.amazonaws.com\",credential_id=\"ACCA1\"} 1800000000\n",
        "aws_iam_control_failing{account_id=\"123456789012\",control=\"bedrock_long_term_api_key\",cis=\"\",securityhub=\"\"} 1\n",
        "aws_iam_control_failing_resources{account_id=\"123456789012\",control=\"bedrock_long_term_api_key\",cis=\"\",securityhub=\"\"} 2\n",
    ] {
        assert!(text.contains(line), "{line} not in\n{text}");
    }
    assert_eq!(text.matches("_expiration_timestamp_seconds{").count(), 1);
}

#[test]
fn every_password_policy_field_and_each_server_certificate_is_a_gauge_absent_when_unknown() {
    use crate::posture::{PasswordPolicy, PolicyState, ServerCertificate};
    let render = |v: AccountView| {
        text_of(assemble(
            std::iter::once(&render_account(Arc::new(v))),
            Format::Classic,
        ))
    };
    let mut v = view(true).clone_for_test();
    Arc::make_mut(&mut v.data).facts.password_policy = PolicyState::Present(PasswordPolicy {
        minimum_length: Some(8),
        max_age_days: Some(0),
        require_uppercase: true,
        require_symbols: true,
        hard_expiry: true,
        ..PasswordPolicy::default()
    });
    Arc::make_mut(&mut v.data).facts.server_certificates = Some(vec![
        ServerCertificate {
            name: "web".into(),
            arn: "arn:aws:iam::123456789012:server-certificate/cloudfront/web".into(),
            expiration: Some(1_700_000_000),
        },
        ServerCertificate {
            name: "no-date".into(),
            arn: "arn:aws:iam::123456789012:server-certificate/no-date".into(),
            expiration: None,
        },
    ]);
    v.posture = derive(&v.data, &Thresholds::default(), 1_717_200_000);
    let text = render(v.clone_for_test());
    for line in [
        "aws_iam_password_policy_require_uppercase_characters{account_id=\"123456789012\"} 1\n",
        "aws_iam_password_policy_require_lowercase_characters{account_id=\"123456789012\"} 0\n",
        "aws_iam_password_policy_require_symbols{account_id=\"123456789012\"} 1\n",
        "aws_iam_password_policy_require_numbers{account_id=\"123456789012\"} 0\n",
        "aws_iam_password_policy_allow_users_to_change_password{account_id=\"123456789012\"} 0\n",
        "aws_iam_password_policy_hard_expiry{account_id=\"123456789012\"} 1\n",
        "aws_iam_password_policy_expire_passwords{account_id=\"123456789012\"} 0\n",
        "aws_iam_server_certificate_expiration_timestamp_seconds{account_id=\"123456789012\",certificate=\"web\"} 1700000000\n",
        "aws_iam_control_failing{account_id=\"123456789012\",control=\"password_policy_lowercase\",cis=\"\",securityhub=\"IAM.12\"} 1\n",
        "aws_iam_control_failing{account_id=\"123456789012\",control=\"expired_server_certificate\",cis=\"1.19\",securityhub=\"IAM.26\"} 1\n",
    ] {
        assert!(text.contains(line), "{line} not in\n{text}");
    }
    // MaxPasswordAge 0: passwords never expire, so no age; a certificate without a date has
    // no sample.
    assert!(
        !text.contains("aws_iam_password_policy_max_age_seconds{"),
        "{text}"
    );
    assert!(!text.contains("certificate=\"no-date\""), "{text}");
    // Per-user series off: the certificates stay.
    v.per_user = false;
    assert!(render(v.clone_for_test()).contains("certificate=\"web\""));

    // No policy: present 0, no field. Unknown policy and certificates: nothing at all.
    Arc::make_mut(&mut v.data).facts.password_policy = PolicyState::Absent;
    let text = render(v.clone_for_test());
    assert!(text.contains("aws_iam_password_policy_present{account_id=\"123456789012\"} 0\n"));
    assert!(!text.contains("aws_iam_password_policy_require_"), "{text}");
    Arc::make_mut(&mut v.data).facts.password_policy = PolicyState::Unknown;
    Arc::make_mut(&mut v.data).facts.server_certificates = None;
    v.posture = derive(&v.data, &Thresholds::default(), 1_717_200_000);
    let text = render(v);
    assert!(!text.contains("aws_iam_password_policy_"), "{text}");
    assert!(!text.contains("aws_iam_server_certificate_"), "{text}");
    assert!(
        !text.contains("control=\"expired_server_certificate\""),
        "{text}"
    );
}

#[test]
fn organization_features_their_control_and_errors_are_exporter_level_series() {
    use crate::fetch::OrganizationFeatures;
    let features = OrganizationFeatures {
        organization_id: "o-a1b2c3d4e5".into(),
        root_credentials_management: false,
        root_sessions: true,
    };
    let verdict =
        crate::posture::organization_verdict(&features, &Thresholds::default(), 1_717_200_000)
            .unwrap();
    let view = OrganizationView {
        features: Some(features),
        control: Some((vec![("account_id", "111122223333".into())], verdict)),
        aws_errors: [(("GetCallerIdentity", "Throttling".to_string()), 1)].into(),
    };
    let text = text_of(assemble(
        std::iter::once(&render_organization(&view)),
        Format::Classic,
    ));
    for line in [
        "aws_iam_organization_feature_enabled{organization_id=\"o-a1b2c3d4e5\",feature=\"RootCredentialsManagement\"} 0\n",
        "aws_iam_organization_feature_enabled{organization_id=\"o-a1b2c3d4e5\",feature=\"RootSessions\"} 1\n",
        "aws_iam_control_failing{account_id=\"111122223333\",control=\"root_credentials_management\",cis=\"\",securityhub=\"\"} 1\n",
        "aws_iam_control_failing_resources{account_id=\"111122223333\",control=\"root_credentials_management\",cis=\"\",securityhub=\"\"} 1\n",
        "aws_iam_exporter_aws_errors_total{operation=\"GetCallerIdentity\",code=\"Throttling\"} 1\n",
    ] {
        assert!(text.contains(line), "{line} not in\n{text}");
    }
    // Unknown: nothing at all.
    let empty = render_organization(&OrganizationView::default());
    assert!(empty.is_empty() || assemble(std::iter::once(&empty), Format::Classic).is_empty());
}

#[test]
fn label_values_with_quotes_and_commas_are_escaped() {
    let text = published(true).classic_text(0.0);
    assert!(
        text.contains(
            "aws_iam_user_active_access_keys{account_id=\"123456789012\",user=\"o\\\"dd,name\"} 2\n"
        ),
        "{text}"
    );
}

#[test]
fn openmetrics_format_ends_with_eof_and_types_counters_by_family_name() {
    let p = published(true);
    let text = String::from_utf8(concat(&p.body(Format::OpenMetrics, false, 0.0))).unwrap();
    assert!(text.ends_with("# EOF\n"));
    assert!(text.contains("# TYPE aws_iam_exporter_aws_errors counter\n"));
    assert!(text.contains("# TYPE aws_iam_exporter_build info\n"));
}

#[test]
fn each_family_appears_once_even_with_many_accounts() {
    let a = render_account(view(true));
    let mut other = (*view(true)).clone_for_test();
    other.labels = vec![("account_id", "999999999999".into())];
    let b = render_account(Arc::new(other));
    let text = String::from_utf8(assemble([&a, &b].into_iter(), Format::Classic)).unwrap();
    assert_eq!(text.matches("# TYPE aws_iam_users gauge").count(), 1);
    let users: Vec<_> = text
        .lines()
        .filter(|l| l.starts_with("aws_iam_users{"))
        .collect();
    assert_eq!(users.len(), 2);
}

#[test]
fn per_user_series_can_be_switched_off_and_aggregates_and_controls_stay() {
    let text = published(false).classic_text(0.0);
    assert!(!text.contains("aws_iam_user_active_access_keys"));
    assert!(!text.contains("user=\""));
    assert!(
        text.contains("aws_iam_users_with_multiple_active_keys{account_id=\"123456789012\"} 1")
    );
    assert!(text.contains(
            "aws_iam_control_failing{account_id=\"123456789012\",control=\"multiple_active_keys\",cis=\"1.13\",securityhub=\"\"} 1"
        ));
}

#[test]
fn gzip_body_decodes_to_the_plain_body() {
    let p = published(true);
    for format in [Format::Classic, Format::OpenMetrics] {
        let plain = concat(&p.body(format, false, 42.0));
        let gz = concat(&p.body(format, true, 42.0));
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, plain);
        // Exactly one gzip member: a strict single-member decoder reads it all too.
        let mut single = Vec::new();
        let mut dec = flate2::bufread::GzDecoder::new(&gz[..]);
        dec.read_to_end(&mut single).unwrap();
        assert_eq!(single, plain);
    }
}

#[test]
fn no_root_use_means_no_age_series() {
    let p = Published::build(std::iter::empty(), vec![]);
    assert_eq!(p.classic_text(0.0), "");
    let body = p.body(Format::OpenMetrics, false, 0.0);
    assert_eq!(concat(&body), b"# EOF\n");
}

#[test]
fn families_are_indexed_by_their_comment_lines_only() {
    let text = "# HELP aws_iam_users IAM users.\n# TYPE aws_iam_users gauge\naws_iam_users{account_name=\"a\\n# HELP #x\"} 1\naws_iam_users{account_name=\"b\"} 2\n# HELP aws_iam_unknown x\n# TYPE aws_iam_unknown gauge\naws_iam_unknown 3\n# HELP aws_iam_console_users C.\n# TYPE aws_iam_console_users gauge\naws_iam_console_users 4";
    let spans = index_families(text);
    assert_eq!(
        &text[spans[Fam::Users as usize].clone()],
        "aws_iam_users{account_name=\"a\\n# HELP #x\"} 1\naws_iam_users{account_name=\"b\"} 2\n"
    );
    assert_eq!(
        &text[spans[Fam::ConsoleUsers as usize].clone()],
        "aws_iam_console_users 4"
    );
    assert_eq!(spans.iter().filter(|r| !r.is_empty()).count(), 2);
}

fn concat(chunks: &[Bytes]) -> Vec<u8> {
    chunks.iter().flat_map(|c| c.iter().copied()).collect()
}

/// An account of `users` users: its per-user families are longer than [`GLUE_BELOW`], so a
/// publication shares them while it glues the small ones.
fn big_view(users: usize, account: &str) -> Arc<AccountView> {
    let mut report = REPORT
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join("\n")
        .replace("123456789012", account);
    for n in 0..users {
        report.push_str(&format!(
                "\nuser{n},arn:aws:iam::{account}:user/user{n},2020-01-01T00:00:00Z,true,no_information,2020-01-01T00:00:00Z,N/A,{mfa},true,2020-01-01T00:00:00Z,N/A,N/A,N/A,{second},2020-01-01T00:00:00Z,2024-05-01T00:00:00Z,us-east-1,s3,false,N/A,false,N/A",
                mfa = n % 2 == 0,
                second = n % 3 == 0,
            ));
    }
    report.push('\n');
    let data = AccountData {
        report: parse(report.as_bytes()).unwrap(),
        generated: Some(1_717_000_000),
        ..AccountData::default()
    };
    let posture = derive(&data, &Thresholds::default(), 1_717_200_000);
    Arc::new(AccountView {
        labels: vec![("account_id", account.into())],
        data: data.into(),
        posture,
        per_user: true,
    })
}

/// Three accounts (one large, two small), their self-metrics and the globals.
fn many_parts() -> Vec<Rendered> {
    let mut parts = Vec::new();
    for (account, users) in [
        ("111111111111", 300),
        ("222222222222", 3),
        ("333333333333", 0),
    ] {
        parts.push(render_account(big_view(users, account)));
        parts.push(render_stats(RefreshStats {
            labels: vec![("account_id", account.into())],
            success: true,
            ..RefreshStats::default()
        }));
    }
    parts.push(render_global(3, Some(true), "0.1.0", "abc"));
    parts
}

fn root_uses() -> Vec<RootUse> {
    vec![RootUse {
        labels: vec![("account_id", "111111111111".into())],
        at: 1_714_521_600,
    }]
}

#[test]
fn both_formats_equal_the_contiguous_assembled_form_byte_for_byte() {
    let parts = many_parts();
    let p = Published::build(parts.iter(), root_uses());
    assert!(
        p.pieces() < 2 * FAMILIES.len() + 20,
        "small runs are glued: {} pieces",
        p.pieces()
    );
    for format in [Format::Classic, Format::OpenMetrics] {
        let mut expected = assemble(parts.iter(), format);
        expected.extend_from_slice(&tail(&root_uses(), 7.0, format));
        assert_eq!(concat(&p.body(format, false, 7.0)), expected, "{format:?}");
    }
    for format in [Format::Classic, Format::OpenMetrics] {
        let body = p.body(format, false, 7.0);
        assert!(
            body.windows(2)
                .all(|w| w[0].len() >= GLUE_BELOW || w[1].len() >= GLUE_BELOW),
            "small pieces are sent together: {:?}",
            body.iter().map(Bytes::len).collect::<Vec<_>>()
        );
    }
    let mut written = Vec::new();
    p.write_classic(&mut written, 7.0).unwrap();
    assert_eq!(written, concat(&p.body(Format::Classic, false, 7.0)));
    assert_eq!(p.gzip_builds(), 0, "plain bodies compress nothing");
}

/// `n` small accounts' data and self-metrics, as the snapshot keeps them.
fn small_account_parts(n: usize) -> Vec<Arc<Rendered>> {
    (0..n)
        .flat_map(|i| {
            let account = format!("{:012}", 100_000_000_000u64 + i as u64);
            [
                Arc::new(render_account(big_view(2, &account))),
                Arc::new(render_stats(RefreshStats {
                    labels: vec![("account_id", account)],
                    success: true,
                    ..RefreshStats::default()
                })),
            ]
        })
        .collect()
}

#[test]
fn a_publication_regroups_only_the_accounts_that_changed() {
    let mut accounts = small_account_parts(100);
    let exporter = |n| vec![Arc::new(render_global(n, Some(true), "0.1.0", "abc"))];
    let first = Published::build_after(&accounts, &exporter(100), vec![], None);
    // 200 parts: 4 groups of accounts and the exporter's.
    let unchanged = Published::build_after(&accounts, &exporter(100), vec![], Some(&first));
    assert_eq!(unchanged.groups_shared_with(&first), 4);

    // One account refreshes (its data and stats are new parts): its group alone is rebuilt.
    let refreshed = small_account_parts(100);
    accounts[70] = refreshed[70].clone();
    accounts[71] = refreshed[71].clone();
    let next = Published::build_after(&accounts, &exporter(100), root_uses(), Some(&first));
    assert_eq!(next.groups_shared_with(&first), 3);
    let all: Vec<Rendered> = accounts
        .iter()
        .chain(&exporter(100))
        .map(|p| Rendered::clone(p))
        .collect();
    for format in [Format::Classic, Format::OpenMetrics] {
        let mut expected = assemble(all.iter(), format);
        expected.extend_from_slice(&tail(&root_uses(), 7.0, format));
        assert_eq!(
            concat(&next.body(format, false, 7.0)),
            expected,
            "{format:?}"
        );
    }

    // An account goes away: the groups after it shift and are rebuilt, and the body is right.
    accounts.drain(10..12);
    let fewer = Published::build_after(&accounts, &exporter(99), vec![], Some(&next));
    assert_eq!(fewer.groups_shared_with(&next), 0);
    let all: Vec<Rendered> = accounts
        .iter()
        .chain(&exporter(99))
        .map(|p| Rendered::clone(p))
        .collect();
    assert_eq!(
        fewer.classic_text(0.0).into_bytes(),
        assemble(all.iter(), Format::Classic)
    );
}

#[test]
fn large_families_are_shared_with_the_rendered_parts_not_copied() {
    let parts = many_parts();
    let p = Published::build(parts.iter(), vec![]);
    let big = &parts[0].text;
    let shared = p
        .body(Format::OpenMetrics, false, 0.0)
        .iter()
        .filter(|c| big.as_ptr_range().contains(&c.as_ptr()))
        .map(Bytes::len)
        .sum::<usize>();
    assert!(
        shared * 10 > big.len() * 9,
        "{shared} of {} bytes served from the rendered text",
        big.len()
    );
}

#[test]
fn gzip_of_many_chunks_decodes_to_the_plain_body_byte_for_byte() {
    let parts = many_parts();
    let p = Published::build(parts.iter(), root_uses());
    for format in [Format::Classic, Format::OpenMetrics] {
        let gz = concat(&p.body(format, true, 9.0));
        let mut single = Vec::new();
        flate2::bufread::GzDecoder::new(&gz[..])
            .read_to_end(&mut single)
            .unwrap();
        assert_eq!(single, concat(&p.body(format, false, 9.0)), "{format:?}");
    }
}

#[test]
fn concurrent_first_gzip_requests_compress_each_format_once() {
    let parts = many_parts();
    let p = Published::build(parts.iter(), root_uses());
    let heads: Vec<(Format, usize)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8)
            .map(|n| {
                let format = if n % 2 == 0 {
                    Format::Classic
                } else {
                    Format::OpenMetrics
                };
                let p = &p;
                scope.spawn(move || (format, p.body(format, true, 1.0)[0].as_ptr() as usize))
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(p.gzip_builds(), 2, "one compression per format");
    for format in [Format::Classic, Format::OpenMetrics] {
        let mut ptrs: Vec<_> = heads
            .iter()
            .filter(|h| h.0 == format)
            .map(|h| h.1)
            .collect();
        ptrs.dedup();
        assert_eq!(ptrs.len(), 1, "every request got the same head");
    }
    let _ = p.body(Format::Classic, true, 2.0);
    assert_eq!(p.gzip_builds(), 2, "kept until the next publication");
}

impl AccountView {
    fn clone_for_test(&self) -> AccountView {
        AccountView {
            labels: self.labels.clone(),
            data: self.data.clone(),
            posture: self.posture.clone(),
            per_user: self.per_user,
        }
    }
}

#[test]
fn rendered_parts_hold_their_samples_only() {
    for part in [
        render_account(big_view(3, "123456789012")),
        render_account(big_view(300, "123456789012")),
        render_stats(RefreshStats::default()),
    ] {
        let text = std::str::from_utf8(&part.text).unwrap();
        assert!(
            !text.contains("# HELP") && !text.contains("# TYPE"),
            "{text}"
        );
        let samples: usize = (0..FAMILIES.len()).map(|f| part.samples(f).len()).sum();
        assert_eq!(samples, part.len(), "every byte is some family's sample");
    }
}

/// The name a family's samples carry, as docs/metrics.md lists it.
fn sample_name(f: &Family) -> String {
    match f.kind {
        Kind::Gauge => f.name.to_owned(),
        Kind::Counter => format!("{}_total", f.name),
        Kind::Info => format!("{}_info", f.name),
    }
}

#[test]
fn docs_metrics_md_documents_every_family_and_only_those() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    // The first cell of each row of the metric table: | `aws_iam_...` | labels | ...
    let documented: std::collections::BTreeSet<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|name| name.starts_with("aws_iam_"))
        .collect();
    let emitted: std::collections::BTreeSet<String> = FAMILIES.iter().map(sample_name).collect();
    let undocumented: Vec<&String> = emitted
        .iter()
        .filter(|n| !documented.contains(n.as_str()))
        .collect();
    let unknown: Vec<&&str> = documented
        .iter()
        .filter(|n| !emitted.contains(**n))
        .collect();
    assert!(
        undocumented.is_empty(),
        "families the exporter emits with no row in {}: {undocumented:?}",
        path.display()
    );
    assert!(
        unknown.is_empty(),
        "rows of {} naming no family of `families!`: {unknown:?}",
        path.display()
    );
    assert_eq!(documented.len(), FAMILIES.len());
}

#[test]
fn every_root_credential_with_a_last_use_has_its_series() {
    // Root used by password, key 1 and key 2, each on its own day.
    let report = format!(
        "{}\n<root_account>,arn:aws:iam::123456789012:root,2015-01-01T00:00:00+00:00,not_supported,2024-05-01T00:00:00+00:00,not_supported,not_supported,true,true,2020-01-01T00:00:00+00:00,2024-05-02T00:00:00+00:00,us-east-1,iam,true,2020-01-01T00:00:00+00:00,2024-05-03T00:00:00+00:00,us-east-1,iam,false,N/A,false,N/A\n",
        REPORT.lines().next().unwrap()
    );
    let data = AccountData {
        report: parse(report.as_bytes()).unwrap(),
        ..AccountData::default()
    };
    let posture = derive(&data, &Thresholds::default(), 1_717_200_000);
    let view = Arc::new(AccountView {
        labels: vec![("account_id", "123456789012".into())],
        data: data.into(),
        posture,
        per_user: false,
    });
    let rendered = render_account(view);
    let text = Published::build(std::iter::once(&rendered), Vec::new()).classic_text(0.0);
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("aws_iam_root_last_used_timestamp_seconds{"))
        .collect();
    assert_eq!(
        series,
        [
            "aws_iam_root_last_used_timestamp_seconds{account_id=\"123456789012\",credential=\"password\"} 1714521600",
            "aws_iam_root_last_used_timestamp_seconds{account_id=\"123456789012\",credential=\"access_key_1\"} 1714608000",
            "aws_iam_root_last_used_timestamp_seconds{account_id=\"123456789012\",credential=\"access_key_2\"} 1714694400",
        ],
        "{text}"
    );
}
