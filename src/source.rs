//! I/O EDGE: the only module that talks to AWS (or reads offline files). It returns the
//! exporter's own types ([`Fetched`]) and one error type, [`FetchError`], with the AWS error
//! code and the operation, so the refresh loop can count and log without knowing the SDK.
//!
//! Calls per account per refresh do not grow with the number of users: GetAccountSummary,
//! GenerateCredentialReport (repeated only while AWS is generating), GetCredentialReport,
//! GetAccountPasswordPolicy, ListVirtualMFADevices (one page per 1,000 virtual MFA devices), and
//! sts:GetCallerIdentity only when the report has no ARN to take the account id from.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{AssignmentStatusType, ReportStateType};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::config::AwsSettings;
use crate::posture::{PasswordPolicy, PolicyState, Summary};
use crate::report::{ReportDocument, decode_document};

/// Why fetching failed: which AWS operation, its error code, and a message for humans.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{operation}: {code}: {message}")]
pub struct FetchError {
    /// The AWS API name (`GetCredentialReport`), or `ReadFile` offline.
    pub operation: &'static str,
    /// The AWS error code (`AccessDenied`, `Throttling`, ...) or one of ours
    /// (`Timeout`, `NoCredentials`, `ConnectionError`, `ReportTimeout`, `FileError`).
    pub code: String,
    pub message: String,
}

/// The IAM permission each operation needs, for error messages.
fn permission(operation: &str) -> String {
    match operation {
        "GetCallerIdentity" | "AssumeRole" => format!("sts:{operation}"),
        "ListAccounts" | "DescribeOrganization" => format!("organizations:{operation}"),
        op => format!("iam:{op}"),
    }
}

impl FetchError {
    fn from_sdk<E>(operation: &'static str, err: &SdkError<E, HttpResponse>) -> FetchError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        // NB: with an assumed role, a refused AssumeRole surfaces inside the IAM call's
        // credentials failure. Report it as what it is: the STS operation and its code.
        let mut source = std::error::Error::source(err);
        while let Some(e) = source {
            type AssumeRoleSdkError = aws_sdk_sts::error::SdkError<
                aws_sdk_sts::operation::assume_role::AssumeRoleError,
                HttpResponse,
            >;
            if let Some(sts) = e.downcast_ref::<AssumeRoleSdkError>() {
                return FetchError::from_sdk("AssumeRole", sts);
            }
            source = e.source();
        }
        let chain = aws_smithy_types::error::display::DisplayErrorContext(err).to_string();
        let (code, message) = match err {
            SdkError::ServiceError(e) => {
                let status = e.raw().status().as_u16();
                let e = e.err();
                // An error body the SDK cannot parse still has a status: keep it in the label.
                let code = e
                    .code()
                    .map_or_else(|| format!("HTTP{status}"), str::to_owned);
                let message = e.message().unwrap_or("no message").to_owned();
                (code, message)
            }
            SdkError::TimeoutError(_) => (
                "Timeout".to_owned(),
                "no answer within --aws.timeout".to_owned(),
            ),
            SdkError::DispatchFailure(d) if d.is_timeout() => (
                "Timeout".to_owned(),
                "no answer within --aws.timeout".to_owned(),
            ),
            _ if is_credentials_problem(&chain) => (
                "NoCredentials".to_owned(),
                "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, \
                 a web identity token (IRSA) or an instance/task role"
                    .to_owned(),
            ),
            SdkError::DispatchFailure(d) if d.is_io() => ("ConnectionError".to_owned(), chain),
            SdkError::ResponseError(_) => ("ResponseError".to_owned(), chain),
            _ => ("DispatchFailure".to_owned(), chain),
        };
        let message = if matches!(
            code.as_str(),
            "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation"
        ) {
            format!(
                "{message} (the exporter's identity needs {})",
                permission(operation)
            )
        } else {
            message
        };
        FetchError {
            operation,
            code,
            message,
        }
    }

    fn code_is(&self, codes: &[&str]) -> bool {
        codes.contains(&self.code.as_str())
    }
}

fn is_credentials_problem(chain: &str) -> bool {
    let c = chain.to_ascii_lowercase();
    c.contains("no credentials")
        || c.contains("credentials provider")
        || c.contains("failed to load credentials")
        || c.contains("credentialsnotloaded")
        || c.contains("the credential provider was not enabled")
}

/// Errors seen during one refresh that did not necessarily fail it (retried, or optional calls).
pub type ErrorLog = Vec<FetchError>;

/// What one refresh fetched for one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub report: ReportDocument,
    pub summary: Option<Summary>,
    pub password_policy: PolicyState,
    pub root_virtual_mfa: Option<bool>,
}

/// The SDK configuration shared by every client: region, retries, timeouts.
pub async fn base_config(aws: &AwsSettings) -> SdkConfig {
    let attempt = aws.timeout;
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(aws.region.clone()))
        .retry_config(RetryConfig::standard().with_max_attempts(aws.max_attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(attempt.min(Duration::from_secs(10)))
                .operation_attempt_timeout(attempt)
                // Attempts plus the SDK's backoff between them (at most 20 s each).
                .operation_timeout(
                    attempt * aws.max_attempts + Duration::from_secs(20) * aws.max_attempts,
                )
                .build(),
        )
        .load()
        .await
}

/// An SDK configuration whose credentials come from assuming `role_arn` with the base
/// credentials; aws-config caches them and refreshes them before they expire.
pub async fn assumed_role_config(
    base: &SdkConfig,
    role_arn: &str,
    external_id: Option<&str>,
) -> SdkConfig {
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
        .session_name("aws-iam-exporter")
        .configure(base);
    if let Some(id) = external_id {
        provider = provider.external_id(id);
    }
    let provider = provider.build().await;
    base.to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build()
}

/// The IAM side of one account.
#[derive(Debug, Clone)]
pub struct IamSource {
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    report_timeout: Duration,
    /// First wait between polls of a report being generated; doubles up to 16x.
    poll_interval: Duration,
}

impl IamSource {
    pub fn new(config: &SdkConfig, report_timeout: Duration) -> IamSource {
        IamSource {
            iam: aws_sdk_iam::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            report_timeout,
            poll_interval: Duration::from_millis(500),
        }
    }

    /// Fetches everything of one refresh. The summary and the report are required; the password
    /// policy and the MFA device list are optional (their failures are logged in `errors`).
    pub async fn fetch(&self, errors: &mut ErrorLog) -> Result<Fetched, FetchError> {
        // The summary first: it is live, where the report may be hours old.
        let summary = self.summary().await?;
        let report = self.credential_report(errors).await?;
        let password_policy = match self.password_policy().await {
            Ok(p) => p,
            Err(e) => {
                errors.push(e);
                PolicyState::Unknown
            }
        };
        let root_virtual_mfa = match self.root_virtual_mfa().await {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        Ok(Fetched {
            report,
            summary: Some(summary),
            password_policy,
            root_virtual_mfa,
        })
    }

    async fn summary(&self) -> Result<Summary, FetchError> {
        const OP: &str = "GetAccountSummary";
        let out = self
            .iam
            .get_account_summary()
            .send()
            .await
            .map_err(|e| FetchError::from_sdk(OP, &e))?;
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
            match self.generate().await {
                Ok(true) => match self.download().await {
                    Ok(doc) => return Ok(doc),
                    // NB: a report can expire or vanish between Generate and Get; generate again.
                    Err(e)
                        if e.code_is(&[
                            "ReportInProgress",
                            "ReportNotPresent",
                            "ReportExpired",
                        ]) =>
                    {
                        errors.push(e)
                    }
                    Err(e) => return Err(e),
                },
                Ok(false) => {}
                // Too many Generate calls: the limit clears with time, like a report in progress.
                Err(e) if e.code_is(&["LimitExceeded"]) => errors.push(e),
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() + wait > deadline {
                return Err(FetchError {
                    operation: "GenerateCredentialReport",
                    code: "ReportTimeout".into(),
                    message: format!(
                        "the credential report was not ready within --credential-report.timeout {}",
                        humantime::format_duration(self.report_timeout)
                    ),
                });
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(self.poll_interval * 16);
        }
    }

    /// True when a report is complete and can be downloaded.
    async fn generate(&self) -> Result<bool, FetchError> {
        const OP: &str = "GenerateCredentialReport";
        let out = self
            .iam
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| FetchError::from_sdk(OP, &e))?;
        match out.state() {
            Some(ReportStateType::Complete) => Ok(true),
            Some(ReportStateType::Started | ReportStateType::Inprogress) => Ok(false),
            other => Err(FetchError {
                operation: OP,
                code: "ResponseError".into(),
                message: format!("unexpected report state {other:?}"),
            }),
        }
    }

    async fn download(&self) -> Result<ReportDocument, FetchError> {
        const OP: &str = "GetCredentialReport";
        let out = self
            .iam
            .get_credential_report()
            .send()
            .await
            .map_err(|e| FetchError::from_sdk(OP, &e))?;
        if let Some(format) = out.report_format()
            && format.as_str() != "text/csv"
        {
            return Err(FetchError {
                operation: OP,
                code: "ResponseError".into(),
                message: format!("report format `{}`, expected text/csv", format.as_str()),
            });
        }
        // The SDK has already decoded the base64 `Content` into bytes.
        let csv = out
            .content()
            .map(|b| b.as_ref().to_vec())
            .ok_or_else(|| FetchError {
                operation: OP,
                code: "ResponseError".into(),
                message: "the response has no Content".into(),
            })?;
        Ok(ReportDocument {
            csv,
            generated: out.generated_time().map(|t| t.secs()),
        })
    }

    async fn password_policy(&self) -> Result<PolicyState, FetchError> {
        const OP: &str = "GetAccountPasswordPolicy";
        match self.iam.get_account_password_policy().send().await {
            Ok(out) => Ok(match out.password_policy() {
                Some(p) => PolicyState::Present(PasswordPolicy {
                    minimum_length: p.minimum_password_length().map(i64::from),
                    reuse_prevention: p.password_reuse_prevention().map(i64::from),
                    max_age_days: p.max_password_age().map(i64::from),
                }),
                None => PolicyState::Absent,
            }),
            Err(e) => {
                let e = FetchError::from_sdk(OP, &e);
                // No policy is an answer (CIS 1.8/1.9 fail), not an error.
                if e.code_is(&["NoSuchEntity"]) {
                    Ok(PolicyState::Absent)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Whether a virtual MFA device is assigned to root (CIS 1.6: root MFA must be hardware).
    async fn root_virtual_mfa(&self) -> Result<bool, FetchError> {
        const OP: &str = "ListVirtualMFADevices";
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .iam
                .list_virtual_mfa_devices()
                .assignment_status(AssignmentStatusType::Assigned)
                .max_items(1000)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| FetchError::from_sdk(OP, &e))?;
            let root = out.virtual_mfa_devices().iter().any(|d| {
                d.serial_number().ends_with(":mfa/root-account-mfa-device")
                    || d.user().is_some_and(|u| u.arn().ends_with(":root"))
            });
            if root {
                return Ok(true);
            }
            match out.marker() {
                Some(m) if out.is_truncated() => marker = Some(m.to_owned()),
                _ => return Ok(false),
            }
        }
    }

    /// The account of the credentials in use (sts:GetCallerIdentity needs no permission).
    pub async fn caller_account(&self) -> Result<String, FetchError> {
        const OP: &str = "GetCallerIdentity";
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| FetchError::from_sdk(OP, &e))?;
        out.account().map(str::to_owned).ok_or_else(|| FetchError {
            operation: OP,
            code: "ResponseError".into(),
            message: "the response has no Account".into(),
        })
    }
}

/// An AWS Organizations account as discovery sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccount {
    pub id: String,
    pub name: Option<String>,
}

/// Every ACTIVE account of the organization, and the management account's id.
pub async fn organization_accounts(
    config: &SdkConfig,
) -> Result<(Vec<OrgAccount>, Option<String>), FetchError> {
    let client = aws_sdk_organizations::Client::new(config);
    let management = client
        .describe_organization()
        .send()
        .await
        .map_err(|e| FetchError::from_sdk("DescribeOrganization", &e))?
        .organization()
        .and_then(|o| o.master_account_id().map(str::to_owned));
    let mut accounts = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .list_accounts()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| FetchError::from_sdk("ListAccounts", &e))?;
        for a in out.accounts() {
            #[allow(deprecated)] // `status` is deprecated for `state`; accept either.
            let active = a
                .state()
                .map(|s| s.as_str() == "ACTIVE")
                .or(a.status().map(|s| s.as_str() == "ACTIVE"))
                .unwrap_or(false);
            if let (true, Some(id)) = (active, a.id()) {
                accounts.push(OrgAccount {
                    id: id.to_owned(),
                    name: a.name().map(str::to_owned),
                });
            }
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok((accounts, management))
}

/// The offline source: a report file and optionally a summary file.
#[derive(Debug, Clone)]
pub struct FileSource {
    pub report: PathBuf,
    pub summary: Option<PathBuf>,
    pub max_bytes: usize,
}

impl FileSource {
    pub fn fetch(&self) -> Result<Fetched, FetchError> {
        let bytes = read_limited(&self.report, self.max_bytes)?;
        let report = decode_document(&bytes, self.max_bytes).map_err(|e| FetchError {
            operation: "ReadFile",
            code: "BadReport".into(),
            message: format!("{}: {e}", self.report.display()),
        })?;
        let summary = match &self.summary {
            None => None,
            Some(path) => Some(parse_summary_json(&read_limited(path, 1 << 20)?).map_err(
                |why| FetchError {
                    operation: "ReadFile",
                    code: "BadSummary".into(),
                    message: format!("{}: {why}", path.display()),
                },
            )?),
        };
        Ok(Fetched {
            report,
            summary,
            password_policy: PolicyState::Unknown,
            root_virtual_mfa: None,
        })
    }
}

fn read_limited(path: &Path, max: usize) -> Result<Vec<u8>, FetchError> {
    let err = |why: String| FetchError {
        operation: "ReadFile",
        code: "FileError".into(),
        message: format!("{}: {why}", path.display()),
    };
    let len = std::fs::metadata(path)
        .map_err(|e| err(e.to_string()))?
        .len();
    if len > max as u64 {
        return Err(err(format!("{len} bytes, over the limit of {max} bytes")));
    }
    std::fs::read(path).map_err(|e| err(e.to_string()))
}

/// Parses the JSON of `aws iam get-account-summary`: `{"SummaryMap": {"Users": 3, ...}}`.
pub fn parse_summary_json(bytes: &[u8]) -> Result<Summary, String> {
    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(rename = "SummaryMap")]
        summary_map: std::collections::BTreeMap<String, serde_json::Value>,
    }
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| format!("not summary JSON: {e}"))?;
    doc.summary_map
        .into_iter()
        .map(|(k, v)| match v.as_i64() {
            Some(n) => Ok((k, n)),
            None => Err(format!("SummaryMap.{k}: `{v}` is not an integer")),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_json_keeps_every_key_and_names_bad_values() {
        let s = parse_summary_json(
            br#"{"SummaryMap": {"AccountAccessKeysPresent": 1, "Users": 3, "SomethingNew": 7}}"#,
        )
        .unwrap();
        assert_eq!(s.get("SomethingNew"), Some(7));
        assert_eq!(s.get("AccountAccessKeysPresent"), Some(1));
        let e = parse_summary_json(br#"{"SummaryMap": {"Users": "three"}}"#).unwrap_err();
        assert!(e.contains("SummaryMap.Users"), "{e}");
        assert!(parse_summary_json(b"[]").is_err());
    }

    #[test]
    fn access_denied_names_the_missing_permission() {
        assert_eq!(permission("GetCredentialReport"), "iam:GetCredentialReport");
        assert_eq!(permission("AssumeRole"), "sts:AssumeRole");
        assert_eq!(permission("ListAccounts"), "organizations:ListAccounts");
    }

    #[test]
    fn credential_problems_are_recognised_in_the_sdk_error_chain() {
        assert!(is_credentials_problem(
            "dispatch failure: other: no credentials provider was configured"
        ));
        assert!(!is_credentials_problem("io error: connection refused"));
    }

    #[test]
    fn files_over_the_limit_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        std::fs::write(&path, vec![b'a'; 5000]).unwrap();
        let src = FileSource {
            report: path,
            summary: None,
            max_bytes: 1024,
        };
        let e = src.fetch().unwrap_err();
        assert!(e.message.contains("over the limit"), "{e}");
    }
}
