//! Managed policies and groups: who has which managed policy attached (ListPolicies,
//! ListEntitiesForPolicy) and who is in a group (GetGroup). The exposed-key quarantine lookup
//! asks these, with AWS's answers' shapes (IAM API Reference, the examples of
//! `API_ListPolicies`, `API_ListEntitiesForPolicy` and `API_GetGroup`).

use std::collections::BTreeSet;

use super::super::super::serve::Resp;
use super::super::clock::{days_ago, fmt_iso_z};
use super::super::state::{
    KNOWN_AWS_POLICIES, PolicyEntity, PolicyUsage, ScenarioState, aws_policy_arn,
};
use super::super::wire::{IAM_XMLNS, error_response, ok_xml, page_of, truncation_xml, xml_escape};
use super::Call;

/// A policy ARN's path and name: `arn:aws:iam::aws:policy/job-function/ViewOnlyAccess` is
/// (`/job-function/`, `ViewOnlyAccess`).
fn path_and_name(arn: &str) -> (String, &str) {
    let rest = arn.split_once(":policy/").map_or(arn, |(_, r)| r);
    match rest.rsplit_once('/') {
        Some((path, name)) => (format!("/{path}/"), name),
        None => ("/".to_string(), rest),
    }
}

/// A stable IAM-style unique id: `prefix` and 17 characters derived from `name`.
fn unique_id(prefix: &str, name: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{prefix}{h:016X}Q")
}

fn missing(action: &str, param: &str) -> Resp {
    error_response(
        IAM_XMLNS,
        400,
        "Sender",
        "ValidationError",
        &format!(
            "1 validation error detected: Value null at '{param}' failed to satisfy constraint: Member must not be null ({action})"
        ),
    )
}

/// Whether `usage` passes a `PolicyUsageFilter` (absent: every usage).
fn usage_matches(filter: Option<&str>, usage: PolicyUsage) -> bool {
    match filter {
        Some("PermissionsPolicy") => usage == PolicyUsage::Permissions,
        Some("PermissionsBoundary") => usage == PolicyUsage::Boundary,
        _ => true,
    }
}

/// iam:ListPolicies: the AWS managed policies that exist ([`KNOWN_AWS_POLICIES`] and any
/// attached one) and the attached customer managed ones, filtered by `Scope` (`All`, `AWS`,
/// `Local`), `PathPrefix`, and `OnlyAttached` (with `PolicyUsageFilter`: attached as a
/// permissions policy, or used as a permissions boundary); sorted by name and paged.
pub(super) fn list_policies(st: &mut ScenarioState, call: &Call) -> Resp {
    let a = call.account(st);
    let p = call.params;
    let scope = p.get("Scope").map(String::as_str).unwrap_or("All");
    let only_attached = p.get("OnlyAttached").is_some_and(|v| v == "true");
    let usage = p.get("PolicyUsageFilter").map(String::as_str);
    let prefix = p.get("PathPrefix").map(String::as_str).unwrap_or("/");

    let mut arns: BTreeSet<String> = KNOWN_AWS_POLICIES
        .iter()
        .map(|n| aws_policy_arn(n))
        .collect();
    arns.extend(a.policy_attachments.iter().map(|x| x.policy_arn.clone()));
    let mut policies: Vec<(String, String, String, usize, usize)> = arns
        .into_iter()
        .filter(|arn| match scope {
            "AWS" => arn.starts_with("arn:aws:iam::aws:"),
            "Local" => !arn.starts_with("arn:aws:iam::aws:"),
            _ => true,
        })
        .filter_map(|arn| {
            let count = |u: PolicyUsage| {
                a.policy_attachments
                    .iter()
                    .filter(|x| x.policy_arn == arn && x.usage == u)
                    .count()
            };
            let (attachments, boundaries) = (
                count(PolicyUsage::Permissions),
                count(PolicyUsage::Boundary),
            );
            let attached = (usage_matches(usage, PolicyUsage::Permissions) && attachments > 0)
                || (usage_matches(usage, PolicyUsage::Boundary) && boundaries > 0);
            let (path, name) = path_and_name(&arn);
            let keep = (!only_attached || attached) && path.starts_with(prefix);
            let name = name.to_string();
            keep.then_some((name, path, arn, attachments, boundaries))
        })
        .collect();
    policies.sort();

    let (page, marker) = page_of(p, a.policies_page_size, &policies);
    let created = fmt_iso_z(days_ago(900));
    let updated = fmt_iso_z(days_ago(30));
    let mut x = String::from("\n    <Policies>\n");
    for (name, path, arn, attachments, boundaries) in page {
        x.push_str(&format!(
            "      <member>\n        <PolicyName>{n}</PolicyName>\n        \
             <DefaultVersionId>v2</DefaultVersionId>\n        <PolicyId>{id}</PolicyId>\n        \
             <Path>{path}</Path>\n        <Arn>{arn}</Arn>\n        \
             <AttachmentCount>{attachments}</AttachmentCount>\n        \
             <PermissionsBoundaryUsageCount>{boundaries}</PermissionsBoundaryUsageCount>\n        \
             <IsAttachable>true</IsAttachable>\n        <CreateDate>{created}</CreateDate>\n        \
             <UpdateDate>{updated}</UpdateDate>\n      </member>\n",
            n = xml_escape(name),
            id = unique_id("ANPA", arn),
            path = xml_escape(path),
            arn = xml_escape(arn),
        ));
    }
    x.push_str("    </Policies>\n");
    x.push_str(&truncation_xml(marker));
    ok_xml(call.action, IAM_XMLNS, &x)
}

/// iam:ListEntitiesForPolicy: the groups, users and roles `PolicyArn` is attached to,
/// filtered by `EntityFilter` (`User`, `Group`, `Role`; else all) and `PolicyUsageFilter`,
/// paged over the three lists together (groups, then users, then roles, each by name).
/// 404 NoSuchEntity for a policy that does not exist.
pub(super) fn list_entities_for_policy(st: &mut ScenarioState, call: &Call) -> Resp {
    let Some(arn) = call.params.get("PolicyArn") else {
        return missing(call.action, "policyArn");
    };
    let a = call.account(st);
    let known = KNOWN_AWS_POLICIES.iter().any(|n| aws_policy_arn(n) == *arn)
        || a.policy_attachments.iter().any(|x| x.policy_arn == *arn);
    if !known {
        return error_response(
            IAM_XMLNS,
            404,
            "Sender",
            "NoSuchEntity",
            &format!("Policy {arn} does not exist or is not attachable."),
        );
    }
    let entity_filter = call.params.get("EntityFilter").map(String::as_str);
    let usage = call.params.get("PolicyUsageFilter").map(String::as_str);
    let entities: Vec<PolicyEntity> = a
        .policy_attachments
        .iter()
        .filter(|x| x.policy_arn == *arn && usage_matches(usage, x.usage))
        .map(|x| x.entity.clone())
        .filter(|e| match (entity_filter, e) {
            (Some("User"), PolicyEntity::User(_))
            | (Some("Group"), PolicyEntity::Group(_))
            | (Some("Role"), PolicyEntity::Role(_)) => true,
            (Some("User" | "Group" | "Role"), _) => false,
            _ => true,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (page, marker) = page_of(call.params, a.policies_page_size, &entities);

    let list = |tag: &str, name_tag: &str, id_tag: &str, id_prefix: &str, names: Vec<&str>| {
        let mut x = format!("\n    <{tag}>\n");
        for n in names {
            x.push_str(&format!(
                "      <member>\n        <{name_tag}>{}</{name_tag}>\n        \
                 <{id_tag}>{}</{id_tag}>\n      </member>\n",
                xml_escape(n),
                unique_id(id_prefix, n)
            ));
        }
        x.push_str(&format!("    </{tag}>"));
        x
    };
    let pick = |f: fn(&PolicyEntity) -> Option<&str>| page.iter().filter_map(f).collect();
    let mut x = list(
        "PolicyRoles",
        "RoleName",
        "RoleId",
        "AROA",
        pick(|e| match e {
            PolicyEntity::Role(n) => Some(n.as_str()),
            _ => None,
        }),
    );
    x.push_str(&list(
        "PolicyGroups",
        "GroupName",
        "GroupId",
        "AGPA",
        pick(|e| match e {
            PolicyEntity::Group(n) => Some(n.as_str()),
            _ => None,
        }),
    ));
    x.push('\n');
    x.push_str(&truncation_xml(marker));
    x.push_str(&list(
        "PolicyUsers",
        "UserName",
        "UserId",
        "AIDA",
        pick(|e| match e {
            PolicyEntity::User(n) => Some(n.as_str()),
            _ => None,
        }),
    ));
    x.push_str("\n  ");
    ok_xml(call.action, IAM_XMLNS, &x)
}

/// iam:GetGroup: the group and its members, paged; 404 NoSuchEntity for a group that does
/// not exist (e.g. deleted since ListEntitiesForPolicy named it).
pub(super) fn get_group(st: &mut ScenarioState, call: &Call) -> Resp {
    let Some(group) = call.params.get("GroupName") else {
        return missing(call.action, "groupName");
    };
    let account_id = call.account_id;
    let a = call.account(st);
    let Some(members) = a.groups.get(group) else {
        return error_response(
            IAM_XMLNS,
            404,
            "Sender",
            "NoSuchEntity",
            &format!("The group with name {group} cannot be found."),
        );
    };
    let (page, marker) = page_of(call.params, a.policies_page_size, members);
    let created = fmt_iso_z(days_ago(400));
    let g = xml_escape(group);
    let mut x = format!(
        "\n    <Group>\n      <Path>/</Path>\n      <GroupName>{g}</GroupName>\n      \
         <GroupId>{}</GroupId>\n      <Arn>arn:aws:iam::{account_id}:group/{g}</Arn>\n      \
         <CreateDate>{created}</CreateDate>\n    </Group>\n    <Users>\n",
        unique_id("AGPA", group)
    );
    for user in page {
        let u = xml_escape(user);
        x.push_str(&format!(
            "      <member>\n        <Path>/</Path>\n        <UserName>{u}</UserName>\n        \
             <UserId>{}</UserId>\n        <Arn>arn:aws:iam::{account_id}:user/{u}</Arn>\n        \
             <CreateDate>{created}</CreateDate>\n      </member>\n",
            unique_id("AIDA", user)
        ));
    }
    x.push_str("    </Users>\n");
    x.push_str(&truncation_xml(marker));
    ok_xml(call.action, IAM_XMLNS, &x)
}
