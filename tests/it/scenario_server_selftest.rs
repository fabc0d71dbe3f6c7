//! Proves that the test IAM scenario server (tests/it/common/scenario/) speaks
//! the AWS Query protocol well enough for the real aws-sdk-iam / aws-sdk-sts
//! to parse every answer, errors included; and that moto starts and serves
//! the calls the exporter makes.

use crate::common;

use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{AssignmentStatusType, ReportStateType, SummaryKeyType};
use base64::Engine as _;

use common::scenario::*;
use common::{
    assumed_credentials, every_item, sdk_loader, static_credentials, testing_credentials,
};

mod policies;

const ACCOUNT: &str = DEFAULT_ACCOUNT;

async fn sdk_config_with(
    endpoint: &str,
    max_attempts: u32,
    attempt_timeout: Duration,
    creds: aws_sdk_iam::config::Credentials,
) -> aws_config::SdkConfig {
    sdk_loader(endpoint, creds)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(Duration::from_millis(10))
                .with_max_backoff(Duration::from_millis(50)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(attempt_timeout)
                .build(),
        )
        .load()
        .await
}

async fn clients(endpoint: &str, max_attempts: u32) -> (aws_sdk_iam::Client, aws_sdk_sts::Client) {
    let conf = sdk_config_with(
        endpoint,
        max_attempts,
        Duration::from_secs(5),
        testing_credentials(),
    )
    .await;
    (
        aws_sdk_iam::Client::new(&conf),
        aws_sdk_sts::Client::new(&conf),
    )
}

/// An IAM client with the `testing` key, `max_attempts` and `attempt_timeout`.
async fn iam_with(
    endpoint: &str,
    max_attempts: u32,
    attempt_timeout: Duration,
) -> aws_sdk_iam::Client {
    let conf = sdk_config_with(
        endpoint,
        max_attempts,
        attempt_timeout,
        testing_credentials(),
    )
    .await;
    aws_sdk_iam::Client::new(&conf)
}

/// (HTTP status, `<Code>` from the raw body) of an error moto's auth layer
/// produced.
fn moto_auth_error<E>(e: &SdkError<E, aws_sdk_iam::config::http::HttpResponse>) -> (u16, String) {
    let raw = e.raw_response().expect("raw response");
    let body = String::from_utf8_lossy(raw.body().bytes().unwrap_or_default()).into_owned();
    let code = body
        .split("<Code>")
        .nth(1)
        .and_then(|r| r.split("</Code>").next())
        .unwrap_or("")
        .to_string();
    (raw.status().as_u16(), code)
}

fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    ProvideErrorMetadata::code(e)
        .unwrap_or("<none>")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_summary_entries_parse() {
    let s = Scenario::start();
    s.set_summary("Users", 7);
    s.set_summary("AccountMFAEnabled", 0);
    s.set_summary("AccountAccessKeysPresent", 1);
    s.set_summary("SomeFutureKey", 42);
    let (iam, _) = clients(&s.endpoint(), 1).await;
    let out = iam.get_account_summary().send().await.expect("summary");
    let map = out.summary_map().expect("map");
    assert_eq!(map.get(&SummaryKeyType::Users), Some(&7));
    assert_eq!(map.get(&SummaryKeyType::AccountMfaEnabled), Some(&0));
    assert_eq!(map.get(&SummaryKeyType::AccountAccessKeysPresent), Some(&1));
    assert_eq!(map.get(&SummaryKeyType::UsersQuota), Some(&5000));
    let unknown = SummaryKeyType::from("SomeFutureKey");
    assert_eq!(map.get(&unknown), Some(&42));
    assert_eq!(unknown.as_str(), "SomeFutureKey");
    assert_eq!(map.len(), default_summary(0).len() + 1);
    assert_eq!(s.calls("GetAccountSummary"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_report_state_transitions() {
    let s = Scenario::start();
    s.set_generate_pending(3);
    let (iam, _) = clients(&s.endpoint(), 1).await;
    let mut states = Vec::new();
    for _ in 0..5 {
        let out = iam
            .generate_credential_report()
            .send()
            .await
            .expect("generate");
        states.push(out.state().cloned().expect("state"));
        if states.len() == 1 {
            assert!(out.description().unwrap_or("").contains("Starting"));
        }
    }
    assert_eq!(
        states,
        vec![
            ReportStateType::Started,
            ReportStateType::Inprogress,
            ReportStateType::Inprogress,
            ReportStateType::Complete,
            ReportStateType::Complete,
        ]
    );
    assert_eq!(s.calls("GenerateCredentialReport"), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_report_content_roundtrip() {
    let s = Scenario::start();
    let t_key = days_ago(100);
    let t_used = days_ago(2);
    let csv = ReportBuilder::new(ACCOUNT)
        .root(RootRow {
            credentials: CredentialColumns {
                key1_active: true,
                ..Default::default()
            },
            mfa_active: true,
            ..Default::default()
        })
        .user(
            UserRow::new("alice")
                .password(Some(t_used))
                .mfa(true)
                .key1(t_key, Some(t_used)),
        )
        .user(
            UserRow::new("bob,the,builder")
                .key1(t_key, None)
                .key2(t_key, None),
        )
        .user(UserRow::new("carol").key1_inactive(t_key))
        .csv();
    s.set_report(csv.clone());
    let generated = parse_time("2026-01-02T03:04:05Z");
    s.set_report_generated(generated);

    let (iam, _) = clients(&s.endpoint(), 1).await;
    let out = iam.get_credential_report().send().await.expect("report");
    let content = out.content().expect("content").as_ref().to_vec();
    assert_eq!(String::from_utf8(content).unwrap(), csv);
    assert_eq!(out.report_format().map(|f| f.as_str()), Some("text/csv"));
    assert_eq!(
        out.generated_time().expect("time").secs(),
        generated.unix_timestamp()
    );

    // The CSV itself is well-formed: 22 columns per row, documented header,
    // root row with not_supported, quoted names.
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header, REPORT_COLUMNS);
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.len() == 22));
    assert_eq!(&rows[0][0], "<root_account>");
    assert_eq!(&rows[0][1], "arn:aws:iam::123456789012:root");
    assert_eq!(&rows[0][3], "not_supported");
    assert_eq!(&rows[0][5], "not_supported");
    assert_eq!(&rows[0][6], "not_supported");
    assert_eq!(&rows[0][8], "true");
    assert_eq!(&rows[0][10], "N/A");
    assert_eq!(&rows[1][0], "alice");
    assert_eq!(&rows[1][4], fmt_report_time(t_used));
    assert_eq!(&rows[1][9], fmt_report_time(t_key));
    assert_eq!(&rows[1][11], "us-east-1");
    assert_eq!(&rows[2][0], "bob,the,builder");
    assert_eq!(&rows[2][3], "false");
    assert_eq!(&rows[2][4], "N/A");
    assert_eq!(&rows[2][13], "true");
    assert_eq!(&rows[3][8], "false");
    assert_eq!(&rows[3][9], fmt_report_time(t_key));

    // The raw response also decodes with a plain base64 decoder.
    let body = common::http_post(
        &s.endpoint(),
        "application/x-www-form-urlencoded",
        b"Action=GetCredentialReport&Version=2010-05-08",
    )
    .unwrap()
    .text();
    let b64 = body
        .split("<Content>")
        .nth(1)
        .and_then(|r| r.split("</Content>").next())
        .unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(decoded, csv.as_bytes());
    assert!(body.contains("xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\""));
    assert!(body.contains("<RequestId>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_policy_present_and_absent() {
    let s = Scenario::start();
    let (iam, _) = clients(&s.endpoint(), 1).await;

    let err = iam
        .get_account_password_policy()
        .send()
        .await
        .expect_err("no policy");
    assert_eq!(code(&err), "NoSuchEntity");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_no_such_entity_exception())
    );

    s.set_password_policy(Some(PasswordPolicy::default()));
    let p = iam.get_account_password_policy().send().await.unwrap();
    let p = p.password_policy().expect("policy");
    assert_eq!(p.minimum_password_length(), Some(14));
    assert_eq!(p.password_reuse_prevention(), Some(24));
    assert_eq!(p.max_password_age(), Some(90));
    assert!(p.require_symbols());
    assert!(p.require_numbers());
    assert!(p.require_uppercase_characters());
    assert!(p.require_lowercase_characters());
    assert!(p.allow_users_to_change_password());
    assert_eq!(p.hard_expiry(), Some(false));
    assert!(p.expire_passwords());

    s.set_password_policy(Some(PasswordPolicy::weak()));
    let p = iam.get_account_password_policy().send().await.unwrap();
    let p = p.password_policy().expect("policy");
    assert_eq!(p.minimum_password_length(), Some(8));
    assert_eq!(p.password_reuse_prevention(), None);
    assert_eq!(p.max_password_age(), None);
    assert!(!p.require_symbols());
    assert!(!p.require_numbers());
    assert!(!p.require_uppercase_characters());
    assert!(!p.require_lowercase_characters());
    assert!(!p.allow_users_to_change_password());
    assert_eq!(p.hard_expiry(), None);
    assert!(!p.expire_passwords());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_mfa_devices_filter_and_paging() {
    let s = Scenario::start();
    s.add_virtual_mfa(VirtualMfa::root(ACCOUNT));
    s.add_virtual_mfa(VirtualMfa::user(ACCOUNT, "alice"));
    s.add_virtual_mfa(VirtualMfa::user(ACCOUNT, "bob"));
    s.add_virtual_mfa(VirtualMfa::unassigned(ACCOUNT, "spare"));
    let (iam, _) = clients(&s.endpoint(), 1).await;

    let out = iam
        .list_virtual_mfa_devices()
        .assignment_status(AssignmentStatusType::Assigned)
        .send()
        .await
        .unwrap();
    assert!(!out.is_truncated());
    let serials: Vec<&str> = out
        .virtual_mfa_devices()
        .iter()
        .map(|d| d.serial_number())
        .collect();
    assert_eq!(
        serials,
        vec![
            "arn:aws:iam::123456789012:mfa/root-account-mfa-device",
            "arn:aws:iam::123456789012:mfa/alice",
            "arn:aws:iam::123456789012:mfa/bob",
        ]
    );
    let root_user = out.virtual_mfa_devices()[0].user().expect("user");
    assert_eq!(root_user.arn(), "arn:aws:iam::123456789012:root");
    let alice = out.virtual_mfa_devices()[1].user().expect("user");
    assert_eq!(alice.user_name(), "alice");
    assert!(out.virtual_mfa_devices()[1].enable_date().is_some());

    // Paging: 1 per page, the paginator follows the markers.
    s.with(|a| a.virtual_mfa_page_size = Some(1));
    let before = s.calls("ListVirtualMFADevices");
    let all: Vec<_> = every_item!(
        iam.list_virtual_mfa_devices()
            .assignment_status(AssignmentStatusType::Any)
    );
    assert_eq!(all.len(), 4);
    assert_eq!(s.calls("ListVirtualMFADevices") - before, 4);
    let unassigned = iam
        .list_virtual_mfa_devices()
        .assignment_status(AssignmentStatusType::Unassigned)
        .send()
        .await
        .unwrap();
    assert_eq!(unassigned.virtual_mfa_devices().len(), 1);
    assert!(unassigned.virtual_mfa_devices()[0].user().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_certificates_filter_by_path_and_page() {
    let s = Scenario::start();
    s.set_server_certificates(vec![
        ServerCertificateRow::new("expired-web", -3),
        ServerCertificateRow {
            path: "/cloudfront/".into(),
            ..ServerCertificateRow::new("cdn", 200)
        },
        ServerCertificateRow {
            expiration: None,
            ..ServerCertificateRow::new("no-expiry-field", 0)
        },
    ]);
    let (iam, _) = clients(&s.endpoint(), 1).await;

    let out = iam.list_server_certificates().send().await.unwrap();
    assert!(!out.is_truncated());
    let certs = out.server_certificate_metadata_list();
    assert_eq!(certs.len(), 3);
    assert_eq!(certs[0].server_certificate_name(), "expired-web");
    assert_eq!(certs[0].path(), "/");
    assert_eq!(
        certs[0].arn(),
        "arn:aws:iam::123456789012:server-certificate/expired-web"
    );
    let expired = certs[0].expiration().expect("Expiration").secs();
    assert!((expired - unix(days_ago(3))).abs() <= 2, "{expired}");
    assert!(certs[0].upload_date().is_some());
    assert_eq!(
        certs[1].arn(),
        "arn:aws:iam::123456789012:server-certificate/cloudfront/cdn"
    );
    assert!(certs[2].expiration().is_none());

    let cdn = iam
        .list_server_certificates()
        .path_prefix("/cloudfront/")
        .send()
        .await
        .unwrap();
    assert_eq!(cdn.server_certificate_metadata_list().len(), 1);

    // Paging: 1 per page, the paginator follows the markers.
    s.with(|a| a.server_certificates_page_size = Some(1));
    let before = s.calls("ListServerCertificates");
    let all: Vec<_> = every_item!(iam.list_server_certificates());
    assert_eq!(all.len(), 3);
    assert_eq!(s.calls("ListServerCertificates") - before, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_of_every_service_carry_their_expiration() {
    let s = Scenario::start();
    s.set_service_credentials(vec![
        ServiceCredentialRow::api_key("logs.amazonaws.com", "ops", "ACCALOGS0001", 10, Some(30)),
        ServiceCredentialRow::api_key(
            "aws-external-anthropic.amazonaws.com",
            "claude",
            "ACCAANTHROPIC0001",
            5,
            None,
        ),
        ServiceCredentialRow {
            service: "codecommit.amazonaws.com".into(),
            ..ServiceCredentialRow::bedrock("git", "ACCACODECOMMIT0001", 3)
        },
    ]);
    let (iam, _) = clients(&s.endpoint(), 1).await;

    let out = iam
        .list_service_specific_credentials()
        .all_users(true)
        .send()
        .await
        .unwrap();
    let creds = out.service_specific_credentials();
    assert_eq!(creds.len(), 3);
    let logs = &creds[0];
    assert_eq!(logs.service_name(), "logs.amazonaws.com");
    let lifetime =
        logs.expiration_date().expect("ExpirationDate").secs() - logs.create_date().secs();
    assert_eq!(lifetime, 30 * 86_400);
    assert!(logs.service_credential_alias().is_some());
    assert_eq!(
        creds[1].service_name(),
        "aws-external-anthropic.amazonaws.com"
    );
    assert!(creds[1].expiration_date().is_none());
    assert!(
        creds[2].service_credential_alias().is_none(),
        "CodeCommit has no alias"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_caller_identity_and_assume_role() {
    let s = Scenario::start();
    let b = s.account("210987654321");
    b.set_summary("Users", 99);
    b.deny_assume_role("arn:aws:iam::210987654321:role/Forbidden");
    let (iam, sts) = clients(&s.endpoint(), 1).await;

    let me = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some(ACCOUNT));
    assert_eq!(me.arn(), Some("arn:aws:iam::123456789012:user/exporter"));
    assert!(me.user_id().is_some());

    let out = sts
        .assume_role()
        .role_arn("arn:aws:iam::210987654321:role/IamExporter")
        .role_session_name("aws-iam-exporter")
        .send()
        .await
        .unwrap();
    let c = out.credentials().expect("credentials");
    assert!(c.access_key_id().starts_with("ASIA"));
    assert_eq!(
        out.assumed_role_user().map(|u| u.arn()),
        Some("arn:aws:sts::210987654321:assumed-role/IamExporter/aws-iam-exporter")
    );

    // The assumed credentials act on account B.
    let conf_b = sdk_config_with(
        &s.endpoint(),
        1,
        Duration::from_secs(5),
        assumed_credentials(&out),
    )
    .await;
    let iam_b = aws_sdk_iam::Client::new(&conf_b);
    let sts_b = aws_sdk_sts::Client::new(&conf_b);
    let users_b = iam_b.get_account_summary().send().await.unwrap();
    assert_eq!(
        users_b.summary_map().unwrap().get(&SummaryKeyType::Users),
        Some(&99)
    );
    assert_eq!(
        sts_b.get_caller_identity().send().await.unwrap().account(),
        Some("210987654321")
    );
    assert_eq!(b.calls("GetAccountSummary"), 1);
    assert_eq!(s.calls("GetAccountSummary"), 0);
    let users_a = iam.get_account_summary().send().await.unwrap();
    assert_eq!(
        users_a.summary_map().unwrap().get(&SummaryKeyType::Users),
        Some(&0)
    );

    // Denied role, unknown account, malformed ARN.
    for (arn, want) in [
        ("arn:aws:iam::210987654321:role/Forbidden", "AccessDenied"),
        ("arn:aws:iam::555555555555:role/IamExporter", "AccessDenied"),
        ("not-an-arn-but-long-enough", "ValidationError"),
    ] {
        let err = sts
            .assume_role()
            .role_arn(arn)
            .role_session_name("aws-iam-exporter")
            .send()
            .await
            .expect_err(arn);
        assert_eq!(code(&err), want, "{arn}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_codes_surface_in_the_sdk() {
    let s = Scenario::start();
    // max_attempts 1: every injected error reaches the caller.
    let (iam, sts) = clients(&s.endpoint(), 1).await;
    let cases = [
        (Fault::throttling(), "Throttling", 400),
        (Fault::access_denied(), "AccessDenied", 403),
        (Fault::service_failure(), "ServiceFailure", 500),
        (Fault::report_in_progress(), "ReportInProgress", 404),
        (Fault::report_not_present(), "ReportNotPresent", 410),
        (Fault::report_expired(), "ReportExpired", 410),
        (Fault::no_such_entity(), "NoSuchEntity", 404),
        (Fault::limit_exceeded(), "LimitExceeded", 409),
    ];
    for (fault, want, status) in cases {
        s.push_faults("GetCredentialReport", fault, 1);
        let err = iam.get_credential_report().send().await.expect_err(want);
        assert_eq!(code(&err), want);
        let raw = err.raw_response().expect("raw response");
        assert_eq!(raw.status().as_u16(), status, "{want}");
    }
    // Modeled errors map to their typed variants.
    s.push_faults("GetCredentialReport", Fault::report_expired(), 1);
    let err = iam.get_credential_report().send().await.unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_credential_report_expired_exception())
    );
    s.push_faults("GenerateCredentialReport", Fault::limit_exceeded(), 1);
    let err = iam.generate_credential_report().send().await.unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_limit_exceeded_exception())
    );
    // Per-action AccessDenied until allowed again, on IAM and STS.
    s.deny("GetAccountSummary");
    for _ in 0..2 {
        let err = iam.get_account_summary().send().await.unwrap_err();
        assert_eq!(code(&err), "AccessDenied");
        assert!(
            err.message()
                .unwrap_or("")
                .contains("iam:GetAccountSummary")
        );
    }
    s.allow("GetAccountSummary");
    iam.get_account_summary().send().await.unwrap();
    s.deny("GetCallerIdentity");
    let err = sts.get_caller_identity().send().await.unwrap_err();
    assert_eq!(code(&err), "AccessDenied");
    // A non-XML 502 is an error without an AWS code.
    s.push_faults("GetAccountSummary", Fault::bad_gateway_html(), 1);
    let err = iam.get_account_summary().send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(502));
    // Unknown actions.
    let r = common::http_post(
        &s.endpoint(),
        "application/x-www-form-urlencoded",
        b"Action=ListUsers&Version=2010-05-08",
    )
    .unwrap();
    assert_eq!(r.status, 400);
    assert!(r.text().contains("<Code>InvalidAction</Code>"));
    assert_eq!(r.header("content-type"), Some("text/xml"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_server_errors_are_retried() {
    let s = Scenario::start();
    let (iam, _) = clients(&s.endpoint(), 3).await;

    s.push_faults("GetCredentialReport", Fault::throttling(), 2);
    iam.get_credential_report()
        .send()
        .await
        .expect("succeeds on the 3rd attempt");
    assert_eq!(s.calls("GetCredentialReport"), 3);

    s.push_faults("GetAccountSummary", Fault::service_failure(), 3);
    let err = iam.get_account_summary().send().await.unwrap_err();
    assert_eq!(code(&err), "ServiceFailure");
    assert_eq!(s.calls("GetAccountSummary"), 3);

    // AccessDenied is not retried.
    s.push_faults("GetAccountPasswordPolicy", Fault::access_denied(), 3);
    let err = iam.get_account_password_policy().send().await.unwrap_err();
    assert_eq!(code(&err), "AccessDenied");
    assert_eq!(s.calls("GetAccountPasswordPolicy"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_triggers_the_attempt_timeout() {
    let s = Scenario::start();
    let iam = iam_with(&s.endpoint(), 1, Duration::from_millis(300)).await;
    s.push_faults("GetAccountSummary", Fault::hang(Duration::from_secs(3)), 1);
    let t = Instant::now();
    let err = iam.get_account_summary().send().await.unwrap_err();
    assert!(matches!(err, SdkError::TimeoutError(_)), "{err:?}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // Next call is normal again.
    iam.get_account_summary().send().await.unwrap();

    // With retries, a hung first attempt is retried and the second succeeds.
    let iam = iam_with(&s.endpoint(), 2, Duration::from_millis(300)).await;
    s.reset_calls();
    s.push_faults("GetAccountSummary", Fault::hang(Duration::from_secs(3)), 1);
    iam.get_account_summary().send().await.unwrap();
    assert_eq!(s.calls("GetAccountSummary"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizations_answers_in_its_json_protocol_paged_refused_and_faulted() {
    let s = Scenario::start();
    let conf = sdk_config_with(
        &s.endpoint(),
        1,
        Duration::from_secs(5),
        testing_credentials(),
    )
    .await;
    let org = aws_sdk_organizations::Client::new(&conf);
    let err = org.describe_organization().send().await.unwrap_err();
    assert_eq!(code(&err), "AWSOrganizationsNotInUseException");

    let mut o = OrganizationState::new(ACCOUNT)
        .member("111111111111", "one")
        .member("222222222222", "two");
    o.page_size = Some(2);
    s.set_organization(Some(o));
    let d = org.describe_organization().send().await.unwrap();
    let d = d.organization().unwrap();
    assert_eq!(d.master_account_id(), Some(ACCOUNT));
    assert_eq!(d.id(), Some("o-a1b2c3d4e5"));
    let first = org.list_accounts().send().await.unwrap();
    let names: Vec<_> = first.accounts().iter().filter_map(|a| a.name()).collect();
    assert_eq!(names, ["management", "one"]);
    let token = first.next_token().expect("a second page");
    let second = org.list_accounts().next_token(token).send().await.unwrap();
    assert_eq!(second.accounts().len(), 1);
    assert_eq!(second.accounts()[0].id(), Some("222222222222"));
    assert_eq!(
        second.accounts()[0].state().map(|s| s.as_str()),
        Some("ACTIVE")
    );
    assert_eq!(second.next_token(), None);
    s.with_organization(|o| o.accounts[2].name = "two-renamed".into());
    let again = org.list_accounts().next_token(token).send().await.unwrap();
    assert_eq!(again.accounts()[0].name(), Some("two-renamed"));

    s.deny("ListAccounts");
    let err = org.list_accounts().send().await.unwrap_err();
    assert_eq!(code(&err), "AccessDeniedException");
    s.allow("ListAccounts");
    s.push_faults("DescribeOrganization", Fault::error(400, "TooManyRequestsException", "AWS Organizations can't complete your request because another request is already in progress."), 1);
    let err = org.describe_organization().send().await.unwrap_err();
    assert_eq!(code(&err), "TooManyRequestsException");
    org.describe_organization().send().await.unwrap();
    assert_eq!(s.calls("DescribeOrganization"), 4);
    assert_eq!(s.calls("ListAccounts"), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_virtual_mfa_page_can_be_truncated_with_an_empty_marker() {
    let s = Scenario::start();
    s.with(|a| a.virtual_mfa_empty_marker = true);
    let (iam, _) = clients(&s.endpoint(), 1).await;
    let out = iam.list_virtual_mfa_devices().send().await.unwrap();
    assert!(out.is_truncated());
    assert_eq!(out.marker().unwrap_or_default(), "");
}

#[test]
fn scenario_records_requests_and_calls() {
    let s = Scenario::start();
    let r = common::http_request(
        "POST",
        &s.endpoint(),
        &[
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00",
            ),
        ],
        Some(b"Action=ListVirtualMFADevices&Version=2010-05-08&AssignmentStatus=Assigned&Marker=a%2Bb%20c"),
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("<IsTruncated>false</IsTruncated>"));
    let reqs = s.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].action, "ListVirtualMFADevices");
    assert_eq!(reqs[0].access_key_id.as_deref(), Some("AKIDEXAMPLE"));
    assert_eq!(reqs[0].service.as_deref(), Some("iam"));
    assert_eq!(reqs[0].params["Marker"], "a+b c");
    assert_eq!(s.all_calls().get("ListVirtualMFADevices"), Some(&1));
    assert_eq!(s.total_calls(), 1);
    s.reset_calls();
    assert_eq!(s.total_calls(), 0);
    // Report builder: CRLF, upper-case booleans, Z times.
    let csv = ReportBuilder::new(ACCOUNT)
        .root(RootRow::default())
        .user(UserRow::new("u").password(None))
        .crlf()
        .bool_style(BoolStyle::Upper)
        .time_style(TimeStyle::Z)
        .csv();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[2].starts_with("u,arn:aws:iam::123456789012:user/u,"));
    assert!(lines[2].contains(",TRUE,no_information,"));
    assert!(lines[2].split(',').nth(2).unwrap().ends_with('Z'));
}

#[test]
fn text_exposition_parser() {
    let text = "# HELP a_b help\n# TYPE a_b gauge\na_b 1\nc{x=\"1\",y=\"a \\\"q\\\" ,}\"} 2.5 1700000000\n\
                c{x=\"2\"} +Inf\nd{} NaN\n";
    assert_eq!(common::metric_value(text, "a_b", &[]), Some(1.0));
    assert_eq!(
        common::metric_value(text, "c", &[("y", "a \"q\" ,}")]),
        Some(2.5)
    );
    assert_eq!(
        common::metric_value(text, "c", &[("x", "2")]),
        Some(f64::INFINITY)
    );
    assert!(common::metric_value(text, "d", &[]).unwrap().is_nan());
    assert_eq!(common::metric_value(text, "c", &[("x", "3")]), None);
    assert_eq!(common::metric_samples(text, "c").len(), 2);
}

#[test]
fn webhook_receives_posts() {
    let w = common::Webhook::start();
    let r = common::http_post(
        &w.url(),
        "application/json",
        br#"{"status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"}}]}"#,
    )
    .unwrap();
    assert_eq!(r.status, 200);
    let got = w
        .wait_for(Duration::from_secs(5), |r| r.json["status"] == "firing")
        .expect("received");
    assert_eq!(common::webhook_alertnames(&got, "firing"), vec!["A"]);
    assert_eq!(w.received().len(), 1);
}

/// moto: starts, and the SDK can create a user and an access key, and
/// generate and fetch the credential report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_serves_the_exporters_calls() {
    let Some(moto) = common::Moto::start() else {
        return;
    };
    let (iam, sts) = clients(&moto.endpoint(), 3).await;
    iam.create_user().user_name("alice").send().await.unwrap();
    let key = iam
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let key_id = key.access_key().unwrap().access_key_id().to_string();
    assert!(key_id.starts_with("AKIA"));

    let first = iam.generate_credential_report().send().await.unwrap();
    assert_eq!(first.state(), Some(&ReportStateType::Started));
    let second = iam.generate_credential_report().send().await.unwrap();
    assert_eq!(second.state(), Some(&ReportStateType::Complete));
    let report = iam.get_credential_report().send().await.unwrap();
    let csv = String::from_utf8(report.content().unwrap().as_ref().to_vec()).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), report_header());
    let alice = lines.next().expect("alice row");
    assert!(
        alice.starts_with("alice,arn:aws:iam::123456789012:user/alice,"),
        "{alice}"
    );
    let cols: Vec<&str> = alice.split(',').collect();
    assert_eq!(cols.len(), 22);
    assert_eq!(cols[8], "true", "access_key_1_active");
    assert_eq!(cols[10], "N/A", "never used");

    let summary = iam.get_account_summary().send().await.unwrap();
    assert_eq!(
        summary.summary_map().unwrap().get(&SummaryKeyType::Users),
        Some(&1)
    );
    let err = iam.get_account_password_policy().send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchEntity");
    let mfa = iam
        .list_virtual_mfa_devices()
        .assignment_status(AssignmentStatusType::Assigned)
        .send()
        .await
        .unwrap();
    assert!(mfa.virtual_mfa_devices().is_empty());
    let me = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some("123456789012"));

    moto.reset();
    let users = iam.list_users().send().await.unwrap();
    assert!(users.users().is_empty());
}

/// moto with IAM auth enforced: a user holding only a given policy gets
/// AccessDenied for the rest, and a Deny on one role ARN makes exactly that
/// AssumeRole fail (the recipe of MOTO-NOTES.md, through the Rust SDK).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_auth_enforcement_recipe() {
    let Some(moto) = common::Moto::start() else {
        return;
    };
    let (iam, _) = clients(&moto.endpoint(), 1).await;
    iam.create_user()
        .user_name("exporter")
        .send()
        .await
        .unwrap();
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["iam:GetAccountSummary","iam:GenerateCredentialReport",
          "iam:GetCredentialReport","sts:AssumeRole"],"Resource":"*"},
        {"Effect":"Deny","Action":"sts:AssumeRole","Resource":"arn:aws:iam::333333333333:role/IamExporter"}]}"#;
    iam.put_user_policy()
        .user_name("exporter")
        .policy_name("p")
        .policy_document(policy)
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("exporter")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    moto.set_auth_after(Some(0));

    // The unknown `testing` key is now refused. moto's auth errors have a
    // non-standard shape (<ErrorResponse><Errors><Error>...) that the Rust
    // SDK does not parse: no error code, only the HTTP status.
    let err = iam.get_account_summary().send().await.unwrap_err();
    assert_eq!(moto_auth_error(&err), (403, "InvalidClientTokenId".into()));
    assert_eq!(ProvideErrorMetadata::code(&err), None);

    let creds = static_credentials(key.access_key_id(), key.secret_access_key());
    let conf = sdk_config_with(&moto.endpoint(), 1, Duration::from_secs(5), creds).await;
    let iam_u = aws_sdk_iam::Client::new(&conf);
    let sts_u = aws_sdk_sts::Client::new(&conf);
    iam_u.get_account_summary().send().await.unwrap();
    let err = iam_u
        .get_account_password_policy()
        .send()
        .await
        .unwrap_err();
    assert_eq!(moto_auth_error(&err), (403, "AccessDenied".into()));
    sts_u
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/IamExporter")
        .role_session_name("exporter")
        .send()
        .await
        .unwrap();
    let err = sts_u
        .assume_role()
        .role_arn("arn:aws:iam::333333333333:role/IamExporter")
        .role_session_name("exporter")
        .send()
        .await
        .unwrap_err();
    assert_eq!(moto_auth_error(&err), (403, "AccessDenied".into()));

    moto.set_auth_after(None);
    iam.get_account_summary().send().await.unwrap();
}

mod root_audit;
