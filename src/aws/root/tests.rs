//! Where AssumeRoot goes (no network: an interceptor records the request and stops it) and
//! what the root audit asks for.

use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region};

use super::*;

/// A root audit of member 222233334444 as `Aws::connect` builds its clients for `region`
/// (and `endpoint`, as AWS_ENDPOINT_URL sets it), with static credentials; and what it sent.
async fn assume_root_in(
    region: &str,
    endpoint: Option<&str>,
) -> (Result<(), FetchError>, Vec<(String, String)>) {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ));
    if let Some(e) = endpoint {
        loader = loader.endpoint_url(e);
    }
    let conf = loader.load().await;
    // Records each request's URI and body, then stops it before it is sent.
    let sent = Arc::new(Mutex::new(Vec::new()));
    let log = sent.clone();
    let capture = BeforeTransmit {
        name: "Capture",
        check: move |r: &HttpRequest| {
            let body = String::from_utf8_lossy(r.body().bytes().unwrap_or_default()).into_owned();
            log.lock().unwrap().push((r.uri().to_owned(), body));
            Err("captured, not sent".into())
        },
    };
    let sts = aws_sdk_sts::config::Builder::from(&conf)
        .interceptor(capture)
        .build();
    let clients = Clients {
        iam: aws_sdk_iam::Client::new(&conf),
        sts: aws_sdk_sts::Client::from_conf(sts),
    };
    let result = RootAuditClient::new(clients, "222233334444")
        .assume_root()
        .await
        .map(|_| ());
    let sent = sent.lock().unwrap().clone();
    (result, sent)
}

#[tokio::test]
async fn assume_root_goes_to_the_regional_sts_endpoint_of_the_region_also_in_us_east_1() {
    for (region, want) in [
        ("us-east-1", "https://sts.us-east-1.amazonaws.com/"),
        ("eu-west-1", "https://sts.eu-west-1.amazonaws.com/"),
        ("cn-north-1", "https://sts.cn-north-1.amazonaws.com.cn/"),
        ("us-gov-west-1", "https://sts.us-gov-west-1.amazonaws.com/"),
    ] {
        let (_, sent) = assume_root_in(region, None).await;
        assert_eq!(sent.len(), 1, "{region}");
        assert_eq!(sent[0].0, want, "{region}");
    }
}

#[tokio::test]
async fn assume_root_asks_for_the_audit_task_for_at_most_900_seconds() {
    let (_, sent) = assume_root_in("us-east-1", None).await;
    let form: Vec<(String, String)> = sent[0]
        .1
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("%3A", ":").replace("%2F", "/")))
        .collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("Action"), Some("AssumeRoot"));
    assert_eq!(get("TargetPrincipal"), Some("222233334444"));
    assert_eq!(get("TaskPolicyArn.arn"), Some(AUDIT_TASK_POLICY));
    let seconds: i64 = get("DurationSeconds").unwrap().parse().unwrap();
    assert!((0..=900).contains(&seconds), "{seconds}");
}

#[tokio::test]
async fn an_endpoint_url_is_used_as_given() {
    let (_, sent) = assume_root_in("eu-west-1", Some("http://127.0.0.1:9")).await;
    assert_eq!(sent[0].0, "http://127.0.0.1:9/");
}

#[tokio::test]
async fn the_global_endpoint_is_refused_with_a_message_naming_the_region_flag() {
    for (region, endpoint) in [
        ("aws-global", None),
        ("us-east-1", Some("https://sts.amazonaws.com")),
        ("us-east-1", Some("https://STS.amazonaws.com:443/")),
    ] {
        let (result, _) = assume_root_in(region, endpoint).await;
        let e = result.unwrap_err();
        assert_eq!(e.operation, Operation::AssumeRoot);
        assert_eq!(
            e.code,
            ErrorCode::GlobalEndpoint,
            "{region} {endpoint:?}: {e}"
        );
        assert!(e.message.contains("--aws.region"), "{e}");
    }
}

#[test]
fn only_sts_amazonaws_com_is_global() {
    assert!(is_global("https://sts.amazonaws.com/"));
    assert!(is_global("https://sts.amazonaws.com"));
    assert!(!is_global("https://sts.us-east-1.amazonaws.com/"));
    assert!(!is_global("https://sts-fips.us-east-1.amazonaws.com/"));
    assert!(!is_global("http://127.0.0.1:9/"));
    assert!(!is_global(
        "https://vpce-0123.sts.us-east-1.vpce.amazonaws.com/"
    ));
}

#[test]
fn the_deadline_counts_a_failed_role_then_every_call_of_the_audit() {
    assert_eq!(CALLS_PER_ROOT_AUDIT, 10);
    assert_eq!(ROOT_AUDIT_CALLS[0], Operation::AssumeRoot);
}

#[test]
fn a_denied_call_of_the_root_session_is_advised_as_a_members_deny_getaccountsummary_included() {
    let denied = |op| {
        root_audit_advice(&FetchError::new(
            op,
            ErrorCode::Aws("AccessDenied".into()),
            "denied",
        ))
    };
    // Written out, GetAccountSummary first: it was advised as a retry before.
    for op in [
        Operation::GetAccountSummary,
        Operation::GetUser,
        Operation::GetLoginProfile,
        Operation::ListAccessKeys,
        Operation::GetAccessKeyLastUsed,
        Operation::ListMfaDevices,
        Operation::ListSigningCertificates,
    ] {
        assert!(
            denied(op).contains("service control policy of the member"),
            "{op:?}"
        );
    }
    assert!(denied(Operation::AssumeRoot).contains("centralized root access"));
}
