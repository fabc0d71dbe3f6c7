//! AWS Organizations for discovery: `DescribeOrganization` and `ListAccounts`, in Organizations'
//! own protocol (awsJson1_1: `POST /` with `X-Amz-Target: AWSOrganizationsV20161128.<Op>`, a
//! JSON body, JSON answers; errors as `{"__type": ..., "Message": ...}` with HTTP 400), so the
//! real aws-sdk-organizations reads them. Calls are counted and recorded on the signer's
//! account like IAM and STS calls, and [`AccountHandle::deny`] and injected [`Fault`]s work
//! for them too.
//!
//! Shapes (Organizations API reference): `Organization` has `Id`, `Arn`, `FeatureSet`,
//! `MasterAccountId`, `MasterAccountArn`, `MasterAccountEmail`; an `Account` has `Id`, `Arn`,
//! `Email`, `Name`, `Status` (deprecated) and `State`, `JoinedMethod`, `JoinedTimestamp` (epoch
//! seconds). `ListAccounts` pages with `NextToken`, at most 20 accounts a page.
//!
//! [`AccountHandle::deny`]: super::AccountHandle::deny

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::super::serve::Resp;
use super::clock::days_ago;
use super::state::{Fault, RecordedRequest, ScenarioState};
use super::wire::json_response;

/// The `X-Amz-Target` prefix of Organizations' operations.
pub const ORGANIZATIONS_TARGET: &str = "AWSOrganizationsV20161128.";

/// The organization the server describes.
#[derive(Debug, Clone)]
pub struct Organization {
    pub id: String,
    /// The management account (`MasterAccountId`).
    pub management: String,
    /// Every account, the management account included, in `ListAccounts` order.
    pub accounts: Vec<OrgAccount>,
}

/// One account of the organization.
#[derive(Debug, Clone)]
pub struct OrgAccount {
    pub id: String,
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, ...
    pub state: String,
}

impl OrgAccount {
    pub fn active(id: &str, name: &str) -> OrgAccount {
        OrgAccount {
            id: id.into(),
            name: name.into(),
            state: "ACTIVE".into(),
        }
    }
}

impl Organization {
    /// An organization whose management account is `management` (named `management`), with
    /// `members` (id, name), all active.
    pub fn new(management: &str, members: &[(&str, &str)]) -> Organization {
        let mut accounts = vec![OrgAccount::active(management, "management")];
        accounts.extend(
            members
                .iter()
                .map(|(id, name)| OrgAccount::active(id, name)),
        );
        Organization {
            id: "o-a1b2c3d4e5".into(),
            management: management.into(),
            accounts,
        }
    }
}

/// The largest `ListAccounts` page (AWS's maximum `MaxResults`).
const PAGE: usize = 20;

/// What to do with one Organizations request: answer, or wait first (without the lock).
pub(super) enum OrgPlan {
    Respond(Resp),
    HangThen(std::time::Duration, Box<dyn FnOnce() -> Resp + Send>),
}

/// Records, counts and answers the Organizations operation `op` signed with `akid`.
pub(super) fn plan(
    state: &Arc<Mutex<ScenarioState>>,
    op: &str,
    body: &[u8],
    akid: Option<String>,
) -> OrgPlan {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let mut st = state.lock().unwrap();
    let account_id = akid
        .as_ref()
        .and_then(|k| st.issued.get(k))
        .map(|i| i.account_id.clone())
        .unwrap_or_else(|| st.default_account.clone());
    let params = request
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    st.record(RecordedRequest {
        action: op.to_string(),
        params,
        access_key_id: akid,
        service: Some("organizations".into()),
        headers: Default::default(),
    });
    let acct = st.account_mut(&account_id);
    *acct.calls.entry(op.to_string()).or_insert(0) += 1;
    if acct.denied.contains(op) {
        let who = acct.caller_arn.clone();
        return OrgPlan::Respond(json_error(
            "AccessDeniedException",
            &format!(
                "You don't have permissions to access this resource. ({who}: organizations:{op})"
            ),
        ));
    }
    let fault = acct.faults.get_mut(op).and_then(|q| q.pop_front());
    let op = op.to_string();
    let answer = move |st: &mut ScenarioState| answer(st, &op, &request);
    match fault {
        Some(Fault::Error { code, message, .. }) => OrgPlan::Respond(json_error(&code, &message)),
        Some(Fault::Raw { status, body, .. }) => {
            OrgPlan::Respond(json_response(status, &Value::String(body)))
        }
        Some(Fault::Hang(d)) => {
            let state = state.clone();
            drop(st);
            OrgPlan::HangThen(d, Box::new(move || answer(&mut state.lock().unwrap())))
        }
        None => OrgPlan::Respond(answer(&mut st)),
    }
}

fn answer(st: &mut ScenarioState, op: &str, request: &Value) -> Resp {
    let Some(org) = &st.organization else {
        return json_error(
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        );
    };
    match op {
        "DescribeOrganization" => json_response(
            200,
            &json!({"Organization": {
                "Id": org.id,
                "Arn": format!("arn:aws:organizations::{}:organization/{}", org.management, org.id),
                "FeatureSet": "ALL",
                "MasterAccountArn": format!("arn:aws:organizations::{0}:account/{1}/{0}", org.management, org.id),
                "MasterAccountId": org.management,
                "MasterAccountEmail": format!("{}@example.com", org.management),
                "AvailablePolicyTypes": [],
            }}),
        ),
        "ListAccounts" => {
            let start = request
                .get("NextToken")
                .and_then(Value::as_str)
                .and_then(|t| t.strip_prefix("token-"))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            let size = request
                .get("MaxResults")
                .and_then(Value::as_u64)
                .map_or(PAGE, |n| (n as usize).clamp(1, PAGE));
            let end = start.saturating_add(size).min(org.accounts.len());
            let joined = days_ago(400).unix_timestamp();
            let accounts: Vec<Value> = org
                .accounts
                .get(start..end)
                .unwrap_or(&[])
                .iter()
                .map(|a| {
                    // `Status` is the deprecated field, `State` its successor: ACTIVE in both.
                    let status = if a.state == "ACTIVE" { "ACTIVE" } else { "SUSPENDED" };
                    json!({
                        "Id": a.id,
                        "Arn": format!("arn:aws:organizations::{}:account/{}/{}", org.management, org.id, a.id),
                        "Email": format!("{}@example.com", a.id),
                        "Name": a.name,
                        "Status": status,
                        "State": a.state,
                        "JoinedMethod": "CREATED",
                        "JoinedTimestamp": joined,
                    })
                })
                .collect();
            let mut out = json!({ "Accounts": accounts });
            if end < org.accounts.len() {
                out["NextToken"] = json!(format!("token-{end}"));
            }
            json_response(200, &out)
        }
        _ => json_error(
            "InvalidAction",
            &format!("scenario: Organizations operation {op} is not served"),
        ),
    }
}

/// An awsJson1_1 error: HTTP 400 and the code in `__type`.
fn json_error(code: &str, message: &str) -> Resp {
    json_response(400, &json!({"__type": code, "Message": message}))
}
