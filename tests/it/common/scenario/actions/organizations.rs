//! AWS Organizations as the exporter's discovery calls it: DescribeOrganization and
//! ListAccounts. Organizations speaks JSON, not the Query protocol: `POST /` with
//! `X-Amz-Target: AWSOrganizationsV20161128.<Action>`, a JSON body, a JSON answer, and errors as
//! `{"__type": "<Code>", "message": ...}` (awsJson1_1).
//!
//! The calls act on the organization of [`ScenarioState::organization`] (none: the caller's
//! account is in no organization, `AWSOrganizationsNotInUseException`). They are counted on the
//! caller's account, refused with [`AccountHandle::deny`] and faulted with
//! [`AccountHandle::push_faults`] under their action names, like the IAM actions.
//!
//! [`AccountHandle::deny`]: super::super::AccountHandle::deny
//! [`AccountHandle::push_faults`]: super::super::AccountHandle::push_faults

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::json;

use super::super::super::serve::Resp;
use super::super::clock::unix;
use super::super::state::{Fault, OrganizationState, RecordedRequest, ScenarioState};
use super::super::wire::request_id;
use super::Plan;

/// The `X-Amz-Target` prefix of every Organizations call.
pub const TARGET_PREFIX: &str = "AWSOrganizationsV20161128.";

/// Records an Organizations call and plans its answer, as [`super::plan_response`] does for
/// the Query actions: counted, then refused, faulted, or answered.
pub(in super::super) fn plan_json_response(
    state: &Arc<Mutex<ScenarioState>>,
    action: &str,
    body: &[u8],
    akid: Option<String>,
) -> Plan {
    let params: serde_json::Value = serde_json::from_slice(body).unwrap_or(json!({}));
    let mut st = state.lock().unwrap();
    let issued = akid.as_ref().and_then(|k| st.issued.get(k).cloned());
    let account_id = issued
        .as_ref()
        .map(|i| i.account_id.clone())
        .unwrap_or_else(|| st.default_account.clone());
    st.record(RecordedRequest {
        action: action.to_string(),
        params: params
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect(),
        access_key_id: akid,
        service: Some("organizations".into()),
        headers: Default::default(),
    });
    let acct = st.account_mut(&account_id);
    *acct.calls.entry(action.to_string()).or_insert(0) += 1;
    if acct.denied.contains(action) {
        return Plan::Respond(json_error(
            400,
            "AccessDeniedException",
            &format!(
                "You don't have permissions to access this resource. (organizations:{action})"
            ),
        ));
    }
    let fault = acct.faults.get_mut(action).and_then(|q| q.pop_front());
    let action = action.to_string();
    let answer = move |st: &mut ScenarioState| answer(st, &action, &params);
    match fault {
        Some(Fault::Error {
            status,
            code,
            message,
            ..
        }) => Plan::Respond(json_error(status, &code, &message)),
        Some(f @ Fault::Raw { .. }) => Plan::Respond(super::super::wire::fault_response("", &f)),
        Some(Fault::Hang(d)) => {
            let state = state.clone();
            drop(st);
            Plan::HangThen(d, Box::new(move || answer(&mut state.lock().unwrap())))
        }
        None => Plan::Respond(answer(&mut st)),
    }
}

fn answer(st: &mut ScenarioState, action: &str, params: &serde_json::Value) -> Resp {
    let Some(org) = &st.organization else {
        return json_error(
            400,
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        );
    };
    match action {
        "DescribeOrganization" => describe_organization(org),
        "ListAccounts" => list_accounts(org, params),
        _ => json_error(
            400,
            "UnknownOperationException",
            &format!("{action} is not an operation of this server"),
        ),
    }
}

fn describe_organization(org: &OrganizationState) -> Resp {
    let m = &org.management_account_id;
    json_ok(&json!({"Organization": {
        "Id": org.id,
        "Arn": format!("arn:aws:organizations::{m}:organization/{}", org.id),
        "FeatureSet": "ALL",
        "MasterAccountArn": format!("arn:aws:organizations::{m}:account/{}/{m}", org.id),
        "MasterAccountId": m,
        "MasterAccountEmail": "management@example.com",
        "AvailablePolicyTypes": [],
    }}))
}

/// Pages of `page_size` accounts (`MaxResults` if smaller), `NextToken` `token-<start>`.
fn list_accounts(org: &OrganizationState, params: &serde_json::Value) -> Resp {
    let start: usize = params["NextToken"]
        .as_str()
        .and_then(|t| t.strip_prefix("token-"))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let page = params["MaxResults"]
        .as_u64()
        .map(|n| n as usize)
        .into_iter()
        .chain(org.page_size)
        .min()
        .unwrap_or(20)
        .max(1);
    let end = start.saturating_add(page).min(org.accounts.len());
    let m = &org.management_account_id;
    let accounts: Vec<serde_json::Value> = org
        .accounts
        .get(start..end)
        .unwrap_or(&[])
        .iter()
        .map(|a| {
            json!({
                "Id": a.id,
                "Arn": format!("arn:aws:organizations::{m}:account/{}/{}", org.id, a.id),
                "Email": format!("{}@example.com", a.id),
                "Name": a.name,
                "Status": a.state,
                "State": a.state,
                "JoinedMethod": "CREATED",
                "JoinedTimestamp": unix(super::super::clock::days_ago(100)),
            })
        })
        .collect();
    let mut body = json!({ "Accounts": accounts });
    if end < org.accounts.len() {
        body["NextToken"] = json!(format!("token-{end}"));
    }
    json_ok(&body)
}

fn json_ok(body: &serde_json::Value) -> Resp {
    json_answer(200, None, body)
}

/// An awsJson1_1 error: the code in `__type` and in `x-amzn-errortype`, as AWS sends it.
fn json_error(status: u16, code: &str, message: &str) -> Resp {
    json_answer(
        status,
        Some(code),
        &json!({"__type": code, "message": message}),
    )
}

fn json_answer(status: u16, error_type: Option<&str>, body: &serde_json::Value) -> Resp {
    let mut r = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", request_id());
    if let Some(code) = error_type {
        r = r.header("x-amzn-errortype", code);
    }
    r.body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}
