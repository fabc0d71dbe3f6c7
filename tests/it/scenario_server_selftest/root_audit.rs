//! The scenario server's centralized root access (sts:AssumeRoot, the root-task calls of
//! `IAMAuditRootUserCredentials`) and Organizations discovery, read by the real aws-sdk-sts,
//! aws-sdk-iam and aws-sdk-organizations.

use super::*;

use aws_sdk_sts::types::PolicyDescriptorType;

const MEMBER: &str = "222233334444";
const OTHER: &str = "555566667777";

/// An organization of the default account (management) and two members.
fn organization(s: &Scenario) {
    s.set_organization(Some(
        OrganizationState::new(ACCOUNT).members(&[(MEMBER, "staging"), (OTHER, "sandbox")]),
    ));
}

fn audit_task() -> PolicyDescriptorType {
    PolicyDescriptorType::builder()
        .arn(AUDIT_TASK_POLICY)
        .build()
}

/// AssumeRoot into `target` with the audit task policy, as the `testing` key (management).
async fn assume_root(
    sts: &aws_sdk_sts::Client,
    target: &str,
) -> Result<
    aws_sdk_sts::operation::assume_root::AssumeRootOutput,
    aws_sdk_sts::error::SdkError<aws_sdk_sts::operation::assume_root::AssumeRootError>,
> {
    sts.assume_root()
        .target_principal(target)
        .task_policy_arn(audit_task())
        .duration_seconds(900)
        .send()
        .await
}

/// IAM and STS clients signed with a root session's credentials.
async fn root_clients(
    endpoint: &str,
    out: &aws_sdk_sts::operation::assume_root::AssumeRootOutput,
) -> (aws_sdk_iam::Client, aws_sdk_sts::Client) {
    let c = out.credentials().expect("AssumeRoot answered credentials");
    let creds = aws_sdk_iam::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "root-session",
    );
    let conf = sdk_config_with(endpoint, 1, Duration::from_secs(5), creds).await;
    (
        aws_sdk_iam::Client::new(&conf),
        aws_sdk_sts::Client::new(&conf),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_session_reads_its_members_root_and_nothing_else() {
    let s = Scenario::start();
    organization(&s);
    s.account(MEMBER).set_root(
        RootState::default()
            .with_password(400, Some(3))
            .with_key(RootAccessKey::active("AKIAROOTKEY1EXAMPLE", 200, Some(10)))
            .with_key(RootAccessKey {
                active: false,
                ..RootAccessKey::active("AKIAROOTKEY2EXAMPLE", 20, None)
            })
            .with_mfa(MfaKind::Fido, MEMBER)
            .with_certificate("CERTROOT1", true, 50),
    );
    let (_, sts) = clients(&s.endpoint(), 1).await;
    let before = now();
    let out = assume_root(&sts, MEMBER).await.expect("AssumeRoot");
    let c = out.credentials().unwrap();
    assert!(
        c.access_key_id().starts_with("ASIA"),
        "{}",
        c.access_key_id()
    );
    let lifetime = c.expiration().secs() - before.unix_timestamp();
    assert!((899..=901).contains(&lifetime), "{lifetime}");
    assert_eq!(out.source_identity(), None);
    assert_eq!(
        s.account(MEMBER).calls("AssumeRoot"),
        1,
        "counted on the target"
    );
    assert_eq!(s.calls("AssumeRoot"), 0);

    let (iam, root_sts) = root_clients(&s.endpoint(), &out).await;
    let summary = iam.get_account_summary().send().await.unwrap();
    let map = summary.summary_map().unwrap();
    assert_eq!(map.get(&SummaryKeyType::AccountAccessKeysPresent), Some(&1));
    assert_eq!(map.get(&SummaryKeyType::AccountMfaEnabled), Some(&1));
    assert_eq!(map.get(&SummaryKeyType::AccountPasswordPresent), Some(&1));

    let user = iam.get_user().send().await.unwrap();
    let user = user.user().unwrap();
    assert_eq!(user.arn(), format!("arn:aws:iam::{MEMBER}:root"));
    assert_eq!(user.user_id(), MEMBER);
    assert_eq!(user.user_name(), "", "root has no user name");
    assert!(user.password_last_used().is_some());

    let profile = iam.get_login_profile().send().await.unwrap();
    assert!(profile.login_profile().unwrap().create_date().secs() > 0);

    let keys = iam.list_access_keys().send().await.unwrap();
    let keys: Vec<(&str, &str)> = keys
        .access_key_metadata()
        .iter()
        .map(|k| {
            (
                k.access_key_id().unwrap(),
                k.status().map(|s| s.as_str()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("AKIAROOTKEY1EXAMPLE", "Active"),
            ("AKIAROOTKEY2EXAMPLE", "Inactive")
        ]
    );
    let used = iam
        .get_access_key_last_used()
        .access_key_id("AKIAROOTKEY1EXAMPLE")
        .send()
        .await
        .unwrap();
    let used = used.access_key_last_used().unwrap();
    assert!(used.last_used_date().is_some());
    assert_eq!(used.service_name(), "s3");
    let never = iam
        .get_access_key_last_used()
        .access_key_id("AKIAROOTKEY2EXAMPLE")
        .send()
        .await
        .unwrap();
    let never = never.access_key_last_used().unwrap();
    assert_eq!(never.last_used_date(), None);
    assert_eq!(never.service_name(), "N/A");

    let mfa = iam.list_mfa_devices().send().await.unwrap();
    assert_eq!(mfa.mfa_devices().len(), 1);
    assert!(mfa.mfa_devices()[0].serial_number().contains(":u2f/"));

    let certs = iam.list_signing_certificates().send().await.unwrap();
    assert_eq!(certs.certificates().len(), 1);
    assert_eq!(certs.certificates()[0].certificate_id(), "CERTROOT1");
    assert_eq!(certs.certificates()[0].status().as_str(), "Active");
    assert!(
        s.root_session_calls().is_empty(),
        "{:?}",
        s.root_session_calls()
    );

    // Outside the task policy: refused (or, for GetCallerIdentity, answered as AWS does) and
    // recorded.
    let err = iam.generate_credential_report().send().await.unwrap_err();
    assert_eq!(code(&err), "AccessDenied");
    assert!(
        err.message()
            .unwrap_or("")
            .contains("because no session policy allows the iam:GenerateCredentialReport action"),
        "{err:?}"
    );
    let err = iam
        .list_access_keys()
        .user_name("alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "AccessDenied");
    let me = root_sts.get_caller_identity().send().await.unwrap();
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:iam::{MEMBER}:root").as_str())
    );
    let recorded: Vec<(String, Option<String>)> = s
        .root_session_calls()
        .into_iter()
        .map(|c| {
            assert_eq!(c.account_id, MEMBER);
            (c.action, c.user_name)
        })
        .collect();
    assert_eq!(
        recorded,
        [
            ("GenerateCredentialReport".to_owned(), None),
            ("ListAccessKeys".to_owned(), Some("alice".to_owned())),
            ("GetCallerIdentity".to_owned(), None),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_less_root_has_no_login_profile_and_empty_lists() {
    let s = Scenario::start();
    organization(&s);
    s.account(OTHER).set_root(RootState::default());
    let (_, sts) = clients(&s.endpoint(), 1).await;
    let out = assume_root(&sts, &format!("arn:aws:iam::{OTHER}:root"))
        .await
        .expect("AssumeRoot by root ARN");
    let (iam, _) = root_clients(&s.endpoint(), &out).await;
    let err = iam.get_login_profile().send().await.unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_no_such_entity_exception()),
        "{err:?}"
    );
    assert_eq!(
        iam.get_user()
            .send()
            .await
            .unwrap()
            .user()
            .unwrap()
            .password_last_used(),
        None
    );
    assert!(
        iam.list_access_keys()
            .send()
            .await
            .unwrap()
            .access_key_metadata()
            .is_empty()
    );
    assert!(
        iam.list_mfa_devices()
            .send()
            .await
            .unwrap()
            .mfa_devices()
            .is_empty()
    );
    assert!(
        iam.list_signing_certificates()
            .send()
            .await
            .unwrap()
            .certificates()
            .is_empty()
    );
    let summary = iam.get_account_summary().send().await.unwrap();
    assert_eq!(
        summary
            .summary_map()
            .unwrap()
            .get(&SummaryKeyType::AccountMfaEnabled),
        Some(&0)
    );
}

#[test]
fn mfa_serials_name_their_kind() {
    let serial = |k| RootMfaDevice::new(k, MEMBER).serial;
    assert!(serial(MfaKind::Virtual).contains(":mfa/"));
    assert!(serial(MfaKind::Fido).contains(":u2f/"));
    assert!(!serial(MfaKind::HardwareTotp).starts_with("arn:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_root_grants_the_audit_task_only_and_at_most_900_seconds() {
    let s = Scenario::start();
    organization(&s);
    let (_, sts) = clients(&s.endpoint(), 1).await;
    let err = sts
        .assume_root()
        .target_principal(MEMBER)
        .task_policy_arn(
            PolicyDescriptorType::builder()
                .arn("arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "AccessDenied");
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 403);
    let err = sts
        .assume_root()
        .target_principal(MEMBER)
        .task_policy_arn(audit_task())
        .duration_seconds(901)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationError");
    assert!(
        err.message()
            .unwrap_or("")
            .contains("less than or equal to 900")
    );
    // Without DurationSeconds: 900.
    let before = now();
    let out = sts
        .assume_root()
        .target_principal(MEMBER)
        .task_policy_arn(audit_task())
        .send()
        .await
        .unwrap();
    let lifetime = out.credentials().unwrap().expiration().secs() - before.unix_timestamp();
    assert!((899..=901).contains(&lifetime), "{lifetime}");
    // Neither the management account nor an account outside the organization.
    for target in [ACCOUNT, "999988887777"] {
        let err = assume_root(&sts, target).await.unwrap_err();
        assert_eq!(code(&err), "AccessDenied", "{target}");
    }
    // Root-session credentials cannot call AssumeRoot themselves.
    let out = assume_root(&sts, MEMBER).await.unwrap();
    let (_, root_sts) = root_clients(&s.endpoint(), &out).await;
    assert_eq!(
        code(&assume_root(&root_sts, OTHER).await.unwrap_err()),
        "AccessDenied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_root_refusals_are_access_denied_for_the_caller_or_one_target() {
    let s = Scenario::start();
    organization(&s);
    let (_, sts) = clients(&s.endpoint(), 1).await;
    for refusal in [
        RootRefusal::FeatureOff,
        RootRefusal::NotManagementOrDelegatedAdministrator,
        RootRefusal::ScpDeny,
    ] {
        s.refuse_assume_root(Some(refusal));
        for target in [MEMBER, OTHER] {
            let err = assume_root(&sts, target).await.unwrap_err();
            assert_eq!(code(&err), "AccessDenied", "{refusal:?}");
            assert_eq!(err.raw_response().unwrap().status().as_u16(), 403);
            assert_eq!(
                err.message().unwrap(),
                refusal.message("arn:aws:iam::123456789012:user/exporter", target)
            );
        }
    }
    s.refuse_assume_root(None);
    // An SCP on one member refuses that member only.
    s.account(MEMBER)
        .refuse_assume_root(Some(RootRefusal::ScpDeny));
    let err = assume_root(&sts, MEMBER).await.unwrap_err();
    assert!(
        err.message()
            .unwrap()
            .ends_with("with an explicit deny in a service control policy")
    );
    assume_root(&sts, OTHER).await.expect("the other member");
    // Faults and refusals set on a member apply to AssumeRoot into it.
    s.account(OTHER)
        .push_faults("AssumeRoot", Fault::throttling(), 1);
    assert_eq!(
        code(&assume_root(&sts, OTHER).await.unwrap_err()),
        "Throttling"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_task_calls_answer_root_sessions_only() {
    let s = Scenario::start();
    organization(&s);
    let (iam, _) = clients(&s.endpoint(), 1).await;
    let err = iam.get_user().send().await.unwrap_err();
    assert_eq!(code(&err), "InvalidAction");
    assert!(s.root_session_calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizations_lists_every_account_in_pages_and_names_the_management_account() {
    let s = Scenario::start();
    let org = aws_sdk_organizations::Client::new(
        &sdk_config_with(
            &s.endpoint(),
            1,
            Duration::from_secs(5),
            testing_credentials(),
        )
        .await,
    );
    let err = org.describe_organization().send().await.unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_aws_organizations_not_in_use_exception()),
        "{err:?}"
    );
    let members: Vec<(String, String)> = (0..45)
        .map(|i| {
            (
                format!("{:012}", 300_000_000_000u64 + i),
                format!("member-{i}"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = members
        .iter()
        .map(|(id, n)| (id.as_str(), n.as_str()))
        .collect();
    let mut o = OrganizationState::new(ACCOUNT).members(&refs);
    o.accounts[3].state = "SUSPENDED".into();
    s.set_organization(Some(o));
    let d = org.describe_organization().send().await.unwrap();
    assert_eq!(
        d.organization().and_then(|o| o.master_account_id()),
        Some(ACCOUNT)
    );
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = org
            .list_accounts()
            .set_next_token(token.take())
            .send()
            .await
            .unwrap();
        assert!(page.accounts().len() <= 20);
        #[allow(deprecated)]
        seen.extend(page.accounts().iter().map(|a| {
            (
                a.id().unwrap().to_owned(),
                a.name().unwrap().to_owned(),
                a.state().map(|s| s.as_str().to_owned()),
                a.status().map(|s| s.as_str().to_owned()),
            )
        }));
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 46);
    assert_eq!(seen[0].0, ACCOUNT);
    assert_eq!(
        seen[1],
        (
            members[0].0.clone(),
            "member-0".into(),
            Some("ACTIVE".into()),
            Some("ACTIVE".into())
        )
    );
    assert_eq!(seen[3].2.as_deref(), Some("SUSPENDED"));
    assert_eq!(s.calls("ListAccounts"), 3);
    s.deny("ListAccounts");
    let err = org.list_accounts().send().await.unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_access_denied_exception()),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_latency_delays_every_answer() {
    let s = Scenario::start();
    let (iam, _) = clients(&s.endpoint(), 1).await;
    s.set_latency(Some(Duration::from_millis(300)));
    let t = Instant::now();
    iam.get_account_summary().send().await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    s.set_latency(None);
    let t = Instant::now();
    iam.get_account_summary().send().await.unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
}
