//! sts:AssumeRole as a credentials provider: what one assumed-role account costs.
//!
//! Every account shares the process's STS and IAM clients ([`super::Aws`]); an account adds
//! only its [`Assumed`]: the role, its credentials provider and its own identity cache. A
//! client per account (aws-config's `AssumeRoleProvider` builds an STS client of its own, and
//! an IAM client per `SdkConfig`) held their configurations and runtime plugins per account
//! (the heap profile: docs/performance.md, "Numbers behind the code").

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider, future};
use aws_sdk_iam::config::{IdentityCache, SharedIdentityCache};
use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;

use super::Role;

/// `RoleSessionName` of every assumed-role session (what CloudTrail shows as the session).
const SESSION_NAME: &str = "aws-iam-exporter";

/// Name of the provider in the SDK's credentials (debug output, user agent).
const PROVIDER_NAME: &str = "aws-iam-exporter AssumeRole";

/// One account's assumed role, as the per-call configuration of the shared clients.
///
/// NB: both fields are made once per account and then cloned. `SharedCredentialsProvider::new`
/// opens a new identity-cache partition each time it is called (and the config builders'
/// `credentials_provider(..)` calls it), and an operation whose configuration override brings
/// a credentials provider but no identity cache gets a short-lived cache of its own (aws-sdk
/// `ConfigOverrideRuntimePlugin`): any of these would call AssumeRole on every IAM call
/// instead of once per session (measured: docs/performance.md).
#[derive(Debug, Clone)]
pub(super) struct Assumed {
    credentials: SharedCredentialsProvider,
    /// Holds the role's credentials until shortly before they expire, then refreshes them
    /// (one AssumeRole at a time). The account's own: it goes away with the account.
    cache: SharedIdentityCache,
}

impl Assumed {
    pub(super) fn new(sts: aws_sdk_sts::Client, role: Role) -> Assumed {
        Assumed {
            credentials: SharedCredentialsProvider::new(AssumeRole { sts, role }),
            cache: IdentityCache::lazy().max_partitions(1).build(),
        }
    }

    /// A session's credentials, already obtained (a root audit's sts:AssumeRoot): nothing to
    /// cache or refresh, and made once per audit, so no cache (a lazy one would keep a
    /// partition per audit).
    pub(super) fn session(credentials: Credentials) -> Assumed {
        Assumed {
            credentials: SharedCredentialsProvider::new(credentials),
            cache: IdentityCache::no_cache(),
        }
    }
}

/// The configuration override of one account's calls: its [`Assumed`] role, or `None` for the
/// exporter's own credentials (an empty override). Converts into the IAM and the STS client's
/// configuration builders, so one override serves both ([`super::account`]'s `send_in!`).
#[derive(Debug, Clone, Copy)]
pub(super) struct CallConfig<'a>(pub(super) Option<&'a Assumed>);

/// `From<CallConfig>` for the configuration builder of each SDK crate named: the builders are
/// distinct types with the same setters, and share no trait.
macro_rules! call_config_into {
    ($($sdk:ident),*) => {$(
        impl From<CallConfig<'_>> for $sdk::config::Builder {
            fn from(c: CallConfig<'_>) -> Self {
                let mut b = $sdk::config::Builder::default();
                if let Some(a) = c.0 {
                    // NB: `set_`, not `credentials_provider(..)`: that one wraps its argument
                    // in a new `SharedCredentialsProvider`, a new cache partition per call.
                    b.set_credentials_provider(Some(a.credentials.clone()));
                    b.set_identity_cache(a.cache.clone());
                }
                b
            }
        }
    )*};
}

call_config_into!(aws_sdk_iam, aws_sdk_sts);

/// Calls sts:AssumeRole with the exporter's own credentials (the shared STS client's).
#[derive(Debug)]
struct AssumeRole {
    sts: aws_sdk_sts::Client,
    role: Role,
}

impl AssumeRole {
    async fn assume(&self) -> provider::Result {
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role.arn)
            .set_external_id(self.role.external_id.clone())
            .role_session_name(SESSION_NAME)
            .send()
            .await
            // NB: `error::from_sdk` finds this STS error inside the IAM call's error and
            // reports AssumeRole's own code (AccessDenied, ...), so it is kept whole.
            .map_err(CredentialsError::provider_error)?;
        credentials(out)
    }
}

impl ProvideCredentials for AssumeRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.assume())
    }
}

/// The session credentials of an AssumeRole answer, with their expiry (when the identity
/// cache refreshes them) and the role's account.
fn credentials(out: AssumeRoleOutput) -> provider::Result {
    let c = out
        .credentials
        .ok_or_else(|| CredentialsError::unhandled("the AssumeRole answer has no Credentials"))?;
    let expiry = SystemTime::try_from(c.expiration).map_err(|_| {
        CredentialsError::unhandled("the AssumeRole credentials expire at an impossible time")
    })?;
    let mut creds = Credentials::builder()
        .access_key_id(c.access_key_id)
        .secret_access_key(c.secret_access_key)
        .session_token(c.session_token)
        .expiry(expiry)
        .provider_name(PROVIDER_NAME);
    if let Some(account) = out
        .assumed_role_user
        .as_ref()
        .and_then(|u| crate::arn::Arn::parse(u.arn()))
        .map(|arn| arn.account)
        .filter(|account| !account.is_empty())
    {
        creds = creds.account_id(account);
    }
    let mut creds = creds.build();
    creds
        .get_property_mut_or_default::<Vec<AwsCredentialFeature>>()
        .push(AwsCredentialFeature::CredentialsStsAssumeRole);
    Ok(creds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sts::types::{AssumedRoleUser, Credentials as StsCredentials};
    use aws_smithy_types::DateTime;

    fn answer(user_arn: &str) -> AssumeRoleOutput {
        AssumeRoleOutput::builder()
            .credentials(
                StsCredentials::builder()
                    .access_key_id("ASIAEXAMPLE")
                    .secret_access_key("secret")
                    .session_token("token")
                    .expiration(DateTime::from_secs(2_000_000_000))
                    .build()
                    .expect("every required field is set"),
            )
            .assumed_role_user(
                AssumedRoleUser::builder()
                    .assumed_role_id("AROAEXAMPLE:aws-iam-exporter")
                    .arn(user_arn)
                    .build()
                    .expect("every required field is set"),
            )
            .build()
    }

    #[test]
    fn assumed_credentials_carry_their_expiry_and_account() {
        let c = credentials(answer(
            "arn:aws:sts::123456789012:assumed-role/IamExporter/aws-iam-exporter",
        ))
        .expect("credentials");
        assert_eq!(c.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(c.session_token(), Some("token"));
        assert_eq!(
            c.expiry(),
            Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2_000_000_000))
        );
        assert_eq!(c.account_id().map(|a| a.as_str()), Some("123456789012"));
    }

    #[test]
    fn an_answer_without_credentials_is_a_credentials_error() {
        let out = AssumeRoleOutput::builder().build();
        assert!(credentials(out).is_err());
    }
}
