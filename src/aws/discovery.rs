//! AWS Organizations: the member accounts a multi-account exporter discovers.

use aws_config::SdkConfig;

use super::error::from_sdk;
use crate::fetch::{FetchError, Operation};

/// An AWS Organizations account as discovery sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccount {
    pub id: String,
    pub name: Option<String>,
}

/// Every ACTIVE account of the organization, and the management account's id.
pub(super) async fn organization_accounts(
    config: &SdkConfig,
) -> Result<(Vec<OrgAccount>, Option<String>), FetchError> {
    let client = aws_sdk_organizations::Client::new(config);
    let management = client
        .describe_organization()
        .send()
        .await
        .map_err(|e| from_sdk(Operation::DescribeOrganization, &e))?
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
            .map_err(|e| from_sdk(Operation::ListAccounts, &e))?;
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
