//! The evaluators of the root user (CIS 1.4-1.7, root's signing certificates) and of the
//! organization's centralized root access (CIS 7.0 2.1.1). Root controls count root
//! credentials.

use super::{Input, Sink, key_finding};
use crate::posture::{AccountData, Credential, Finding, Thresholds};
use crate::report::{Date, ROOT_USER};

fn summary(data: &AccountData, key: &str) -> Option<bool> {
    data.facts.summary.as_ref()?.get(key).map(|v| v > 0)
}

/// 1.4: a key counts if the live summary says so (an inactive key still counts, as for the AWS
/// Config rule: it should be deleted), or if the report shows an active one.
pub(super) fn root_access_key<'a>(
    i: &Input<'a, '_>,
    _: &Thresholds,
    _: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    let report = i.root.access_key_active;
    let summary = summary(i.data, "AccountAccessKeysPresent");
    if report.is_none() && summary.is_none() {
        return None;
    }
    let row = i.data.report.root.as_ref();
    let mut found = false;
    for (slot, active) in report.into_iter().flatten().enumerate() {
        if active {
            found = true;
            let key = row.map(|r| r.access_keys[slot]).unwrap_or_default();
            sink(key_finding(ROOT_USER, slot, &key));
        }
    }
    if !found && summary == Some(true) {
        sink(Finding::new(ROOT_USER, Credential::SomeAccessKey));
    }
    Some(())
}

/// A root without any credential (no password, access key or signing certificate) passes the
/// MFA controls: nothing can sign in as it, and AWS allows no MFA device on it. CIS v5.0 1.4:
/// "Where an AWS Organization is using centralized root access, root credentials can be removed
/// from member accounts. In that case it is neither possible nor necessary to configure root MFA
/// in the member account" (audit: `mfa_active` TRUE or `password_enabled` FALSE; AccountMFAEnabled
/// 1 or AccountPasswordPresent 0); the same in 6.0 2.4-2.5 and 7.0 2.5-2.6. AWS Config treats
/// such a root as not applicable. Stricter than the CIS audit text: a root with no password but
/// an access key or certificate still needs MFA here.
fn root_without_credentials(i: &Input<'_, '_>) -> bool {
    i.root.credentials_present == Some(false)
}

pub(super) fn root_mfa<'a>(
    i: &Input<'a, '_>,
    _: &Thresholds,
    _: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    root_mfa_control(i, sink, i.root.mfa_enabled)
}

pub(super) fn root_hardware_mfa<'a>(
    i: &Input<'a, '_>,
    _: &Thresholds,
    _: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    root_mfa_control(i, sink, i.root.hardware_mfa_enabled)
}

/// Both root MFA controls: a root without credentials passes, else one without `mfa` fails.
fn root_mfa_control<'a>(i: &Input<'a, '_>, sink: Sink<'_, 'a>, mfa: Option<bool>) -> Option<()> {
    if root_without_credentials(i) {
        return Some(());
    }
    if !mfa? {
        sink(Finding::new(ROOT_USER, Credential::Mfa));
    }
    Some(())
}

/// Each root credential used within the window fails (the most recent use matters, not the
/// first credential that has a date, as in Prowler).
pub(super) fn root_recent_use<'a>(
    i: &Input<'a, '_>,
    t: &Thresholds,
    now: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    let r = i.data.report.root.as_ref()?;
    let mut failing = false;
    let mut unknown = false;
    let used = [
        (Credential::Password, r.password_last_used),
        (Credential::AccessKey(1), r.access_keys[0].last_used),
        (Credential::AccessKey(2), r.access_keys[1].last_used),
    ];
    for (credential, last) in used {
        match last.map(Date::timestamp) {
            None => unknown = true,
            Some(Some(at)) if now - at <= t.root_recent_use => {
                failing = true;
                sink(Finding {
                    last_used: Some(at),
                    ..Finding::new(ROOT_USER, credential)
                });
            }
            Some(_) => {}
        }
    }
    (failing || !unknown).then_some(())
}

/// The report says which certificate is active; the summary only that one exists.
pub(super) fn root_signing_certificate<'a>(
    i: &Input<'a, '_>,
    _: &Thresholds,
    _: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    match i.root.signing_certificate_active {
        Some(certs) => {
            for (slot, active) in certs.into_iter().enumerate() {
                if active {
                    sink(Finding::new(
                        ROOT_USER,
                        Credential::SigningCertificate(slot as u8 + 1),
                    ));
                }
            }
        }
        None => {
            if summary(i.data, "AccountSigningCertificatesPresent")? {
                sink(Finding::new(ROOT_USER, Credential::SomeSigningCertificate));
            }
        }
    }
    Some(())
}

/// Unknown (`None`) unless the organization's features were asked; then one failing resource,
/// the organization, when `RootCredentialsManagement` is off.
pub(super) fn root_credentials_management<'a>(
    i: &Input<'a, '_>,
    _: &Thresholds,
    _: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    let org = i.data.facts.organization.as_ref()?;
    if !org.root_credentials_management {
        sink(Finding::new(
            &org.organization_id,
            Credential::OrganizationFeature,
        ));
    }
    Some(())
}
