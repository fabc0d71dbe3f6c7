//! The evaluators of the credentials the credential report does not hold: service-specific
//! credentials (Bedrock API keys, rotation, the lifetime of every service's API keys;
//! ListServiceSpecificCredentials) and the SSL/TLS server certificates stored in IAM (CIS 1.19,
//! Security Hub IAM.26; ListServerCertificates). Each failing credential or certificate is one
//! failing resource; an unknown list leaves the control absent.

use super::{Input, Sink};
use crate::posture::{BEDROCK, Credential, Finding, ServiceCredential, Thresholds};

/// Each active service credential that `fails` is one failing resource.
fn service_credential_control<'a>(
    i: &Input<'a, '_>,
    sink: Sink<'_, 'a>,
    fails: impl Fn(&ServiceCredential) -> bool,
) -> Option<()> {
    for c in crate::posture::service_credentials(i.data)? {
        if c.status == "active" && fails(c) {
            sink(Finding {
                created: Some(c.created),
                credential_id: Some(&c.id),
                expires: c.expires,
                ..Finding::new(&c.user, Credential::ServiceCredential)
            });
        }
    }
    Some(())
}

pub(super) fn bedrock_long_term_api_key<'a>(
    i: &Input<'a, '_>,
    _: &Thresholds,
    now: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    service_credential_control(i, sink, |c| {
        c.service == BEDROCK && c.expires.is_none_or(|e| e > now)
    })
}

pub(super) fn service_credential_rotation<'a>(
    i: &Input<'a, '_>,
    t: &Thresholds,
    now: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    service_credential_control(i, sink, |c| now - c.created > t.access_key_max_age)
}

/// An active API key of any service (see [`ServiceCredential::is_api_key`]) that never expires,
/// or whose lifetime (`ExpirationDate` - `CreateDate`) is longer than
/// `--control.api-key-max-lifetime`.
pub(super) fn api_key_lifetime<'a>(
    i: &Input<'a, '_>,
    t: &Thresholds,
    _: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    service_credential_control(i, sink, |c| {
        c.is_api_key()
            && c.expires
                .is_none_or(|e| e.saturating_sub(c.created) > t.api_key_max_lifetime)
    })
}

/// CIS 1.19 / IAM.26: each certificate whose `Expiration` has passed (strictly: one second
/// after it). A certificate without one is unknown: the control is then unknown unless another
/// has expired.
pub(super) fn expired_server_certificate<'a>(
    i: &Input<'a, '_>,
    _: &Thresholds,
    now: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    let (mut failing, mut unknown) = (false, false);
    for c in crate::posture::server_certificates(i.data)? {
        match c.expiration {
            None => unknown = true,
            Some(at) if at < now => {
                failing = true;
                sink(Finding {
                    credential_id: Some(&c.name),
                    expires: Some(at),
                    ..Finding::new("", Credential::ServerCertificate)
                });
            }
            Some(_) => {}
        }
    }
    (failing || !unknown).then_some(())
}
