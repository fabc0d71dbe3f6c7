//! The IAM and STS actions the scenario server answers: one function per action, and
//! [`ACTIONS`], the table that routes `Action=` to them.
//!
//! Adding an action is one function and one row:
//! 1. write `fn list_policies(st: &mut ScenarioState, call: &Call) -> Resp` in the file of its
//!    area (a new file for a new area: `policies.rs`, `certificates.rs`, ...): read the account
//!    with `call.account(st)` and the parameters in `call.params`; answer with [`ok_xml`] (the
//!    `<ActionResult>` body) or [`error_response`]; page a list with [`page_of`] and end it
//!    with [`truncation_xml`]; issue credentials (sts:AssumeRoot) with
//!    [`ScenarioState::issue`];
//! 2. add `("ListPolicies", Service::Iam, policies::list_policies)` to [`ACTIONS`].
//!
//! Call counts, recorded requests, [`AccountHandle::deny`] and injected [`Fault`]s then work
//! for it with nothing more. The account's data goes in [`AccountState`], with a setter on
//! [`AccountHandle`] when tests set it often.
//!
//! [`AccountHandle::deny`]: super::AccountHandle::deny
//! [`AccountState`]: super::state::AccountState
//! [`AccountHandle`]: super::AccountHandle
//! [`ok_xml`]: super::wire::ok_xml
//! [`page_of`]: super::wire::page_of
//! [`truncation_xml`]: super::wire::truncation_xml

mod account;
mod certificates;
mod credentials;
mod organizations;
mod policies;
mod report;
mod root;
mod sts;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::super::serve::Resp;
use super::root::RootSessionCall;
use super::state::{AccountState, Fault, IssuedCredentials, RecordedRequest, ScenarioState};
use super::wire::{IAM_XMLNS, STS_VERSION, STS_XMLNS, error_response, fault_response};
pub(super) use organizations::{TARGET_PREFIX as ORGANIZATIONS_TARGET, plan_json_response};

/// The service an action belongs to: its XML namespace and its IAM-policy prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Service {
    Iam,
    Sts,
}

impl Service {
    fn xmlns(self) -> &'static str {
        match self {
            Service::Iam => IAM_XMLNS,
            Service::Sts => STS_XMLNS,
        }
    }
    fn prefix(self) -> &'static str {
        match self {
            Service::Iam => "iam",
            Service::Sts => "sts",
        }
    }
}

/// One call to answer.
pub(super) struct Call<'a> {
    /// The account it acts on: the issued credentials' account, else the default account; for
    /// sts:AssumeRoot, its target (when the server knows it).
    pub account_id: &'a str,
    /// The account of the credentials it was signed with (the default account for any key the
    /// server did not issue).
    pub signer_account: &'a str,
    pub action: &'a str,
    /// The form parameters (query string and body).
    pub params: &'a BTreeMap<String, String>,
    /// The session of the credentials it was signed with, when the server issued them.
    pub issued: Option<&'a IssuedCredentials>,
}

impl Call<'_> {
    /// The state of the account the call acts on.
    pub fn account<'s>(&self, st: &'s mut ScenarioState) -> &'s mut AccountState {
        st.account_mut(self.account_id)
    }
}

/// What answers one action: the state under the lock, the call.
pub(super) type Handler = fn(&mut ScenarioState, &Call) -> Resp;

/// Every action the server answers; any other answers 400 InvalidAction.
const ACTIONS: &[(&str, Service, Handler)] = &[
    (
        "GetAccountSummary",
        Service::Iam,
        account::get_account_summary,
    ),
    (
        "GetAccountPasswordPolicy",
        Service::Iam,
        account::get_account_password_policy,
    ),
    (
        "ListOrganizationsFeatures",
        Service::Iam,
        account::list_organizations_features,
    ),
    (
        "ListServerCertificates",
        Service::Iam,
        certificates::list_server_certificates,
    ),
    (
        "GenerateCredentialReport",
        Service::Iam,
        report::generate_credential_report,
    ),
    (
        "GetCredentialReport",
        Service::Iam,
        report::get_credential_report,
    ),
    (
        "ListVirtualMFADevices",
        Service::Iam,
        credentials::list_virtual_mfa_devices,
    ),
    (
        "ListServiceSpecificCredentials",
        Service::Iam,
        credentials::list_service_specific_credentials,
    ),
    ("ListPolicies", Service::Iam, policies::list_policies),
    (
        "ListEntitiesForPolicy",
        Service::Iam,
        policies::list_entities_for_policy,
    ),
    ("GetGroup", Service::Iam, policies::get_group),
    ("GetCallerIdentity", Service::Sts, sts::get_caller_identity),
    ("AssumeRole", Service::Sts, sts::assume_role),
    (
        "AssumeRoleWithWebIdentity",
        Service::Sts,
        sts::assume_role_with_web_identity,
    ),
    // Centralized root access: AssumeRoot and the root-task calls of IAMAuditRootUserCredentials.
    ("AssumeRoot", Service::Sts, root::assume_root),
    ("GetUser", Service::Iam, root::get_user),
    ("GetLoginProfile", Service::Iam, root::get_login_profile),
    ("ListAccessKeys", Service::Iam, root::list_access_keys),
    (
        "GetAccessKeyLastUsed",
        Service::Iam,
        root::get_access_key_last_used,
    ),
    ("ListMFADevices", Service::Iam, root::list_mfa_devices),
    (
        "ListSigningCertificates",
        Service::Iam,
        root::list_signing_certificates,
    ),
];

fn lookup(action: &str) -> Option<(Service, Handler)> {
    ACTIONS
        .iter()
        .find(|(name, _, _)| *name == action)
        .map(|(_, service, handler)| (*service, *handler))
}

/// How to answer a request: now, or after a hang (without the lock held meanwhile).
pub(super) enum Plan {
    Respond(Resp),
    HangThen(Duration, Box<dyn FnOnce() -> Resp + Send>),
}

/// Records an IAM/STS request and plans its answer: the call counted on its account (an
/// AssumeRoot on its target), then a call a root session's task policy does not allow
/// (recorded, refused), a refusal ([`AccountHandle::deny`](super::AccountHandle::deny)), the
/// next injected fault, or the action's answer (after the server's latency, if set).
pub(super) fn plan_response(
    state: &Arc<Mutex<ScenarioState>>,
    params: BTreeMap<String, String>,
    akid: Option<String>,
    service: Option<String>,
) -> Plan {
    let action = params.get("Action").cloned().unwrap_or_default();
    let version = params.get("Version").cloned().unwrap_or_default();
    let known = lookup(&action);
    let is_sts = version == STS_VERSION
        || service.as_deref() == Some("sts")
        || known.is_some_and(|(s, _)| s == Service::Sts);
    let service_of_call = if is_sts { Service::Sts } else { Service::Iam };
    let xmlns = service_of_call.xmlns();

    let mut st = state.lock().unwrap();
    let issued = akid.as_ref().and_then(|k| st.issued.get(k).cloned());
    let signer_account = issued
        .as_ref()
        .map(|i| i.account_id.clone())
        .unwrap_or_else(|| st.default_account.clone());
    // AssumeRoot acts on its target: counted there, and faults and refusals set there apply.
    let target = (action == "AssumeRoot")
        .then(|| {
            params
                .get("TargetPrincipal")
                .and_then(|p| root::target_account(p))
        })
        .flatten()
        .filter(|t| {
            st.accounts.contains_key(*t)
                || st
                    .organization
                    .as_ref()
                    .is_some_and(|o| o.accounts.iter().any(|a| a.id == *t))
        })
        .map(str::to_owned);
    let account_id = target.unwrap_or_else(|| signer_account.clone());

    st.record(RecordedRequest {
        action: action.clone(),
        params: params.clone(),
        access_key_id: akid.clone(),
        service: service.clone(),
        headers: BTreeMap::new(),
    });

    if action.is_empty() {
        return Plan::Respond(error_response(
            xmlns,
            400,
            "Sender",
            "MissingAction",
            "Missing Action",
        ));
    }

    let acct = st.account_mut(&account_id);
    *acct.calls.entry(action.clone()).or_insert(0) += 1;

    // A root session may make the task policy's calls only: anything else is a bug of the
    // caller, recorded for the test. GetCallerIdentity needs no permission, so AWS answers it.
    if let Some(i) = issued.as_ref().filter(|i| i.is_root_session())
        && !root::allowed_for_root_session(&action, &params)
    {
        st.root_session_calls.push(RootSessionCall {
            account_id: i.account_id.clone(),
            action: action.clone(),
            user_name: params.get("UserName").cloned(),
        });
        if action != "GetCallerIdentity" {
            let svc = service_of_call.prefix();
            return Plan::Respond(error_response(
                xmlns,
                403,
                "Sender",
                "AccessDenied",
                &format!(
                    "User: {} is not authorized to perform: {svc}:{action} on resource: {} because no session policy allows the {svc}:{action} action",
                    i.principal_arn(),
                    params.get("UserName").map_or_else(
                        || "*".to_owned(),
                        |u| format!("arn:aws:iam::{}:user/{u}", i.account_id)
                    ),
                ),
            ));
        }
    }
    let acct = st.account_mut(&account_id);

    if acct.denied.contains(&action) {
        let who = issued
            .as_ref()
            .map_or_else(|| acct.caller_arn.clone(), |i| i.principal_arn());
        let svc = service_of_call.prefix();
        return Plan::Respond(error_response(
            xmlns,
            403,
            "Sender",
            "AccessDenied",
            &format!("User: {who} is not authorized to perform: {svc}:{action} on resource: *"),
        ));
    }

    let fault = acct.faults.get_mut(&action).and_then(|q| q.pop_front());
    let latency = st.latency;
    let answer = move |st: &mut ScenarioState| {
        let call = Call {
            account_id: &account_id,
            signer_account: &signer_account,
            action: &action,
            params: &params,
            issued: issued.as_ref(),
        };
        match known {
            Some((_, handler)) => handler(st, &call),
            None => error_response(
                xmlns,
                400,
                "Sender",
                "InvalidAction",
                &format!(
                    "Could not find operation {action} for version {}",
                    params.get("Version").map(String::as_str).unwrap_or("")
                ),
            ),
        }
    };
    match fault {
        Some(f @ (Fault::Error { .. } | Fault::Raw { .. })) => {
            Plan::Respond(fault_response(xmlns, &f))
        }
        Some(Fault::Hang(d)) => {
            let state = state.clone();
            drop(st);
            Plan::HangThen(d, Box::new(move || answer(&mut state.lock().unwrap())))
        }
        None => match latency {
            Some(d) => {
                let state = state.clone();
                drop(st);
                Plan::HangThen(d, Box::new(move || answer(&mut state.lock().unwrap())))
            }
            None => Plan::Respond(answer(&mut st)),
        },
    }
}
