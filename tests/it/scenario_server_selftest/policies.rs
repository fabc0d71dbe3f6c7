//! The scenario server's managed policies and groups (ListPolicies, ListEntitiesForPolicy,
//! GetGroup), parsed by the real aws-sdk-iam: filters, counts, paging and errors.

use super::*;

use aws_sdk_iam::types::{EntityType, PolicyScopeType, PolicyUsageType};

const V2: &str = "AWSCompromisedKeyQuarantineV2";

use PolicyEntity as E;

/// The names of the policies ListPolicies lists, over every page.
async fn policy_names(
    req: aws_sdk_iam::operation::list_policies::builders::ListPoliciesFluentBuilder,
) -> Vec<String> {
    every_item!(req)
        .iter()
        .map(|p| p.policy_name().unwrap_or_default().to_string())
        .collect()
}

/// The users of a ListEntitiesForPolicy page.
fn user_names(
    out: &aws_sdk_iam::operation::list_entities_for_policy::ListEntitiesForPolicyOutput,
) -> Vec<&str> {
    out.policy_users()
        .iter()
        .filter_map(|u| u.user_name())
        .collect()
}

/// One ListEntitiesForPolicy call for `arn`, with its optional usage and entity filters.
async fn entities_for_policy(
    iam: &aws_sdk_iam::Client,
    arn: &str,
    usage: Option<PolicyUsageType>,
    entity: Option<EntityType>,
) -> aws_sdk_iam::operation::list_entities_for_policy::ListEntitiesForPolicyOutput {
    iam.list_entities_for_policy()
        .policy_arn(arn)
        .set_policy_usage_filter(usage)
        .set_entity_filter(entity)
        .send()
        .await
        .unwrap()
}

/// The names of the AWS managed policies attached with `usage`, over every page.
async fn attached_aws_policies(iam: &aws_sdk_iam::Client, usage: PolicyUsageType) -> Vec<String> {
    policy_names(
        iam.list_policies()
            .scope(PolicyScopeType::Aws)
            .only_attached(true)
            .policy_usage_filter(usage),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_policies_filters_by_scope_attachment_and_usage_and_pages() {
    let s = Scenario::start();
    s.attach_policy(PolicyAttachment::aws(V2, E::user("leaked")));
    s.attach_policy(PolicyAttachment::aws(V2, E::group("devs")));
    s.attach_policy(PolicyAttachment::aws(
        "AWSCompromisedKeyQuarantineV4",
        E::group("devs"),
    ));
    s.attach_policy(PolicyAttachment::aws(
        "AWSCompromisedKeyQuarantineV5",
        E::role("ci"),
    ));
    // Used only as a permissions boundary.
    s.attach_policy(PolicyAttachment {
        usage: PolicyUsage::Boundary,
        ..PolicyAttachment::aws("ReadOnlyAccess", E::user("bounded"))
    });
    // A customer managed policy that borrows the name.
    s.attach_policy(PolicyAttachment {
        policy_arn: format!("arn:aws:iam::{ACCOUNT}:policy/{V2}"),
        ..PolicyAttachment::aws(V2, E::user("copycat"))
    });
    let (iam, _) = clients(&s.endpoint(), 1).await;
    let aws_attached = || {
        iam.list_policies()
            .scope(PolicyScopeType::Aws)
            .only_attached(true)
    };

    let out = aws_attached()
        .policy_usage_filter(PolicyUsageType::PermissionsPolicy)
        .send()
        .await
        .unwrap();
    assert!(!out.is_truncated());
    let got: Vec<(&str, &str, Option<i32>)> = out
        .policies()
        .iter()
        .map(|p| {
            (
                p.policy_name().unwrap(),
                p.arn().unwrap(),
                p.attachment_count(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                V2,
                "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2",
                Some(2)
            ),
            (
                "AWSCompromisedKeyQuarantineV4",
                "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV4",
                Some(1)
            ),
            (
                "AWSCompromisedKeyQuarantineV5",
                "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV5",
                Some(1)
            ),
        ]
    );
    assert_eq!(out.policies()[0].path(), Some("/"));
    assert!(out.policies()[0].policy_id().unwrap().starts_with("ANPA"));

    // Without a usage filter, a policy used only as a boundary is attached too.
    let names = policy_names(aws_attached()).await;
    assert!(names.contains(&"ReadOnlyAccess".to_string()), "{names:?}");
    let names = attached_aws_policies(&iam, PolicyUsageType::PermissionsBoundary).await;
    assert_eq!(names, vec!["ReadOnlyAccess"]);

    let local = policy_names(iam.list_policies().scope(PolicyScopeType::Local)).await;
    assert_eq!(local, vec![V2]);
    // Every AWS managed policy that exists, attached or not, with its path.
    let all = iam
        .list_policies()
        .scope(PolicyScopeType::Aws)
        .send()
        .await
        .unwrap();
    let view_only = all
        .policies()
        .iter()
        .find(|p| p.policy_name() == Some("ViewOnlyAccess"))
        .expect("an unattached AWS managed policy");
    assert_eq!(view_only.path(), Some("/job-function/"));
    assert_eq!(view_only.attachment_count(), Some(0));
    assert!(
        all.policies()
            .iter()
            .any(|p| p.policy_name() == Some("AWSCompromisedKeyQuarantine"))
    );

    // One per page: the paginator follows the markers, a call per page.
    s.with(|a| a.policies_page_size = Some(1));
    let before = s.calls("ListPolicies");
    let paged = attached_aws_policies(&iam, PolicyUsageType::PermissionsPolicy).await;
    assert_eq!(paged.len(), 3, "{paged:?}");
    assert_eq!(s.calls("ListPolicies") - before, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_entities_for_policy_names_groups_users_and_roles_over_pages() {
    let s = Scenario::start();
    let arn = aws_policy_arn(V2);
    for e in [
        E::user("bob"),
        E::user("alice"),
        E::group("devs"),
        E::role("ci"),
    ] {
        s.attach_policy(PolicyAttachment::aws(V2, e));
    }
    s.attach_policy(PolicyAttachment {
        usage: PolicyUsage::Boundary,
        ..PolicyAttachment::aws(V2, E::user("bounded"))
    });
    let (iam, _) = clients(&s.endpoint(), 1).await;

    let out = entities_for_policy(&iam, &arn, Some(PolicyUsageType::PermissionsPolicy), None).await;
    assert!(!out.is_truncated());
    let users = user_names(&out);
    assert_eq!(users, vec!["alice", "bob"]);
    assert_eq!(out.policy_groups()[0].group_name(), Some("devs"));
    assert!(
        out.policy_groups()[0]
            .group_id()
            .unwrap()
            .starts_with("AGPA")
    );
    assert_eq!(out.policy_roles()[0].role_name(), Some("ci"));

    let any_usage = entities_for_policy(&iam, &arn, None, None).await;
    assert_eq!(any_usage.policy_users().len(), 3, "the boundary user too");
    let roles_only = entities_for_policy(&iam, &arn, None, Some(EntityType::Role)).await;
    assert!(roles_only.policy_users().is_empty() && roles_only.policy_groups().is_empty());
    assert_eq!(roles_only.policy_roles().len(), 1);

    // Two per page over the four entities: two pages, every entity once.
    s.with(|a| a.policies_page_size = Some(2));
    let pages: Vec<_> = iam
        .list_entities_for_policy()
        .policy_arn(&arn)
        .policy_usage_filter(PolicyUsageType::PermissionsPolicy)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    assert!(pages[0].is_truncated() && !pages[1].is_truncated());
    let count: usize = pages
        .iter()
        .map(|p| p.policy_users().len() + p.policy_groups().len() + p.policy_roles().len())
        .sum();
    assert_eq!(count, 4);

    s.detach_policy(&arn, &E::user("bob"));
    let after = entities_for_policy(&iam, &arn, None, Some(EntityType::User)).await;
    let users = user_names(&after);
    assert_eq!(users, vec!["alice", "bounded"]);

    // A known AWS policy attached nowhere: empty lists. An unknown one: NoSuchEntity.
    let unattached = entities_for_policy(
        &iam,
        &aws_policy_arn("AWSCompromisedKeyQuarantineV3"),
        None,
        None,
    )
    .await;
    assert!(unattached.policy_users().is_empty() && unattached.policy_groups().is_empty());
    let err = iam
        .list_entities_for_policy()
        .policy_arn(aws_policy_arn("NoSuchPolicy"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchEntity");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_group_lists_its_members_over_pages_and_a_missing_group_is_no_such_entity() {
    let s = Scenario::start();
    s.set_group("devs", &["carol", "dan", "erin"]);
    s.with(|a| a.policies_page_size = Some(2));
    let (iam, _) = clients(&s.endpoint(), 1).await;

    let first = iam.get_group().group_name("devs").send().await.unwrap();
    let g = first.group().expect("group");
    assert_eq!(g.group_name(), "devs");
    assert_eq!(g.arn(), "arn:aws:iam::123456789012:group/devs");
    assert!(first.is_truncated());
    assert_eq!(
        first.users()[0].arn(),
        "arn:aws:iam::123456789012:user/carol"
    );

    let members: Vec<String> = every_item!(iam.get_group().group_name("devs"))
        .iter()
        .map(|u| u.user_name().to_string())
        .collect();
    assert_eq!(members, vec!["carol", "dan", "erin"]);

    let err = iam.get_group().group_name("gone").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchEntity");
}

/// moto with its AWS managed policies loaded answers the quarantine lookup; what it gets
/// wrong is pinned here, so a moto upgrade that changes it shows (REFERENCE.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_with_managed_policies_answers_the_quarantine_lookup() {
    let Some(moto) = common::Moto::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")])
    else {
        return;
    };
    // NB: the first call makes moto load AWS's managed policies (over a thousand): seconds
    // on a busy machine, beyond the 5 s attempt timeout of `clients`.
    let iam = iam_with(&moto.endpoint(), 1, Duration::from_secs(60)).await;
    for u in ["leaked", "member", "clean"] {
        iam.create_user().user_name(u).send().await.unwrap();
    }
    iam.create_group().group_name("devs").send().await.unwrap();
    iam.add_user_to_group()
        .group_name("devs")
        .user_name("member")
        .send()
        .await
        .unwrap();
    let arn = aws_policy_arn(V2);
    iam.attach_user_policy()
        .user_name("leaked")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    iam.attach_group_policy()
        .group_name("devs")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    iam.attach_user_policy()
        .user_name("clean")
        .policy_arn(aws_policy_arn("ReadOnlyAccess"))
        .send()
        .await
        .unwrap();

    let names = attached_aws_policies(&iam, PolicyUsageType::PermissionsPolicy).await;
    assert_eq!(names, vec![V2, "ReadOnlyAccess"]);
    let out = entities_for_policy(&iam, &arn, None, None).await;
    let users = user_names(&out);
    assert_eq!(users, vec!["leaked"]);
    assert_eq!(out.policy_groups()[0].group_name(), Some("devs"));
    let members = iam.get_group().group_name("devs").send().await.unwrap();
    assert_eq!(members.users()[0].user_name(), "member");

    // Its gaps: V4 does not exist (the scenario server covers it), and PolicyUsageFilter is
    // ignored by both calls (a permissions policy is listed as a boundary).
    let err = iam
        .attach_user_policy()
        .user_name("clean")
        .policy_arn(aws_policy_arn("AWSCompromisedKeyQuarantineV4"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchEntity");
    let boundaries = attached_aws_policies(&iam, PolicyUsageType::PermissionsBoundary).await;
    assert_eq!(boundaries, vec![V2, "ReadOnlyAccess"]);
    let as_boundary =
        entities_for_policy(&iam, &arn, Some(PolicyUsageType::PermissionsBoundary), None).await;
    assert_eq!(as_boundary.policy_users().len(), 1);
}
