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
//!
//! The control is about the organization but belongs to the exporter's own account (the hub:
//! the management account or a delegated administrator), so it carries that account's labels,
//! `account_id` and `account_name`, exactly as the account's own series do: recording rules
//! that aggregate by account then see one account, not two. Where the fleet does not watch the
//! hub, the control is left out (the feature gauges, labelled by `organization_id`, still say
//! it): no phantom account. Who is watched under which name is the fleet's to say
//! ([`OrganizationPart::watch`], at every discovery), the answers the job's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::aws::{AccountClient, Aws};
use crate::exposition::{AccountLabels, OrganizationView, account_labels, render_organization};
use crate::fetch::{ErrorCode, FetchError, OrganizationFeatures};
use crate::posture::{Thresholds, Verdict, organization_verdict};
use crate::schedule::{NoCheck, Refresh};
use crate::snapshot::{ExporterPart, State};

/// The accounts the exporter watches, for the labels of the hub's control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watched {
    /// The default credential chain's account: the exporter's own, without a name.
    Own,
    /// The accounts of `--config.file`: account id -> `account_name`.
    Fleet(BTreeMap<String, Option<String>>),
}

impl Watched {
    /// The labels of account `id`'s series, when it is watched.
    fn labels_of(&self, id: &str) -> Option<AccountLabels> {
        match self {
            Watched::Own => Some(account_labels(Some(id), None)),
            Watched::Fleet(accounts) => accounts
                .get(id)
                .map(|name| account_labels(Some(id), name.as_deref())),
        }
    }
}

/// The exporter-level part of the exposition, rendered from the job's answers and the fleet's
/// watched accounts: either side that changes re-renders it, so a renamed hub account is
/// relabelled at the discovery that sees the new name, not an interval later.
#[derive(Debug)]
pub struct OrganizationPart {
    state: Arc<State>,
    /// NB: std lock, held to update and render a few series; never across an `.await`.
    inner: Mutex<PartInner>,
}

#[derive(Debug)]
struct PartInner {
    watched: Watched,
    /// The exporter's own account id, once known.
    own_id: Option<String>,
    verdict: Option<Verdict>,
    view: OrganizationView,
}

impl OrganizationPart {
    pub fn new(state: Arc<State>, watched: Watched) -> Arc<OrganizationPart> {
        Arc::new(OrganizationPart {
            state,
            inner: Mutex::new(PartInner {
                watched,
                own_id: None,
                verdict: None,
                view: OrganizationView::default(),
            }),
        })
    }

    /// The fleet's accounts after a discovery; a discovery that failed (`complete` false)
    /// only adds, as the schedule then removes nothing.
    pub fn watch(&self, watched: Watched, complete: bool) {
        self.update(|i| match (&mut i.watched, watched) {
            (Watched::Fleet(old), Watched::Fleet(new)) if !complete => old.extend(new),
            (old, new) => *old = new,
        });
    }

    /// The organization's features and the exporter's own account id, once both are known:
    /// `audit` judges the hub's control from them.
    pub fn features(&self) -> Option<(String, OrganizationFeatures)> {
        let i = self.lock();
        Some((i.own_id.clone()?, i.view.features.clone()?))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PartInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes what the part is rendered from, and renders it again.
    fn update(&self, change: impl FnOnce(&mut PartInner)) {
        let mut i = self.lock();
        change(&mut i);
        let labels = i.own_id.as_deref().and_then(|id| i.watched.labels_of(id));
        i.view.control = labels.zip(i.verdict);
        let rendered = render_organization(&i.view);
        self.state
            .set_exporter_part(ExporterPart::Organization, rendered);
    }
}

/// The organization's refresh state across intervals (its error counters live here).
#[derive(Debug)]
pub struct Organization {
    aws: Aws,
    /// The exporter's own account, for sts:GetCallerIdentity.
    own: AccountClient,
    /// The exporter's own account id, the `account_id` of the control's series: asked once,
    /// then kept (the process's identity does not change account).
    account_id: Option<String>,
    thresholds: Thresholds,
    part: Arc<OrganizationPart>,
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
    pub fn new(aws: Aws, part: Arc<OrganizationPart>, thresholds: Thresholds) -> Organization {
        Organization {
            own: aws.own_account(),
            aws,
            account_id: None,
            thresholds,
            part,
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
        let mut errors = Vec::new();
        // What the answer changes: `None` keeps the last answer (throttling, a timeout).
        let answer = match self.aws.organization_features().await {
            Ok(features) => {
                if self.log.changed("ok") {
                    tracing::info!(organization_id = %features.organization_id, root_credentials_management = features.root_credentials_management, root_sessions = features.root_sessions, "centralized root access features read");
                } else {
                    tracing::debug!(organization_id = %features.organization_id, "centralized root access features read");
                }
                let now = crate::clock::now_secs() as i64;
                let verdict = organization_verdict(&features, &self.thresholds, now);
                self.account_id(&mut errors).await;
                Some((Some(features), verdict))
            }
            Err(e) => {
                let refusal = is_refusal(&e.code);
                if self.log.changed(&e.code.label()) && !self.quiet {
                    tracing::warn!(operation = %e.operation, code = %e.code.label(), message = %e.message, "centralized root access is unknown (aws_iam_organization_feature_enabled and the root_credentials_management control are absent); asked again every interval, logged again when the answer changes");
                } else {
                    tracing::debug!(operation = %e.operation, code = %e.code.label(), "centralized root access still unknown");
                }
                errors.push(e);
                // A refusal is an answer: unknown from now on. Anything else says nothing new.
                refusal.then_some((None, None))
            }
        };
        let own_id = self.account_id.clone();
        self.part.update(|i| {
            for e in &errors {
                i.view.aws_errors.count(e);
            }
            i.own_id = own_id;
            if let Some((features, verdict)) = answer {
                i.view.features = features;
                i.verdict = verdict;
            }
        });
    }

    /// Asks sts:GetCallerIdentity once; its failure goes to `errors`.
    async fn account_id(&mut self, errors: &mut Vec<FetchError>) {
        if self.account_id.is_some() {
            return;
        }
        match self.own.caller_account().await {
            Ok(id) => self.account_id = Some(id),
            Err(e) => {
                if self.identity_log.changed(&e.code.label()) && !self.quiet {
                    tracing::warn!(operation = %e.operation, code = %e.code.label(), message = %e.message, "the exporter's own account is unknown; the root_credentials_management control is absent until it is");
                } else {
                    tracing::debug!(operation = %e.operation, code = %e.code.label(), "the exporter's own account is still unknown");
                }
                errors.push(e);
            }
        }
    }
}

/// The answers that mean "you may not know": the caller is not the management account or a
/// delegated administrator, there is no organization, it is not in all-features mode, IAM's
/// trusted access is off, or the permission is missing. The API reference writes the codes
/// without the `Exception` suffix, the SDKs and the wire with it: both are accepted.
pub fn is_refusal(code: &ErrorCode) -> bool {
    code.is_access_denied()
        || [
            "AccountNotManagementOrDelegatedAdministrator",
            "OrganizationNotFound",
            "OrganizationNotInAllFeaturesMode",
            "ServiceAccessNotEnabled",
        ]
        .iter()
        .any(|name| code.is_aws(name))
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
