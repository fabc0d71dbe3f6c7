//! A member account's root through AWS Organizations' centralized root access: no role in the
//! member. With the exporter's own credentials (the management account or the IAM delegated
//! administrator), sts:AssumeRoot with the task policy `IAMAuditRootUserCredentials` returns a
//! root session of at most 15 minutes; with it, the task policy allows only
//! `iam:GetAccountSummary` and, about root itself, GetUser, GetLoginProfile, ListAccessKeys,
//! GetAccessKeyLastUsed, ListMFADevices and ListSigningCertificates: the calls below, and no
//! other (the scenario server refuses and records any other call made with a root session).
//!
//! AssumeRoot is served by STS's regional endpoints only: the SDK resolves
//! `sts.<--aws.region>.amazonaws.com` (also in us-east-1: the Rust SDK has no global-endpoint
//! setting), `AWS_ENDPOINT_URL(_STS)` is used as given, and [`regional_sts_only`] refuses to send
//! AssumeRoot to `sts.amazonaws.com` (the region `aws-global`, or an endpoint naming it).

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sdk_iam::types::StatusType;
use aws_sdk_sts::types::PolicyDescriptorType;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use super::account::{Clients, send_in, summary_of};
use super::assume::{Assumed, CallConfig};
use super::error::from_sdk;
use super::pages::{Page, iam_next, sdk_pages};
use crate::fetch::{ErrorCode, ErrorLog, FetchError, Operation};
use crate::posture::root_audit::{MfaType, RootAudit, RootCertificate, RootKey};

/// The task policy of a read-only root audit, the only one the exporter asks for (and the only
/// one `deploy/iam-policy-root-audit.json` lets it ask for).
pub const AUDIT_TASK_POLICY: &str = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials";

/// `DurationSeconds`: the most AWS grants (900). The audit takes seconds, but each of its calls
/// may retry for up to `--aws.max-attempts` x (`--aws.timeout` + backoff); the credentials are
/// dropped when the audit ends.
const SESSION_SECONDS: i32 = 900;

/// Every AWS call of one root audit, in order (GetAccessKeyLastUsed once per root key: AWS
/// allows root two). With the AssumeRole of a role that could not be assumed before it
/// ([`CALLS_PER_ROOT_AUDIT`]), they size the refresh deadline as [`super::REFRESH_CALLS`] do.
pub const ROOT_AUDIT_CALLS: [Operation; 9] = [
    Operation::AssumeRoot,
    Operation::GetAccountSummary,
    Operation::GetUser,
    Operation::GetLoginProfile,
    Operation::ListAccessKeys,
    Operation::GetAccessKeyLastUsed,
    Operation::GetAccessKeyLastUsed,
    Operation::ListMfaDevices,
    Operation::ListSigningCertificates,
];

/// Sequential AWS calls of a refresh that reads a root audit, at most: a role's AssumeRole
/// that fails, then [`ROOT_AUDIT_CALLS`].
pub const CALLS_PER_ROOT_AUDIT: u32 = 1 + ROOT_AUDIT_CALLS.len() as u32;

/// One member account's root audit.
#[derive(Debug, Clone)]
pub struct RootAuditClient {
    clients: Clients,
    /// The member: AssumeRoot's `TargetPrincipal`.
    account_id: String,
}

/// The root session of one audit, as the configuration override of its calls.
struct RootSession {
    assumed: Assumed,
}

impl RootSession {
    /// See [`send_in!`]: every call of the audit but AssumeRoot runs with the session's
    /// credentials.
    fn call_config(&self) -> CallConfig<'_> {
        CallConfig(Some(&self.assumed))
    }
}

impl RootAuditClient {
    pub(super) fn new(clients: Clients, account_id: &str) -> RootAuditClient {
        RootAuditClient {
            clients,
            account_id: account_id.to_owned(),
        }
    }

    /// AssumeRoot, then the task policy's calls. AssumeRoot and GetAccountSummary are
    /// required; a failure of any other call goes to `errors` and leaves its facts unknown.
    pub async fn audit(&self, errors: &mut ErrorLog) -> Result<RootAudit, FetchError> {
        let session = self.assume_root().await?;
        let iam = &self.clients.iam;
        let out = send_in!(session, iam.get_account_summary())
            .await
            .map_err(|e| from_sdk(Operation::GetAccountSummary, &e))?;
        let mut audit = RootAudit {
            account_id: self.account_id.clone(),
            summary: Some(summary_of(&out)),
            ..RootAudit::default()
        };
        match send_in!(session, iam.get_user()).await {
            Ok(out) => {
                let user = out.user();
                audit.arn = user.map(|u| u.arn().to_owned()).filter(|a| !a.is_empty());
                // No user in the answer says nothing of the password: unknown, not never used.
                audit.password_last_used = user.map(|u| u.password_last_used().map(|t| t.secs()));
            }
            Err(e) => errors.push(from_sdk(Operation::GetUser, &e)),
        }
        match send_in!(session, iam.get_login_profile()).await {
            Ok(out) => {
                audit.password = Some(true);
                audit.password_created = out
                    .login_profile()
                    .map(|p| p.create_date().secs())
                    // A missing CreateDate reads as the epoch (the SDK's default): unknown.
                    .filter(|t| *t > 0);
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                audit.password = Some(false);
            }
            Err(e) => errors.push(from_sdk(Operation::GetLoginProfile, &e)),
        }
        audit.access_keys = self
            .access_keys(&session, errors)
            .await
            .map_err(|e| errors.push(e))
            .ok();
        audit.mfa_devices = sdk_pages(
            Operation::ListMfaDevices,
            |marker| send_in!(session, iam.list_mfa_devices().set_marker(marker)),
            |out| Page {
                items: out
                    .mfa_devices()
                    .iter()
                    .map(|d| MfaType::of_serial(d.serial_number()))
                    .collect(),
                next: iam_next(out.is_truncated(), out.marker()),
            },
        )
        .await
        .map_err(|e| errors.push(e))
        .ok();
        audit.signing_certificates = sdk_pages(
            Operation::ListSigningCertificates,
            |marker| send_in!(session, iam.list_signing_certificates().set_marker(marker)),
            |out| Page {
                items: out
                    .certificates()
                    .iter()
                    .map(|c| RootCertificate {
                        uploaded: c.upload_date().map(|t| t.secs()),
                        active: active(Some(c.status())),
                    })
                    .collect(),
                next: iam_next(out.is_truncated(), out.marker()),
            },
        )
        .await
        .map_err(|e| errors.push(e))
        .ok();
        Ok(audit)
    }

    /// sts:AssumeRoot into the member, with the exporter's own credentials.
    async fn assume_root(&self) -> Result<RootSession, FetchError> {
        const OP: Operation = Operation::AssumeRoot;
        let out = self
            .clients
            .sts
            .assume_root()
            .target_principal(&self.account_id)
            .task_policy_arn(PolicyDescriptorType::builder().arn(AUDIT_TASK_POLICY).build())
            .duration_seconds(SESSION_SECONDS)
            .customize()
            .interceptor(BeforeTransmit {
                name: "RegionalStsOnly",
                check: regional_sts_only,
            })
            .send()
            .await
            .map_err(|e| match global_endpoint(&e) {
                Some(uri) => FetchError::new(
                    OP,
                    ErrorCode::GlobalEndpoint,
                    format!(
                        "not sent to {uri}: STS's global endpoint does not serve AssumeRoot; set --aws.region to a region (not aws-global), and AWS_ENDPOINT_URL_STS, if set, to a regional endpoint"
                    ),
                ),
                None => from_sdk(OP, &e),
            })?;
        let c = out.credentials().ok_or_else(|| {
            FetchError::new(
                OP,
                ErrorCode::Response,
                "the AssumeRoot answer has no Credentials",
            )
        })?;
        let expiry = SystemTime::try_from(*c.expiration()).ok();
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            expiry,
            "aws-iam-exporter AssumeRoot",
        );
        Ok(RootSession {
            assumed: Assumed::session(credentials),
        })
    }

    /// Root's access keys, each with its last use (GetAccessKeyLastUsed; its failure leaves
    /// that key's last use unknown).
    async fn access_keys(
        &self,
        session: &RootSession,
        errors: &mut ErrorLog,
    ) -> Result<Vec<RootKey>, FetchError> {
        let iam = &self.clients.iam;
        let listed = sdk_pages(
            Operation::ListAccessKeys,
            |marker| send_in!(session, iam.list_access_keys().set_marker(marker)),
            |out| Page {
                items: out
                    .access_key_metadata()
                    .iter()
                    .map(|k| {
                        let key = RootKey {
                            created: k.create_date().map(|t| t.secs()),
                            active: active(k.status()),
                            last_used: None,
                        };
                        (k.access_key_id().map(str::to_owned), key)
                    })
                    .collect(),
                next: iam_next(out.is_truncated(), out.marker()),
            },
        )
        .await?;
        let mut keys = Vec::with_capacity(listed.len());
        for (id, mut key) in listed {
            if let Some(id) = id {
                match send_in!(session, iam.get_access_key_last_used().access_key_id(id)).await {
                    Ok(out) => {
                        key.last_used = Some(
                            out.access_key_last_used()
                                .and_then(|u| u.last_used_date())
                                .map(|t| t.secs()),
                        );
                    }
                    Err(e) => errors.push(from_sdk(Operation::GetAccessKeyLastUsed, &e)),
                }
            }
            keys.push(key);
        }
        Ok(keys)
    }
}

/// What to check when a root audit fails with `e`: one clause for the log line.
pub fn root_audit_advice(e: &FetchError) -> &'static str {
    match (e.operation, &e.code) {
        (Operation::AssumeRoot, ErrorCode::GlobalEndpoint) => {
            "send AssumeRoot to a regional STS endpoint: --aws.region a region, AWS_ENDPOINT_URL_STS unset or regional"
        }
        (Operation::AssumeRoot, code) if code.is_access_denied() => {
            "check that centralized root access is enabled (RootCredentialsManagement, see aws_iam_organization_feature_enabled), that the exporter runs in the management account or the IAM delegated administrator, that its policy allows sts:AssumeRoot for IAMAuditRootUserCredentials (deploy/iam-policy-root-audit.json), and that no service control policy denies it"
        }
        (Operation::AssumeRoot, _) if e.code.is_aws("RegionDisabled") => {
            "activate STS in --aws.region for the exporter's account, or choose an active region"
        }
        (Operation::AssumeRoot, ErrorCode::NoCredentials) => {
            "the exporter's own credentials are missing or expired: fix their source"
        }
        // Every call but AssumeRoot is the root session's (GetAccountSummary included).
        (op, code) if op != Operation::AssumeRoot && code.is_access_denied() => {
            "a service control policy of the member denies the root user this call: allow root the seven audit calls"
        }
        (_, ErrorCode::Timeout | ErrorCode::Connection | ErrorCode::Dispatch) => {
            "a network or AWS trouble: retried with backoff"
        }
        _ if e.code.is_aws("Throttling") => {
            "AWS throttles: retried with backoff; a longer --root-audit.interval makes fewer calls"
        }
        _ => "retried with backoff up to the root audit interval",
    }
}

/// `Active` or `Inactive`; unknown for anything else (the SDK's default for a missing status).
fn active(status: Option<&StatusType>) -> Option<bool> {
    match status {
        Some(StatusType::Active) => Some(true),
        Some(StatusType::Inactive) => Some(false),
        _ => None,
    }
}

/// An interceptor that reads each request just before it is sent and may stop it: `check`
/// answers an error to refuse it; `name` names the interceptor in the SDK's errors.
struct BeforeTransmit<F> {
    name: &'static str,
    check: F,
}

impl<F> std::fmt::Debug for BeforeTransmit<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BeforeTransmit({})", self.name)
    }
}

impl<F> Intercept for BeforeTransmit<F>
where
    F: Fn(&HttpRequest) -> Result<(), BoxError> + Send + Sync,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        (self.check)(context.request())
    }
}

/// Refuses to send a request to STS's global endpoint, which does not serve AssumeRoot: AWS
/// would refuse it, and a clear error here says why.
fn regional_sts_only(request: &HttpRequest) -> Result<(), BoxError> {
    let uri = request.uri();
    match is_global(uri) {
        true => Err(Box::new(GlobalEndpoint(uri.to_owned()))),
        false => Ok(()),
    }
}

/// The error of [`regional_sts_only`]: the endpoint it would have gone to.
#[derive(Debug)]
struct GlobalEndpoint(String);

impl std::fmt::Display for GlobalEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AssumeRoot would go to STS's global endpoint {}", self.0)
    }
}

impl std::error::Error for GlobalEndpoint {}

/// Whether `uri`'s host is STS's global endpoint.
fn is_global(uri: &str) -> bool {
    let rest = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let host = rest.split(['/', ':', '?']).next().unwrap_or_default();
    host.eq_ignore_ascii_case("sts.amazonaws.com")
}

/// The endpoint [`regional_sts_only`] refused, anywhere in the error's causes.
fn global_endpoint(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    std::iter::successors(Some(err), |e| e.source())
        .find_map(|e| e.downcast_ref::<GlobalEndpoint>())
        .map(|g| g.0.clone())
}

#[cfg(test)]
mod tests;
