//! Which accounts the configuration watches, built in one place for the daemon and `--once`:
//! the default credential chain's account, an offline file, or the accounts of
//! `--config.file` (roles and Organizations discovery, after sharding).
//!
//! With `organizations.root_audit`, a member is read by a root audit through sts:AssumeRoot
//! (no role in it): alone, or where its role (`role_name`) cannot be assumed. The exporter's
//! own account keeps its own credentials (its full report), and the management account is
//! never an AssumeRoot target (AWS refuses it): its role, or, without one, nothing unless the
//! exporter runs there.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::aws::{Aws, OrgAccount, Role};
use crate::config::{Config, Mode, Run};
use crate::exposition::render_control_info;
use crate::fast::{FastCheck, FastSettings};
use crate::fetch::FetchError;
use crate::offline::{FileSource, Files};
use crate::organization::{Organization, OrganizationPart, Watched};
use crate::refresh::{Account, AccountInput, RefreshError, RefreshSettings, Source, Target};
use crate::schedule::{self, Fleet, Found, Plan, Refresh};
use crate::snapshot::{Discovery, ExporterPart, State};

/// How to reach one account: what [`ConfigFleet::account`] needs to start watching it. Two
/// specs are equal when they reach the same account the same way under the same name: a change
/// (a renamed account) restarts it.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    /// The default credential chain's own account.
    Own(ProcessAws),
    /// Offline files.
    Files(Files),
    /// An account entered through a role.
    Role {
        account_id: String,
        name: Option<String>,
        role: Role,
        aws: ProcessAws,
    },
    /// A member of the organization read by a root audit (sts:AssumeRoot), through `role`
    /// first where a role name is configured.
    RootAudit {
        account_id: String,
        name: Option<String>,
        role: Option<Role>,
        aws: ProcessAws,
    },
    /// The exporter's own account, found by discovery with a root audit and no role name: its
    /// own credentials, its full report.
    OwnMember {
        account_id: String,
        name: Option<String>,
        aws: ProcessAws,
    },
}

/// What the scheduler runs: the accounts, and (where AWS is configured, on shard 0) the one
/// exporter-level job.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Account(Spec),
    /// Centralized root access (ListOrganizationsFeatures), once per interval.
    Organization(ProcessAws),
}

/// The process's AWS clients: one per process, so always equal (a spec's equality is about
/// which account it reaches, and how).
#[derive(Debug, Clone)]
pub struct ProcessAws(pub Arc<Aws>);

impl PartialEq for ProcessAws {
    fn eq(&self, _: &ProcessAws) -> bool {
        true
    }
}

/// The accounts to watch: every configured one, and those Organizations listed, unless it
/// failed (then `failure` says why, and the configured accounts are watched all the same).
#[derive(Debug)]
pub struct Discovered {
    pub accounts: Vec<(String, Spec)>,
    pub failure: Option<FetchError>,
}

/// The scheduler's key of the organization job; no account key looks like it (account ids,
/// `default`, file paths, and offline mode has no organization job).
pub const ORGANIZATION_KEY: &str = "(organization)";

/// A running [`Entry`]. One per task, moved once into it: the variants' sizes do not matter.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Job {
    Account(Account),
    Organization(Organization),
}

impl Refresh for Job {
    type Fast = FastCheck;

    async fn refresh(&mut self) {
        match self {
            Job::Account(a) => a.refresh().await,
            Job::Organization(o) => o.refresh().await,
        }
    }

    fn fast_check(&self) -> Option<FastCheck> {
        match self {
            Job::Account(a) => a.fast_check(),
            Job::Organization(_) => None,
        }
    }
}

/// What every refresh of `config` needs.
fn refresh_settings(config: &Config) -> RefreshSettings {
    // Fast checks are the daemon's: `--once` and `audit` refresh once, offline has no AWS.
    let fast = config
        .fast_interval
        .filter(|_| config.run == Run::Daemon && !matches!(config.mode, Mode::Offline(_)));
    RefreshSettings {
        thresholds: config.thresholds,
        per_user: config.per_user,
        max_report_bytes: config.report_max_bytes,
        deadline: match config.mode {
            // Files take no AWS call: reading them may take as long as AWS may take to
            // generate a report, no longer (a FIFO whose writer stalls).
            Mode::Offline(_) => config.aws.report_timeout,
            _ => config.aws.refresh_deadline(),
        },
        refresh_interval: config.refresh_interval,
        root_audit_interval: config.root_audit_interval,
        fast: fast.map(|_| {
            Arc::new(FastSettings {
                thresholds: config.thresholds,
                per_user: config.per_user,
                deadline: config.aws.fast_check_deadline(),
            })
        }),
    }
}

/// The accounts of a [`Config`].
pub struct ConfigFleet {
    config: Arc<Config>,
    /// `None` offline: no AWS configuration is loaded at all.
    aws: Option<Arc<Aws>>,
    state: Arc<State>,
    settings: Arc<RefreshSettings>,
    /// The exporter's own account id (sts:GetCallerIdentity), asked once when a root audit
    /// without role name needs it: the process's identity does not change account.
    own_account: tokio::sync::OnceCell<String>,
    /// Whether the management account that no root audit can read was logged already.
    said_management_unread: AtomicBool,
    /// The exporter-level part: the fleet says which accounts it watches (the labels of the
    /// hub's control), the organization job what AWS answered.
    organization: Arc<OrganizationPart>,
}

impl ConfigFleet {
    pub async fn new(config: Arc<Config>, state: Arc<State>) -> ConfigFleet {
        let aws = match config.mode {
            Mode::Offline(_) => None,
            _ => Some(Arc::new(Aws::connect(&config.aws).await)),
        };
        let settings = Arc::new(refresh_settings(&config));
        let watched = match config.mode {
            Mode::MultiAccount { .. } => Watched::Fleet(Default::default()),
            _ => Watched::Own,
        };
        let organization = OrganizationPart::new(state.clone(), watched);
        ConfigFleet {
            config,
            aws,
            state,
            settings,
            own_account: tokio::sync::OnceCell::new(),
            said_management_unread: AtomicBool::new(false),
            organization,
        }
    }

    /// How the daemon schedules this fleet.
    pub fn plan(&self) -> Plan {
        Plan {
            interval: self.config.refresh_interval,
            concurrency: self.config.concurrency,
            spread: matches!(self.config.mode, Mode::MultiAccount { .. }),
            fast_interval: self.settings.fast.as_ref().and(self.config.fast_interval),
            retry: schedule::DISCOVERY_RETRY,
        }
    }

    /// The accounts to watch: the configured ones whatever Organizations answers.
    pub async fn accounts(&self) -> Discovered {
        let found = |accounts| Discovered {
            accounts,
            failure: None,
        };
        let aws = match (&self.config.mode, &self.aws) {
            (Mode::Offline(files), _) => {
                let key = files.report.display().to_string();
                return found(vec![(key, Spec::Files(files.clone()))]);
            }
            (_, None) => return found(Vec::new()),
            (_, Some(aws)) => aws,
        };
        let Mode::MultiAccount {
            accounts,
            organizations,
        } = &self.config.mode
        else {
            return found(vec![(
                "default".to_owned(),
                Spec::Own(ProcessAws(aws.clone())),
            )]);
        };
        let role = |account_id: String, name: Option<String>, role: Role| Spec::Role {
            account_id,
            name,
            role,
            aws: ProcessAws(aws.clone()),
        };
        let mut found: Vec<(String, Spec)> = accounts
            .iter()
            .filter_map(|a| {
                let id = crate::arn::iam_account(&a.role_arn)?;
                let r = Role {
                    arn: a.role_arn.clone(),
                    external_id: a.external_id.clone(),
                };
                Some((id.to_owned(), role(id.to_owned(), a.name.clone(), r)))
            })
            .collect();
        let mut failure = None;
        let listed = match organizations {
            None => None,
            Some(org) => match self.listed(aws, org).await {
                Ok(listed) => Some((org, listed)),
                Err(e) => {
                    failure = Some(e);
                    None
                }
            },
        };
        if let Some((org, (members, management, own))) = listed {
            for m in members {
                let is_management = management.as_deref() == Some(&m.id);
                let excluded = org.exclude_accounts.contains(&m.id)
                    || (!org.include_management_account && is_management)
                    || found.iter().any(|(id, _)| *id == m.id);
                if excluded {
                    continue;
                }
                let r = org.role_name.as_ref().map(|role_name| Role {
                    arn: format!(
                        "arn:{}:iam::{}:role/{role_name}",
                        self.config.aws.partition(),
                        m.id
                    ),
                    external_id: org.external_id.clone(),
                });
                let spec = match r {
                    // The management account is never an AssumeRoot target: its role alone.
                    Some(r) if !org.root_audit || is_management => role(m.id.clone(), m.name, r),
                    Some(r) => Spec::RootAudit {
                        account_id: m.id.clone(),
                        name: m.name,
                        role: Some(r),
                        aws: ProcessAws(aws.clone()),
                    },
                    None if own.as_deref() == Some(&m.id) => Spec::OwnMember {
                        account_id: m.id.clone(),
                        name: m.name,
                        aws: ProcessAws(aws.clone()),
                    },
                    None if is_management => {
                        self.say_management_unread(&m.id);
                        continue;
                    }
                    None => Spec::RootAudit {
                        account_id: m.id.clone(),
                        name: m.name,
                        role: None,
                        aws: ProcessAws(aws.clone()),
                    },
                };
                found.push((m.id, spec));
            }
        }
        found.retain(|(id, _)| {
            crate::shard::shard_of(id, self.config.shard_count) == self.config.shard_index
        });
        let watched = found.iter().filter_map(|(_, spec)| match spec {
            Spec::Role {
                account_id, name, ..
            }
            | Spec::RootAudit {
                account_id, name, ..
            }
            | Spec::OwnMember {
                account_id, name, ..
            } => Some((account_id.clone(), name.clone())),
            Spec::Own(_) | Spec::Files(_) => None,
        });
        self.organization
            .watch(Watched::Fleet(watched.collect()), failure.is_none());
        Discovered {
            accounts: found,
            failure,
        }
    }

    /// Starts watching one account.
    pub async fn account(&self, key: &str, spec: &Spec) -> Account {
        let (account_id, name, source) = match spec {
            Spec::Own(ProcessAws(aws)) => (None, None, Source::Aws(aws.own_account())),
            Spec::Files(files) => (
                None,
                None,
                Source::Files(FileSource {
                    files: files.clone(),
                    max_bytes: self.config.report_max_bytes,
                }),
            ),
            Spec::Role {
                account_id,
                name,
                role,
                aws: ProcessAws(aws),
            } => (
                Some(account_id.clone()),
                name.clone(),
                Source::Aws(aws.assume(role)),
            ),
            Spec::RootAudit {
                account_id,
                name,
                role,
                aws: ProcessAws(aws),
            } => {
                let root = aws.root_audit(account_id);
                let source = match role {
                    Some(role) => Source::RoleOrRoot(aws.assume(role), root),
                    None => Source::Root(root),
                };
                (Some(account_id.clone()), name.clone(), source)
            }
            Spec::OwnMember {
                account_id,
                name,
                aws: ProcessAws(aws),
            } => (
                Some(account_id.clone()),
                name.clone(),
                Source::Aws(aws.own_account()),
            ),
        };
        let target = Target {
            key: key.to_owned(),
            account_id,
            name,
            source,
        };
        Account::new(target, self.state.clone(), self.settings.clone())
    }

    /// Organizations' accounts and management account id, and the exporter's own account id
    /// where a root audit without role name needs it: every AWS answer discovery depends on.
    async fn listed(
        &self,
        aws: &Aws,
        org: &crate::config::Organizations,
    ) -> Result<(Vec<OrgAccount>, Option<String>, Option<String>), FetchError> {
        let (members, management) = aws.organization_accounts().await?;
        // A root audit without role name: the exporter's own account is read with its own
        // credentials (its full report), not audited.
        let own = match (&org.role_name, org.root_audit) {
            (None, true) => Some(self.own_account_id(aws).await?),
            _ => None,
        };
        Ok((members, management, own))
    }

    /// The exporter's own account id, asked once.
    async fn own_account_id(&self, aws: &Aws) -> Result<String, FetchError> {
        self.own_account
            .get_or_try_init(|| async { aws.own_account().caller_account().await })
            .await
            .cloned()
    }

    /// Says once that the management account is not watched: no root audit can read it, and
    /// no role name is configured.
    fn say_management_unread(&self, id: &str) {
        if !self.said_management_unread.swap(true, Ordering::Relaxed) {
            tracing::warn!(account = %id, "the management account is not watched: AWS refuses it as an AssumeRoot target and no organizations.role_name is set; run the exporter there, or add a role_name (or an accounts: entry) for it");
        }
    }

    /// The AWS of the exporter-level job, where it runs: AWS configured (never offline) and
    /// shard 0, so that sharded replicas ask once between them. The one place that decides it.
    fn organization_aws(&self) -> Option<&Arc<Aws>> {
        self.aws.as_ref().filter(|_| self.config.shard_index == 0)
    }

    /// The exporter-level job on `aws`.
    fn organization_job(&self, aws: &Aws) -> Organization {
        Organization::new(
            aws.clone(),
            self.organization.clone(),
            self.settings.thresholds,
        )
    }

    /// The exporter-level job, where it runs (see [`ConfigFleet::organization_aws`]).
    pub fn organization(&self) -> Option<Organization> {
        self.organization_aws()
            .map(|aws| self.organization_job(aws))
    }
}

impl Fleet for ConfigFleet {
    type Spec = Entry;
    type Account = Job;

    async fn discover(&self) -> Found<Entry> {
        let Discovered { accounts, failure } = self.accounts().await;
        if let Some(e) = &failure {
            tracing::error!(operation = %e.operation, code = %e.code.label(), message = %e.message, "account discovery failed; the configured accounts and those found before stay watched");
        }
        let mut found: Vec<(String, Entry)> = accounts
            .into_iter()
            .map(|(key, spec)| (key, Entry::Account(spec)))
            .collect();
        if let Some(aws) = self.organization_aws() {
            found.push((
                ORGANIZATION_KEY.to_owned(),
                Entry::Organization(ProcessAws(aws.clone())),
            ));
        }
        Found {
            accounts: found,
            complete: failure.is_none(),
        }
    }

    async fn open(&self, key: &str, entry: &Entry) -> Job {
        match entry {
            Entry::Account(spec) => Job::Account(self.account(key, spec).await),
            Entry::Organization(ProcessAws(aws)) => Job::Organization(self.organization_job(aws)),
        }
    }

    fn reports_discovery(&self) -> bool {
        matches!(self.config.mode, Mode::MultiAccount { .. })
    }
}

/// The daemon's refreshes: runs until `cancel`.
pub async fn run(
    config: Arc<Config>,
    state: Arc<State>,
    cancel: tokio_util::sync::CancellationToken,
) {
    // The benchmark numbers, once per exporter (as in `once`).
    state.set_exporter_part(ExporterPart::ControlInfo, render_control_info());
    let publisher = tokio::spawn(publish_loop(state.clone(), cancel.clone()));
    let fleet = Arc::new(ConfigFleet::new(config, state.clone()).await);
    let plan = fleet.plan();
    schedule::run(fleet, state, plan, cancel).await;
    let _ = publisher.await;
}

/// Publications never come closer together than this: refreshes that finish together (the
/// first refresh of every account at start-up) make one publication, not one each.
const PUBLISH_SPACING: std::time::Duration = std::time::Duration::from_millis(250);

/// Publishes after refreshes, coalesced: wake-ups during an assembly or within
/// [`PUBLISH_SPACING`] of the last one cause one more publication, not one each.
async fn publish_loop(state: Arc<State>, cancel: tokio_util::sync::CancellationToken) {
    loop {
        tokio::select! {
            // Shutdown: nothing more to publish.
            _ = cancel.cancelled() => return,
            // A refresh finished or an account left.
            _ = state.changed() => {}
        }
        let s = state.clone();
        let _ = tokio::task::spawn_blocking(move || s.publish()).await;
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(PUBLISH_SPACING) => {}
        }
    }
}

/// One account that `--once` or `audit` could not read. One line: the refresh's error, after
/// the account's key where several accounts are watched.
#[derive(Debug, thiserror::Error)]
#[error("{}{source}", .key.as_ref().map(|k| format!("account {k}: ")).unwrap_or_default())]
pub struct AccountError {
    /// The account's key where several accounts are watched (the message names it); `None`
    /// where there is one account (or for the exporter-level job).
    pub key: Option<String>,
    #[source]
    pub source: RefreshError,
}

/// What `--once` or `audit` could not read, on one line: the discovery, when Organizations
/// failed (the configured accounts are read all the same), and each account that failed.
#[derive(Debug, Default, thiserror::Error)]
#[error("{}", self.lines().join("; "))]
pub struct OnceError {
    /// Organizations' failure: only the configured accounts were read.
    pub discovery: Option<FetchError>,
    /// The accounts that could not be read, sorted by message.
    pub accounts: Vec<AccountError>,
}

impl OnceError {
    pub fn is_empty(&self) -> bool {
        self.discovery.is_none() && self.accounts.is_empty()
    }

    /// The discovery's failure as one line, when it failed.
    pub fn discovery_line(&self) -> Option<String> {
        self.discovery
            .as_ref()
            .map(|e| format!("account discovery: {e}"))
    }

    /// One line per failure, the discovery first.
    pub fn lines(&self) -> Vec<String> {
        self.discovery_line()
            .into_iter()
            .chain(self.accounts.iter().map(ToString::to_string))
            .collect()
    }
}

/// What `--once` read: the published state (the accounts it could read, how many), and what
/// it could not.
#[derive(Debug)]
pub struct OnceRead {
    pub state: Arc<State>,
    /// Accounts whose refresh succeeded: with none, there is nothing to print.
    pub read: usize,
    pub errors: OnceError,
}

/// `--once`: refreshes every account once and publishes what it read.
pub async fn once(config: Arc<Config>) -> OnceRead {
    let state = Arc::new(State::default());
    state.set_exporter_part(ExporterPart::ControlInfo, render_control_info());
    let many = matches!(config.mode, Mode::MultiAccount { .. });
    let (outcomes, discovery, _) = each_once(config, state.clone(), |mut account| async move {
        account.refresh_once().await
    })
    .await;
    if many {
        state.set_discovery(match discovery {
            None => Discovery::Succeeded,
            Some(_) => Discovery::Failed,
        });
    }
    let mut errors = OnceError {
        discovery,
        accounts: Vec::new(),
    };
    let mut read = 0;
    for outcome in outcomes {
        match outcome {
            Ok(()) => read += 1,
            Err(e) => errors.accounts.push(e),
        }
    }
    errors.accounts.sort_by_cached_key(ToString::to_string);
    state.publish();
    OnceRead {
        state,
        read,
        errors,
    }
}

/// What `audit` read: the data of every account that could be read, sorted by key, and what
/// could not be read.
#[derive(Debug)]
pub struct AccountsRead {
    pub inputs: Vec<AccountInput>,
    pub errors: OnceError,
}

/// `audit`: fetches and parses every account once, through the same fleet and sources as
/// `--once`, without rendering. The exporter's own account (the hub) gets the organization's
/// centralized root access, as the daemon's exporter-level job reads it.
pub async fn fetch_once(config: Arc<Config>) -> AccountsRead {
    let state = Arc::new(State::default());
    let (outcomes, discovery, organization) = each_once(config, state, |mut account| async move {
        account.fetch_once().await
    })
    .await;
    let mut read = AccountsRead {
        inputs: Vec::new(),
        errors: OnceError {
            discovery,
            accounts: Vec::new(),
        },
    };
    for outcome in outcomes {
        match outcome {
            Ok(input) => read.inputs.push(input),
            Err(e) => read.errors.accounts.push(e),
        }
    }
    if let Some((own_id, features)) = organization.features() {
        for input in read.inputs.iter_mut().filter(|i| i.account_id == own_id) {
            input.data.facts.organization = Some(features.clone());
        }
    }
    read.inputs.sort_by(|a, b| a.key.cmp(&b.key));
    read.errors.accounts.sort_by_cached_key(ToString::to_string);
    read
}

/// Runs `job` once on every account of `config` (at most `concurrency` at a time), and the
/// organization job once beside them (quietly: its outcome is in the output); returns each
/// account's result, the discovery's failure, and the organization's part.
async fn each_once<T, F, Fut>(
    config: Arc<Config>,
    state: Arc<State>,
    job: F,
) -> (
    Vec<Result<T, AccountError>>,
    Option<FetchError>,
    Arc<OrganizationPart>,
)
where
    T: Send + 'static,
    F: Fn(Account) -> Fut,
    Fut: std::future::Future<Output = Result<T, RefreshError>> + Send + 'static,
{
    let fleet = ConfigFleet::new(config.clone(), state).await;
    let Discovered { accounts, failure } = fleet.accounts().await;
    let limit = Arc::new(tokio::sync::Semaphore::new(config.concurrency.max(1)));
    let mut jobs = tokio::task::JoinSet::new();
    // The key each error is shown with, by task (a task that panics returns no key).
    let many = matches!(config.mode, Mode::MultiAccount { .. });
    let mut keys = std::collections::HashMap::new();
    for (key, spec) in accounts {
        let account = fleet.account(&key, &spec).await;
        let limit = limit.clone();
        let run = job(account);
        let task = jobs.spawn(async move {
            let _permit = limit.acquire_owned().await;
            run.await
        });
        keys.insert(task.id(), many.then_some(key));
    }
    // The organization's features, once (not per account).
    let organization = fleet.organization().map(Organization::quiet);
    let organization = tokio::spawn(async move {
        if let Some(mut org) = organization {
            // Never fails: a refusal leaves the organization's series absent, and is counted.
            org.refresh_once().await;
        }
    });
    let mut outcomes = Vec::new();
    while let Some(joined) = jobs.join_next_with_id().await {
        let (id, result) = match joined {
            Ok((id, result)) => (id, result),
            Err(e) => (e.id(), Err(RefreshError::Task("refresh", e.to_string()))),
        };
        let key = keys.remove(&id).flatten();
        outcomes.push(result.map_err(|source| AccountError { key, source }));
    }
    if let Err(e) = organization.await {
        outcomes.push(Err(AccountError {
            key: None,
            source: RefreshError::Task("organization", e.to_string()),
        }));
    }
    (outcomes, failure, fleet.organization.clone())
}
