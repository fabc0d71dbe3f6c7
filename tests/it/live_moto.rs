//! The real binary against moto (a real IAM implementation in Python): the
//! test creates users, keys, login profiles, MFA devices and password
//! policies with the real aws-sdk-iam, and the exporter (AWS_ENDPOINT_URL =
//! moto) must report them, and their changes on later refreshes. moto also
//! enforces IAM policies on request, which proves deploy/iam-policy.json is
//! enough.
//!
//! moto specifics (see /tmp/contract/MOTO-NOTES.md): account 123456789012,
//! no `<root_account>` row, report content computed live at each Get,
//! GeneratedTime constant, auth errors in a shape the SDK cannot parse.

use crate::common;

use std::time::Duration;

use common::*;

mod quarantine;

const ACCOUNT: &str = "123456789012";
const ACCT: (&str, &str) = ("account_id", ACCOUNT);

async fn iam_client(endpoint: &str, access_key: &str, secret: &str) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&sdk_config(endpoint, static_credentials(access_key, secret)).await)
}

/// Runs blocking test helpers (exporter waits, scrapes) off the async workers.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// `--once` against moto, which must succeed; returns the exposition.
fn once_ok(moto: &Moto) -> String {
    let o = blocking(|| {
        exporter_cmd(Some(&moto.endpoint()))
            .arg("--once")
            .output()
            .expect("run --once")
    });
    assert!(
        o.status.success(),
        "{:?}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Creates an access key; returns (id, secret).
async fn access_key(iam: &aws_sdk_iam::Client, user: &str) -> (String, String) {
    let out = iam
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .expect("CreateAccessKey");
    let k = out.access_key().expect("key");
    (
        k.access_key_id().to_string(),
        k.secret_access_key().to_string(),
    )
}

/// alice: console password + virtual MFA; bob: two active keys, key 1 used;
/// carol: console password without MFA; dave: one key never used.
/// Returns bob's key 2 id.
async fn populate(endpoint: &str, iam: &aws_sdk_iam::Client) -> String {
    for user in ["alice", "bob", "carol", "dave"] {
        iam.create_user()
            .user_name(user)
            .send()
            .await
            .expect("CreateUser");
    }
    for user in ["alice", "carol"] {
        iam.create_login_profile()
            .user_name(user)
            .password("Corr3ct-horse-battery")
            .send()
            .await
            .expect("CreateLoginProfile");
    }
    let device = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("alice-mfa")
        .send()
        .await
        .expect("CreateVirtualMFADevice");
    let serial = device
        .virtual_mfa_device()
        .expect("device")
        .serial_number()
        .to_string();
    iam.enable_mfa_device()
        .user_name("alice")
        .serial_number(serial)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .expect("EnableMFADevice");
    let (bob1, bob1_secret) = access_key(iam, "bob").await;
    let (bob2, _) = access_key(iam, "bob").await;
    access_key(iam, "dave").await;
    // moto stamps a key's last use on every request signed with it.
    iam_client(endpoint, &bob1, &bob1_secret)
        .await
        .list_users()
        .send()
        .await
        .expect("ListUsers as bob");
    bob2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_keys_and_mfa_created_in_moto_are_exported_and_changes_show_on_later_refreshes() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let admin = iam_client(&moto.endpoint(), "testing", "testing").await;
    let bob2 = populate(&moto.endpoint(), &admin).await;

    let mut e = Exporter::start(&moto.endpoint(), &["--refresh.interval=1s"]);
    blocking(|| e.wait_ready(Duration::from_secs(20)));
    let m = blocking(|| e.scrape());
    assert_samples(
        &m,
        &[
            ("aws_iam_users", &[ACCT], 4.0),
            ("aws_iam_users_with_multiple_active_keys", &[ACCT], 1.0),
            (
                "aws_iam_user_active_access_keys",
                &[ACCT, ("user", "bob")],
                2.0,
            ),
            (
                "aws_iam_user_active_access_keys",
                &[ACCT, ("user", "dave")],
                1.0,
            ),
            (
                "aws_iam_user_active_access_keys",
                &[ACCT, ("user", "alice")],
                0.0,
            ),
            ("aws_iam_console_users", &[ACCT], 2.0),
            ("aws_iam_console_users_without_mfa", &[ACCT], 1.0),
            ("aws_iam_user_mfa_active", &[("user", "alice")], 1.0),
            ("aws_iam_user_mfa_active", &[("user", "carol")], 0.0),
            ("aws_iam_active_access_keys", &[ACCT], 3.0),
            ("aws_iam_active_access_keys_never_used", &[ACCT], 2.0),
            (
                "aws_iam_access_key_never_used",
                &[("user", "bob"), ("key", "1")],
                0.0,
            ),
            (
                "aws_iam_access_key_never_used",
                &[("user", "bob"), ("key", "2")],
                1.0,
            ),
            ("aws_iam_account_summary", &[ACCT, ("key", "Users")], 4.0),
            (
                "aws_iam_account_summary",
                &[ACCT, ("key", "MFADevicesInUse")],
                1.0,
            ),
            ("aws_iam_exporter_refresh_success", &[ACCT], 1.0),
        ],
    );
    // Every per-account series carries moto's account id (from the report ARNs).
    assert!(
        metric_samples(&m, "aws_iam_users").iter().all(|s| s
            .labels
            .get("account_id")
            .map(String::as_str)
            == Some(ACCOUNT))
    );
    // No policy yet: NoSuchEntity means absent, the CIS 1.8/1.9 controls fail.
    assert_eq!(val(&m, "aws_iam_password_policy_present", &[ACCT]), 0.0);
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing",
            &[("control", "password_policy_length")]
        ),
        1.0
    );
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing",
            &[("control", "password_policy_reuse")]
        ),
        1.0
    );
    assert!(aws_errors_beyond_moto_gaps(&m).is_empty(), "{m}");

    admin
        .update_account_password_policy()
        .minimum_password_length(14)
        .password_reuse_prevention(24)
        .send()
        .await
        .expect("UpdateAccountPasswordPolicy");
    blocking(|| {
        e.wait_for_metric(
            "aws_iam_password_policy_present",
            &[ACCT],
            Duration::from_secs(10),
            |v| v == 1.0,
        )
    });
    let m = blocking(|| e.scrape());
    assert_samples(
        &m,
        &[
            ("aws_iam_password_policy_minimum_length", &[ACCT], 14.0),
            ("aws_iam_password_policy_reuse_prevention", &[ACCT], 24.0),
            (
                "aws_iam_control_failing",
                &[("control", "password_policy_length")],
                0.0,
            ),
            (
                "aws_iam_control_failing",
                &[("control", "password_policy_reuse")],
                0.0,
            ),
        ],
    );

    admin
        .update_access_key()
        .user_name("bob")
        .access_key_id(&bob2)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .expect("UpdateAccessKey");
    blocking(|| {
        e.wait_for_metric(
            "aws_iam_users_with_multiple_active_keys",
            &[ACCT],
            Duration::from_secs(10),
            |v| v == 0.0,
        )
    });
    let m = blocking(|| e.scrape());
    assert_eq!(
        val(&m, "aws_iam_user_active_access_keys", &[("user", "bob")]),
        1.0
    );
    assert_eq!(val(&m, "aws_iam_active_access_keys", &[ACCT]), 2.0);
    assert_eq!(
        val(&m, "aws_iam_active_access_keys_never_used", &[ACCT]),
        1.0
    );
    assert_eq!(
        metric_value(
            &m,
            "aws_iam_access_key_never_used",
            &[("user", "bob"), ("key", "2")]
        ),
        None,
        "an inactive key has no per-key series"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_against_moto_prints_the_account_and_exits_0() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let admin = iam_client(&moto.endpoint(), "testing", "testing").await;
    populate(&moto.endpoint(), &admin).await;
    let m = once_ok(&moto);
    assert_eq!(val(&m, "aws_iam_users", &[ACCT]), 4.0);
    assert_eq!(val(&m, "aws_iam_console_users_without_mfa", &[ACCT]), 1.0);
    assert_eq!(val(&m, "aws_iam_exporter_refresh_success", &[ACCT]), 1.0);
    // moto has no root row: root series from the summary only.
    assert_eq!(val(&m, "aws_iam_root_access_keys_present", &[ACCT]), 0.0);
    assert_absent(&m, "aws_iam_root_access_key_active");
    // moto's GeneratedTime is the constant 2015-02-02T20:02:02Z.
    assert_eq!(
        val(
            &m,
            "aws_iam_credential_report_generated_timestamp_seconds",
            &[ACCT]
        ),
        1422907322.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_minimal_iam_policy_is_enough_and_a_user_without_it_fails_with_a_counted_error() {
    // With AWS's managed policies, so that the quarantine lookup makes all its calls.
    let Some(moto) = quarantine::moto_with_managed_policies() else {
        return;
    };
    let admin = iam_client(&moto.endpoint(), "testing", "testing").await;
    let policy = std::fs::read_to_string(repo_root().join("deploy/iam-policy.json"))
        .expect("deploy/iam-policy.json");
    for user in ["exporter", "intruder"] {
        admin.create_user().user_name(user).send().await.unwrap();
    }
    admin
        .put_user_policy()
        .user_name("exporter")
        .policy_name("aws-iam-exporter")
        .policy_document(&policy)
        .send()
        .await
        .expect("PutUserPolicy");
    let (exporter_key, exporter_secret) = access_key(&admin, "exporter").await;
    let (intruder_key, intruder_secret) = access_key(&admin, "intruder").await;
    // The intruder's key was found in public: ListPolicies, ListEntitiesForPolicy and
    // GetGroup all run, under the shipped policy.
    quarantine::quarantine_group(&admin, "exposed", &["intruder"], quarantine::V2).await;
    moto.set_auth_after(Some(0));

    // The unknown `testing` key is refused now: enforcement is on.
    let refused = admin.list_users().send().await;
    assert!(refused.is_err(), "auth enforcement is off");

    let start_as = |key: &str, secret: &str| {
        let mut e = Exporter::start_with(ExporterOpts {
            args: vec![
                "--refresh.interval=1s".into(),
                "--aws.max-attempts=1".into(),
            ],
            aws_endpoint: Some(moto.endpoint()),
            env: vec![
                ("AWS_ACCESS_KEY_ID".into(), key.into()),
                ("AWS_SECRET_ACCESS_KEY".into(), secret.into()),
            ],
            ..Default::default()
        });
        e.wait_listening(Duration::from_secs(10));
        e
    };

    let mut good = blocking(|| start_as(&exporter_key, &exporter_secret));
    blocking(|| good.wait_ready(Duration::from_secs(20)));
    let m = blocking(|| {
        good.wait_for_metric(
            "aws_iam_access_key_never_used",
            &[("user", "exporter"), ("key", "1")],
            Duration::from_secs(10),
            |v| v == 0.0,
        );
        good.scrape()
    });
    assert_eq!(val(&m, "aws_iam_exporter_refresh_success", &[ACCT]), 1.0);
    assert_eq!(val(&m, "aws_iam_users", &[ACCT]), 2.0);
    // The exporter's own signed requests mark its key as used; the intruder's is not.
    assert_eq!(
        val(
            &m,
            "aws_iam_access_key_never_used",
            &[("user", "intruder"), ("key", "1")]
        ),
        1.0
    );
    // Every call of the account's refresh was allowed: the policy is complete. The one refusal
    // is the exporter's own ListOrganizationsFeatures (no account_id): the member policy does not
    // grant it, only the hub's deploy/iam-policy-organizations.json does.
    let refused: Vec<_> = aws_errors_beyond_moto_gaps(&m)
        .into_iter()
        .map(|s| {
            (
                s.labels.get("operation").cloned(),
                s.labels.get("code").cloned(),
                s.labels.contains_key("account_id"),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [(
            Some("ListOrganizationsFeatures".into()),
            Some("HTTP403".into()),
            false
        )],
        "{m}"
    );
    assert_eq!(val(&m, "aws_iam_password_policy_present", &[ACCT]), 0.0);
    assert_eq!(
        val(
            &m,
            "aws_iam_user_quarantined",
            &[ACCT, ("user", "intruder"), ("policy", quarantine::V2)]
        ),
        1.0
    );
    assert!(metric_value(&m, "aws_iam_root_hardware_mfa_enabled", &[]).is_some());
    // iam:ListServerCertificates is in the policy: the certificate control was decided.
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing",
            &[("control", "expired_server_certificate")]
        ),
        0.0
    );
    drop(good);

    let mut bad = blocking(|| start_as(&intruder_key, &intruder_secret));
    let m = blocking(|| {
        bad.wait_for_metric(
            "aws_iam_exporter_refreshes_total",
            &[("result", "failure")],
            Duration::from_secs(15),
            |v| v >= 1.0,
        );
        bad.scrape()
    });
    bad.assert_no_refresh_succeeded(&m);
    // The account's errors: the exporter-level ListOrganizationsFeatures (no account_id) is
    // refused too, apart from the account's refresh.
    let errs: Vec<_> = metric_samples(&m, "aws_iam_exporter_aws_errors_total")
        .into_iter()
        .filter(|s| s.labels.contains_key("account_id"))
        .collect();
    assert_eq!(errs.len(), 1, "{m}");
    // The first call of a refresh is refused. moto's auth error body
    // (<ErrorResponse><Errors><Error>) is not the AWS Query shape, so the SDK
    // gets no error code: the binary labels it with the HTTP status.
    assert_eq!(errs[0].labels["operation"], "GetAccountSummary", "{errs:?}");
    assert_eq!(errs[0].labels["code"], "HTTP403", "{errs:?}");
    assert!(errs[0].value >= 1.0);
    let log = bad.stderr();
    assert!(
        log.lines()
            .any(|l| l.contains("level=error") && l.contains("GetAccountSummary")),
        "{log}"
    );
    moto.set_auth_after(None);
}

/// Security Hub's password-class, expiry and strong-policy controls, IAM.19 (every user has
/// MFA) and an expired server certificate, on moto's real IAM: a policy missing symbols and
/// numbers, users without MFA with and without a console password, and a certificate moto
/// dates 2012-05-08 (moto's ListServerCertificates answers a constant Expiration).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_classes_users_without_mfa_and_an_expired_certificate_in_moto_fail_their_controls()
{
    let Some(moto) = Moto::start() else {
        return;
    };
    let admin = iam_client(&moto.endpoint(), "testing", "testing").await;
    // alice: console + MFA; bob: two keys; carol: console, no MFA; dave: one key; erin: nothing.
    populate(&moto.endpoint(), &admin).await;
    admin
        .create_user()
        .user_name("erin")
        .send()
        .await
        .expect("CreateUser");
    // Length, reuse, upper and lower case: no symbols, numbers or expiry yet.
    let policy = || {
        admin
            .update_account_password_policy()
            .minimum_password_length(14)
            .password_reuse_prevention(24)
            .require_uppercase_characters(true)
            .require_lowercase_characters(true)
    };
    policy().send().await.expect("UpdateAccountPasswordPolicy");
    admin
        .upload_server_certificate()
        .server_certificate_name("legacy-web")
        .path("/cloudfront/")
        .certificate_body("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")
        .private_key("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----")
        .send()
        .await
        .expect("UploadServerCertificate");

    let m = once_ok(&moto);
    let control = |id: &str| val(&m, "aws_iam_control_failing", &[("control", id)]);
    let failing = |id: &str| val(&m, "aws_iam_control_failing_resources", &[("control", id)]);

    assert_samples(
        &m,
        &[
            (
                "aws_iam_password_policy_require_uppercase_characters",
                &[ACCT],
                1.0,
            ),
            ("aws_iam_password_policy_require_symbols", &[ACCT], 0.0),
            // moto answers MaxPasswordAge 0 for a policy without expiry: passwords do not expire.
            ("aws_iam_password_policy_expire_passwords", &[ACCT], 0.0),
        ],
    );
    assert_absent(&m, "aws_iam_password_policy_max_age_seconds");
    assert_eq!(control("password_policy_uppercase"), 0.0);
    assert_eq!(control("password_policy_lowercase"), 0.0);
    assert_eq!(control("password_policy_symbols"), 1.0);
    assert_eq!(control("password_policy_numbers"), 1.0);
    assert_eq!(control("password_policy_expiry"), 1.0);
    assert_eq!(control("password_policy_strong"), 1.0);
    assert_eq!(control("password_policy_length"), 0.0);

    // IAM.19 counts every user without MFA, console or not: bob, carol, dave, erin.
    assert_eq!(control("user_mfa"), 1.0);
    assert_eq!(failing("user_mfa"), 4.0);
    assert_eq!(failing("console_user_mfa"), 1.0);

    assert_eq!(control("expired_server_certificate"), 1.0);
    assert_eq!(failing("expired_server_certificate"), 1.0);
    assert_eq!(
        val(
            &m,
            "aws_iam_server_certificate_expiration_timestamp_seconds",
            &[ACCT, ("certificate", "legacy-web")]
        ),
        1336438923.0,
        "moto's constant 2012-05-08T01:02:03Z"
    );
    assert!(aws_errors_beyond_moto_gaps(&m).is_empty(), "{m}");

    // Every class and an expiry: the policy controls pass on the next refresh's answer.
    policy()
        .require_symbols(true)
        .require_numbers(true)
        .max_password_age(90)
        .send()
        .await
        .expect("UpdateAccountPasswordPolicy");
    let m = once_ok(&moto);
    for id in PASSWORD_POLICY_CONTROLS {
        assert_eq!(
            val(&m, "aws_iam_control_failing", &[("control", id)]),
            0.0,
            "{id}"
        );
    }
}
