//! AWS's exposed-key quarantine in moto, which loads AWS's managed policies with
//! `MOTO_IAM_LOAD_MANAGED_POLICIES=true` and answers ListPolicies (`OnlyAttached`),
//! ListEntitiesForPolicy and GetGroup: a user quarantined directly, a member of a quarantined
//! group, and a user who is not. (moto has V1-V3, not V4; the scenario server covers V4 and a
//! future V5.)

use super::*;

/// moto with AWS's managed policies, or `None` when skipping was asked for.
pub(super) fn moto_with_managed_policies() -> Option<Moto> {
    Moto::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")])
}

pub(super) const V2: &str = "AWSCompromisedKeyQuarantineV2";
pub(super) const V3: &str = "AWSCompromisedKeyQuarantineV3";

/// `arn:aws:iam::aws:policy/NAME`.
pub(super) fn aws_policy(name: &str) -> String {
    format!("arn:aws:iam::aws:policy/{name}")
}

/// Creates group `group` with `members` and attaches AWS managed policy `policy` to it.
pub(super) async fn quarantine_group(
    iam: &aws_sdk_iam::Client,
    group: &str,
    members: &[&str],
    policy: &str,
) {
    iam.create_group()
        .group_name(group)
        .send()
        .await
        .expect("CreateGroup");
    for m in members {
        iam.add_user_to_group()
            .group_name(group)
            .user_name(*m)
            .send()
            .await
            .expect("AddUserToGroup");
    }
    iam.attach_group_policy()
        .group_name(group)
        .policy_arn(aws_policy(policy))
        .send()
        .await
        .expect("AttachGroupPolicy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_quarantined_directly_and_a_member_of_a_quarantined_group_are_exported_and_others_not()
 {
    let Some(moto) = moto_with_managed_policies() else {
        return;
    };
    let admin = iam_client(&moto.endpoint(), "testing", "testing").await;
    for user in ["leaked", "member", "clean"] {
        admin
            .create_user()
            .user_name(user)
            .send()
            .await
            .expect("CreateUser");
    }
    admin
        .attach_user_policy()
        .user_name("leaked")
        .policy_arn(aws_policy(V2))
        .send()
        .await
        .expect("AttachUserPolicy");
    quarantine_group(&admin, "contractors", &["member"], V3).await;
    // An AWS managed policy that is no quarantine.
    admin
        .attach_user_policy()
        .user_name("clean")
        .policy_arn(aws_policy("ReadOnlyAccess"))
        .send()
        .await
        .expect("AttachUserPolicy");

    let o = blocking(|| {
        exporter_cmd(Some(&moto.endpoint()))
            .args(["--once", "--metrics.per-user=false"])
            .output()
            .expect("run --once")
    });
    let m = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{:?}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let quarantined = |user: &str, policy: &str| {
        metric_value(
            &m,
            "aws_iam_user_quarantined",
            &[ACCT, ("user", user), ("policy", policy)],
        )
    };
    assert_eq!(quarantined("leaked", V2), Some(1.0), "{m}");
    assert_eq!(quarantined("member", V3), Some(1.0), "{m}");
    assert_eq!(
        metric_samples(&m, "aws_iam_user_quarantined").len(),
        2,
        "clean is not quarantined:\n{m}"
    );
    assert_eq!(val(&m, "aws_iam_quarantined_users", &[ACCT]), 2.0);
    assert_eq!(
        val(
            &m,
            "aws_iam_quarantine_policy_attachments",
            &[ACCT, ("policy", V3), ("entity", "group")]
        ),
        1.0
    );
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing",
            &[ACCT, ("control", "exposed_key_quarantine")]
        ),
        1.0
    );
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing_resources",
            &[ACCT, ("control", "exposed_key_quarantine")]
        ),
        2.0
    );
    assert!(aws_errors_beyond_moto_gaps(&m).is_empty(), "{m}");
}
