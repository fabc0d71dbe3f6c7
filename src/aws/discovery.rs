//! AWS Organizations: the member accounts a multi-account exporter discovers.

use aws_config::SdkConfig;

use super::error::from_sdk;
use super::pages::{Page, sdk_pages};
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
    let accounts = sdk_pages(
        Operation::ListAccounts,
        |token| client.list_accounts().set_next_token(token).send(),
        |out| Page {
            items: out
                .accounts()
                .iter()
                .filter(|a| {
                    #[allow(deprecated)] // `status` is deprecated for `state`; accept either.
                    let active = a
                        .state()
                        .map(|s| s.as_str() == "ACTIVE")
                        .or(a.status().map(|s| s.as_str() == "ACTIVE"))
                        .unwrap_or(false);
                    active
                })
                .filter_map(|a| {
                    Some(OrgAccount {
                        id: a.id()?.to_owned(),
                        name: a.name().map(str::to_owned),
                    })
                })
                .collect(),
            // A `NextToken` says there is more; an empty one ends the list, as the SDK's own
            // paginator reads it (ListAccounts has no truncated flag to contradict it).
            next: out
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        },
    )
    .await?;
    Ok((accounts, management))
}
