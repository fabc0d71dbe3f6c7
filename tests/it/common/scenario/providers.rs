//! The endpoints the AWS SDK's credential providers call, served beside IAM and STS, so that
//! a test can run the exporter with one provider configured and see which credentials its
//! IAM calls were signed with:
//!
//! - EC2 instance metadata, IMDSv2 (`AWS_EC2_METADATA_SERVICE_ENDPOINT=<endpoint>`):
//!   `PUT /latest/api/token` with `x-aws-ec2-metadata-token-ttl-seconds` answers
//!   [`IMDS_TOKEN`]; with that token in `x-aws-ec2-metadata-token`,
//!   `GET /latest/meta-data/iam/security-credentials/` answers [`IMDS_ROLE`] and
//!   `GET /latest/meta-data/iam/security-credentials/<role>` its credentials. Without the token:
//!   401, as IMDSv2 answers.
//! - ECS and EKS container credentials (`AWS_CONTAINER_CREDENTIALS_FULL_URI=<endpoint>/v2/credentials/<id>`):
//!   `GET /v2/credentials/<id>` answers the credentials' JSON.
//! - IAM Identity Center, the SSO portal (`AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_SSO`):
//!   `GET /federation/credentials?role_name=&account_id=` with `x-amz-sso_bearer_token`.
//!
//! Each endpoint's calls are counted on the default account and recorded with their headers,
//! under the names of [`ENDPOINTS`]; the credentials they hand out are issued with that name
//! as [`IssuedCredentials::issued_by`]. An endpoint denied on the default account
//! (`s.deny("ImdsGetToken")`) answers 403 Forbidden, as IMDS does where it is turned off for
//! the instance or a hop limit keeps a container from it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use hyper::Method;
use serde_json::json;

use super::super::serve::Resp;
use super::clock::{fmt_iso_z, now};
use super::state::{IssuedCredentials, IssuedKey, RecordedRequest, ScenarioState};
use super::wire::{json_response, text_response};

/// The IMDSv2 session token the server hands out and requires.
pub const IMDS_TOKEN: &str = "scenario-imds-token";
/// The instance profile's role (IMDS).
pub const IMDS_ROLE: &str = "aws-iam-exporter-instance";

const IMDS_CREDENTIALS: &str = "/latest/meta-data/iam/security-credentials/";

/// The recorded name of each endpoint: (method, path or path prefix, name).
pub const ENDPOINTS: [(&str, &str, &str); 4] = [
    ("PUT", "/latest/api/token", "ImdsGetToken"),
    ("GET", IMDS_CREDENTIALS, "ImdsGetRoleCredentials"),
    ("GET", "/v2/credentials/", "EcsGetCredentials"),
    ("GET", "/federation/credentials", "SsoGetRoleCredentials"),
];

/// The endpoint's name when `method path` is one of them.
pub(super) fn endpoint(method: &Method, path: &str) -> Option<&'static str> {
    ENDPOINTS
        .iter()
        .find(|(m, p, _)| method.as_str() == *m && path.starts_with(p))
        .map(|(_, _, name)| *name)
}

/// Records and answers a call to the endpoint `name`.
pub(super) fn answer(
    state: &Mutex<ScenarioState>,
    name: &'static str,
    path: &str,
    params: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
) -> Resp {
    let mut st = state.lock().unwrap();
    let default_account = st.default_account.clone();
    *st.account_mut(&default_account)
        .calls
        .entry(name.to_string())
        .or_insert(0) += 1;
    st.record(RecordedRequest {
        action: name.to_string(),
        params: params.clone(),
        access_key_id: None,
        service: None,
        headers: headers.clone(),
    });
    if st.account_mut(&default_account).denied.contains(name) {
        return text_response(403, "Forbidden", &[]);
    }
    let issue = |st: &mut ScenarioState, account_id: &str, role: &str| {
        let session = IssuedCredentials {
            account_id: account_id.to_string(),
            role_arn: format!("arn:aws:iam::{account_id}:role/{role}"),
            session_name: name.to_string(),
            issued_by: name.to_string(),
        };
        (st.issue(session.clone()), session)
    };
    match name {
        "ImdsGetToken" => match headers.get("x-aws-ec2-metadata-token-ttl-seconds") {
            Some(ttl) => text_response(
                200,
                IMDS_TOKEN,
                &[("x-aws-ec2-metadata-token-ttl-seconds", ttl)],
            ),
            None => text_response(400, "", &[]),
        },
        "ImdsGetRoleCredentials" => {
            if headers.get("x-aws-ec2-metadata-token").map(String::as_str) != Some(IMDS_TOKEN) {
                return text_response(401, "", &[]);
            }
            match path.strip_prefix(IMDS_CREDENTIALS) {
                Some("") => text_response(200, IMDS_ROLE, &[]),
                Some(IMDS_ROLE) => {
                    let (key, _) = issue(&mut st, &default_account, IMDS_ROLE);
                    let mut body = credentials_json(&key, None);
                    body["Code"] = json!("Success");
                    body["Type"] = json!("AWS-HMAC");
                    body["LastUpdated"] = json!(fmt_iso_z(now()));
                    json_response(200, &body)
                }
                Some(_) | None => text_response(404, "", &[]),
            }
        }
        "EcsGetCredentials" => {
            let (key, session) = issue(&mut st, &default_account, "aws-iam-exporter-task");
            json_response(200, &credentials_json(&key, Some(&session.role_arn)))
        }
        "SsoGetRoleCredentials" => {
            let (Some(role), Some(account_id)) =
                (params.get("role_name"), params.get("account_id"))
            else {
                return json_response(
                    400,
                    &json!({"message": "role_name and account_id are required"}),
                );
            };
            if headers
                .get("x-amz-sso_bearer_token")
                .is_none_or(String::is_empty)
            {
                return json_response(
                    401,
                    &json!({"message": "Session token not found or invalid"}),
                );
            }
            let (key, _) = issue(
                &mut st,
                account_id,
                &format!("AWSReservedSSO_{role}_0123456789abcdef"),
            );
            json_response(
                200,
                &json!({"roleCredentials": {
                    "accessKeyId": key.access_key_id,
                    "secretAccessKey": key.secret_access_key,
                    "sessionToken": key.session_token,
                    "expiration": key.expiration.unix_timestamp() * 1000,
                }}),
            )
        }
        _ => unreachable!("{name} is not in ENDPOINTS"),
    }
}

/// The JSON of IMDS and of the container credentials endpoint.
fn credentials_json(key: &IssuedKey, role_arn: Option<&str>) -> serde_json::Value {
    let mut body = json!({
        "AccessKeyId": key.access_key_id,
        "SecretAccessKey": key.secret_access_key,
        "Token": key.session_token,
        "Expiration": fmt_iso_z(key.expiration),
    });
    if let Some(arn) = role_arn {
        body["RoleArn"] = json!(arn);
    }
    body
}
