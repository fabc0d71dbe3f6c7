//! I/O EDGE: every AWS call, credentials, discovery and the SDK's errors. The only module that
//! names `aws_sdk_*` or `aws_config`; it hands the rest of the exporter its own types
//! ([`crate::fetch`]).
//!
//! One [`Aws`] per process holds the base SDK configuration and one HTTP client (connection
//! pool, TLS configuration, resolver) shared by every account's clients: a client per account
//! would each load the trust roots and keep a pool of its own.
//!
//! - `account.rs`: one account's IAM calls (report, summary, policy, MFA devices, service
//!   credentials).
//! - `discovery.rs`: Organizations accounts.
//! - `error.rs`: SDK errors -> [`FetchError`], by type.

mod account;
mod discovery;
mod error;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::{ConnectorBuilder, proxy::ProxyConfig, tls};

pub use account::AccountClient;
pub use discovery::OrgAccount;

use crate::config::AwsSettings;
use crate::fetch::{ErrorCode, FetchError, Operation, OrganizationFeatures};

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
    report_timeout: Duration,
}

impl Aws {
    /// Loads the default credential chain and region settings, with one shared HTTP client.
    pub async fn connect(settings: &AwsSettings) -> Aws {
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
            base,
            report_timeout: settings.report_timeout,
        }
    }

    /// The account of the exporter's own credentials.
    pub fn own_account(&self) -> AccountClient {
        AccountClient::new(&self.base, self.report_timeout)
    }

    /// An account reached by assuming `role` with the exporter's credentials; aws-config
    /// caches the role's credentials and refreshes them before they expire.
    pub async fn assume(&self, role: &Role) -> AccountClient {
        let mut provider = aws_config::sts::AssumeRoleProvider::builder(&role.arn)
            .session_name("aws-iam-exporter")
            .configure(&self.base);
        if let Some(id) = &role.external_id {
            provider = provider.external_id(id);
        }
        let provider = provider.build().await;
        let config = self
            .base
            .to_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(provider),
            )
            .build();
        AccountClient::new(&config, self.report_timeout)
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
        let iam = aws_sdk_iam::Client::new(&self.base);
        let out = iam
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
