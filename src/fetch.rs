//! What a source (AWS or offline files) hands the refresh loop, and how it fails.
//!
//! No I/O and no SDK types here: [`crate::aws`] and [`crate::offline`] produce these, the
//! refresh loop and the pure core consume them. Adding an AWS call means a method in
//! `aws/account.rs` and a field in [`Facts`] (the pure core's input); nothing in between
//! copies fields.

use std::borrow::Cow;
use std::fmt;

pub use crate::posture::{Facts, OrganizationFeatures, ServiceCredential};
use crate::report::ReportDocument;

/// What one refresh fetched for one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The credential report, still to be parsed (CPU work, done off the async workers).
    pub report: ReportDocument,
    pub facts: Facts,
}

/// What a fast check fetched: the signals that page, each `None` when its call failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveFacts {
    /// GetAccountSummary (root access keys, root MFA, root password).
    pub summary: Option<crate::posture::Summary>,
    /// The exposed-key quarantine lookup.
    pub quarantine: Option<crate::posture::quarantine::Quarantine>,
}

/// The call that failed: a metric label and the IAM permission it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    GetAccountSummary,
    GenerateCredentialReport,
    GetCredentialReport,
    GetAccountPasswordPolicy,
    ListVirtualMfaDevices,
    ListServiceSpecificCredentials,
    ListServerCertificates,
    ListOrganizationsFeatures,
    // The exposed-key quarantine lookup (AWS managed policies attached, their entities, the
    // members of a group that has one).
    ListPolicies,
    ListEntitiesForPolicy,
    GetGroup,
    GetCallerIdentity,
    AssumeRole,
    DescribeOrganization,
    ListAccounts,
    // A member's root through centralized root access (organizations.root_audit): AssumeRoot
    // with the exporter's credentials, the rest with the root session's (the task policy
    // IAMAuditRootUserCredentials grants them), each about root itself.
    AssumeRoot,
    GetUser,
    GetLoginProfile,
    ListAccessKeys,
    GetAccessKeyLastUsed,
    ListMfaDevices,
    ListSigningCertificates,
    /// Offline mode: reading a report or summary file.
    ReadFile,
}

impl Operation {
    /// The AWS API name: the `operation` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::GetAccountSummary => "GetAccountSummary",
            Operation::GenerateCredentialReport => "GenerateCredentialReport",
            Operation::GetCredentialReport => "GetCredentialReport",
            Operation::GetAccountPasswordPolicy => "GetAccountPasswordPolicy",
            Operation::ListVirtualMfaDevices => "ListVirtualMFADevices",
            Operation::ListServiceSpecificCredentials => "ListServiceSpecificCredentials",
            Operation::ListServerCertificates => "ListServerCertificates",
            Operation::ListOrganizationsFeatures => "ListOrganizationsFeatures",
            Operation::ListPolicies => "ListPolicies",
            Operation::ListEntitiesForPolicy => "ListEntitiesForPolicy",
            Operation::GetGroup => "GetGroup",
            Operation::GetCallerIdentity => "GetCallerIdentity",
            Operation::AssumeRole => "AssumeRole",
            Operation::DescribeOrganization => "DescribeOrganization",
            Operation::ListAccounts => "ListAccounts",
            Operation::AssumeRoot => "AssumeRoot",
            Operation::GetUser => "GetUser",
            Operation::GetLoginProfile => "GetLoginProfile",
            Operation::ListAccessKeys => "ListAccessKeys",
            Operation::GetAccessKeyLastUsed => "GetAccessKeyLastUsed",
            Operation::ListMfaDevices => "ListMFADevices",
            Operation::ListSigningCertificates => "ListSigningCertificates",
            Operation::ReadFile => "ReadFile",
        }
    }

    /// The IAM permission this call needs.
    pub fn permission(self) -> String {
        let service = match self {
            Operation::GetCallerIdentity | Operation::AssumeRole | Operation::AssumeRoot => "sts",
            Operation::DescribeOrganization | Operation::ListAccounts => "organizations",
            Operation::ReadFile => return "read access to the file".to_owned(),
            _ => "iam",
        };
        format!("{service}:{}", self.as_str())
    }
}

impl Operation {
    /// Whether a root session makes this call (its permission comes from the task policy, not
    /// from the exporter's identity).
    pub fn is_root_task(self) -> bool {
        matches!(
            self,
            Operation::GetUser
                | Operation::GetLoginProfile
                | Operation::ListAccessKeys
                | Operation::GetAccessKeyLastUsed
                | Operation::ListMfaDevices
                | Operation::ListSigningCertificates
        )
    }

    /// What an `AccessDenied` of this call means: the permission the exporter's identity lacks,
    /// or, for a root session's call, a deny in the member account (the task policy grants it).
    pub fn access_hint(self) -> String {
        if self.is_root_task() {
            format!(
                "the root session's task policy grants {}: a service control policy of the member account denies it to root",
                self.permission()
            )
        } else {
            format!("the exporter's identity needs {}", self.permission())
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a call failed, as far as the refresh loop and the metrics care. The `code` label comes
/// from [`ErrorCode::label`] only, so label values stay few and stable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    /// AWS's own error code, as sent (`AccessDenied`, `Throttling`, ...).
    Aws(String),
    /// An error response without a code AWS's way (e.g. a proxy's 502).
    Http(u16),
    /// No answer within `--aws.timeout`.
    Timeout,
    /// The credential chain found no credentials, or its provider failed.
    NoCredentials,
    /// The connection failed (DNS, refused, reset).
    Connection,
    /// The response could not be read or made no sense.
    Response,
    /// Anything else the SDK could not send.
    Dispatch,
    /// The credential report was still being generated at `--credential-report.timeout`.
    ReportTimeout,
    /// Offline: the file could not be read.
    File,
    /// Offline: the report file is not a report.
    BadReport,
    /// Offline: the summary file is not summary JSON.
    BadSummary,
    /// sts:AssumeRoot would have gone to STS's global endpoint, which does not serve it.
    GlobalEndpoint,
}

impl ErrorCode {
    /// The `code` label of `aws_iam_exporter_aws_errors_total`.
    pub fn label(&self) -> Cow<'_, str> {
        match self {
            ErrorCode::Aws(code) => Cow::Borrowed(code),
            ErrorCode::Http(status) => Cow::Owned(format!("HTTP{status}")),
            ErrorCode::Timeout => Cow::Borrowed("Timeout"),
            ErrorCode::NoCredentials => Cow::Borrowed("NoCredentials"),
            ErrorCode::Connection => Cow::Borrowed("ConnectionError"),
            ErrorCode::Response => Cow::Borrowed("ResponseError"),
            ErrorCode::Dispatch => Cow::Borrowed("DispatchFailure"),
            ErrorCode::ReportTimeout => Cow::Borrowed("ReportTimeout"),
            ErrorCode::File => Cow::Borrowed("FileError"),
            ErrorCode::BadReport => Cow::Borrowed("BadReport"),
            ErrorCode::BadSummary => Cow::Borrowed("BadSummary"),
            ErrorCode::GlobalEndpoint => Cow::Borrowed("GlobalEndpoint"),
        }
    }

    /// AWS refused the call for lack of permission.
    pub fn is_access_denied(&self) -> bool {
        self.is_aws("AccessDenied") || self.is_aws("UnauthorizedOperation")
    }

    /// AWS answered with the error code `name`, with or without the `Exception` suffix that
    /// some services' protocols add (`AccessDenied`, `AccessDeniedException`).
    pub fn is_aws(&self, name: &str) -> bool {
        matches!(self, ErrorCode::Aws(c) if c.strip_suffix("Exception").unwrap_or(c) == name)
    }
}

/// A failed call: which operation, why, and a message for humans (short: one log line).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{operation}: {}: {message}", code.label())]
pub struct FetchError {
    pub operation: Operation,
    pub code: ErrorCode,
    pub message: String,
}

impl FetchError {
    pub fn new(operation: Operation, code: ErrorCode, message: impl Into<String>) -> FetchError {
        FetchError {
            operation,
            code,
            message: message.into(),
        }
    }
}

/// Errors seen during one refresh that did not fail it (retried, or optional calls).
pub type ErrorLog = Vec<FetchError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_denied_names_the_missing_permission() {
        assert_eq!(
            Operation::GetCredentialReport.permission(),
            "iam:GetCredentialReport"
        );
        assert_eq!(Operation::AssumeRole.permission(), "sts:AssumeRole");
        assert_eq!(
            Operation::ListAccounts.permission(),
            "organizations:ListAccounts"
        );
        assert_eq!(
            Operation::ListVirtualMfaDevices.permission(),
            "iam:ListVirtualMFADevices"
        );
        assert_eq!(Operation::AssumeRoot.permission(), "sts:AssumeRoot");
        assert_eq!(
            Operation::AssumeRoot.access_hint(),
            "the exporter's identity needs sts:AssumeRoot"
        );
        assert!(
            Operation::ListAccessKeys
                .access_hint()
                .starts_with("the root session's task policy grants iam:ListAccessKeys")
        );
    }

    #[test]
    fn error_labels_are_the_aws_code_or_one_of_ours() {
        assert_eq!(ErrorCode::Aws("Throttling".into()).label(), "Throttling");
        assert_eq!(ErrorCode::Http(502).label(), "HTTP502");
        assert_eq!(ErrorCode::Connection.label(), "ConnectionError");
        let e = FetchError::new(Operation::ReadFile, ErrorCode::File, "x.csv: missing");
        assert_eq!(e.to_string(), "ReadFile: FileError: x.csv: missing");
    }
}
