//! PURE: keys that AWS found exposed. When AWS finds a user's access key in a public place (a
//! commit, a paste), it attaches one of its managed quarantine policies to the user
//! (`AWSCompromisedKeyQuarantine`, `...V2`, `...V3`, `...V4`, and new versions from time to
//! time), opens a Support case and sends an e-mail; it does not disable the key.
//!
//! The source looks them up by name prefix ([`is_quarantine_policy`]), so a future version is
//! found without a release, and hands over who has each one ([`Quarantine`]); this module says
//! who is quarantined and judges the control `exposed_key_quarantine`.
//!
//! Not detected: the inline user policy `AWSExposedCredentialPolicy_DO_NOT_REMOVE` of the
//! incidents before 2020. Inline user policies can be listed only per user, and a refresh makes
//! a constant number of calls whatever the number of users (docs/runbooks.md).

use std::collections::{BTreeMap, BTreeSet};

use super::Thresholds;
use super::controls::Input;
use super::finding::{Credential, Finding};

/// What the name of every quarantine policy starts with.
pub const QUARANTINE_PREFIX: &str = "AWSCompromisedKeyQuarantine";

/// Whether the AWS managed policy `name` is a quarantine policy (any version).
pub fn is_quarantine_policy(name: &str) -> bool {
    name.starts_with(QUARANTINE_PREFIX)
}

/// The quarantine policies attached in an account (as permissions policies), each with what it
/// is attached to. An empty list: none is attached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quarantine {
    pub policies: Vec<QuarantinePolicy>,
}

/// One quarantine policy and its entities (ListEntitiesForPolicy), with each group's members
/// (GetGroup).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuarantinePolicy {
    /// The policy's name, `AWSCompromisedKeyQuarantineV2`: the `policy` label.
    pub name: String,
    /// Users it is attached to directly.
    pub users: Vec<String>,
    /// Groups it is attached to: every member is quarantined.
    pub groups: Vec<QuarantinedGroup>,
    /// Roles it is attached to. A role has no access key of its own: AWS quarantines users, so
    /// a role with the policy was set up by someone in the organization (the control still
    /// fails: see `exposed_key_quarantine`).
    pub roles: Vec<String>,
}

/// A group with a quarantine policy, and its members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuarantinedGroup {
    pub name: String,
    pub members: Vec<String>,
}

impl QuarantinePolicy {
    /// Distinct users, groups and roles it is attached to, for
    /// `aws_iam_quarantine_policy_attachments`.
    pub fn attachments(&self) -> [(&'static str, u64); 3] {
        let distinct = |names: Vec<&str>| names.into_iter().collect::<BTreeSet<_>>().len() as u64;
        [
            (
                "user",
                distinct(self.users.iter().map(String::as_str).collect()),
            ),
            (
                "group",
                distinct(self.groups.iter().map(|g| g.name.as_str()).collect()),
            ),
            (
                "role",
                distinct(self.roles.iter().map(String::as_str).collect()),
            ),
        ]
    }
}

impl Quarantine {
    /// Each quarantined user with the policies that quarantine it, directly or through a
    /// group: sorted, each user and each of its policies once.
    pub fn users(&self) -> BTreeMap<&str, BTreeSet<&str>> {
        let mut users: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for p in &self.policies {
            let members = p.groups.iter().flat_map(|g| &g.members);
            for user in p.users.iter().chain(members) {
                users.entry(user).or_default().insert(&p.name);
            }
        }
        users
    }

    /// Each role with a quarantine policy, with its policies.
    pub fn roles(&self) -> BTreeMap<&str, BTreeSet<&str>> {
        let mut roles: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for p in &self.policies {
            for role in &p.roles {
                roles.entry(role).or_default().insert(&p.name);
            }
        }
        roles
    }
}

/// `exposed_key_quarantine`: fails while a quarantine policy is attached to a user (directly or
/// through a group) or to a role. Failing resources: the quarantined users, each once however
/// many policies or groups quarantine it, and the roles. A group without members quarantines
/// nobody and does not fail it. Unknown when the lookup failed.
pub(super) fn exposed_key_quarantine<'a>(
    i: &Input<'a, '_>,
    _: &Thresholds,
    _: i64,
    sink: &mut dyn FnMut(Finding<'a>),
) -> Option<()> {
    let q = i.data.facts.quarantine.as_ref()?;
    let entities = [
        (q.users(), Credential::QuarantinePolicy),
        (q.roles(), Credential::RoleQuarantinePolicy),
    ];
    for (who, credential) in entities {
        for (name, policies) in who {
            for (n, policy) in policies.into_iter().enumerate() {
                sink(Finding {
                    credential_id: Some(policy),
                    continues: n > 0,
                    ..Finding::new(name, credential)
                });
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::posture::{AccountData, ControlId, Facts, derive, findings};

    fn policy(
        name: &str,
        users: &[&str],
        groups: &[(&str, &[&str])],
        roles: &[&str],
    ) -> QuarantinePolicy {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        QuarantinePolicy {
            name: name.into(),
            users: strings(users),
            groups: groups
                .iter()
                .map(|(g, members)| QuarantinedGroup {
                    name: g.to_string(),
                    members: strings(members),
                })
                .collect(),
            roles: strings(roles),
        }
    }

    fn data(quarantine: Option<Quarantine>) -> AccountData {
        AccountData {
            facts: Facts {
                quarantine,
                ..Facts::default()
            },
            ..AccountData::default()
        }
    }

    fn verdict(d: &AccountData) -> Option<(bool, u64)> {
        derive(d, &Thresholds::default(), 0)
            .verdicts
            .iter()
            .find(|v| v.control == ControlId::ExposedKeyQuarantine)
            .map(|v| (v.failing, v.failing_resources))
    }

    #[test]
    fn the_prefix_matches_every_version_and_only_quarantine_policies() {
        for name in [
            "AWSCompromisedKeyQuarantine",
            "AWSCompromisedKeyQuarantineV2",
            "AWSCompromisedKeyQuarantineV4",
            "AWSCompromisedKeyQuarantineV5",
        ] {
            assert!(is_quarantine_policy(name), "{name}");
        }
        for name in [
            "ReadOnlyAccess",
            "AWSExposedCredentialPolicy_DO_NOT_REMOVE",
            "awscompromisedkeyquarantinev2",
        ] {
            assert!(!is_quarantine_policy(name), "{name}");
        }
    }

    #[test]
    fn a_user_quarantined_twice_and_through_a_group_counts_once() {
        let q = Quarantine {
            policies: vec![
                policy("AWSCompromisedKeyQuarantineV4", &["leaked"], &[], &[]),
                policy(
                    "AWSCompromisedKeyQuarantineV5",
                    &[],
                    &[("contractors", &["carol", "leaked"]), ("empty", &[])],
                    &[],
                ),
            ],
        };
        let users = q.users();
        assert_eq!(
            users.keys().copied().collect::<Vec<_>>(),
            ["carol", "leaked"]
        );
        assert_eq!(users["leaked"].len(), 2);
        assert_eq!(verdict(&data(Some(q.clone()))), Some((true, 2)));
        assert_eq!(
            q.policies[1].attachments(),
            [("user", 0), ("group", 2), ("role", 0)]
        );
        let d = data(Some(q));
        let lines: Vec<String> = findings(
            &d,
            &Thresholds::default(),
            0,
            ControlId::ExposedKeyQuarantine,
        )
        .unwrap()
        .iter()
        .map(|f| f.describe(0))
        .collect();
        assert_eq!(
            lines,
            [
                "carol (quarantine_policy AWSCompromisedKeyQuarantineV5)",
                "leaked (quarantine_policy AWSCompromisedKeyQuarantineV4)",
                "leaked (quarantine_policy AWSCompromisedKeyQuarantineV5)",
            ]
        );
    }

    #[test]
    fn a_role_fails_the_control_and_an_empty_group_does_not() {
        let role = Quarantine {
            policies: vec![policy("AWSCompromisedKeyQuarantineV2", &[], &[], &["ci"])],
        };
        assert!(role.users().is_empty());
        assert_eq!(verdict(&data(Some(role))), Some((true, 1)));
        let empty = Quarantine {
            policies: vec![policy(
                "AWSCompromisedKeyQuarantineV2",
                &[],
                &[("quarantine", &[])],
                &[],
            )],
        };
        assert_eq!(verdict(&data(Some(empty))), Some((false, 0)));
    }

    #[test]
    fn nothing_attached_passes_and_an_unknown_lookup_is_no_verdict() {
        assert_eq!(
            verdict(&data(Some(Quarantine::default()))),
            Some((false, 0))
        );
        assert_eq!(verdict(&data(None)), None);
    }
}
