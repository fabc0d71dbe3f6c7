//! Every credential provider the documentation promises, proven with the real binary: `--once`
//! against the scenario server with ONLY that provider configured, then every signed call must
//! carry the access key id that provider handed out (the server reads it from the SigV4
//! `Authorization` header).
//!
//! The environment is the exporter's own: every inherited `AWS_*` variable removed, `HOME`,
//! `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` in a temporary directory, instance
//! metadata off (`AWS_EC2_METADATA_DISABLED=true`) except in the IMDS test, and
//! `AWS_ENDPOINT_URL` pointing IAM, STS and the SSO portal at the scenario server. The
//! providers' endpoints (STS AssumeRoleWithWebIdentity, IMDSv2, the ECS/EKS container
//! endpoint, the SSO portal) are the scenario server's (`common/scenario/providers.rs`).
//!
//! These tests also guard the build: the AWS SDK crates are compiled without their default
//! features, and a provider lost with a cargo feature (`credentials-process`, `sso`) shows up
//! here as "no credentials". docs/deployment.md lists the providers and these tests.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::scenario::*;
use common::*;

mod errors;

/// A temporary `HOME` with `~/.aws/`, where the config and credentials files go.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::Builder::new()
            .prefix("credentials-home-")
            .tempdir()
            .expect("tempdir");
        std::fs::create_dir_all(dir.path().join(".aws/sso/cache")).expect("mkdir ~/.aws");
        let home = Home { dir };
        // Empty, as on a machine where nothing is configured in them.
        home.aws_file("config", "");
        home.aws_file("credentials", "");
        home
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `~/.aws/<name>` and returns its path.
    fn aws_file(&self, name: &str, contents: &str) -> PathBuf {
        write_file(&self.path().join(".aws"), name, contents)
    }
}

/// `aws-iam-exporter --once` against `s` with no credentials but those `env` configures.
fn once_with(s: &Scenario, home: &Home, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(exporter_bin());
    clear_aws_env(&mut cmd);
    cmd.env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join(".aws/config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join(".aws/credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", s.endpoint())
        .arg("--once")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run aws-iam-exporter --once")
}

/// The environment that turns instance metadata on, with `s` as its endpoint (IMDSv2).
fn imds_env(s: &Scenario) -> Vec<(String, String)> {
    vec![
        ("AWS_EC2_METADATA_DISABLED".into(), "false".into()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT".into(), s.endpoint()),
    ]
}

/// [`once_with`] whose only credentials come from instance metadata at `s` ([`imds_env`]).
fn once_with_imds(s: &Scenario, home: &Home) -> Output {
    let env = imds_env(s);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    once_with(s, home, &env)
}

/// Asserts that `--once` succeeded, with its log if not.
fn assert_success(o: &Output) {
    assert!(
        o.status.success(),
        "--once exited {:?}\n--- stderr ---\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Asserts that `--once` succeeded and that every signed call (and at least one IAM call)
/// carried `key`.
fn assert_signed_with(s: &Scenario, o: &Output, key: &str) {
    assert_success(o);
    let requests = s.requests();
    let signed: BTreeSet<(String, String)> = requests
        .iter()
        .filter_map(|r| Some((r.access_key_id.clone()?, r.action.clone())))
        .collect();
    let keys: BTreeSet<&str> = signed.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, BTreeSet::from([key]), "calls by key: {signed:?}");
    assert!(
        requests
            .iter()
            .any(|r| r.service.as_deref() == Some("iam") && r.action == "GetCredentialReport"),
        "no signed IAM call reached the server: {signed:?}"
    );
}

/// Asserts that `--once` succeeded and that every signed call carried the one access key id
/// the server issued through `issuer` (an action or a provider's endpoint).
fn assert_signed_by(s: &Scenario, o: &Output, issuer: &str) {
    assert_success(o);
    assert_signed_with(s, o, &issued_by(s, issuer));
}

/// The one access key id the server issued through `issued_by`.
fn issued_by(s: &Scenario, issued_by: &str) -> String {
    let keys: Vec<String> = s
        .issued()
        .into_iter()
        .filter(|(_, c)| c.issued_by == issued_by)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys.len(), 1, "keys issued by {issued_by}: {keys:?}");
    keys[0].clone()
}

/// The recorded requests to the endpoint or action `name`.
fn requests_to(s: &Scenario, name: &str) -> Vec<RecordedRequest> {
    s.requests()
        .into_iter()
        .filter(|r| r.action == name)
        .collect()
}

/// SHA-1 in hex: the name of an SSO token's cache file is the hash of the session name (or,
/// for a legacy profile, of the start URL).
fn sha1_hex(s: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, s.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the SSO token cache file `~/.aws/sso/cache/<sha1(key)>.json`, valid for a day.
fn cache_sso_token(home: &Home, key: &str, start_url: &str, access_token: &str) {
    let expires = fmt_iso_z(now() + time::Duration::days(1));
    let token = serde_json::json!({
        "accessToken": access_token,
        "expiresAt": expires,
        "region": "us-east-1",
        "startUrl": start_url,
    });
    write_file(
        &home.path().join(".aws/sso/cache"),
        &format!("{}.json", sha1_hex(key)),
        &token.to_string(),
    );
}

/// Asserts that the SSO portal was asked for `role` in the default account with the cached
/// token, and that the calls were signed with what it answered.
fn assert_sso_signed(s: &Scenario, o: &Output, access_token: &str, role: &str) {
    assert_success(o);
    let portal = requests_to(s, "SsoGetRoleCredentials");
    assert!(!portal.is_empty(), "the SSO portal was not asked");
    for r in &portal {
        assert_eq!(
            r.headers.get("x-amz-sso_bearer_token").map(String::as_str),
            Some(access_token)
        );
        assert_eq!(r.params.get("role_name").map(String::as_str), Some(role));
        assert_eq!(
            r.params.get("account_id").map(String::as_str),
            Some(DEFAULT_ACCOUNT)
        );
    }
    assert_signed_by(s, o, "SsoGetRoleCredentials");
}

#[test]
fn environment_variables_sign_the_calls_with_their_access_key() {
    let s = Scenario::start();
    let home = Home::new();
    let o = once_with(
        &s,
        &home,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001"),
            ("AWS_SECRET_ACCESS_KEY", "environment-secret"),
        ],
    );
    assert_signed_with(&s, &o, "AKIAENVIRONMENT00001");
}

#[test]
fn a_profile_of_the_shared_credentials_file_chosen_by_aws_profile_signs_the_calls() {
    let s = Scenario::start();
    let home = Home::new();
    home.aws_file("config", "[profile auditor]\nregion = us-east-1\n");
    home.aws_file(
        "credentials",
        "[default]\naws_access_key_id = AKIADEFAULTPROFILE01\naws_secret_access_key = default-secret\n\n\
         [auditor]\naws_access_key_id = AKIAAUDITORPROFILE01\naws_secret_access_key = auditor-secret\n",
    );
    let o = once_with(&s, &home, &[("AWS_PROFILE", "auditor")]);
    assert_signed_with(&s, &o, "AKIAAUDITORPROFILE01");
}

#[test]
fn a_credential_process_of_the_profile_signs_the_calls_with_what_it_prints() {
    let s = Scenario::start();
    let home = Home::new();
    let expires = fmt_iso_z(now() + time::Duration::hours(1));
    let script = home.aws_file(
        "credential-process.sh",
        &format!(
            "#!/bin/sh\nprintf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"ASIACREDPROCESS0001\", \
             \"SecretAccessKey\": \"process-secret\", \"SessionToken\": \"process-token\", \
             \"Expiration\": \"{expires}\"}}'\n"
        ),
    );
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    home.aws_file(
        "config",
        &format!(
            "[profile auditor]\ncredential_process = {}\n",
            script.display()
        ),
    );
    let o = once_with(&s, &home, &[("AWS_PROFILE", "auditor")]);
    assert_signed_with(&s, &o, "ASIACREDPROCESS0001");
}

#[test]
fn an_sso_session_profile_with_a_cached_token_signs_the_calls_with_the_portals_role_credentials() {
    const START_URL: &str = "https://corp.awsapps.com/start";
    let s = Scenario::start();
    let home = Home::new();
    home.aws_file(
        "config",
        &format!(
            "[profile auditor]\nsso_session = corp\nsso_account_id = {DEFAULT_ACCOUNT}\n\
             sso_role_name = SecurityAudit\nregion = us-east-1\n\n\
             [sso-session corp]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n"
        ),
    );
    cache_sso_token(&home, "corp", START_URL, "sso-session-access-token");
    let o = once_with(&s, &home, &[("AWS_PROFILE", "auditor")]);
    assert_sso_signed(&s, &o, "sso-session-access-token", "SecurityAudit");
}

#[test]
fn a_legacy_sso_profile_with_a_cached_token_signs_the_calls_with_the_portals_role_credentials() {
    const START_URL: &str = "https://legacy.awsapps.com/start";
    let s = Scenario::start();
    let home = Home::new();
    home.aws_file(
        "config",
        &format!(
            "[profile auditor]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n\
             sso_account_id = {DEFAULT_ACCOUNT}\nsso_role_name = ReadOnly\nregion = us-east-1\n"
        ),
    );
    cache_sso_token(&home, START_URL, START_URL, "legacy-sso-access-token");
    let o = once_with(&s, &home, &[("AWS_PROFILE", "auditor")]);
    assert_sso_signed(&s, &o, "legacy-sso-access-token", "ReadOnly");
}

#[test]
fn web_identity_as_irsa_sets_it_assumes_the_role_with_the_token_and_signs_the_calls() {
    const ROLE: &str = "arn:aws:iam::123456789012:role/aws-iam-exporter";
    let s = Scenario::start();
    let home = Home::new();
    let token = home.aws_file(
        "web-identity-token",
        "eyJhbGciOiJSUzI1NiJ9.irsa-test-token.sig",
    );
    let o = once_with(
        &s,
        &home,
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", &token.display().to_string()),
            ("AWS_ROLE_ARN", ROLE),
            ("AWS_ROLE_SESSION_NAME", "irsa-test"),
        ],
    );
    assert_success(&o);
    let assumed = requests_to(&s, "AssumeRoleWithWebIdentity");
    assert!(!assumed.is_empty(), "no AssumeRoleWithWebIdentity call");
    for r in &assumed {
        assert_eq!(
            r.access_key_id, None,
            "AssumeRoleWithWebIdentity is unsigned"
        );
        assert_eq!(
            r.params.get("WebIdentityToken").map(String::as_str),
            Some("eyJhbGciOiJSUzI1NiJ9.irsa-test-token.sig")
        );
        assert_eq!(r.params.get("RoleArn").map(String::as_str), Some(ROLE));
        assert_eq!(
            r.params.get("RoleSessionName").map(String::as_str),
            Some("irsa-test")
        );
    }
    assert_signed_by(&s, &o, "AssumeRoleWithWebIdentity");
}

/// `--once` with the container credentials endpoint `<endpoint>/v2/credentials/<id>` and the
/// authorization token `token` (a variable and its value); asserts that the endpoint was asked
/// with the token `authorization` and that the calls were signed with what it answered.
fn assert_container_credentials(id: &str, home: &Home, token: (&str, &str), authorization: &str) {
    let s = Scenario::start();
    let uri = format!("{}/v2/credentials/{id}", s.endpoint());
    let o = once_with(
        &s,
        home,
        &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri), token],
    );
    assert_success(&o);
    let asked = requests_to(&s, "EcsGetCredentials");
    assert!(!asked.is_empty(), "the container endpoint was not asked");
    for r in &asked {
        assert_eq!(
            r.headers.get("authorization").map(String::as_str),
            Some(authorization)
        );
    }
    assert_signed_by(&s, &o, "EcsGetCredentials");
}

#[test]
fn ecs_container_credentials_from_the_full_uri_with_its_authorization_token_sign_the_calls() {
    assert_container_credentials(
        "ecs-task-1",
        &Home::new(),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            "ecs-authorization-token",
        ),
        "ecs-authorization-token",
    );
}

#[test]
fn eks_pod_identity_with_its_token_file_signs_the_calls() {
    let home = Home::new();
    let token = home.aws_file("eks-pod-identity-token", "eks-pod-identity-token-value");
    assert_container_credentials(
        "eks-pod-identity",
        &home,
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            &token.display().to_string(),
        ),
        "eks-pod-identity-token-value",
    );
}

#[test]
fn instance_metadata_imdsv2_role_credentials_sign_the_calls() {
    let s = Scenario::start();
    let home = Home::new();
    let o = once_with_imds(&s, &home);
    assert_success(&o);
    let tokens = requests_to(&s, "ImdsGetToken");
    assert!(!tokens.is_empty(), "no IMDSv2 session token was asked for");
    assert!(tokens.iter().all(|r| {
        r.headers
            .contains_key("x-aws-ec2-metadata-token-ttl-seconds")
    }));
    for r in requests_to(&s, "ImdsGetRoleCredentials") {
        assert_eq!(
            r.headers
                .get("x-aws-ec2-metadata-token")
                .map(String::as_str),
            Some(IMDS_TOKEN),
            "an IMDS read without the session token (IMDSv1)"
        );
    }
    assert_signed_by(&s, &o, "ImdsGetRoleCredentials");
}
