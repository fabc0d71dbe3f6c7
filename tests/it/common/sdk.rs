//! The AWS SDK on the test's side (seeding moto, talking to the scenario server directly):
//! configurations pointed at a local endpoint with explicit credentials, and every item of a
//! paginated call.

use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;

/// Static credentials (`provider_name` "tests").
pub fn static_credentials(access_key_id: &str, secret: &str) -> Credentials {
    Credentials::new(access_key_id, secret, None, None, "tests")
}

/// The `testing`/`testing` key: moto's and the scenario server's default account.
pub fn testing_credentials() -> Credentials {
    static_credentials("testing", "testing")
}

/// The credentials an sts:AssumeRole answered (`provider_name` "assumed").
pub fn assumed_credentials(out: &AssumeRoleOutput) -> Credentials {
    let c = out
        .credentials()
        .expect("AssumeRole answered no credentials");
    Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "assumed",
    )
}

/// A configuration loader for `endpoint` in us-east-1 with `credentials`; add retry or
/// timeout settings before `.load()`.
pub fn sdk_loader(endpoint: &str, credentials: Credentials) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
}

/// [`sdk_loader`], loaded.
pub async fn sdk_config(endpoint: &str, credentials: Credentials) -> SdkConfig {
    sdk_loader(endpoint, credentials).load().await
}

/// Every item a paginated SDK call lists, over every page (the paginator follows the markers);
/// panics on an error. `$request` is the fluent builder, e.g. `iam.list_server_certificates()`.
/// A macro: each call's paginator is its own type, with no trait in common.
macro_rules! every_item {
    ($request:expr) => {
        $request
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap()
    };
}
pub(crate) use every_item;
