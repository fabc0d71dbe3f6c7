//! The scenario server's state: every account's report, summary, password policy, MFA
//! devices, service credentials, server certificates, organization features, root credentials,
//! attached managed policies and groups; the faults and refusals to answer with; the
//! organization; the issued credentials; and the requests received.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use time::OffsetDateTime;

use super::clock::{days_ago, now, secs_ago};
use super::report::{ReportBuilder, RootRow};
use super::root::{RootRefusal, RootSessionCall, RootState};

/// An injected answer for one call.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// An AWS Query `ErrorResponse` with this HTTP status.
    Error {
        status: u16,
        code: String,
        message: String,
        /// `Sender` or `Receiver`.
        kind: String,
    },
    /// Sleep this long, then answer normally (past the client's timeout the
    /// client has gone by then).
    Hang(Duration),
    /// A raw answer (e.g. a 502 HTML page, or malformed XML).
    Raw {
        status: u16,
        content_type: String,
        body: String,
    },
}

impl Fault {
    pub fn error(status: u16, code: &str, message: &str) -> Fault {
        Fault::Error {
            status,
            code: code.into(),
            message: message.into(),
            kind: if status >= 500 { "Receiver" } else { "Sender" }.into(),
        }
    }
    /// 400 Throttling (retried by the SDK).
    pub fn throttling() -> Fault {
        Fault::error(400, "Throttling", "Rate exceeded")
    }
    /// 403 AccessDenied.
    pub fn access_denied() -> Fault {
        Fault::error(
            403,
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/exporter is not authorized to perform this action",
        )
    }
    /// 500 ServiceFailure (retried by the SDK).
    pub fn service_failure() -> Fault {
        Fault::error(
            500,
            "ServiceFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }
    /// 404 ReportInProgress.
    pub fn report_in_progress() -> Fault {
        Fault::error(
            404,
            "ReportInProgress",
            "Report generation in progress. Try again later.",
        )
    }
    /// 410 ReportNotPresent.
    pub fn report_not_present() -> Fault {
        Fault::error(
            410,
            "ReportNotPresent",
            "Credential report not present. Use GenerateCredentialReport to generate a report.",
        )
    }
    /// 410 ReportExpired.
    pub fn report_expired() -> Fault {
        Fault::error(
            410,
            "ReportExpired",
            "Credential report has expired. Use GenerateCredentialReport to generate a new report.",
        )
    }
    /// 404 NoSuchEntity.
    pub fn no_such_entity() -> Fault {
        Fault::error(404, "NoSuchEntity", "The requested entity cannot be found.")
    }
    /// 409 LimitExceeded.
    pub fn limit_exceeded() -> Fault {
        Fault::error(
            409,
            "LimitExceeded",
            "Cannot exceed quota for credential report generation.",
        )
    }
    /// A 502 HTML page (not AWS XML).
    pub fn bad_gateway_html() -> Fault {
        Fault::Raw {
            status: 502,
            content_type: "text/html".into(),
            body: "<html><body><h1>502 Bad Gateway</h1></body></html>".into(),
        }
    }
    pub fn hang(d: Duration) -> Fault {
        Fault::Hang(d)
    }
}

/// An account password policy (`MaxPasswordAge`, `PasswordReusePrevention`,
/// `HardExpiry` are omitted from the XML when None, as AWS does).
#[derive(Debug, Clone, PartialEq)]
pub struct PasswordPolicy {
    pub minimum_password_length: u32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase_characters: bool,
    pub require_lowercase_characters: bool,
    pub allow_users_to_change_password: bool,
    pub expire_passwords: bool,
    pub max_password_age: Option<u32>,
    pub password_reuse_prevention: Option<u32>,
    pub hard_expiry: Option<bool>,
}

impl Default for PasswordPolicy {
    /// A CIS-compliant policy: length 14, reuse 24, every class, 90 days.
    fn default() -> Self {
        PasswordPolicy {
            minimum_password_length: 14,
            require_symbols: true,
            require_numbers: true,
            require_uppercase_characters: true,
            require_lowercase_characters: true,
            allow_users_to_change_password: true,
            expire_passwords: true,
            max_password_age: Some(90),
            password_reuse_prevention: Some(24),
            hard_expiry: Some(false),
        }
    }
}

impl PasswordPolicy {
    /// AWS's minimal policy: length 8 (what "no policy" effectively means),
    /// nothing else.
    pub fn weak() -> Self {
        PasswordPolicy {
            minimum_password_length: 8,
            require_symbols: false,
            require_numbers: false,
            require_uppercase_characters: false,
            require_lowercase_characters: false,
            allow_users_to_change_password: false,
            expire_passwords: false,
            max_password_age: None,
            password_reuse_prevention: None,
            hard_expiry: None,
        }
    }
}

/// Who a virtual MFA device is assigned to.
#[derive(Debug, Clone, PartialEq)]
pub enum MfaUser {
    Root,
    User(String),
}

/// A virtual MFA device.
#[derive(Debug, Clone, PartialEq)]
pub struct VirtualMfa {
    pub serial_number: String,
    /// None = unassigned.
    pub user: Option<MfaUser>,
    pub enable_date: Option<OffsetDateTime>,
}

impl VirtualMfa {
    /// The root user's virtual device (`arn:aws:iam::<id>:mfa/root-account-mfa-device`).
    pub fn root(account_id: &str) -> VirtualMfa {
        VirtualMfa {
            serial_number: format!("arn:aws:iam::{account_id}:mfa/root-account-mfa-device"),
            user: Some(MfaUser::Root),
            enable_date: Some(days_ago(100)),
        }
    }
    /// A user's device `arn:aws:iam::<id>:mfa/<user>`.
    pub fn user(account_id: &str, user: &str) -> VirtualMfa {
        VirtualMfa {
            serial_number: format!("arn:aws:iam::{account_id}:mfa/{user}"),
            user: Some(MfaUser::User(user.to_string())),
            enable_date: Some(days_ago(100)),
        }
    }
    /// An unassigned device.
    pub fn unassigned(account_id: &str, name: &str) -> VirtualMfa {
        VirtualMfa {
            serial_number: format!("arn:aws:iam::{account_id}:mfa/{name}"),
            user: None,
            enable_date: None,
        }
    }
}

/// One service-specific credential (ListServiceSpecificCredentials).
#[derive(Debug, Clone)]
pub struct ServiceCredentialRow {
    pub user: String,
    /// `bedrock.amazonaws.com`, `codecommit.amazonaws.com`, ...
    pub service: String,
    pub id: String,
    /// `Active`, `Inactive` or `Expired`, as AWS writes it.
    pub status: String,
    pub created: OffsetDateTime,
    pub expires: Option<OffsetDateTime>,
}

impl ServiceCredentialRow {
    /// An active Bedrock API key created `age_days` ago.
    pub fn bedrock(user: &str, id: &str, age_days: i64) -> ServiceCredentialRow {
        ServiceCredentialRow {
            user: user.into(),
            service: "bedrock.amazonaws.com".into(),
            id: id.into(),
            status: "Active".into(),
            created: days_ago(age_days),
            expires: None,
        }
    }
}

impl ServiceCredentialRow {
    /// An active API key of `service` (`bedrock.amazonaws.com`, `logs.amazonaws.com`, ...)
    /// created `age_days` ago that expires `lifetime_days` after its creation (`None`: never,
    /// no `ExpirationDate`).
    pub fn api_key(
        service: &str,
        user: &str,
        id: &str,
        age_days: i64,
        lifetime_days: Option<i64>,
    ) -> ServiceCredentialRow {
        let created = days_ago(age_days);
        ServiceCredentialRow {
            user: user.into(),
            service: service.into(),
            id: id.into(),
            status: "Active".into(),
            created,
            expires: lifetime_days.map(|d| created + time::Duration::days(d)),
        }
    }
}

/// One SSL/TLS server certificate stored in IAM (ListServerCertificates' metadata).
#[derive(Debug, Clone)]
pub struct ServerCertificateRow {
    /// `ServerCertificateName`, unique in the account (the API's other calls take only it).
    pub name: String,
    /// `Path`, `/` unless uploaded with one (`/cloudfront/` for CloudFront).
    pub path: String,
    /// `ServerCertificateId`.
    pub id: String,
    pub uploaded: OffsetDateTime,
    /// `Expiration`, the certificate's notAfter; `None` leaves the element out.
    pub expiration: Option<OffsetDateTime>,
}

impl ServerCertificateRow {
    /// A certificate `name` under `/`, uploaded a year ago, that expires `expires_in_days` from
    /// now (negative: expired that many days ago).
    pub fn new(name: &str, expires_in_days: i64) -> ServerCertificateRow {
        ServerCertificateRow {
            name: name.into(),
            path: "/".into(),
            id: format!(
                "ASCA{}",
                name.to_ascii_uppercase().replace(['-', '.', '_'], "")
            ),
            uploaded: days_ago(365),
            expiration: Some(days_ago(-expires_in_days)),
        }
    }
}

/// What ListOrganizationsFeatures answers (asked with the account's own credentials).
#[derive(Debug, Clone)]
pub struct OrganizationFeatures {
    pub organization_id: String,
    /// `RootCredentialsManagement`, `RootSessions`.
    pub enabled: Vec<String>,
}

/// Who a managed policy is attached to (ListEntitiesForPolicy's three lists).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PolicyEntity {
    Group(String),
    User(String),
    Role(String),
}

impl PolicyEntity {
    pub fn user(name: &str) -> PolicyEntity {
        PolicyEntity::User(name.into())
    }
    pub fn group(name: &str) -> PolicyEntity {
        PolicyEntity::Group(name.into())
    }
    pub fn role(name: &str) -> PolicyEntity {
        PolicyEntity::Role(name.into())
    }
}

/// How a managed policy is used: a permissions policy (`AttachUserPolicy`, ...), or a
/// permissions boundary (`PutUserPermissionsBoundary`); `PolicyUsageFilter` tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyUsage {
    Permissions,
    Boundary,
}

/// A managed policy attached to a user, group or role of the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyAttachment {
    /// `arn:aws:iam::aws:policy/<path><name>` (AWS managed, `Scope=AWS`) or
    /// `arn:aws:iam::<account>:policy/<path><name>` (customer managed, `Scope=Local`).
    pub policy_arn: String,
    pub entity: PolicyEntity,
    pub usage: PolicyUsage,
}

impl PolicyAttachment {
    /// AWS managed policy `name` (path `/`) attached to `entity` as a permissions policy,
    /// as AWS attaches its quarantine policies.
    pub fn aws(name: &str, entity: PolicyEntity) -> PolicyAttachment {
        PolicyAttachment {
            policy_arn: aws_policy_arn(name),
            entity,
            usage: PolicyUsage::Permissions,
        }
    }
}

/// An AWS Organizations organization, as DescribeOrganization and ListAccounts answer it.
#[derive(Debug, Clone)]
pub struct OrganizationState {
    pub id: String,
    pub management_account_id: String,
    /// In ListAccounts order.
    pub accounts: Vec<OrgMember>,
    /// ListAccounts' largest page (None: 20, Organizations' default).
    pub page_size: Option<usize>,
}

impl OrganizationState {
    /// An organization `o-a1b2c3d4e5` managed by `management_account_id`, which is its first
    /// member (named `management`).
    pub fn new(management_account_id: &str) -> OrganizationState {
        OrganizationState {
            id: "o-a1b2c3d4e5".into(),
            management_account_id: management_account_id.into(),
            accounts: vec![OrgMember::active(management_account_id, "management")],
            page_size: None,
        }
    }

    /// Adds an ACTIVE member account.
    pub fn member(mut self, id: &str, name: &str) -> OrganizationState {
        self.accounts.push(OrgMember::active(id, name));
        self
    }

    /// Adds ACTIVE member accounts `(id, name)`, in this order.
    pub fn members(self, members: &[(&str, &str)]) -> OrganizationState {
        members
            .iter()
            .fold(self, |org, (id, name)| org.member(id, name))
    }
}

/// A member account of an [`OrganizationState`].
#[derive(Debug, Clone)]
pub struct OrgMember {
    pub id: String,
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, ...
    pub state: String,
}

impl OrgMember {
    pub fn active(id: &str, name: &str) -> OrgMember {
        OrgMember {
            id: id.into(),
            name: name.into(),
            state: "ACTIVE".into(),
        }
    }
}

/// `arn:aws:iam::aws:policy/<name>`.
pub fn aws_policy_arn(name: &str) -> String {
    format!("arn:aws:iam::aws:policy/{name}")
}

/// AWS managed policies that exist whether or not they are attached (ListPolicies with
/// `OnlyAttached=false` lists them; ListEntitiesForPolicy answers them with empty lists).
/// Any other ARN exists only while attached, which is how a future version (V5) appears.
pub const KNOWN_AWS_POLICIES: &[&str] = &[
    "AWSCompromisedKeyQuarantine",
    "AWSCompromisedKeyQuarantineV2",
    "AWSCompromisedKeyQuarantineV3",
    "AWSCompromisedKeyQuarantineV4",
    "AdministratorAccess",
    "ReadOnlyAccess",
    "SecurityAudit",
    "job-function/ViewOnlyAccess",
];

/// A request the server received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub action: String,
    pub params: BTreeMap<String, String>,
    /// Access key id from the Authorization header (if signed).
    pub access_key_id: Option<String>,
    /// Service from the credential scope (`iam`, `sts`).
    pub service: Option<String>,
    /// The headers (lower-case names) of a request to a credential provider's endpoint
    /// (`providers.rs`); empty for IAM and STS calls, which can be many.
    pub headers: BTreeMap<String, String>,
}

/// The state of one account.
#[derive(Debug, Clone)]
pub struct AccountState {
    /// GetCallerIdentity's Arn for the account's own (non-assumed) credentials.
    pub caller_arn: String,
    pub caller_user_id: String,
    /// GetAccountSummary's SummaryMap (any key allowed, also unknown ones).
    pub summary: BTreeMap<String, i64>,
    /// The report CSV; None → GetCredentialReport answers ReportNotPresent.
    pub report_csv: Option<String>,
    pub report_generated: OffsetDateTime,
    /// GetCredentialReport's ReportFormat.
    pub report_format: String,
    /// How many more GenerateCredentialReport calls answer STARTED (first)
    /// or INPROGRESS before COMPLETE.
    pub generate_pending: u32,
    /// Whether a generation is running (STARTED was answered, not yet COMPLETE).
    pub generating: bool,
    /// While generating, GetCredentialReport answers ReportInProgress.
    pub report_in_progress_while_generating: bool,
    pub password_policy: Option<PasswordPolicy>,
    pub virtual_mfa: Vec<VirtualMfa>,
    /// ListVirtualMFADevices' largest page: fewer items than a request's MaxItems, as AWS may
    /// answer (None = MaxItems, or everything in one page).
    pub virtual_mfa_page_size: Option<usize>,
    /// ListVirtualMFADevices answers every page as truncated with an empty `Marker`: a broken
    /// paging that a client must end, not follow.
    pub virtual_mfa_empty_marker: bool,
    /// ListServiceSpecificCredentials (AllUsers) answers these.
    pub service_credentials: Vec<ServiceCredentialRow>,
    /// Its largest page, like `virtual_mfa_page_size`.
    pub service_credentials_page_size: Option<usize>,
    /// ListServerCertificates answers these.
    pub server_certificates: Vec<ServerCertificateRow>,
    /// Its largest page, like `virtual_mfa_page_size`.
    pub server_certificates_page_size: Option<usize>,
    /// ListOrganizationsFeatures; `None` answers AccountNotManagementOrDelegatedAdministrator.
    pub organization_features: Option<OrganizationFeatures>,
    /// Managed policies attached in the account (ListPolicies, ListEntitiesForPolicy).
    pub policy_attachments: Vec<PolicyAttachment>,
    /// Group name -> its members, in order (GetGroup); a group not here answers NoSuchEntity.
    pub groups: BTreeMap<String, Vec<String>>,
    /// The largest page of ListPolicies, ListEntitiesForPolicy and GetGroup, like
    /// `virtual_mfa_page_size`.
    pub policies_page_size: Option<usize>,
    /// Per action, the faults answering its next calls (FIFO).
    pub faults: HashMap<String, VecDeque<Fault>>,
    /// Actions that always answer 403 AccessDenied.
    pub denied: HashSet<String>,
    /// Role ARNs (in this account) that AssumeRole may not enter.
    pub deny_assume_role: HashSet<String>,
    /// The root user's credentials, as an AssumeRoot session reads them.
    pub root: RootState,
    /// sts:AssumeRoot refused: for every call this account makes (feature off, not the
    /// management account or delegated administrator, an SCP on the caller), and for every
    /// call into this account (an SCP denying this target).
    pub assume_root_refusal: Option<RootRefusal>,
    /// Calls per action (every request, also failed ones). AssumeRoot is counted on its target.
    pub calls: HashMap<String, u64>,
}

impl AccountState {
    pub fn new(account_id: &str) -> AccountState {
        AccountState {
            caller_arn: format!("arn:aws:iam::{account_id}:user/exporter"),
            caller_user_id: "AIDAEXPORTEREXAMPLE1".into(),
            summary: default_summary(0),
            report_csv: Some(
                ReportBuilder::new(account_id)
                    .root(RootRow::default())
                    .csv(),
            ),
            report_generated: secs_ago(60),
            report_format: "text/csv".into(),
            generate_pending: 0,
            generating: false,
            report_in_progress_while_generating: false,
            password_policy: None,
            virtual_mfa: Vec::new(),
            virtual_mfa_page_size: None,
            virtual_mfa_empty_marker: false,
            service_credentials: Vec::new(),
            service_credentials_page_size: None,
            server_certificates: Vec::new(),
            server_certificates_page_size: None,
            organization_features: Some(OrganizationFeatures {
                organization_id: "o-a1b2c3d4e5".into(),
                enabled: vec!["RootCredentialsManagement".into(), "RootSessions".into()],
            }),
            policy_attachments: Vec::new(),
            groups: BTreeMap::new(),
            policies_page_size: None,
            faults: HashMap::new(),
            denied: HashSet::new(),
            deny_assume_role: HashSet::new(),
            root: RootState::default(),
            assume_root_refusal: None,
            calls: HashMap::new(),
        }
    }
}

/// A realistic SummaryMap for an account with `users` users.
pub fn default_summary(users: i64) -> BTreeMap<String, i64> {
    [
        ("AccessKeysPerUserQuota", 2),
        ("AccountAccessKeysPresent", 0),
        ("AccountMFAEnabled", 1),
        ("AccountPasswordPresent", 1),
        ("AccountSigningCertificatesPresent", 0),
        ("AssumeRolePolicySizeQuota", 2048),
        ("AttachedPoliciesPerGroupQuota", 10),
        ("AttachedPoliciesPerRoleQuota", 10),
        ("AttachedPoliciesPerUserQuota", 10),
        ("GlobalEndpointTokenVersion", 1),
        ("GroupPolicySizeQuota", 5120),
        ("Groups", 2),
        ("GroupsPerUserQuota", 10),
        ("GroupsQuota", 300),
        ("InstanceProfiles", 0),
        ("InstanceProfilesQuota", 1000),
        ("MFADevices", 1),
        ("MFADevicesInUse", 1),
        ("Policies", 3),
        ("PoliciesQuota", 1500),
        ("PolicySizeQuota", 6144),
        ("PolicyVersionsInUse", 5),
        ("PolicyVersionsInUseQuota", 10000),
        ("Providers", 0),
        ("RolePolicySizeQuota", 10240),
        ("Roles", 4),
        ("RolesQuota", 1000),
        ("ServerCertificates", 0),
        ("ServerCertificatesQuota", 20),
        ("SigningCertificatesPerUserQuota", 2),
        ("UserPolicySizeQuota", 2048),
        ("Users", users),
        ("UsersQuota", 5000),
        ("VersionsPerPolicyQuota", 5),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Temporary credentials the server issued (sts:AssumeRole, sts:AssumeRoleWithWebIdentity,
/// or a credential provider's endpoint); calls signed with them act on `account_id`.
#[derive(Debug, Clone)]
pub struct IssuedCredentials {
    pub account_id: String,
    pub role_arn: String,
    pub session_name: String,
    /// What issued them: the action, or the endpoint's name (`ImdsGetRoleCredentials`, ...).
    pub issued_by: String,
}

impl IssuedCredentials {
    /// Whether these are a root session's credentials (sts:AssumeRoot).
    pub fn is_root_session(&self) -> bool {
        self.issued_by == "AssumeRoot"
    }

    /// Who calls with them: the member's root for a root session, else the assumed role.
    pub fn principal_arn(&self) -> String {
        if self.is_root_session() {
            format!("arn:aws:iam::{}:root", self.account_id)
        } else {
            self.assumed_role_arn()
        }
    }

    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`: who calls with them.
    pub fn assumed_role_arn(&self) -> String {
        format!(
            "arn:aws:sts::{}:assumed-role/{}/{}",
            self.account_id,
            self.role_name(),
            self.session_name
        )
    }

    /// The role's name (the last part of its ARN).
    pub fn role_name(&self) -> &str {
        self.role_arn.rsplit('/').next().unwrap_or("role")
    }
}

/// The secret parts of issued credentials, as the answers carry them.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// An hour from now (AssumeRoot: its `DurationSeconds`).
    pub expiration: OffsetDateTime,
}

/// The whole server state (all accounts).
#[derive(Debug)]
pub struct ScenarioState {
    pub default_account: String,
    pub accounts: BTreeMap<String, AccountState>,
    /// Access key id → the session it belongs to.
    pub issued: HashMap<String, IssuedCredentials>,
    pub requests: Vec<RecordedRequest>,
    /// The organization DescribeOrganization and ListAccounts answer (None: not in one).
    pub organization: Option<OrganizationState>,
    /// Keep at most this many requests in `requests` (oldest dropped).
    pub max_recorded: usize,
    /// Calls made with root-session credentials that the task policy does not allow.
    pub root_session_calls: Vec<RootSessionCall>,
    /// Every IAM and STS answer (without an injected fault) comes after this delay, as AWS's
    /// do: for scale tests.
    pub latency: Option<Duration>,
    next_key: u64,
}

impl ScenarioState {
    pub(super) fn new(default_account: &str) -> ScenarioState {
        let mut accounts = BTreeMap::new();
        accounts.insert(
            default_account.to_string(),
            AccountState::new(default_account),
        );
        ScenarioState {
            default_account: default_account.to_string(),
            accounts,
            issued: HashMap::new(),
            requests: Vec::new(),
            organization: None,
            max_recorded: 100_000,
            root_session_calls: Vec::new(),
            latency: None,
            next_key: 1,
        }
    }

    /// Keeps `request` among the recorded ones (the oldest dropped beyond `max_recorded`).
    pub fn record(&mut self, request: RecordedRequest) {
        if self.requests.len() >= self.max_recorded {
            self.requests.remove(0);
        }
        self.requests.push(request);
    }

    /// Issues temporary credentials for `credentials` (an AssumeRole session, ...): a fresh
    /// `ASIASCENARIO<n>` access key id, remembered so that calls signed with it act on its
    /// account.
    pub fn issue(&mut self, credentials: IssuedCredentials) -> IssuedKey {
        self.issue_for(credentials, time::Duration::hours(1))
    }

    /// [`ScenarioState::issue`], valid for `lifetime`.
    pub fn issue_for(
        &mut self,
        credentials: IssuedCredentials,
        lifetime: time::Duration,
    ) -> IssuedKey {
        let n = self.next_key;
        self.next_key += 1;
        let key = IssuedKey {
            access_key_id: format!("ASIASCENARIO{n:08}"),
            secret_access_key: format!("scenario-secret-{n}"),
            session_token: format!("scenario-token-{n}"),
            expiration: now() + lifetime,
        };
        self.issued.insert(key.access_key_id.clone(), credentials);
        key
    }

    /// The account (created with defaults if new).
    pub fn account_mut(&mut self, id: &str) -> &mut AccountState {
        self.accounts
            .entry(id.to_string())
            .or_insert_with(|| AccountState::new(id))
    }
}
