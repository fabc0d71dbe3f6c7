//! What the JSON, OCSF, JUnit and CSV outputs say alike of an offender or of a control without a
//! verdict, so that the formats cannot drift apart.

use super::{ControlResult, JsonOffender, Status, rfc3339};
use crate::posture::Finding;

/// What the formats for pipelines say of a control whose status is [`super::Status::Unknown`].
pub(super) const UNKNOWN_REASON: &str = "not evaluated: the input of this control is unknown (a report file brings no password policy, MFA device list, service-specific credentials, server certificates, quarantine policies or organization features; online, the call failed, was denied or is not enabled)";

/// What the formats that give one record per finding (OCSF, CSV) write for a control: one per
/// offender of a failing control (`Some`), else one for the control (`None`).
pub(super) fn per_finding<'r, 'a>(
    r: &'r ControlResult<'a>,
) -> impl Iterator<Item = Option<&'r Finding<'a>>> {
    let control_level = (r.status != Status::Fail).then_some(None);
    r.offenders.iter().map(Some).chain(control_level)
}

/// Days since the last use, else since creation: the age [`Finding::describe`] prints.
pub(super) fn days_since(f: &Finding<'_>, now: i64) -> Option<i64> {
    f.last_used.or(f.created).map(|t| (now - t).max(0) / 86_400)
}

impl<'a> JsonOffender<'a> {
    /// The offender as the JSON lists it (and the OCSF resource's `data`).
    pub(super) fn new(f: &Finding<'a>, now: i64) -> JsonOffender<'a> {
        JsonOffender {
            user: (!f.user.is_empty()).then_some(f.user),
            credential: f.credential.as_str(),
            credential_id: f.credential_id,
            last_used: f.last_used.map(rfc3339),
            created: f.created.map(rfc3339),
            expires: f.expires.map(rfc3339),
            never_used: f.never_used,
            days: days_since(f, now),
            description: f.describe(now),
        }
    }
}
