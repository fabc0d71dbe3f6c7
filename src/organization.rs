//! The exporter-level refresh: AWS Organizations' centralized root access
//! (iam:ListOrganizationsFeatures), asked once per refresh interval with the exporter's own
//! credentials, however many accounts are watched. The scheduler runs it like an account (its
//! own slot in the interval, the same concurrency limit); it writes the exporter-level part of
//! the [`State`], which is not an account: `aws_iam_exporter_accounts` and readiness ignore it.
//!
//! Only the management account or a delegated administrator may ask. Anyone else, an account
//! outside an organization, or an organization that does not allow it gets a refusal: the
//! features and the `root_credentials_management` control are then unknown (absent, neither
//! pass nor fail), the refusal is counted, and it is logged once at warn when the answer changes,
//! at debug after that: a member account's exporter would otherwise log the same line forever.

use std::sync::Arc;

use crate::aws::{AccountClient, Aws};
use crate::exposition::{OrganizationView, render_organization};
use crate::fetch::{ErrorCode, FetchError};
use crate::posture::{Thresholds, organization_verdict};
use crate::schedule::{NoCheck, Refresh};
use crate::snapshot::{ExporterPart, State};

/// The organization's refresh state across intervals (its error counters live here).
#[derive(Debug)]
pub struct Organization {
    aws: Aws,
    /// The exporter's own account, for sts:GetCallerIdentity.
    own: AccountClient,
    /// The exporter's own account id, the `account_id` of the control's series: asked once,
    /// then kept (the process's identity does not change account).
    account_id: Option<String>,
    state: Arc<State>,
    thresholds: Thresholds,
    view: OrganizationView,
    /// The last answer to ListOrganizationsFeatures, and to GetCallerIdentity: each logged
    /// loudly only when it changes.
    log: OutcomeLog,
    identity_log: OutcomeLog,
    /// `--once`: the outcome is in the output (or absent); stderr is for the one error line.
    quiet: bool,
}

impl Refresh for Organization {
    type Fast = NoCheck;

    async fn refresh(&mut self) {
        self.refresh_once().await
    }

    fn fast_check(&self) -> Option<NoCheck> {
        None
    }
}

impl Organization {
    pub fn new(aws: Aws, state: Arc<State>, thresholds: Thresholds) -> Organization {
        Organization {
            own: aws.own_account(),
            aws,
            account_id: None,
            state,
            thresholds,
            view: OrganizationView::default(),
            log: OutcomeLog::default(),
            identity_log: OutcomeLog::default(),
            quiet: false,
        }
    }

    /// Logs nothing above debug (for `--once`, whose stderr carries at most one error line).
    pub fn quiet(mut self) -> Organization {
        self.quiet = true;
        self
    }

    /// Asks once and writes the exporter-level part. Never fails: whatever AWS answers, the
    /// accounts' refreshes and readiness are unaffected.
    pub async fn refresh_once(&mut self) {
        match self.aws.organization_features().await {
            Ok(features) => {
                if self.log.changed("ok") {
                    tracing::info!(organization_id = %features.organization_id, root_credentials_management = features.root_credentials_management, root_sessions = features.root_sessions, "centralized root access features read");
                } else {
                    tracing::debug!(organization_id = %features.organization_id, "centralized root access features read");
                }
                let now = crate::clock::now_secs() as i64;
                let verdict = organization_verdict(&features, &self.thresholds, now);
                let account = self.account_id().await;
                self.view.control = account
                    .zip(verdict)
                    .map(|(id, v)| (vec![("account_id", id)], v));
                self.view.features = Some(features);
            }
            Err(e) => {
                self.count(&e);
                // A refusal is an answer: unknown from now on. Anything else (throttling, a
                // timeout) says nothing new: the last answer stays.
                if is_refusal(&e.code) {
                    self.view.features = None;
                    self.view.control = None;
                }
                if self.log.changed(&e.code.label()) && !self.quiet {
                    tracing::warn!(operation = %e.operation, code = %e.code.label(), message = %e.message, "centralized root access is unknown (aws_iam_organization_feature_enabled and the root_credentials_management control are absent); asked again every interval, logged again when the answer changes");
                } else {
                    tracing::debug!(operation = %e.operation, code = %e.code.label(), "centralized root access still unknown");
                }
            }
        }
        self.state
            .set_exporter_part(ExporterPart::Organization, render_organization(&self.view));
    }

    async fn account_id(&mut self) -> Option<String> {
        if self.account_id.is_none() {
            match self.own.caller_account().await {
                Ok(id) => self.account_id = Some(id),
                Err(e) => {
                    if self.identity_log.changed(&e.code.label()) && !self.quiet {
                        tracing::warn!(operation = %e.operation, code = %e.code.label(), message = %e.message, "the exporter's own account is unknown; the root_credentials_management control is absent until it is");
                    } else {
                        tracing::debug!(operation = %e.operation, code = %e.code.label(), "the exporter's own account is still unknown");
                    }
                    self.count(&e);
                }
            }
        }
        self.account_id.clone()
    }

    fn count(&mut self, e: &FetchError) {
        self.view.aws_errors.count(e);
    }
}

/// The answers that mean "you may not know": the caller is not the management account or a
/// delegated administrator, there is no organization, it is not in all-features mode, IAM's
/// trusted access is off, or the permission is missing. The API reference writes the codes
/// without the `Exception` suffix, the SDKs and the wire with it: both are accepted.
pub fn is_refusal(code: &ErrorCode) -> bool {
    if code.is_access_denied() {
        return true;
    }
    let ErrorCode::Aws(code) = code else {
        return false;
    };
    matches!(
        code.strip_suffix("Exception").unwrap_or(code),
        "AccountNotManagementOrDelegatedAdministrator"
            | "OrganizationNotFound"
            | "OrganizationNotInAllFeaturesMode"
            | "ServiceAccessNotEnabled"
    )
}

/// Remembers the last outcome so that the same answer is logged loudly once, not every
/// interval.
#[derive(Debug, Default)]
pub struct OutcomeLog {
    last: Option<String>,
}

impl OutcomeLog {
    /// True when `outcome` differs from the previous one (the first is always a change).
    pub fn changed(&mut self, outcome: &str) -> bool {
        if self.last.as_deref() == Some(outcome) {
            return false;
        }
        self.last = Some(outcome.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_outcome_is_logged_loudly_once_and_again_only_when_it_changes() {
        let mut log = OutcomeLog::default();
        let seen: Vec<bool> = [
            "AccountNotManagementOrDelegatedAdministratorException",
            "AccountNotManagementOrDelegatedAdministratorException",
            "AccountNotManagementOrDelegatedAdministratorException",
            "ok",
            "ok",
            "AccessDenied",
            "AccountNotManagementOrDelegatedAdministratorException",
        ]
        .iter()
        .map(|o| log.changed(o))
        .collect();
        assert_eq!(seen, [true, false, false, true, false, true, true]);
    }

    #[test]
    fn refusals_are_recognised_with_or_without_the_exception_suffix() {
        let aws = |c: &str| ErrorCode::Aws(c.into());
        for c in [
            "AccountNotManagementOrDelegatedAdministratorException",
            "AccountNotManagementOrDelegatedAdministrator",
            "OrganizationNotFoundException",
            "OrganizationNotInAllFeaturesModeException",
            "OrganizationNotInAllFeaturesMode",
            "ServiceAccessNotEnabledException",
            "AccessDenied",
        ] {
            assert!(is_refusal(&aws(c)), "{c}");
        }
        for c in [aws("Throttling"), ErrorCode::Timeout, ErrorCode::Http(503)] {
            assert!(!is_refusal(&c), "{c:?}");
        }
    }
}
