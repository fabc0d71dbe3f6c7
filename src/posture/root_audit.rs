//! PURE: a member account's root, read through sts:AssumeRoot -> [`AccountData`].
//!
//! A root session scoped by the task policy `IAMAuditRootUserCredentials` may call only
//! GetAccountSummary and, about root itself, GetUser, GetLoginProfile, ListAccessKeys,
//! GetAccessKeyLastUsed, ListMFADevices and ListSigningCertificates. [`RootAudit`] holds their
//! answers (the AWS edge, `aws/root.rs`, fills it); [`account_data`] turns them into the same
//! input as a credential report's: a report of the root row alone, marked
//! [`CredentialReport::root_only`] so that every user count and user control is absent (the
//! users are unknown, not zero), and the facts the root controls read (the summary, and whether
//! a virtual MFA device is root's). From there the pipeline is the credential report's: the
//! same families, verdicts and `audit` sections.
//!
//! Each part is `None` when its call failed: the facts it gives are then unknown, never
//! guessed.

use super::{AccountData, Facts, Summary};
use crate::report::{AccessKey, Certificate, CredentialReport, Date};

/// What the root-task calls of one audit answered. `None`: the call failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootAudit {
    /// The member account audited (the AssumeRoot `TargetPrincipal`).
    pub account_id: String,
    /// GetAccountSummary.
    pub summary: Option<Summary>,
    /// GetUser: the root's ARN (`arn:aws:iam::<account>:root`), which says whose root the session
    /// reads.
    pub arn: Option<String>,
    /// GetUser `PasswordLastUsed`: `Some(None)` when root never signed in with a password (or not
    /// since tracking began), `None` when GetUser failed.
    pub password_last_used: Option<Option<i64>>,
    /// GetLoginProfile: whether root has a password (`NoSuchEntity`: none).
    pub password: Option<bool>,
    /// The password's creation (GetLoginProfile `CreateDate`), when known.
    pub password_created: Option<i64>,
    /// ListAccessKeys, with GetAccessKeyLastUsed for each key.
    pub access_keys: Option<Vec<RootKey>>,
    /// ListMFADevices: each device's type, from its serial ([`MfaType::of_serial`]).
    pub mfa_devices: Option<Vec<MfaType>>,
    /// ListSigningCertificates.
    pub signing_certificates: Option<Vec<RootCertificate>>,
}

/// One root access key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RootKey {
    /// `CreateDate`.
    pub created: Option<i64>,
    /// `Status` Active; `None` when AWS sent another or none.
    pub active: Option<bool>,
    /// GetAccessKeyLastUsed `LastUsedDate`: `Some(None)` never used, `None` the call failed.
    pub last_used: Option<Option<i64>>,
}

/// One root signing certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RootCertificate {
    /// `UploadDate`.
    pub uploaded: Option<i64>,
    pub active: Option<bool>,
}

/// The type of an MFA device, by its serial number (ListMFADevices): a virtual device's serial
/// is its ARN `arn:...:mfa/<name>`, a FIDO security key's an ARN of the `u2f/` resource
/// (`arn:...:u2f/...`), and a hardware TOTP token's its printed serial, not an ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaType {
    Virtual,
    FidoSecurityKey,
    HardwareTotp,
}

impl MfaType {
    pub fn of_serial(serial: &str) -> MfaType {
        let resource = crate::arn::Arn::parse(serial).and_then(|arn| arn.resource);
        match resource {
            Some(r) if r.starts_with("u2f/") => MfaType::FidoSecurityKey,
            Some(r) if r.starts_with("mfa/") => MfaType::Virtual,
            _ => MfaType::HardwareTotp,
        }
    }
}

/// The audit as the pipeline's input: the root row the credential report would have had (keys
/// and certificates in slots 1 and 2 in creation order, as the report numbers them), and the
/// facts the root controls read.
pub fn account_data(audit: &RootAudit) -> AccountData {
    let arn = audit
        .arn
        .clone()
        .unwrap_or_else(|| format!("arn:aws:iam::{}:root", audit.account_id));
    let report = CredentialReport::root_only(&arn, |row| {
        row.password_enabled = audit.password;
        row.password_last_changed = match (audit.password, audit.password_created) {
            (_, Some(t)) => Some(Date::At(t)),
            (Some(false), None) => Some(Date::NotApplicable),
            _ => None,
        };
        row.password_last_used =
            audit
                .password_last_used
                .map(|used| match (used, audit.password) {
                    (Some(t), _) => Date::At(t),
                    // AWS's report writes N/A for a user without a password, no_information for a
                    // password never used.
                    (None, Some(false)) => Date::NotApplicable,
                    (None, _) => Date::NoInformation,
                });
        row.mfa_active = audit.mfa_devices.as_ref().map(|d| !d.is_empty());
        if let Some(keys) = &audit.access_keys {
            let mut keys = keys.clone();
            keys.sort_by_key(|k| k.created.unwrap_or(i64::MAX));
            row.access_keys = [0, 1].map(|slot| match keys.get(slot) {
                Some(k) => AccessKey {
                    active: k.active,
                    last_rotated: k.created.map(Date::At),
                    last_used: k.last_used.map(|u| u.map_or(Date::NotApplicable, Date::At)),
                },
                None => AccessKey {
                    active: Some(false),
                    last_rotated: Some(Date::NotApplicable),
                    last_used: Some(Date::NotApplicable),
                },
            });
        }
        if let Some(certs) = &audit.signing_certificates {
            let mut certs = certs.clone();
            certs.sort_by_key(|c| c.uploaded.unwrap_or(i64::MAX));
            row.certificates = [0, 1].map(|slot| match certs.get(slot) {
                Some(c) => Certificate {
                    active: c.active,
                    last_rotated: c.uploaded.map(Date::At),
                },
                None => Certificate {
                    active: Some(false),
                    last_rotated: Some(Date::NotApplicable),
                },
            });
        }
    });
    let devices = audit.mfa_devices.as_ref();
    AccountData {
        report,
        generated: None,
        facts: Facts {
            summary: audit.summary.clone(),
            root_virtual_mfa: devices.map(|d| d.contains(&MfaType::Virtual)),
            ..Facts::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::posture::{ControlId, Thresholds, derive, findings};

    /// 2024-06-01T00:00:00Z
    const NOW: i64 = 1_717_200_000;
    const DAY: i64 = 86_400;
    const MEMBER: &str = "222233334444";

    fn summary(keys: bool, mfa: bool, password: bool, certs: bool) -> Summary {
        let mut s = Summary(vec![
            ("AccountAccessKeysPresent".into(), i64::from(keys)),
            ("AccountMFAEnabled".into(), i64::from(mfa)),
            ("AccountPasswordPresent".into(), i64::from(password)),
            ("AccountSigningCertificatesPresent".into(), i64::from(certs)),
            ("Users".into(), 3),
        ]);
        s.0.sort();
        s
    }

    /// A root audit where every call answered: no credential at all.
    fn credential_less() -> RootAudit {
        RootAudit {
            account_id: MEMBER.into(),
            summary: Some(summary(false, false, false, false)),
            arn: Some(format!("arn:aws:iam::{MEMBER}:root")),
            password_last_used: Some(None),
            password: Some(false),
            password_created: None,
            access_keys: Some(Vec::new()),
            mfa_devices: Some(Vec::new()),
            signing_certificates: Some(Vec::new()),
        }
    }

    /// An active key created 200 days ago and used `used` days ago, no MFA, no password.
    fn with_key(used: Option<i64>) -> RootAudit {
        RootAudit {
            summary: Some(summary(true, false, false, false)),
            access_keys: Some(vec![RootKey {
                created: Some(NOW - 200 * DAY),
                active: Some(true),
                last_used: Some(used.map(|d| NOW - d * DAY)),
            }]),
            ..credential_less()
        }
    }

    fn verdict(audit: &RootAudit, c: ControlId) -> Option<(bool, u64)> {
        derive(&account_data(audit), &Thresholds::default(), NOW)
            .verdicts
            .iter()
            .find(|v| v.control == c)
            .map(|v| (v.failing, v.failing_resources))
    }

    /// In the control table's order.
    const ROOT_CONTROLS: [ControlId; 5] = [
        ControlId::RootAccessKey,
        ControlId::RootMfa,
        ControlId::RootHardwareMfa,
        ControlId::RootRecentUse,
        ControlId::RootSigningCertificate,
    ];

    #[test]
    fn a_root_audit_evaluates_the_root_controls_and_no_other() {
        // Every control of the table, present and future: a control that does not read root
        // must be absent for a root audit, never pass on the empty user list.
        for audit in [credential_less(), with_key(Some(3))] {
            let posture = derive(&account_data(&audit), &Thresholds::default(), NOW);
            let evaluated: Vec<ControlId> = posture.verdicts.iter().map(|v| v.control).collect();
            assert_eq!(evaluated, ROOT_CONTROLS, "{audit:?}");
        }
    }

    #[test]
    fn the_user_counts_of_a_root_audit_are_unknown_not_zero() {
        let c = derive(&account_data(&with_key(None)), &Thresholds::default(), NOW).counts;
        assert_eq!(c.users, None);
        assert_eq!(c.console_users, None);
        assert_eq!(c.console_users_without_mfa, None);
        assert_eq!(c.active_access_keys, None);
        assert_eq!(c.with_multiple_active_keys, None);
    }

    #[test]
    fn a_credential_less_root_passes_the_mfa_controls_and_has_no_credentials() {
        let audit = credential_less();
        let p = derive(&account_data(&audit), &Thresholds::default(), NOW);
        assert_eq!(p.root.credentials_present, Some(false));
        assert_eq!(p.root.access_keys_present, Some(false));
        assert_eq!(p.root.access_key_active, Some([false, false]));
        assert_eq!(p.root.password_present, Some(false));
        assert!(p.root.last_used.is_empty());
        for c in ROOT_CONTROLS {
            assert_eq!(verdict(&audit, c), Some((false, 0)), "{c:?}");
        }
    }

    #[test]
    fn a_root_with_an_active_key_and_no_mfa_fails_the_key_mfa_and_recent_use_controls() {
        let audit = with_key(Some(3));
        assert_eq!(verdict(&audit, ControlId::RootAccessKey), Some((true, 1)));
        assert_eq!(verdict(&audit, ControlId::RootMfa), Some((true, 1)));
        assert_eq!(verdict(&audit, ControlId::RootHardwareMfa), Some((true, 1)));
        assert_eq!(verdict(&audit, ControlId::RootRecentUse), Some((true, 1)));
        assert_eq!(
            verdict(&audit, ControlId::RootSigningCertificate),
            Some((false, 0))
        );
        let data = account_data(&audit);
        let f = findings(&data, &Thresholds::default(), NOW, ControlId::RootAccessKey).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].describe(NOW),
            "<root_account> (access_key_1, last used 2024-05-29, 3 days)"
        );
        let p = derive(&data, &Thresholds::default(), NOW);
        assert_eq!(p.root.last_used, [("access_key_1", NOW - 3 * DAY)]);
        // Used 30 days ago: not recent (7 days).
        assert_eq!(
            verdict(&with_key(Some(30)), ControlId::RootRecentUse),
            Some((false, 0))
        );
        // Never used: not recent either.
        assert_eq!(
            verdict(&with_key(None), ControlId::RootRecentUse),
            Some((false, 0))
        );
    }

    #[test]
    fn keys_are_numbered_in_creation_order_as_the_report_numbers_them() {
        let key = |age: i64, active: bool| RootKey {
            created: Some(NOW - age * DAY),
            active: Some(active),
            last_used: Some(None),
        };
        let audit = RootAudit {
            access_keys: Some(vec![key(10, true), key(500, false)]),
            ..with_key(None)
        };
        let p = derive(&account_data(&audit), &Thresholds::default(), NOW);
        assert_eq!(p.root.access_key_active, Some([false, true]));
        let row = account_data(&audit).report.root.unwrap();
        assert_eq!(
            row.access_keys[0].last_rotated,
            Some(Date::At(NOW - 500 * DAY))
        );
        assert_eq!(
            row.access_keys[1].last_rotated,
            Some(Date::At(NOW - 10 * DAY))
        );
    }

    #[test]
    fn a_password_and_a_fido_key_pass_both_mfa_controls_and_count_the_password_use() {
        let audit = RootAudit {
            summary: Some(summary(false, true, true, false)),
            password: Some(true),
            password_created: Some(NOW - 400 * DAY),
            password_last_used: Some(Some(NOW - 2 * DAY)),
            mfa_devices: Some(vec![MfaType::of_serial(
                "arn:aws:iam::222233334444:u2f/root-account-mfa-device/FIDOKEY7Q2ZJ4XW",
            )]),
            ..credential_less()
        };
        let data = account_data(&audit);
        assert_eq!(data.facts.root_virtual_mfa, Some(false));
        let p = derive(&data, &Thresholds::default(), NOW);
        assert_eq!(p.root.mfa_enabled, Some(true));
        assert_eq!(p.root.hardware_mfa_enabled, Some(true));
        assert_eq!(p.root.password_present, Some(true));
        assert_eq!(p.root.credentials_present, Some(true));
        assert_eq!(p.root.last_used, [("password", NOW - 2 * DAY)]);
        assert_eq!(verdict(&audit, ControlId::RootMfa), Some((false, 0)));
        assert_eq!(
            verdict(&audit, ControlId::RootHardwareMfa),
            Some((false, 0))
        );
        assert_eq!(verdict(&audit, ControlId::RootRecentUse), Some((true, 1)));
    }

    #[test]
    fn a_virtual_device_is_mfa_but_not_hardware_mfa() {
        let audit = RootAudit {
            summary: Some(summary(false, true, true, false)),
            password: Some(true),
            password_created: Some(NOW - 400 * DAY),
            mfa_devices: Some(vec![MfaType::of_serial(
                "arn:aws:iam::222233334444:mfa/root-account-mfa-device",
            )]),
            ..credential_less()
        };
        assert_eq!(verdict(&audit, ControlId::RootMfa), Some((false, 0)));
        assert_eq!(verdict(&audit, ControlId::RootHardwareMfa), Some((true, 1)));
    }

    #[test]
    fn mfa_serials_say_their_type() {
        for (serial, want) in [
            (
                "arn:aws:iam::222233334444:mfa/root-account-mfa-device",
                MfaType::Virtual,
            ),
            ("arn:aws:iam::222233334444:mfa/my-phone", MfaType::Virtual),
            ("arn:aws-cn:iam::222233334444:mfa/x", MfaType::Virtual),
            (
                "arn:aws:iam::222233334444:u2f/root-account-mfa-device/ABC",
                MfaType::FidoSecurityKey,
            ),
            ("GAHT12345678", MfaType::HardwareTotp),
            ("", MfaType::HardwareTotp),
        ] {
            assert_eq!(MfaType::of_serial(serial), want, "{serial}");
        }
    }

    #[test]
    fn a_failed_call_leaves_its_facts_and_their_controls_unknown() {
        // ListAccessKeys failed and the summary too: the key control is unknown.
        let audit = RootAudit {
            summary: None,
            access_keys: None,
            ..with_key(None)
        };
        assert_eq!(verdict(&audit, ControlId::RootAccessKey), None);
        // ListMFADevices failed: hardware MFA unknown (the summary still says MFA is off: fail).
        let audit = RootAudit {
            mfa_devices: None,
            ..with_key(None)
        };
        assert_eq!(verdict(&audit, ControlId::RootMfa), Some((true, 1)));
        assert_eq!(verdict(&audit, ControlId::RootHardwareMfa), Some((true, 1)));
        let audit = RootAudit {
            summary: Some(summary(false, true, true, false)),
            password: Some(true),
            password_created: Some(NOW - DAY),
            mfa_devices: None,
            ..credential_less()
        };
        assert_eq!(verdict(&audit, ControlId::RootHardwareMfa), None);
        // GetUser failed: the password's last use is unknown, and so is recent use.
        let audit = RootAudit {
            password_last_used: None,
            ..with_key(Some(30))
        };
        assert_eq!(verdict(&audit, ControlId::RootRecentUse), None);
    }
}
