//! The exposed-key quarantine lookup: which of AWS's quarantine policies are attached in the
//! account, and to whom. ListPolicies (AWS managed, attached as permissions policies: one call
//! up to 1,000 of them) names them by prefix, so a new version is found without a release; only
//! for each one found, ListEntitiesForPolicy, and GetGroup for each group it is attached to.
//! Nothing is quarantined: one call. No call per user.

use aws_sdk_iam::types::{PolicyScopeType, PolicyUsageType};

use super::super::pages::{Page, iam_next, sdk_pages};
use super::AccountClient;
use crate::fetch::{FetchError, Operation};
use crate::posture::quarantine::{
    Quarantine, QuarantinePolicy, QuarantinedGroup, is_quarantine_policy,
};

/// One entity of ListEntitiesForPolicy.
enum Entity {
    User(String),
    Group(String),
    Role(String),
}

impl AccountClient {
    /// Every quarantine policy attached in the account, with its users, groups (and their
    /// members) and roles. Any refused or failed call makes the whole answer unknown: a partial
    /// list would read as "these are all".
    pub(in crate::aws) async fn quarantine(&self) -> Result<Quarantine, FetchError> {
        let mut found = sdk_pages(
            Operation::ListPolicies,
            |marker| {
                send_in!(
                    self,
                    self.clients
                        .iam
                        .list_policies()
                        .scope(PolicyScopeType::Aws)
                        .only_attached(true)
                        // AWS attaches them as permissions policies; as a permissions
                        // boundary one would quarantine nobody.
                        .policy_usage_filter(PolicyUsageType::PermissionsPolicy)
                        .max_items(1000)
                        .set_marker(marker)
                )
            },
            |out| Page {
                items: out
                    .policies()
                    .iter()
                    .filter_map(|p| Some((p.policy_name()?, p.arn()?)))
                    .filter(|(name, _)| is_quarantine_policy(name))
                    .map(|(name, arn)| (name.to_owned(), arn.to_owned()))
                    .collect(),
                next: iam_next(out.is_truncated(), out.marker()),
            },
        )
        .await?;
        found.sort();
        found.dedup();
        let mut policies = Vec::with_capacity(found.len());
        for (name, arn) in found {
            let mut policy = QuarantinePolicy {
                name,
                ..QuarantinePolicy::default()
            };
            for entity in self.policy_entities(&arn).await? {
                match entity {
                    Entity::User(u) => policy.users.push(u),
                    Entity::Role(r) => policy.roles.push(r),
                    Entity::Group(g) => {
                        let members = self.group_members(&g).await?;
                        policy.groups.push(QuarantinedGroup { name: g, members });
                    }
                }
            }
            policies.push(policy);
        }
        Ok(Quarantine { policies })
    }

    /// The users, groups and roles `policy_arn` is attached to as a permissions policy.
    async fn policy_entities(&self, policy_arn: &str) -> Result<Vec<Entity>, FetchError> {
        sdk_pages(
            Operation::ListEntitiesForPolicy,
            |marker| {
                send_in!(
                    self,
                    self.clients
                        .iam
                        .list_entities_for_policy()
                        .policy_arn(policy_arn)
                        .policy_usage_filter(PolicyUsageType::PermissionsPolicy)
                        .max_items(1000)
                        .set_marker(marker)
                )
            },
            |out| {
                let users = out.policy_users().iter().filter_map(|u| u.user_name());
                let groups = out.policy_groups().iter().filter_map(|g| g.group_name());
                let roles = out.policy_roles().iter().filter_map(|r| r.role_name());
                Page {
                    items: users
                        .map(|u| Entity::User(u.to_owned()))
                        .chain(groups.map(|g| Entity::Group(g.to_owned())))
                        .chain(roles.map(|r| Entity::Role(r.to_owned())))
                        .collect(),
                    next: iam_next(out.is_truncated(), out.marker()),
                }
            },
        )
        .await
    }

    /// The members of `group`. A group deleted since ListEntitiesForPolicy named it
    /// (`NoSuchEntity`) has none: it quarantines nobody any more.
    async fn group_members(&self, group: &str) -> Result<Vec<String>, FetchError> {
        let members = sdk_pages(
            Operation::GetGroup,
            |marker| {
                send_in!(
                    self,
                    self.clients
                        .iam
                        .get_group()
                        .group_name(group)
                        .max_items(1000)
                        .set_marker(marker)
                )
            },
            |out| Page {
                items: out
                    .users()
                    .iter()
                    .map(|u| u.user_name().to_owned())
                    .collect(),
                next: iam_next(out.is_truncated(), out.marker()),
            },
        )
        .await;
        match members {
            Err(e) if e.code.is_aws("NoSuchEntity") => Ok(Vec::new()),
            other => other,
        }
    }
}
