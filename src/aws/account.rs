//! One account's IAM calls. Every call an account's refresh makes is a method here, and
//! [`AccountClient::fetch`] puts the answers into [`Facts`].
//!
//! Calls per account per refresh do not grow with the number of users: GetAccountSummary,
//! GenerateCredentialReport (repeated only while AWS is generating), GetCredentialReport,
//! GetAccountPasswordPolicy, ListVirtualMFADevices and ListServiceSpecificCredentials (one page
//! per 1,000 items), and sts:GetCallerIdentity only when the report has no ARN to take the
//! account id from.

use std::time::Duration;

use aws_sdk_iam::types::{AssignmentStatusType, ReportStateType};

use super::assume::Assumed;
use super::error::from_sdk;
use crate::fetch::{ErrorCode, ErrorLog, Facts, FetchError, Fetched, Operation, ServiceCredential};
use crate::posture::{PasswordPolicy, PolicyState, Summary};
use crate::report::ReportDocument;

/// Sequential AWS calls of one refresh, at most: GetAccountSummary, GenerateCredentialReport
/// and GetCredentialReport (beyond the report-generation wait), GetAccountPasswordPolicy,
/// ListVirtualMFADevices, ListServiceSpecificCredentials, sts:GetCallerIdentity, and the
/// AssumeRole behind an assumed role's credentials.
pub const CALLS_PER_REFRESH: u32 = 8;

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

    /// The configuration override of this account's IAM calls: its role's credentials, or
    /// nothing (the shared client's own credentials).
    fn iam(&self) -> aws_sdk_iam::config::Builder {
        self.assumed
            .as_ref()
            .map_or_else(aws_sdk_iam::config::Builder::default, Assumed::iam)
    }

    /// [`AccountClient::iam`] for STS calls.
    fn sts(&self) -> aws_sdk_sts::config::Builder {
        self.assumed
            .as_ref()
            .map_or_else(aws_sdk_sts::config::Builder::default, Assumed::sts)
    }

    /// Fetches everything of one refresh. The summary and the report are required; the other
    /// calls are optional: their failures go to `errors` and their facts stay unknown.
    pub async fn fetch(&self, errors: &mut ErrorLog) -> Result<Fetched, FetchError> {
        // The summary first: it is live, where the report may be hours old.
        let summary = self.summary().await?;
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
        Ok(Fetched {
            report,
            facts: Facts {
                summary: Some(summary),
                password_policy,
                root_virtual_mfa,
                virtual_mfa_users,
                service_credentials,
                // Asked once per interval by the exporter-level job, not per account.
                organization: None,
            },
        })
    }

    async fn summary(&self) -> Result<Summary, FetchError> {
        let out = self
            .clients
            .iam
            .get_account_summary()
            .customize()
            .config_override(self.iam())
            .send()
            .await
            .map_err(|e| from_sdk(Operation::GetAccountSummary, &e))?;
        let mut entries: Vec<(String, i64)> = out
            .summary_map()
            .into_iter()
            .flatten()
            // `as_str` keeps keys the SDK does not know yet (`Unknown` variants) by name.
            .map(|(k, v)| (k.as_str().to_owned(), i64::from(*v)))
            .collect();
        entries.sort();
        Ok(Summary(entries))
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
        let out = match self
            .clients
            .iam
            .generate_credential_report()
            .customize()
            .config_override(self.iam())
            .send()
            .await
        {
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
        let out = match self
            .clients
            .iam
            .get_credential_report()
            .customize()
            .config_override(self.iam())
            .send()
            .await
        {
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
        match self
            .clients
            .iam
            .get_account_password_policy()
            .customize()
            .config_override(self.iam())
            .send()
            .await
        {
            Ok(out) => Ok(match out.password_policy() {
                Some(p) => PolicyState::Present(PasswordPolicy {
                    minimum_length: p.minimum_password_length().map(i64::from),
                    reuse_prevention: p.password_reuse_prevention().map(i64::from),
                    max_age_days: p.max_password_age().map(i64::from),
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
        let mut marker: Option<String> = None;
        let mut root = false;
        let mut users = Vec::new();
        loop {
            let out = self
                .clients
                .iam
                .list_virtual_mfa_devices()
                .assignment_status(AssignmentStatusType::Assigned)
                .max_items(1000)
                .set_marker(marker.take())
                .customize()
                .config_override(self.iam())
                .send()
                .await
                .map_err(|e| from_sdk(Operation::ListVirtualMfaDevices, &e))?;
            for d in out.virtual_mfa_devices() {
                let root_device = d.serial_number().ends_with(":mfa/root-account-mfa-device")
                    || d.user().is_some_and(|u| u.arn().ends_with(":root"));
                if root_device {
                    root = true;
                } else if let Some(u) = d.user() {
                    users.push(u.user_name().to_owned());
                }
            }
            match out.marker() {
                Some(m) if out.is_truncated() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        users.sort_unstable();
        users.dedup();
        Ok((root, users))
    }

    /// Every user's service-specific credentials, in one paginated call (`AllUsers`).
    async fn service_credentials(&self) -> Result<Vec<ServiceCredential>, FetchError> {
        let mut marker: Option<String> = None;
        let mut found = Vec::new();
        loop {
            let out = self
                .clients
                .iam
                .list_service_specific_credentials()
                .all_users(true)
                .max_items(1000)
                .set_marker(marker.take())
                .customize()
                .config_override(self.iam())
                .send()
                .await
                .map_err(|e| from_sdk(Operation::ListServiceSpecificCredentials, &e))?;
            found.extend(
                out.service_specific_credentials()
                    .iter()
                    .map(|c| ServiceCredential {
                        user: c.user_name().to_owned(),
                        service: c.service_name().to_owned(),
                        id: c.service_specific_credential_id().to_owned(),
                        status: c.status().as_str().to_ascii_lowercase(),
                        created: c.create_date().secs(),
                        expires: c.expiration_date().map(|t| t.secs()),
                    }),
            );
            match out.marker() {
                Some(m) if out.is_truncated() && !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(found)
    }

    /// The account of the credentials in use (sts:GetCallerIdentity needs no permission).
    pub async fn caller_account(&self) -> Result<String, FetchError> {
        const OP: Operation = Operation::GetCallerIdentity;
        let out = self
            .clients
            .sts
            .get_caller_identity()
            .customize()
            .config_override(self.sts())
            .send()
            .await
            .map_err(|e| from_sdk(OP, &e))?;
        out.account()
            .map(str::to_owned)
            .ok_or_else(|| FetchError::new(OP, ErrorCode::Response, "the response has no Account"))
    }
}
