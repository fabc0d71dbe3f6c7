//! One account's IAM calls. Every call an account's refresh makes is a method here, and
//! [`AccountClient::fetch`] puts the answers into [`Facts`].
//!
//! Calls per account per refresh do not grow with the number of users: GetAccountSummary, the
//! quarantine lookup (`quarantine.rs`: ListPolicies, and more only for a quarantine found),
//! GenerateCredentialReport (repeated only while AWS is generating), GetCredentialReport,
//! GetAccountPasswordPolicy, ListVirtualMFADevices, ListServiceSpecificCredentials and
//! ListServerCertificates (one page per 1,000 items), and sts:GetCallerIdentity only when the
//! report has no ARN to take the account id from.

use std::time::Duration;

use aws_sdk_iam::types::{AssignmentStatusType, ReportStateType};

use super::assume::{Assumed, CallConfig};
use super::error::from_sdk;
use super::pages::{Page, iam_next, sdk_pages};
use crate::fetch::{
    ErrorCode, ErrorLog, Facts, FetchError, Fetched, LiveFacts, Operation, ServiceCredential,
};
use crate::posture::{PasswordPolicy, PolicyState, ServerCertificate, Summary};
use crate::report::ReportDocument;

/// Every AWS call of one account's refresh, each made at most once in sequence (beyond the
/// polls of a report being generated and further pages): the methods below, sts:GetCallerIdentity
/// (only for a report without ARNs) and the AssumeRole behind an assumed role's credentials.
///
/// NB: a call added here must be added to this list: its length sizes the refresh deadline
/// ([`super::Settings::refresh_deadline`]), and a refresh that makes more calls than it counts
/// can be abandoned while healthy. The calls-per-refresh scenario test
/// (`calls_per_refresh_are_the_same_for_10_and_500_users`) fails on a call that is not listed.
pub const REFRESH_CALLS: [Operation; 12] = [
    Operation::GetAccountSummary,
    // The quarantine lookup: ListEntitiesForPolicy once per quarantine policy attached and
    // GetGroup once per group that has one (none when nothing is quarantined).
    Operation::ListPolicies,
    Operation::ListEntitiesForPolicy,
    Operation::GetGroup,
    Operation::GenerateCredentialReport,
    Operation::GetCredentialReport,
    Operation::GetAccountPasswordPolicy,
    Operation::ListVirtualMfaDevices,
    Operation::ListServiceSpecificCredentials,
    Operation::ListServerCertificates,
    Operation::GetCallerIdentity,
    Operation::AssumeRole,
];

/// Every AWS call of one fast check ([`AccountClient::live_facts`]), each at most once in
/// sequence beyond further pages, ListEntitiesForPolicy once per quarantine policy attached and
/// GetGroup once per group that has one: its length sizes the check's deadline
/// ([`super::Settings::fast_check_deadline`]). Nothing quarantined: the first two only.
pub const FAST_CALLS: [Operation; 4] = [
    Operation::GetAccountSummary,
    Operation::ListPolicies,
    Operation::ListEntitiesForPolicy,
    Operation::GetGroup,
];

/// Sequential AWS calls of one refresh, at most ([`REFRESH_CALLS`]).
pub const CALLS_PER_REFRESH: u32 = REFRESH_CALLS.len() as u32;

/// Sends `$request`, a request of the shared IAM or STS client, in the account of `$account`
/// (an [`AccountClient`]): with its role's credentials and identity cache as the operation's
/// configuration override. Without the override the call would run with the exporter's own
/// credentials, in the wrong account. Evaluates to the future of the SDK's `send()`.
///
/// A macro rather than a function: the SDK's fluent builders share no trait, and the
/// `CustomizableOperation<T, E, B>` that their `customize()` returns can be sent only where `B`
/// is a known builder (its `send` requires `B: CustomizableSend<T, E>`, a trait in a private
/// module of the SDK that no generic bound outside it can name). So the one way a call enters
/// its account is written here, once, and expanded at each call.
macro_rules! send_in {
    ($account:expr, $request:expr) => {
        $request
            .customize()
            .config_override($account.call_config())
            .send()
    };
}
pub(super) use send_in;

// After `send_in!`, which it uses.
mod quarantine;

/// The process's clients, shared by every account.
#[derive(Debug, Clone)]
pub(super) struct Clients {
    pub(super) iam: aws_sdk_iam::Client,
    /// AssumeRole, and the rare sts:GetCallerIdentity (a report without ARNs).
    pub(super) sts: aws_sdk_sts::Client,
}

/// The IAM side of one account.
#[derive(Debug, Clone)]
pub struct AccountClient {
    clients: Clients,
    /// The role entered for every call; `None`: the exporter's own credentials.
    assumed: Option<Assumed>,
    report_timeout: std::time::Duration,
    /// First wait between polls of a report being generated; doubles up to 16x.
    poll_interval: Duration,
}

/// What GetCredentialReport said instead of a report, by the SDK's typed errors.
enum NotReady {
    /// `ReportInProgress`, `ReportNotPresent`, `ReportExpired`: generate (again) and wait.
    Regenerate(FetchError),
    Failed(FetchError),
}

impl AccountClient {
    pub(super) fn new(
        clients: Clients,
        assumed: Option<Assumed>,
        report_timeout: Duration,
    ) -> AccountClient {
        AccountClient {
            clients,
            assumed,
            report_timeout,
            poll_interval: Duration::from_millis(500),
        }
    }

    /// The configuration override of this account's calls (IAM or STS, see [`send_in!`]):
    /// its role's credentials, or nothing (the shared client's own credentials).
    fn call_config(&self) -> CallConfig<'_> {
        CallConfig(self.assumed.as_ref())
    }

    /// Fetches everything of one refresh. The summary and the report are required; the other
    /// calls are optional: their failures go to `errors` and their facts stay unknown.
    pub async fn fetch(&self, errors: &mut ErrorLog) -> Result<Fetched, FetchError> {
        // The summary first: it is live, where the report may be hours old; then the other
        // live signal, the quarantine.
        let summary = self.summary().await?;
        let quarantine = self.quarantine().await.map_err(|e| errors.push(e)).ok();
        let report = self.credential_report(errors).await?;
        let password_policy = self.password_policy().await.unwrap_or_else(|e| {
            errors.push(e);
            PolicyState::Unknown
        });
        let (root_virtual_mfa, virtual_mfa_users) = match self.virtual_mfa_devices().await {
            Ok((root, users)) => (Some(root), Some(users)),
            Err(e) => {
                errors.push(e);
                (None, None)
            }
        };
        let service_credentials = self
            .service_credentials()
            .await
            .map_err(|e| errors.push(e))
            .ok();
        let server_certificates = self
            .server_certificates()
            .await
            .map_err(|e| errors.push(e))
            .ok();
        Ok(Fetched {
            report,
            facts: Facts {
                summary: Some(summary),
                password_policy,
                root_virtual_mfa,
                virtual_mfa_users,
                service_credentials,
                server_certificates,
                // Asked once per interval by the exporter-level job, not per account.
                organization: None,
                quarantine,
            },
        })
    }

    /// A fast check's calls: GetAccountSummary and the quarantine lookup (ListPolicies, and
    /// more only for a quarantine found). Each failure goes to `errors` and leaves its fact
    /// `None`; one failing does not stop the other.
    pub async fn live_facts(&self, errors: &mut ErrorLog) -> LiveFacts {
        let summary = self.summary().await.map_err(|e| errors.push(e)).ok();
        let quarantine = self.quarantine().await.map_err(|e| errors.push(e)).ok();
        LiveFacts {
            summary,
            quarantine,
        }
    }

    async fn summary(&self) -> Result<Summary, FetchError> {
        let out = send_in!(self, self.clients.iam.get_account_summary())
            .await
            .map_err(|e| from_sdk(Operation::GetAccountSummary, &e))?;
        Ok(summary_of(&out))
    }

    /// Generates (if AWS says it is due) and downloads the credential report, polling with
    /// backoff while AWS builds it, until `--credential-report.timeout`.
    async fn credential_report(&self, errors: &mut ErrorLog) -> Result<ReportDocument, FetchError> {
        let deadline = tokio::time::Instant::now() + self.report_timeout;
        let mut wait = self.poll_interval;
        loop {
            if self.generate(errors).await? {
                match self.download().await {
                    Ok(doc) => return Ok(doc),
                    // NB: a report can expire or vanish between Generate and Get.
                    Err(NotReady::Regenerate(e)) => errors.push(e),
                    Err(NotReady::Failed(e)) => return Err(e),
                }
            }
            if tokio::time::Instant::now() + wait > deadline {
                return Err(FetchError::new(
                    Operation::GenerateCredentialReport,
                    ErrorCode::ReportTimeout,
                    format!(
                        "the credential report was not ready within --credential-report.timeout {}",
                        humantime::format_duration(self.report_timeout)
                    ),
                ));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(self.poll_interval * 16);
        }
    }

    /// True when a report is complete and can be downloaded.
    async fn generate(&self, errors: &mut ErrorLog) -> Result<bool, FetchError> {
        const OP: Operation = Operation::GenerateCredentialReport;
        let out = match send_in!(self, self.clients.iam.generate_credential_report()).await {
            Ok(out) => out,
            // Too many Generate calls: the limit clears with time, like a report in progress.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_limit_exceeded_exception()) =>
            {
                errors.push(from_sdk(OP, &e));
                return Ok(false);
            }
            Err(e) => return Err(from_sdk(OP, &e)),
        };
        match out.state() {
            Some(ReportStateType::Complete) => Ok(true),
            Some(ReportStateType::Started | ReportStateType::Inprogress) => Ok(false),
            other => Err(FetchError::new(
                OP,
                ErrorCode::Response,
                format!("unexpected report state {other:?}"),
            )),
        }
    }

    async fn download(&self) -> Result<ReportDocument, NotReady> {
        const OP: Operation = Operation::GetCredentialReport;
        let out = match send_in!(self, self.clients.iam.get_credential_report()).await {
            Ok(out) => out,
            Err(e) => {
                let regenerate = e.as_service_error().is_some_and(|s| {
                    s.is_credential_report_not_ready_exception()
                        || s.is_credential_report_not_present_exception()
                        || s.is_credential_report_expired_exception()
                });
                let e = from_sdk(OP, &e);
                return Err(if regenerate {
                    NotReady::Regenerate(e)
                } else {
                    NotReady::Failed(e)
                });
            }
        };
        let bad =
            |message: String| NotReady::Failed(FetchError::new(OP, ErrorCode::Response, message));
        if let Some(format) = out.report_format()
            && format.as_str() != "text/csv"
        {
            return Err(bad(format!(
                "report format `{}`, expected text/csv",
                format.as_str()
            )));
        }
        // The SDK has already decoded the base64 `Content` into bytes.
        let csv = out
            .content()
            .map(|b| b.as_ref().to_vec())
            .ok_or_else(|| bad("the response has no Content".into()))?;
        Ok(ReportDocument {
            csv,
            generated: out.generated_time().map(|t| t.secs()),
        })
    }

    async fn password_policy(&self) -> Result<PolicyState, FetchError> {
        match send_in!(self, self.clients.iam.get_account_password_policy()).await {
            Ok(out) => Ok(match out.password_policy() {
                Some(p) => PolicyState::Present(PasswordPolicy {
                    minimum_length: p.minimum_password_length().map(i64::from),
                    reuse_prevention: p.password_reuse_prevention().map(i64::from),
                    max_age_days: p.max_password_age().map(i64::from),
                    require_uppercase: p.require_uppercase_characters(),
                    require_lowercase: p.require_lowercase_characters(),
                    require_numbers: p.require_numbers(),
                    require_symbols: p.require_symbols(),
                    allow_users_to_change_password: p.allow_users_to_change_password(),
                    hard_expiry: p.hard_expiry().unwrap_or(false),
                    expire_passwords: p.expire_passwords(),
                }),
                None => PolicyState::Absent,
            }),
            // No policy is an answer (CIS 1.8/1.9 fail), not an error.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                Ok(PolicyState::Absent)
            }
            Err(e) => Err(from_sdk(Operation::GetAccountPasswordPolicy, &e)),
        }
    }

    /// The assigned virtual MFA devices: whether root has one (CIS 1.6: root MFA must be
    /// hardware), and which IAM users have one (sorted, distinct).
    async fn virtual_mfa_devices(&self) -> Result<(bool, Vec<String>), FetchError> {
        // Per device: `None` for root's, else its user (if any).
        let devices = sdk_pages(
            Operation::ListVirtualMfaDevices,
            |marker| {
                send_in!(
                    self,
                    self.clients
                        .iam
                        .list_virtual_mfa_devices()
                        .assignment_status(AssignmentStatusType::Assigned)
                        .max_items(1000)
                        .set_marker(marker)
                )
            },
            |out| Page {
                items: out
                    .virtual_mfa_devices()
                    .iter()
                    .map(|d| {
                        let root = d.serial_number().ends_with(":mfa/root-account-mfa-device")
                            || d.user().is_some_and(|u| u.arn().ends_with(":root"));
                        (!root).then(|| d.user().map(|u| u.user_name().to_owned()))
                    })
                    .collect(),
                next: iam_next(out.is_truncated(), out.marker()),
            },
        )
        .await?;
        let root = devices.iter().any(Option::is_none);
        let mut users: Vec<String> = devices.into_iter().flatten().flatten().collect();
        users.sort_unstable();
        users.dedup();
        Ok((root, users))
    }

    /// Every user's service-specific credentials, in one paginated call (`AllUsers`).
    async fn service_credentials(&self) -> Result<Vec<ServiceCredential>, FetchError> {
        sdk_pages(
            Operation::ListServiceSpecificCredentials,
            |marker| {
                send_in!(
                    self,
                    self.clients
                        .iam
                        .list_service_specific_credentials()
                        .all_users(true)
                        .max_items(1000)
                        .set_marker(marker)
                )
            },
            |out| Page {
                items: out
                    .service_specific_credentials()
                    .iter()
                    .map(|c| ServiceCredential {
                        user: c.user_name().to_owned(),
                        service: c.service_name().to_owned(),
                        id: c.service_specific_credential_id().to_owned(),
                        status: c.status().as_str().to_ascii_lowercase(),
                        created: c.create_date().secs(),
                        expires: c.expiration_date().map(|t| t.secs()),
                    })
                    .collect(),
                next: iam_next(out.is_truncated(), out.marker()),
            },
        )
        .await
    }

    /// The SSL/TLS server certificates stored in IAM, every path, in one paginated call.
    async fn server_certificates(&self) -> Result<Vec<ServerCertificate>, FetchError> {
        sdk_pages(
            Operation::ListServerCertificates,
            |marker| {
                send_in!(
                    self,
                    self.clients
                        .iam
                        .list_server_certificates()
                        .max_items(1000)
                        .set_marker(marker)
                )
            },
            |out| Page {
                items: out
                    .server_certificate_metadata_list()
                    .iter()
                    .map(|c| ServerCertificate {
                        name: c.server_certificate_name().to_owned(),
                        arn: c.arn().to_owned(),
                        expiration: c.expiration().map(|t| t.secs()),
                    })
                    .collect(),
                next: iam_next(out.is_truncated(), out.marker()),
            },
        )
        .await
    }

    /// The account of the credentials in use (sts:GetCallerIdentity needs no permission).
    pub async fn caller_account(&self) -> Result<String, FetchError> {
        const OP: Operation = Operation::GetCallerIdentity;
        let out = send_in!(self, self.clients.sts.get_caller_identity())
            .await
            .map_err(|e| from_sdk(OP, &e))?;
        out.account()
            .map(str::to_owned)
            .ok_or_else(|| FetchError::new(OP, ErrorCode::Response, "the response has no Account"))
    }
}

/// A GetAccountSummary answer's `SummaryMap`, sorted by key.
pub(super) fn summary_of(
    out: &aws_sdk_iam::operation::get_account_summary::GetAccountSummaryOutput,
) -> Summary {
    let mut entries: Vec<(String, i64)> = out
        .summary_map()
        .into_iter()
        .flatten()
        // `as_str` keeps keys the SDK does not know yet (`Unknown` variants) by name.
        .map(|(k, v)| (k.as_str().to_owned(), i64::from(*v)))
        .collect();
    entries.sort();
    Summary(entries)
}
