//! One account's refresh: fetch -> parse -> derive -> render, then its slot in the
//! [`State`]. When refreshes happen is [`crate::schedule`]'s business, which accounts exist
//! [`crate::accounts`]'s; this module knows neither, nor any AWS type.
//!
//! A failed refresh keeps the account's last good data (its self-metrics say it failed and how
//! old the last success is).
//!
//! A member read by a root audit (sts:AssumeRoot, `organizations.root_audit`) is audited only
//! when its [`Cadence`] says so: the daemon's refreshes in between do nothing, and its slot keeps
//! the last audit. Its failures are logged once per change of outcome, as one line that says
//! what to check.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::aws::{AccountClient, RootAuditClient};
use crate::cadence::Cadence;
use crate::clock::now_secs;
use crate::exposition::{AccountLabels, RefreshStats, account_labels as labels, left_absent};
use crate::fast::{FastCheck, FastSettings, Live};
use crate::fetch::{ErrorLog, FetchError, Fetched, Operation};
use crate::offline::FileSource;
use crate::organization::OutcomeLog;
use crate::posture::{AccountData, Summary, Thresholds, root_audit};
use crate::report::{ParseError, parse};
use crate::schedule::Refresh;
use crate::snapshot::State;

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("{0}")]
    Fetch(#[from] FetchError),
    #[error("{0}")]
    Parse(#[from] ParseError),
    #[error("the credential report is of account {report} but the role is in account {expected}")]
    AccountMismatch { report: String, expected: String },
    #[error("the root session of account {expected} reads the root of account {read}")]
    RootAccountMismatch { read: String, expected: String },
    #[error("refresh took longer than {} and was abandoned", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// Reading the files, parsing or rendering (on the blocking pool) panicked or was
    /// cancelled.
    #[error("the {0} task failed: {1}")]
    Task(&'static str, String),
}

/// Runs `work` on the blocking pool: file reads (which may block), parsing and rendering (CPU
/// work), never on an async worker. A task that panics is a [`RefreshError::Task`] named
/// `what`, not an error of the report.
async fn blocking<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RefreshError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| RefreshError::Task(what, e.to_string()))
}

/// Where one account's data comes from.
#[derive(Debug, Clone)]
pub enum Source {
    Aws(AccountClient),
    Files(FileSource),
    /// A member's root through sts:AssumeRoot, no role in it (`organizations.root_audit`).
    Root(RootAuditClient),
    /// The role where it can be assumed, else the member's root through sts:AssumeRoot
    /// (`organizations` with both `role_name` and `root_audit`).
    RoleOrRoot(AccountClient, RootAuditClient),
}

impl Source {
    /// The client of an account's fast check: an AWS account's, or the role of a role-or-root
    /// member (whose failing AssumeRole the check then counts). None for files, and for a root
    /// audit alone: an AssumeRoot every minute would be a CloudTrail event a minute per member.
    fn fast_client(&self) -> Option<&AccountClient> {
        match self {
            Source::Aws(client) | Source::RoleOrRoot(client, _) => Some(client),
            Source::Files(_) | Source::Root(_) => None,
        }
    }

    /// The root audit of a source that reads one.
    fn root_audit(&self) -> Option<&RootAuditClient> {
        match self {
            Source::Root(root) | Source::RoleOrRoot(_, root) => Some(root),
            Source::Aws(_) | Source::Files(_) => None,
        }
    }
}

/// Where a credential report comes from.
#[derive(Clone, Copy)]
enum ReportFrom<'a> {
    Aws(&'a AccountClient),
    Files(&'a FileSource),
}

/// How a refresh read its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Report,
    /// The root audit (sts:AssumeRoot).
    Root,
}

/// One account to watch.
#[derive(Debug, Clone)]
pub struct Target {
    /// Stable key: `default`, the file path, or the account id.
    pub key: String,
    /// The account id when known before the first refresh (role ARN, Organizations).
    pub account_id: Option<String>,
    /// `account_name` label.
    pub name: Option<String>,
    pub source: Source,
}

/// Settings every refresh needs.
#[derive(Debug, Clone)]
pub struct RefreshSettings {
    pub thresholds: Thresholds,
    pub per_user: bool,
    pub max_report_bytes: usize,
    /// Hard bound on one whole refresh, beyond the per-call timeouts.
    pub deadline: Duration,
    /// Between refreshes (`--refresh.interval`): a failed root audit is retried after it first.
    pub refresh_interval: Duration,
    /// Between two root audits of a member (`--root-audit.interval`).
    pub root_audit_interval: Duration,
    /// The fast checks of AWS accounts (the daemon, unless `--refresh.fast-interval=0`);
    /// `None`: none.
    pub fast: Option<Arc<FastSettings>>,
}

/// One account's fetched and parsed data, as `audit` reads it ([`Account::fetch_once`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInput {
    /// The account's key: `default`, the report file's path, or the account id.
    pub key: String,
    pub account_id: String,
    /// The `account_name` of the config file or Organizations, if any.
    pub name: Option<String>,
    pub data: AccountData,
}

/// One account's refresh state across refreshes.
#[derive(Debug)]
pub struct Account {
    target: Target,
    /// Its counters, and the data its fast check re-derives from (shared with the check).
    live: Arc<Live>,
    /// The report columns missing at the last refresh that read a report: logged when they
    /// change, not at every refresh.
    missing_columns: Option<Vec<&'static str>>,
    state: Arc<State>,
    settings: Arc<RefreshSettings>,
    /// When the root audit is due, for a source that reads one.
    cadence: Option<Cadence>,
    /// How the last refresh read the account.
    read: Read,
    /// The last outcome of the root audit, and of the role before it: each logged loudly only
    /// when it changes (the same refusal every hour says nothing new).
    root_log: OutcomeLog,
    role_log: OutcomeLog,
}

impl Refresh for Account {
    type Fast = FastCheck;

    async fn refresh(&mut self) {
        // Counted inside; the schedule only needs it done.
        let result = self.refresh_with(true).await;
        match (result, self.read) {
            (Ok(()), Read::Root) => {
                self.root_log.changed("ok");
            }
            (Ok(()), Read::Report) => {}
            (Err(e), Read::Root) => self.log_root_failure(&e),
            (Err(e), Read::Report) => {
                tracing::error!(account = %self.target.key, error = %e, "refresh failed; the last good data, if any, stays served");
            }
        }
    }

    fn fast_check(&self) -> Option<FastCheck> {
        let client = self.target.source.fast_client()?;
        let settings = self.settings.fast.as_ref()?;
        Some(FastCheck {
            key: self.target.key.clone(),
            client: client.clone(),
            live: self.live.clone(),
            state: self.state.clone(),
            settings: settings.clone(),
        })
    }
}

impl Account {
    /// Starts watching `target`: registers its slot in `state`.
    pub fn new(target: Target, state: Arc<State>, settings: Arc<RefreshSettings>) -> Account {
        state.register(&target.key);
        let stats = RefreshStats {
            labels: labels(target.account_id.as_deref(), target.name.as_deref()),
            ..RefreshStats::default()
        };
        // The audit's slot in the hour: the same stable fraction as the refresh slot's.
        let cadence = target.source.root_audit().map(|_| {
            let interval = settings.root_audit_interval;
            Cadence::new(
                interval,
                settings.refresh_interval,
                tokio::time::Instant::now(),
                crate::schedule::spread(&target.key, interval),
            )
        });
        // Only a fast check re-derives from the last data: keep it only for one.
        let keep = settings.fast.is_some() && target.source.fast_client().is_some();
        Account {
            target,
            live: Arc::new(Live::new(stats, keep)),
            missing_columns: None,
            state,
            settings,
            cadence,
            read: Read::Report,
            root_log: OutcomeLog::default(),
            role_log: OutcomeLog::default(),
        }
    }

    /// Refreshes once and writes the result into the account's slot. Returns the error,
    /// counted but not logged (the daemon logs it; `--once` prints it).
    pub async fn refresh_once(&mut self) -> Result<(), RefreshError> {
        self.refresh_with(false).await
    }

    /// [`Account::refresh_once`]; `gated`: a root audit only when its cadence says it is due
    /// (the daemon), else nothing is read and the slot keeps the last audit.
    async fn refresh_with(&mut self, gated: bool) -> Result<(), RefreshError> {
        let started = Instant::now();
        let mut errors = ErrorLog::new();
        let read = self.read(gated, &mut errors).await;
        let result = match read {
            None => {
                // Not due: nothing read, and nothing to publish, unless a role that could not
                // be assumed was counted (a role-or-root source gets here only then).
                if matches!(self.target.source, Source::RoleOrRoot(..)) {
                    self.live.show_stats(&self.state, &self.target.key);
                }
                return Ok(());
            }
            Some(Ok(parsed)) => self.render(parsed, started).await,
            Some(Err(e)) => Err(e),
        };

        log_failed_calls(&self.target.key, &errors);
        let result = result.map(|(labels, unparsed, missing)| {
            if let Some(missing) = missing
                && self.missing_columns.as_ref() != Some(&missing.columns)
            {
                log_missing_columns(&self.target.key, &missing, self.missing_columns.is_some());
                self.missing_columns = Some(missing.columns);
            }
            (labels, unparsed)
        });
        let key = &self.target.key;
        let outcome = self.live.stats(|s| {
            for e in &errors {
                s.aws_errors.count(e);
            }
            s.duration_seconds = started.elapsed().as_secs_f64();
            match result {
                Ok((labels, unparsed)) => {
                    s.labels = labels;
                    s.count_unparsed(&unparsed);
                    s.success = true;
                    s.successes += 1;
                    s.last_success = Some(now_secs());
                    tracing::info!(account = %key, account_id = %label_value(&s.labels, "account_id"), duration_seconds = s.duration_seconds, "refresh succeeded");
                    Ok(())
                }
                Err(e) => {
                    s.success = false;
                    s.failures += 1;
                    if let RefreshError::Fetch(f) = &e {
                        s.aws_errors.count(f);
                    }
                    Err(e)
                }
            }
        });
        self.live.show_stats(&self.state, key);
        outcome
    }

    /// `audit`: fetches and parses once, under the same deadline as a refresh, and returns the
    /// account's data without rendering it or touching the state. AWS calls that failed without
    /// failing the fetch are logged, as a refresh logs them.
    pub async fn fetch_once(&mut self) -> Result<AccountInput, RefreshError> {
        let mut errors = ErrorLog::new();
        let result = self.read(false, &mut errors).await;
        log_failed_calls(&self.target.key, &errors);
        let Parsed {
            account_id,
            data,
            missing,
            ..
        } = result.unwrap_or_else(|| unreachable!("an ungated read always reads"))?;
        if let Some(missing) = &missing {
            log_missing_columns(&self.target.key, missing, false);
        }
        Ok(AccountInput {
            key: self.target.key.clone(),
            account_id,
            name: self.target.name.clone(),
            data,
        })
    }

    /// Derives and renders what one read gave, off the async workers, and writes the
    /// account's slot (unless a newer render, a fast check's, is shown); returns the account's
    /// labels, the report values that fit no known form and the columns the report lacks.
    async fn render(&self, parsed: Parsed, started: Instant) -> Result<Rendered, RefreshError> {
        let Parsed {
            account_id,
            data,
            unparsed,
            missing,
        } = parsed;
        let labels = labels(Some(&account_id), self.target.name.as_deref());
        // The live facts were fetched after `started`: a fast check's fetched later win.
        let render = self.live.full(data, labels.clone(), started);
        let now = now_secs() as i64;
        let (thresholds, per_user) = (self.settings.thresholds, self.settings.per_user);
        let finished = blocking("render", move || render.run(&thresholds, per_user, now)).await?;
        self.live.show(finished, &self.state, &self.target.key);
        Ok((labels, unparsed, missing))
    }

    /// Reads the account once, under the refresh's deadline: its report, or its root through
    /// AssumeRoot (a root-audit source; a role-or-root source whose role cannot be assumed:
    /// that failure is counted and logged once per change, not failing the refresh). `None`:
    /// `gated` and the root audit is not due, nothing read.
    async fn read(
        &mut self,
        gated: bool,
        errors: &mut ErrorLog,
    ) -> Option<Result<Parsed, RefreshError>> {
        let deadline = self.settings.deadline;
        // One deadline for the whole read: a role that could not be assumed and the root audit
        // after it share it (the audit's call count includes that AssumeRole).
        let end = tokio::time::Instant::now() + deadline;
        let target = &self.target;
        self.read = Read::Report;
        let from = match &target.source {
            Source::Aws(client) => Some(ReportFrom::Aws(client)),
            Source::Files(files) => Some(ReportFrom::Files(files)),
            Source::Root(_) => None,
            Source::RoleOrRoot(role, _) => {
                let work = fetch_report(target, ReportFrom::Aws(role), &self.settings, errors);
                match within(deadline, work).await {
                    Err(RefreshError::Fetch(e)) if e.operation == Operation::AssumeRole => {
                        self.live.stats(|s| s.aws_errors.count(&e));
                        if self.role_log.changed(&e.to_string()) {
                            tracing::warn!(account = %target.key, operation = %e.operation, code = %e.code.label(), message = %e.message, "the role cannot be assumed; reading the account's root through sts:AssumeRoot instead (root only: the user controls are absent) until it can");
                        }
                        None
                    }
                    read => {
                        self.role_log.changed("ok");
                        return Some(read);
                    }
                }
            }
        };
        if let Some(from) = from {
            return Some(
                within(deadline, fetch_report(target, from, &self.settings, errors)).await,
            );
        }
        let root = target.source.root_audit()?;
        let started = tokio::time::Instant::now();
        if gated && self.cadence.as_ref().is_some_and(|c| !c.due(started)) {
            return None;
        }
        self.read = Read::Root;
        let read = tokio::time::timeout_at(end, fetch_root(target, root, errors))
            .await
            .unwrap_or(Err(RefreshError::Timeout(deadline)));
        if let Some(c) = &mut self.cadence {
            c.record(started, read.is_ok());
        }
        Some(read)
    }

    /// A failed root audit, as one line, loudly once per change of outcome: which member, what
    /// AWS answered, what to check.
    fn log_root_failure(&mut self, e: &RefreshError) {
        let (operation, code, message, check) = match e {
            RefreshError::Fetch(f) => (
                f.operation.as_str(),
                f.code.label().into_owned(),
                f.message.clone(),
                crate::aws::root_audit_advice(f),
            ),
            other => ("", String::new(), other.to_string(), ""),
        };
        let key = &self.target.key;
        let name = self.target.name.as_deref().unwrap_or("");
        let failures = self.cadence.as_ref().map_or(0, Cadence::failures);
        if self
            .root_log
            .changed(&format!("{operation} {code} {message}"))
        {
            tracing::error!(account = %key, account_name = %name, operation = %operation, code = %code, error = %message, check = %check, "root audit failed; this account keeps its last good series, the other accounts go on; retried with backoff up to the root audit interval");
        } else {
            tracing::debug!(account = %key, operation = %operation, code = %code, failures, "root audit still failing");
        }
    }
}

/// `work`, abandoned when it takes longer than `deadline` (the hard bound on a refresh).
async fn within<T>(
    deadline: Duration,
    work: impl std::future::Future<Output = Result<T, RefreshError>>,
) -> Result<T, RefreshError> {
    tokio::time::timeout(deadline, work)
        .await
        .unwrap_or(Err(RefreshError::Timeout(deadline)))
}

/// Logs the calls that failed without failing the refresh (optional calls, reports to
/// regenerate), one line each.
fn log_failed_calls(key: &str, errors: &ErrorLog) {
    for e in errors {
        tracing::warn!(account = %key, operation = %e.operation, code = %e.code.label(), message = %e.message, "AWS call failed; refresh continues");
    }
}

/// The columns a report lacks, and the summary beside it (which stands in for some).
struct MissingColumns {
    columns: Vec<&'static str>,
    summary: Option<Summary>,
}

/// One warning naming the columns a report lacks and what they leave absent; when they are
/// back (`before`: some were missing), one line saying so.
fn log_missing_columns(key: &str, missing: &MissingColumns, before: bool) {
    if missing.columns.is_empty() {
        if before {
            tracing::info!(account = %key, "the credential report has every column the exporter reads again");
        }
        return;
    }
    let absent = left_absent(&missing.columns, missing.summary.as_ref());
    tracing::warn!(
        account = %key,
        missing = %missing.columns.join(","),
        absent_series = %absent.families.join(","),
        undecided_controls = %absent.controls.join(","),
        "the credential report lacks columns: the series that need them are absent, and so are the controls unless a known failure decides them; logged again when the columns change"
    );
}

fn label_value<'a>(labels: &'a AccountLabels, key: &str) -> &'a str {
    labels
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// What a refresh rendered: the account's labels, the report values that fit no known form,
/// and the columns the report lacks (`None` where no report was read, a root audit).
type Rendered = (
    AccountLabels,
    BTreeMap<&'static str, u64>,
    Option<MissingColumns>,
);

/// What one fetch gave, parsed, before any posture: the input of [`derive`] for the daemon and
/// `audit` alike.
struct Parsed {
    /// From the report, the role, or the caller.
    account_id: String,
    data: AccountData,
    /// The report values that fit no known form, per column.
    unparsed: BTreeMap<&'static str, u64>,
    /// `None` where no report was read (a root audit).
    missing: Option<MissingColumns>,
}

/// Fetches and parses a credential report with the facts beside it.
async fn fetch_report(
    target: &Target,
    from: ReportFrom<'_>,
    settings: &RefreshSettings,
    errors: &mut ErrorLog,
) -> Result<Parsed, RefreshError> {
    let Fetched { report, facts } = match from {
        ReportFrom::Aws(client) => client.fetch(errors).await?,
        ReportFrom::Files(files) => {
            let files = files.clone();
            blocking("file reader", move || files.fetch()).await??
        }
    };
    if report.csv.len() > settings.max_report_bytes {
        return Err(ParseError::TooLarge {
            size: report.csv.len(),
            limit: settings.max_report_bytes,
        }
        .into());
    }
    let generated = report.generated;
    let csv = report.csv;
    let parsed = blocking("parser", move || parse(&csv)).await??;
    for w in &parsed.warnings {
        tracing::warn!(account = %target.key, "{w}");
    }
    let unparsed = parsed.unparsed.clone();
    let missing = MissingColumns {
        columns: parsed.missing_columns.clone(),
        summary: facts.summary.clone(),
    };

    let account_id = match (&parsed.account_id, &target.account_id) {
        (Some(r), Some(expected)) if r != expected => {
            return Err(RefreshError::AccountMismatch {
                report: r.clone(),
                expected: expected.clone(),
            });
        }
        (Some(r), _) => r.clone(),
        (None, Some(expected)) => expected.clone(),
        (None, None) => match from {
            ReportFrom::Aws(client) => client.caller_account().await?,
            ReportFrom::Files(_) => "unknown".to_owned(),
        },
    };
    let data = AccountData {
        report: parsed,
        generated,
        facts,
    };
    Ok(Parsed {
        account_id,
        data,
        unparsed,
        missing: Some(missing),
    })
}

/// Reads a member's root through sts:AssumeRoot: root alone, no report.
async fn fetch_root(
    target: &Target,
    root: &RootAuditClient,
    errors: &mut ErrorLog,
) -> Result<Parsed, RefreshError> {
    let audit = root.audit(errors).await?;
    let data = root_audit::account_data(&audit);
    // GetUser's ARN names whose root the session reads.
    let account_id = match (&data.report.account_id, &target.account_id) {
        (Some(read), Some(expected)) if read != expected => {
            return Err(RefreshError::RootAccountMismatch {
                read: read.clone(),
                expected: expected.clone(),
            });
        }
        (Some(read), _) => read.clone(),
        (None, Some(expected)) => expected.clone(),
        (None, None) => audit.account_id.clone(),
    };
    Ok(Parsed {
        account_id,
        data,
        unparsed: Default::default(),
        missing: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offline::Files;

    fn file_target(dir: &std::path::Path, body: &str) -> Target {
        let path = dir.join("report.csv");
        std::fs::write(&path, body).unwrap();
        Target {
            key: "file".into(),
            account_id: None,
            name: Some("prod".into()),
            source: Source::Files(FileSource {
                files: Files {
                    report: path,
                    summary: None,
                },
                max_bytes: 1 << 20,
            }),
        }
    }

    fn settings() -> Arc<RefreshSettings> {
        Arc::new(RefreshSettings {
            thresholds: Thresholds::default(),
            per_user: true,
            max_report_bytes: 1 << 20,
            deadline: Duration::from_secs(5),
            refresh_interval: Duration::from_secs(300),
            root_audit_interval: Duration::from_secs(3600),
            fast: None,
        })
    }

    const GOOD: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::123456789012:root,2015-01-01T00:00:00+00:00,not_supported,2024-05-01T00:00:00+00:00,not_supported,not_supported,false,true,2020-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
";

    #[tokio::test]
    async fn a_failed_refresh_keeps_the_last_good_data_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let target = file_target(dir.path(), GOOD);
        let path = match &target.source {
            Source::Files(f) => f.files.report.clone(),
            _ => unreachable!("file target"),
        };
        let state = Arc::new(State::default());
        let mut account = Account::new(target, state.clone(), settings());
        account.refresh_once().await.unwrap();
        state.publish();
        assert!(state.is_ready());
        let good = state.published().classic_text(0.0);
        assert!(good.contains(
            "aws_iam_root_access_keys_present{account_id=\"123456789012\",account_name=\"prod\"} 1"
        ));

        std::fs::write(&path, "not,a,report\n").unwrap();
        let err = account.refresh_once().await.unwrap_err();
        assert!(
            err.to_string().contains("missing required column `user`"),
            "{err}"
        );
        state.publish();
        let after = state.published().classic_text(0.0);
        assert!(after.contains(
            "aws_iam_root_access_keys_present{account_id=\"123456789012\",account_name=\"prod\"} 1"
        ));
        assert!(after.contains(
            "aws_iam_exporter_refresh_success{account_id=\"123456789012\",account_name=\"prod\"} 0"
        ));
        assert!(after.contains("aws_iam_exporter_refreshes_total{account_id=\"123456789012\",account_name=\"prod\",result=\"failure\"} 1"));
        assert!(state.is_ready(), "readiness stays once data exists");
    }

    #[tokio::test]
    async fn a_report_over_the_limit_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(State::default());
        let mut s = (*settings()).clone();
        s.max_report_bytes = 100;
        let err = Account::new(file_target(dir.path(), GOOD), state.clone(), Arc::new(s))
            .refresh_once()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("over the limit"), "{err}");
        assert!(!state.is_ready());
    }

    #[tokio::test]
    async fn a_removed_account_loses_its_series() {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(State::default());
        Account::new(file_target(dir.path(), GOOD), state.clone(), settings())
            .refresh_once()
            .await
            .unwrap();
        state.publish();
        assert!(state.published().classic_text(0.0).contains("123456789012"));
        state.remove("file");
        state.publish();
        let text = state.published().classic_text(0.0);
        assert!(!text.contains("123456789012"), "{text}");
        assert!(text.contains("aws_iam_exporter_accounts{} 0"));
    }

    #[tokio::test]
    async fn a_refresh_that_finishes_after_its_account_was_removed_publishes_nothing() {
        // The interleaving behind ghost series: removal first, then the refresh writes.
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(State::default());
        let mut account = Account::new(file_target(dir.path(), GOOD), state.clone(), settings());
        state.remove("file");
        account.refresh_once().await.unwrap();
        state.publish();
        let text = state.published().classic_text(0.0);
        assert!(!text.contains("123456789012"), "{text}");
        assert!(text.contains("aws_iam_exporter_accounts{} 0"));
    }

    #[tokio::test]
    async fn a_blocking_task_that_panics_is_named_as_such_not_as_a_bad_report() {
        let e = blocking("parser", || -> Result<(), ParseError> {
            panic!("a parser that panics")
        })
        .await
        .unwrap_err();
        assert!(matches!(e, RefreshError::Task("parser", _)), "{e:?}");
        let text = e.to_string();
        assert!(text.starts_with("the parser task failed: "), "{text}");
        assert!(text.contains("panicked"), "{text}");
        assert!(!text.contains("CSV"), "{text}");
        // A task that ends well hands its result over.
        assert_eq!(blocking("render", || 7).await.unwrap(), 7);
    }

    #[test]
    fn a_file_that_blocks_does_not_keep_the_deadline_from_firing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo has no other precondition.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // A writer that opens the FIFO and never writes.
        let writer = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let mut target = file_target(dir.path(), GOOD);
        if let Source::Files(f) = &mut target.source {
            f.files.report = path;
        }
        let mut s = (*settings()).clone();
        s.deadline = Duration::from_millis(300);
        // One async thread, as `--once` runs: a read on it would block its timer too, so the
        // wait for the outcome is a thread's, outside that runtime.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let state = Arc::new(State::default());
            let _ = tx.send(rt.block_on(Account::new(target, state, Arc::new(s)).refresh_once()));
        });
        let e = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the refresh's deadline never fired")
            .unwrap_err();
        assert!(matches!(e, RefreshError::Timeout(_)), "{e}");
        drop(writer);
    }
}
