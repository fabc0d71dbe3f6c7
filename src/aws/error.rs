//! SDK errors -> [`FetchError`], by the SDK's own types: no string matching on messages.

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::fetch::{ErrorCode, FetchError, Operation};

/// Longest cause quoted in a message: an SDK error chain can run to kilobytes (a proxy's HTML
/// page, an instance metadata service's answer), and a log line should stay one line.
const MAX_CAUSE_CHARS: usize = 300;

/// What to do about missing credentials: the end of every credentials error.
const SET_CREDENTIALS: &str = "set AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a web \
     identity token (IRSA) or an instance/task role (docs/deployment.md, Credentials)";

/// Longest cause quoted in a credentials error, whose advice takes the rest of a short line.
const MAX_CREDENTIALS_CAUSE_CHARS: usize = 120;

type ImdsTokenError = SdkError<aws_config::imds::client::error::TokenError, HttpResponse>;

type AssumeRoleSdkError = aws_sdk_sts::error::SdkError<
    aws_sdk_sts::operation::assume_role::AssumeRoleError,
    HttpResponse,
>;

/// Classifies a failed SDK call.
pub(crate) fn from_sdk<E>(operation: Operation, err: &SdkError<E, HttpResponse>) -> FetchError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    // NB: with an assumed role, a refused AssumeRole surfaces inside the IAM call's
    // credentials failure, and any credentials failure (no provider, IMDS answering 403, an
    // expired SSO session) inside a dispatch failure. Report each as what it is.
    // The AssumeRole failure first: it sits deeper in the chain than the credentials error
    // that wraps it.
    let chain = || std::iter::successors(std::error::Error::source(err), |e| e.source());
    if let Some(sts) = chain().find_map(|e| e.downcast_ref::<AssumeRoleSdkError>()) {
        return from_sdk(Operation::AssumeRole, sts);
    }
    if let Some(c) = chain().find_map(|e| e.downcast_ref::<CredentialsError>()) {
        return FetchError::new(
            operation,
            ErrorCode::NoCredentials,
            format!(
                "no AWS credentials: {}; {SET_CREDENTIALS}",
                why_no_credentials(c)
            ),
        );
    }
    let (code, message) = match err {
        SdkError::ServiceError(e) => {
            let status = e.raw().status().as_u16();
            let e = e.err();
            // An error body the SDK cannot parse still has a status: keep it in the label.
            let code = e
                .code()
                .map_or(ErrorCode::Http(status), |c| ErrorCode::Aws(c.to_owned()));
            (code, e.message().unwrap_or("no message").to_owned())
        }
        SdkError::TimeoutError(_) => (ErrorCode::Timeout, "no answer within --aws.timeout".into()),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            (ErrorCode::Timeout, "no answer within --aws.timeout".into())
        }
        SdkError::DispatchFailure(d) if d.is_io() => (ErrorCode::Connection, cause(err)),
        SdkError::ResponseError(_) => (ErrorCode::Response, cause(err)),
        _ => (ErrorCode::Dispatch, cause(err)),
    };
    let message = if code.is_access_denied() {
        format!("{message} ({})", operation.access_hint())
    } else {
        message
    };
    FetchError::new(operation, code, message)
}

/// Why the default chain gave no credentials, in a few words: the instance metadata service's
/// answer where it gave one (the usual trouble on EC2 and in containers), else the chain's own
/// words, cut short.
fn why_no_credentials(c: &CredentialsError) -> String {
    use aws_config::imds::client::error::ImdsError;
    let chain = || {
        std::iter::successors(Some(c as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
    };
    let imds_status = chain().find_map(|e| {
        if let Some(token) = e.downcast_ref::<ImdsTokenError>() {
            return token.raw_response().map(|r| r.status().as_u16());
        }
        match e.downcast_ref::<ImdsError>() {
            Some(ImdsError::ErrorResponse(r)) => Some(r.response().status().as_u16()),
            _ => None,
        }
    });
    match (c, imds_status) {
        (_, Some(403)) => "the instance metadata service (IMDS) answered 403 Forbidden: it is \
             turned off for the instance, or IMDSv2's hop limit of 1 keeps a container from it"
            .to_owned(),
        (_, Some(status)) => {
            format!("the instance metadata service (IMDS) answered HTTP {status}")
        }
        (CredentialsError::CredentialsNotLoaded(_), None) => {
            "no provider of the default chain is configured".to_owned()
        }
        (CredentialsError::ProviderTimedOut(t), None) => format!(
            "the credentials provider gave no answer within {}",
            humantime::format_duration(t.timeout_duration())
        ),
        _ => cut_chain(c, MAX_CREDENTIALS_CAUSE_CHARS),
    }
}

/// The error and its causes on one line, cut to [`MAX_CAUSE_CHARS`].
fn cause(err: &(dyn std::error::Error + 'static)) -> String {
    cut_chain(err, MAX_CAUSE_CHARS)
}

/// `error: cause: cause's cause`, each message once (the SDK's wrappers often repeat their
/// source's), on one line and cut to `max` characters. Display only: never the `Debug` dump
/// that the SDK's `DisplayErrorContext` appends.
fn cut_chain(err: &(dyn std::error::Error + 'static), max: usize) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in std::iter::successors(Some(err), |e| e.source()) {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    crate::text::cut(&parts.join(": "), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_causes_are_cut_to_one_short_line() {
        #[derive(Debug)]
        struct Long;
        impl std::fmt::Display for Long {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&"403 Forbidden\n<html>".repeat(200))
            }
        }
        impl std::error::Error for Long {}
        let c = cause(&Long);
        assert!(c.chars().count() <= MAX_CAUSE_CHARS + 3, "{}", c.len());
        assert!(!c.contains('\n'));
        assert!(c.ends_with("..."));
    }

    #[test]
    fn a_cause_is_its_chain_of_messages_never_a_debug_dump() {
        #[derive(Debug)]
        struct Outer(Inner);
        #[derive(Debug)]
        struct Inner;
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("dispatch failure")
            }
        }
        impl std::fmt::Display for Inner {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("connection refused")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        impl std::error::Error for Inner {}
        assert_eq!(cause(&Outer(Inner)), "dispatch failure: connection refused");
    }

    #[test]
    fn a_credentials_error_anywhere_in_the_chain_is_no_credentials() {
        // An instance metadata service answering 403 gives a provider error, not a
        // "no credentials" text: the type is what counts.
        let imds = CredentialsError::provider_error("IMDS returned 403 Forbidden ".repeat(80));
        let err: SdkError<
            aws_sdk_iam::operation::get_account_summary::GetAccountSummaryError,
            HttpResponse,
        > = SdkError::dispatch_failure(
            aws_smithy_runtime_api::client::result::ConnectorError::other(Box::new(imds), None),
        );
        let e = from_sdk(Operation::GetAccountSummary, &err);
        assert_eq!(e.code, ErrorCode::NoCredentials, "{e}");
        assert!(e.message.len() < 330, "{}: {}", e.message.len(), e.message);
        assert!(!e.message.contains("ProviderError("), "{}", e.message);
        assert!(e.message.contains("docs/deployment.md"), "{}", e.message);
    }
}
