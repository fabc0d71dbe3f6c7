//! I/O EDGE: every AWS call, credentials, discovery and the SDK's errors. The only module that
//! names `aws_sdk_*` or `aws_config`; it hands the rest of the exporter its own types
//! ([`crate::fetch`]).
//!
//! One [`Aws`] per process holds the base SDK configuration, one HTTP client (connection
//! pool, TLS configuration, resolver) and one IAM and one STS client, shared by every account:
//! an assumed-role account adds only its role's credentials provider and identity cache
//! (`assume.rs`), given to each call as a configuration override. Clients per account would
//! each hold their configuration and runtime plugins (measured: docs/performance.md, "Numbers
//! behind the code"), and with an HTTP client each, load the trust roots and keep a pool of
//! their own.
//!
//! - `account.rs`: one account's IAM calls (report, summary, policy, MFA devices, service
//!   credentials).
//! - `assume.rs`: sts:AssumeRole as a credentials provider, one per account.
//! - `discovery.rs`: Organizations accounts.
//! - `error.rs`: SDK errors -> [`FetchError`], by type.
//! - `pages.rs`: the one loop over the pages of a list (IAM `Marker`, Organizations
//!   `NextToken`), with the guard against a page that would be asked for again.
//! - `root.rs`: a member account's root through sts:AssumeRoot (centralized root access), no
//!   role in the member.

mod account;
mod assume;
mod discovery;
mod error;
mod pages;
mod root;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::{ConnectorBuilder, proxy::ProxyConfig, tls};

pub use account::{AccountClient, CALLS_PER_REFRESH, FAST_CALLS, REFRESH_CALLS};
pub use discovery::OrgAccount;
pub use root::{
    AUDIT_TASK_POLICY, CALLS_PER_ROOT_AUDIT, ROOT_AUDIT_CALLS, RootAuditClient, root_audit_advice,
};

use crate::fetch::{ErrorCode, FetchError, Operation, OrganizationFeatures};

/// AWS client settings (`--aws.*`, `--credential-report.timeout`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub region: String,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub report_timeout: Duration,
}

impl Settings {
    /// The SDK's bound on one call: every attempt plus the backoff between them (at most
    /// 20 s each). Saturating: a huge `--aws.timeout` must not overflow.
    pub fn operation_timeout(&self) -> Duration {
        self.timeout
            .saturating_add(Duration::from_secs(20))
            .saturating_mul(self.max_attempts)
    }

    /// The hard bound on one whole refresh, from the real budgets: the report-generation wait
    /// plus every call at its full retry budget, for the longer of a refresh's calls and a root
    /// audit's. A healthy refresh that retries is never abandoned; a stuck one is.
    pub fn refresh_deadline(&self) -> Duration {
        let calls = account::CALLS_PER_REFRESH.max(root::CALLS_PER_ROOT_AUDIT);
        self.report_timeout
            .saturating_add(self.operation_timeout().saturating_mul(calls))
    }

    /// The hard bound on one fast check: every call it can make at its full retry budget.
    pub fn fast_check_deadline(&self) -> Duration {
        self.operation_timeout()
            .saturating_mul(account::FAST_CALLS.len() as u32)
    }

    /// The ARN partition of the region (`aws-cn` in China, `aws-us-gov` in GovCloud).
    pub fn partition(&self) -> &'static str {
        if self.region.starts_with("cn-") {
            "aws-cn"
        } else if self.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }
}

/// An IAM role to assume for an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub arn: String,
    pub external_id: Option<String>,
}

/// The exporter's own AWS identity and the configuration every client derives from.
#[derive(Debug, Clone)]
pub struct Aws {
    base: SdkConfig,
    /// The clients of every account (reference-counted: a clone is a pointer), with the
    /// exporter's own credentials unless a call overrides them.
    clients: account::Clients,
    report_timeout: Duration,
}

impl Aws {
    /// Loads the default credential chain and region settings, with one shared HTTP client.
    pub async fn connect(settings: &Settings) -> Aws {
        let attempt = settings.timeout;
        let base = aws_config::defaults(BehaviorVersion::latest())
            .http_client(shared_http_client())
            .region(Region::new(settings.region.clone()))
            .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(attempt.min(Duration::from_secs(10)))
                    .operation_attempt_timeout(attempt)
                    .operation_timeout(settings.operation_timeout())
                    .build(),
            )
            .load()
            .await;
        Aws {
            clients: account::Clients {
                iam: aws_sdk_iam::Client::new(&base),
                sts: aws_sdk_sts::Client::new(&base),
            },
            base,
            report_timeout: settings.report_timeout,
        }
    }

    /// The account of the exporter's own credentials.
    pub fn own_account(&self) -> AccountClient {
        AccountClient::new(self.clients.clone(), None, self.report_timeout)
    }

    /// An account reached by assuming `role` with the exporter's credentials; the account's
    /// identity cache keeps the role's credentials and refreshes them before they expire.
    pub fn assume(&self, role: &Role) -> AccountClient {
        let assumed = assume::Assumed::new(self.clients.sts.clone(), role.clone());
        AccountClient::new(self.clients.clone(), Some(assumed), self.report_timeout)
    }

    /// A member account's root, read through sts:AssumeRoot with the exporter's credentials
    /// (no role in the member).
    pub fn root_audit(&self, account_id: &str) -> RootAuditClient {
        RootAuditClient::new(self.clients.clone(), account_id)
    }

    /// Every ACTIVE account of the organization, and the management account's id.
    pub async fn organization_accounts(
        &self,
    ) -> Result<(Vec<OrgAccount>, Option<String>), FetchError> {
        discovery::organization_accounts(&self.base).await
    }

    /// The organization's centralized root access features (iam:ListOrganizationsFeatures),
    /// asked with the exporter's own credentials: the management account or a delegated
    /// administrator. Any other caller gets an error, and the features stay unknown.
    pub async fn organization_features(&self) -> Result<OrganizationFeatures, FetchError> {
        const OP: Operation = Operation::ListOrganizationsFeatures;
        let out = self
            .clients
            .iam
            .list_organizations_features()
            .send()
            .await
            .map_err(|e| error::from_sdk(OP, &e))?;
        let enabled = |f: &str| out.enabled_features().iter().any(|e| e.as_str() == f);
        let organization_id = out.organization_id().ok_or_else(|| {
            FetchError::new(
                OP,
                ErrorCode::Response,
                "the response has no OrganizationId",
            )
        })?;
        Ok(OrganizationFeatures {
            organization_id: organization_id.to_owned(),
            root_credentials_management: enabled("RootCredentialsManagement"),
            root_sessions: enabled("RootSessions"),
        })
    }
}

/// The SDK's default HTTPS client (hyper 1, rustls on aws-lc, proxy settings from the
/// environment), built once so that every client shares its pool and TLS configuration.
fn shared_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut builder = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        builder.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        builder.set_proxy_config(Some(ProxyConfig::from_env()));
        builder.build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_deadline_leaves_room_for_every_call_to_use_its_whole_retry_budget() {
        // 10 attempts of 1 s with the SDK's backoff (up to 20 s each) take up to 210 s for ONE
        // call: the old `report_timeout + timeout * attempts * 6` (180 s) abandoned such a
        // healthy refresh while it was still retrying its first call.
        let c = Settings {
            region: "us-east-1".into(),
            timeout: Duration::from_secs(1),
            max_attempts: 10,
            // `--credential-report.timeout`'s default.
            report_timeout: Duration::from_secs(120),
        };
        let one_call = Duration::from_secs(210);
        assert_eq!(c.operation_timeout(), one_call);
        // A refresh's calls in sequence, each of which may use its whole budget: the summary,
        // the quarantine lookup (ListPolicies, ListEntitiesForPolicy, GetGroup), Generate and
        // Get of the report, the password policy, the virtual MFA devices, the service
        // credentials, the server certificates, sts:GetCallerIdentity and the AssumeRole behind
        // a role. Written out, not read from the code's own list: the deadline is checked
        // against the calls.
        let calls = [
            "GetAccountSummary",
            "ListPolicies",
            "ListEntitiesForPolicy",
            "GetGroup",
            "GenerateCredentialReport",
            "GetCredentialReport",
            "GetAccountPasswordPolicy",
            "ListVirtualMFADevices",
            "ListServiceSpecificCredentials",
            "ListServerCertificates",
            "GetCallerIdentity",
            "AssumeRole",
        ];
        let needed = c.report_timeout + one_call * calls.len() as u32;
        assert_eq!(needed, Duration::from_secs(2_640));
        assert!(c.refresh_deadline() >= needed, "{:?}", c.refresh_deadline());
        // A root audit's refresh: the AssumeRole of a role that could not be assumed, then
        // AssumeRoot and every call the task policy allows (GetAccessKeyLastUsed for each of
        // root's two keys), written out likewise.
        let root_audit_calls = [
            "AssumeRole",
            "AssumeRoot",
            "GetAccountSummary",
            "GetUser",
            "GetLoginProfile",
            "ListAccessKeys",
            "GetAccessKeyLastUsed",
            "GetAccessKeyLastUsed",
            "ListMFADevices",
            "ListSigningCertificates",
        ];
        let needed_root = one_call * root_audit_calls.len() as u32;
        assert_eq!(needed_root, Duration::from_secs(2_100));
        assert!(
            c.refresh_deadline() >= needed_root,
            "{:?}",
            c.refresh_deadline()
        );
        // And not unbounded: a stuck refresh is abandoned within one more call's budget.
        assert!(
            c.refresh_deadline() < needed.max(needed_root) + one_call,
            "{:?}",
            c.refresh_deadline()
        );
    }
}
