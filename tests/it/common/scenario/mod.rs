//! The IAM scenario server: an in-process HTTP server on 127.0.0.1 that
//! speaks IAM's and STS's AWS Query protocol (POST / with a form-urlencoded
//! `Action=...&Version=...` body, XML answers) like the real services, so the
//! real aws-sdk-iam / aws-sdk-sts (and the exporter, via AWS_ENDPOINT_URL)
//! parse its answers. The test changes its state while it runs: report
//! contents, account summary, faults, denied actions, ...; and reads the
//! per-action call counters.
//!
//! ```ignore
//! let s = Scenario::start();
//! s.set_report(ReportBuilder::new(ACCOUNT).root(RootRow { credentials: CredentialColumns { key1_active: true, ..Default::default() }, ..Default::default() })
//!     .user(UserRow::new("alice").password(Some(days_ago(3))).mfa(true)).csv());
//! s.push_faults("GetCredentialReport", Fault::throttling(), 2);
//! let exporter = Exporter::start(&s.endpoint(), &["--refresh.interval=1s"]);
//! assert_eq!(s.calls("GenerateCredentialReport"), 1);
//! ```
//!
//! Accounts: requests signed with any access key not issued by the server
//! (e.g. `testing`) act on the default account (`DEFAULT_ACCOUNT`, or the id
//! given to [`Scenario::start_for`]). `sts:AssumeRole` into
//! `arn:aws:iam::<id>:role/<name>` succeeds when account `<id>` was created
//! with [`Scenario::account`] (and the role is not denied with
//! [`AccountHandle::deny_assume_role`] on the *target* account); the returned
//! credentials then act on that account.
//!
//! Centralized root access: `sts:AssumeRoot` with the task policy
//! `IAMAuditRootUserCredentials` into a member account (of the organization set with
//! [`Scenario::set_organization`], else any account created with [`Scenario::account`]) issues
//! root-session credentials bound to that member; calls signed with them read the member's
//! root ([`AccountHandle::set_root`]), and any call outside the task policy is refused and
//! recorded ([`Scenario::root_session_calls`]). Refusals: [`AccountHandle::refuse_assume_root`]
//! on the caller's account (every target) or on a member (that target). AssumeRoot is counted
//! on its target: `s.account(member).calls("AssumeRoot")`.
//!
//! Organizations (discovery): `DescribeOrganization` and `ListAccounts` in their own JSON
//! protocol, from [`Scenario::set_organization`].
//!
//! Files:
//! - `clock.rs`, `report.rs`: times as AWS writes them, and the credential report builder;
//! - `state.rs`: every account's data, faults, issued credentials, recorded requests;
//! - `wire.rs`: form parsing, XML answers and errors, paging, the SigV4 access key id;
//! - `actions/`: one function per IAM/STS action and the table that routes to them (see
//!   there how to add one); `actions/organizations.rs`: Organizations' DescribeOrganization and
//!   ListAccounts, in its JSON protocol ([`Scenario::set_organization`]);
//! - `root.rs`: a member root's credentials, the audit task policy, the AssumeRoot refusals;
//! - `providers.rs`: the endpoints of the SDK's credential providers (IMDS, ECS, SSO), for
//!   the credential provider tests.

mod actions;
mod clock;
mod providers;
mod report;
mod root;
mod state;
mod wire;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::Request;
use time::OffsetDateTime;

pub use clock::*;
pub use providers::IMDS_TOKEN;
pub use report::*;
pub use root::*;
pub use state::*;

use super::process::poll_until;
use super::serve::{InProcessServer, Resp};
use actions::{ORGANIZATIONS_TARGET, Plan, plan_json_response, plan_response};
use wire::{access_key_from_auth, parse_form};

/// The default account id.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// Test-side view of one account of a running [`Scenario`].
#[derive(Clone)]
pub struct AccountHandle {
    state: Arc<Mutex<ScenarioState>>,
    id: String,
}

impl AccountHandle {
    /// Runs `f` on this account's state under the lock.
    pub fn with<R>(&self, f: impl FnOnce(&mut AccountState) -> R) -> R {
        let mut st = self.state.lock().unwrap();
        f(st.account_mut(&self.id))
    }

    /// Sets the report CSV (and GeneratedTime = now).
    pub fn set_report(&self, csv: impl Into<String>) {
        let csv = csv.into();
        self.with(|a| {
            a.report_csv = Some(csv);
            a.report_generated = now();
        });
    }
    /// A report of a root row and `n` users `u0`, `u1`, ... created at `created`, each with an
    /// active key 1 rotated at `key_rotated` and used yesterday; the summary's `Users` is `n`.
    pub fn seed_users(&self, n: usize, created: OffsetDateTime, key_rotated: OffsetDateTime) {
        self.set_report(
            ReportBuilder::new(&self.id)
                .root(RootRow::default())
                .users_with_a_used_key(n, |i| format!("u{i}"), created, key_rotated)
                .csv(),
        );
        self.set_summary("Users", n as i64);
    }
    pub fn set_report_generated(&self, t: OffsetDateTime) {
        self.with(|a| a.report_generated = t);
    }
    /// The next `n` GenerateCredentialReport calls answer STARTED, then
    /// INPROGRESS..., before COMPLETE.
    pub fn set_generate_pending(&self, n: u32) {
        self.with(|a| a.generate_pending = n);
    }
    pub fn set_summary(&self, key: &str, value: i64) {
        self.with(|a| {
            a.summary.insert(key.to_string(), value);
        });
    }
    pub fn set_summary_map(&self, map: BTreeMap<String, i64>) {
        self.with(|a| a.summary = map);
    }
    /// None → GetAccountPasswordPolicy answers 404 NoSuchEntity.
    pub fn set_password_policy(&self, p: Option<PasswordPolicy>) {
        self.with(|a| a.password_policy = p);
    }
    pub fn add_virtual_mfa(&self, d: VirtualMfa) {
        self.with(|a| a.virtual_mfa.push(d));
    }
    pub fn set_virtual_mfa(&self, ds: Vec<VirtualMfa>) {
        self.with(|a| a.virtual_mfa = ds);
    }
    pub fn set_service_credentials(&self, cs: Vec<ServiceCredentialRow>) {
        self.with(|a| a.service_credentials = cs);
    }
    pub fn set_server_certificates(&self, cs: Vec<ServerCertificateRow>) {
        self.with(|a| a.server_certificates = cs);
    }
    pub fn set_organization_features(&self, f: Option<OrganizationFeatures>) {
        self.with(|a| a.organization_features = f);
    }
    /// Attaches a managed policy (ListPolicies, ListEntitiesForPolicy see it).
    pub fn attach_policy(&self, attachment: PolicyAttachment) {
        self.with(|a| a.policy_attachments.push(attachment));
    }
    /// Detaches policy `policy_arn` from `entity` (every usage).
    pub fn detach_policy(&self, policy_arn: &str, entity: &PolicyEntity) {
        self.with(|a| {
            a.policy_attachments
                .retain(|x| !(x.policy_arn == policy_arn && x.entity == *entity));
        });
    }
    /// Creates (or replaces) group `name` with these members (GetGroup).
    pub fn set_group(&self, name: &str, members: &[&str]) {
        self.with(|a| {
            a.groups.insert(
                name.to_string(),
                members.iter().map(|m| m.to_string()).collect(),
            );
        });
    }
    /// The next `n` calls of `action` answer with `fault`.
    pub fn push_faults(&self, action: &str, fault: Fault, n: usize) {
        self.with(|a| {
            let q = a.faults.entry(action.to_string()).or_default();
            for _ in 0..n {
                q.push_back(fault.clone());
            }
        });
    }
    /// Drops all pending faults.
    pub fn clear_faults(&self) {
        self.with(|a| a.faults.clear());
    }
    /// `action` answers 403 AccessDenied until [`AccountHandle::allow`].
    pub fn deny(&self, action: &str) {
        self.with(|a| {
            a.denied.insert(action.to_string());
        });
    }
    pub fn allow(&self, action: &str) {
        self.with(|a| {
            a.denied.remove(action);
        });
    }
    /// The root user's credentials, as a root session (sts:AssumeRoot) reads them; the
    /// summary's four root keys (`AccountAccessKeysPresent`, `AccountMFAEnabled`,
    /// `AccountPasswordPresent`, `AccountSigningCertificatesPresent`) follow, as in AWS.
    pub fn set_root(&self, root: RootState) {
        self.with(|a| {
            for (k, v) in root.summary_keys() {
                a.summary.insert(k.to_string(), v);
            }
            a.root = root;
        });
    }
    /// sts:AssumeRoot answers 403 AccessDenied for `refusal`: every call made by this account
    /// (the exporter's: feature off, not the management account or delegated administrator,
    /// an SCP on the caller), or every call into this account (an SCP on this target);
    /// `None` allows again.
    pub fn refuse_assume_root(&self, refusal: Option<RootRefusal>) {
        self.with(|a| a.assume_root_refusal = refusal);
    }
    /// AssumeRole into `role_arn` (a role of this account) answers AccessDenied.
    pub fn deny_assume_role(&self, role_arn: &str) {
        self.with(|a| {
            a.deny_assume_role.insert(role_arn.to_string());
        });
    }
    /// Calls of `action` on this account so far.
    pub fn calls(&self, action: &str) -> u64 {
        self.with(|a| a.calls.get(action).copied().unwrap_or(0))
    }
    /// All calls on this account so far.
    pub fn total_calls(&self) -> u64 {
        self.with(|a| a.calls.values().sum())
    }
    /// Calls per action.
    pub fn all_calls(&self) -> BTreeMap<String, u64> {
        self.with(|a| a.calls.iter().map(|(k, v)| (k.clone(), *v)).collect())
    }
    pub fn reset_calls(&self) {
        self.with(|a| a.calls.clear());
    }
}

/// A running scenario server; stopped on drop. Derefs to the default
/// account's [`AccountHandle`], so `s.set_report(..)`, `s.calls(..)` work.
pub struct Scenario {
    state: Arc<Mutex<ScenarioState>>,
    default: AccountHandle,
    server: InProcessServer,
}

impl std::ops::Deref for Scenario {
    type Target = AccountHandle;
    fn deref(&self) -> &AccountHandle {
        &self.default
    }
}

impl Scenario {
    /// Calls of `action` summed over all accounts.
    pub fn calls_all_accounts(&self, action: &str) -> u64 {
        self.state
            .lock()
            .unwrap()
            .accounts
            .values()
            .map(|a| a.calls.get(action).copied().unwrap_or(0))
            .sum()
    }

    /// Starts a server for [`DEFAULT_ACCOUNT`] on 127.0.0.1:free port.
    pub fn start() -> Scenario {
        Self::start_for(DEFAULT_ACCOUNT)
    }

    /// Starts a server whose default account is `account_id`.
    pub fn start_for(account_id: &str) -> Scenario {
        Self::start_on(account_id, 0)
    }

    /// Starts on a given port (0 = any free port).
    pub fn start_on(account_id: &str, port: u16) -> Scenario {
        let state = Arc::new(Mutex::new(ScenarioState::new(account_id)));
        let st = state.clone();
        let server =
            InProcessServer::start("scenario", port, 2, move |req| handle(st.clone(), req));
        let default = AccountHandle {
            state: state.clone(),
            id: account_id.to_string(),
        };
        Scenario {
            state,
            default,
            server,
        }
    }

    /// `http://127.0.0.1:PORT` (AWS_ENDPOINT_URL / endpoint_url).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// A handle on account `id` (created with defaults if new; AssumeRole
    /// into it then succeeds).
    pub fn account(&self, id: &str) -> AccountHandle {
        self.state.lock().unwrap().account_mut(id);
        AccountHandle {
            state: self.state.clone(),
            id: id.to_string(),
        }
    }

    /// The organization Organizations' DescribeOrganization and ListAccounts answer; `None`:
    /// the caller is in no organization.
    pub fn set_organization(&self, org: Option<OrganizationState>) {
        self.state.lock().unwrap().organization = org;
    }

    /// Changes the organization in place (rename an account, add one, ...).
    pub fn with_organization<R>(&self, f: impl FnOnce(&mut OrganizationState) -> R) -> R {
        let mut st = self.state.lock().unwrap();
        f(st.organization.as_mut().expect("set_organization first"))
    }

    /// Calls made with root-session credentials that the task policy does not allow.
    pub fn root_session_calls(&self) -> Vec<RootSessionCall> {
        self.state.lock().unwrap().root_session_calls.clone()
    }

    /// Every IAM and STS answer (without an injected fault) comes `latency` later.
    pub fn set_latency(&self, latency: Option<Duration>) {
        self.state.lock().unwrap().latency = latency;
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The credentials the server issued so far, by access key id.
    pub fn issued(&self) -> BTreeMap<String, IssuedCredentials> {
        let st = self.state.lock().unwrap();
        st.issued
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Waits until `action` was called at least `n` times on the default
    /// account; returns false on timeout.
    pub fn wait_calls(&self, action: &str, n: u64, timeout: Duration) -> bool {
        poll_until(timeout, || (self.calls(action) >= n).then_some(())).is_some()
    }
}

/// One HTTP request: a credential provider's endpoint ([`providers`]), or an IAM/STS call
/// (form parameters from the query string and a POST body, the access key id and service of
/// its signature), planned by [`plan_response`].
async fn handle(state: Arc<Mutex<ScenarioState>>, req: Request<hyper::body::Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut params = parse_form(parts.uri.query().unwrap_or(""));
    let path = parts.uri.path();
    if let Some(name) = providers::endpoint(&parts.method, path) {
        let headers = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        return providers::answer(&state, name, path, params, headers);
    }
    let auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (akid, service) = access_key_from_auth(auth);
    let json_action = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(ORGANIZATIONS_TARGET));
    let plan = match json_action {
        Some(action) => plan_json_response(&state, action, &body, akid),
        None => {
            if parts.method == hyper::Method::POST {
                params.extend(parse_form(&String::from_utf8_lossy(&body)));
            }
            plan_response(&state, params, akid, service)
        }
    };
    match plan {
        Plan::Respond(r) => r,
        Plan::HangThen(d, f) => {
            tokio::time::sleep(d).await;
            f()
        }
    }
}
