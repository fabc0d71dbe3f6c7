//! Keys that AWS found exposed: the quarantine policies it attaches (ListPolicies Scope=AWS
//! OnlyAttached, ListEntitiesForPolicy, GetGroup), found by their name prefix so that V4 and a
//! future V5 need no release; what a refused lookup leaves; what the lookup costs.

use super::*;

const V2: &str = "AWSCompromisedKeyQuarantineV2";
const V4: &str = "AWSCompromisedKeyQuarantineV4";
/// Not a real policy (yet): proves the prefix lookup.
const V5: &str = "AWSCompromisedKeyQuarantineV5";

use PolicyEntity as E;

fn quarantined(text: &str, who: &str, policy: &str) -> Option<f64> {
    metric_value(
        text,
        "aws_iam_user_quarantined",
        &[ACCT, ("user", who), ("policy", policy)],
    )
}

fn attachments(text: &str, policy: &str, entity: &str) -> Option<f64> {
    metric_value(
        text,
        "aws_iam_quarantine_policy_attachments",
        &[ACCT, ("policy", policy), ("entity", entity)],
    )
}

#[test]
fn v4_on_a_user_and_an_imaginary_v5_on_a_group_are_found_by_their_name_prefix() {
    let s = Scenario::start();
    s.attach_policy(PolicyAttachment::aws(V4, E::user("leaked")));
    s.attach_policy(PolicyAttachment::aws(V5, E::group("contractors")));
    s.set_group("contractors", &["carol", "dan", "leaked"]);
    // None is a quarantine: another AWS policy, the name on a customer managed policy, a
    // quarantine used as a permissions boundary (V2 only so, V4 also attached as a permissions
    // policy).
    s.attach_policy(PolicyAttachment::aws("ReadOnlyAccess", E::user("auditor")));
    s.attach_policy(PolicyAttachment {
        policy_arn: format!("arn:aws:iam::{DEFAULT_ACCOUNT}:policy/{V2}"),
        ..PolicyAttachment::aws(V2, E::user("copycat"))
    });
    for (policy, who) in [(V2, "bounded"), (V4, "bounded-too")] {
        s.attach_policy(PolicyAttachment {
            usage: PolicyUsage::Boundary,
            ..PolicyAttachment::aws(policy, E::user(who))
        });
    }

    for per_user in ["--metrics.per-user=true", "--metrics.per-user=false"] {
        let m = once_ok(&s, &[per_user]);
        for (who, policy) in [("leaked", V4), ("leaked", V5), ("carol", V5), ("dan", V5)] {
            assert_eq!(
                quarantined(&m, who, policy),
                Some(1.0),
                "{who} {policy} ({per_user})\n{m}"
            );
        }
        for who in ["auditor", "copycat", "bounded", "bounded-too"] {
            assert!(
                !metric_samples(&m, "aws_iam_user_quarantined")
                    .iter()
                    .any(|x| x.labels.iter().any(|(k, v)| k == "user" && v == who)),
                "{who} is not quarantined:\n{m}"
            );
        }
        // leaked counts once, though quarantined twice.
        assert_eq!(val(&m, "aws_iam_quarantined_users", &[ACCT]), 3.0);
        assert_eq!(attachments(&m, V4, "user"), Some(1.0));
        assert_eq!(attachments(&m, V4, "group"), Some(0.0));
        assert_eq!(attachments(&m, V5, "group"), Some(1.0));
        assert_eq!(attachments(&m, V5, "role"), Some(0.0));
        assert_eq!(attachments(&m, V2, "user"), None, "no AWS V2 is attached");
        assert_eq!(control(&m, "exposed_key_quarantine"), Some(1.0));
        assert_eq!(failing_resources(&m, "exposed_key_quarantine"), Some(3.0));
    }
    // One ListEntitiesForPolicy per quarantine policy (none for ReadOnlyAccess), one GetGroup
    // per group, per refresh (two refreshes above).
    assert_eq!(s.calls("ListPolicies"), 2);
    assert_eq!(s.calls("ListEntitiesForPolicy"), 4);
    assert_eq!(s.calls("GetGroup"), 2);
    let asked = s.requests();
    let lookup = asked
        .iter()
        .find(|r| r.action == "ListPolicies")
        .expect("ListPolicies");
    for (k, v) in [
        ("Scope", "AWS"),
        ("OnlyAttached", "true"),
        ("PolicyUsageFilter", "PermissionsPolicy"),
    ] {
        assert_eq!(lookup.params.get(k).map(String::as_str), Some(v), "{k}");
    }
}

#[test]
fn nothing_quarantined_costs_one_call_and_the_control_passes() {
    let s = Scenario::start();
    s.attach_policy(PolicyAttachment::aws("ReadOnlyAccess", E::user("auditor")));
    let m = once_ok(&s, &[]);
    assert_eq!(val(&m, "aws_iam_quarantined_users", &[ACCT]), 0.0);
    assert_eq!(control(&m, "exposed_key_quarantine"), Some(0.0));
    assert_eq!(failing_resources(&m, "exposed_key_quarantine"), Some(0.0));
    assert!(
        metric_samples(&m, "aws_iam_user_quarantined").is_empty(),
        "{m}"
    );
    assert!(
        metric_samples(&m, "aws_iam_quarantine_policy_attachments").is_empty(),
        "{m}"
    );
    assert_eq!(s.calls("ListPolicies"), 1);
    assert_eq!(s.calls("ListEntitiesForPolicy"), 0);
    assert_eq!(s.calls("GetGroup"), 0);
}

#[test]
fn a_role_with_a_quarantine_policy_fails_the_control_without_quarantining_a_user() {
    let s = Scenario::start();
    s.attach_policy(PolicyAttachment::aws(V2, E::role("ci-deployer")));
    // An empty group with the policy quarantines nobody.
    s.attach_policy(PolicyAttachment::aws(V2, E::group("quarantine")));
    s.set_group("quarantine", &[]);
    let m = once_ok(&s, &[]);
    assert_eq!(val(&m, "aws_iam_quarantined_users", &[ACCT]), 0.0);
    assert_eq!(attachments(&m, V2, "role"), Some(1.0));
    assert_eq!(attachments(&m, V2, "group"), Some(1.0));
    assert_eq!(control(&m, "exposed_key_quarantine"), Some(1.0));
    assert_eq!(failing_resources(&m, "exposed_key_quarantine"), Some(1.0));

    let audit = exporter_cmd(Some(&s.endpoint()))
        .args(["audit", "--format", "json"])
        .output()
        .expect("audit");
    let text = String::from_utf8_lossy(&audit.stdout);
    assert!(text.contains("ci-deployer"), "the role is named: {text}");
}

#[test]
fn every_page_of_policies_entities_and_group_members_is_read() {
    let s = Scenario::start();
    s.with(|a| a.policies_page_size = Some(1));
    for name in ["AdministratorAccess", "ReadOnlyAccess", "SecurityAudit"] {
        s.attach_policy(PolicyAttachment::aws(name, E::role("admin")));
    }
    for e in [E::user("u1"), E::user("u2"), E::group("g")] {
        s.attach_policy(PolicyAttachment::aws(V2, e));
    }
    s.set_group("g", &["m1", "m2", "m3"]);
    let m = once_ok(&s, &[]);
    for who in ["u1", "u2", "m1", "m2", "m3"] {
        assert_eq!(quarantined(&m, who, V2), Some(1.0), "{who}\n{m}");
    }
    assert_eq!(val(&m, "aws_iam_quarantined_users", &[ACCT]), 5.0);
    assert_eq!(s.calls("ListPolicies"), 4, "one page per policy");
    assert_eq!(s.calls("ListEntitiesForPolicy"), 3, "one page per entity");
    assert_eq!(s.calls("GetGroup"), 3, "one page per member");
}

#[test]
fn a_refused_lookup_leaves_the_quarantine_unknown_and_counts_the_error() {
    for action in ["ListPolicies", "ListEntitiesForPolicy", "GetGroup"] {
        let s = Scenario::start();
        s.attach_policy(PolicyAttachment::aws(V2, E::group("g")));
        s.set_group("g", &["m1"]);
        s.deny(action);
        let m = once_ok(&s, &[]);
        assert_eq!(
            errors_total(&m, action, "AccessDenied"),
            Some(1.0),
            "{action}\n{m}"
        );
        for family in [
            "aws_iam_user_quarantined",
            "aws_iam_quarantined_users",
            "aws_iam_quarantine_policy_attachments",
        ] {
            assert!(
                metric_samples(&m, family).is_empty(),
                "{action}: {family}\n{m}"
            );
        }
        assert_eq!(control(&m, "exposed_key_quarantine"), None, "{action}");
        // The rest of the account is served.
        assert_eq!(val(&m, "aws_iam_root_access_keys_present", &[ACCT]), 0.0);
    }
}

#[test]
fn a_group_deleted_between_the_calls_quarantines_nobody_and_is_no_error() {
    let s = Scenario::start();
    s.attach_policy(PolicyAttachment::aws(V2, E::group("gone")));
    let m = once_ok(&s, &[]);
    assert_eq!(val(&m, "aws_iam_quarantined_users", &[ACCT]), 0.0);
    assert_eq!(errors_total(&m, "GetGroup", "NoSuchEntity"), None, "{m}");
}
