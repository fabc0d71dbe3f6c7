//! Issue 4: the paging path, proven end to end with the real tools.
//!
//! scenario IAM server -> aws-iam-exporter -> Prometheus (scrape + the shipped
//! alerts/aws-iam-exporter.rules.yml) -> Alertmanager -> webhook (this test).
//!
//! The exporter runs as shipped: the full refresh (the credential report) rarely (here once an
//! hour), the signals that page on the fast check (here every second). A root access key
//! appears (the account summary's AccountAccessKeysPresent goes 0 -> 1, live, as it does in
//! AWS); the test measures how long it takes until Alertmanager delivers the FIRING
//! `AwsIamRootAccessKeyPresent` notification, then removes the key and measures the RESOLVED
//! notification. Then AWS quarantines a user's exposed key (AWSCompromisedKeyQuarantineV4
//! attached, as AWS does within a minute of finding it) and the same is measured for
//! `AwsIamAccessKeyExposed`. The latencies are printed and written to `target/e2e-latency.txt`.
//!
//! The same stack then checks the dashboards and rules against reality:
//! `scripts/check_dashboards.py` with real scrapes of the exporter (every
//! `aws_iam_*` name used must be emitted) and the real Prometheus (every
//! expression must be accepted); every rule must evaluate without error and
//! the exporter target must be up.
//!
//! Everything binds 127.0.0.1 (Alertmanager's cluster listener is disabled) and
//! every process is killed by PID when its handle drops; on a failure the logs
//! of Prometheus, Alertmanager and the exporter are printed.

use crate::common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::scenario::*;
use common::*;

const ACCOUNT: &str = DEFAULT_ACCOUNT;
const ALERT: &str = "AwsIamRootAccessKeyPresent";
const EXPOSED: &str = "AwsIamAccessKeyExposed";
const QUARANTINE: &str = "AWSCompromisedKeyQuarantineV4";
const JOB: &str = "aws-iam-exporter";
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long Prometheus and Alertmanager may take to answer `/-/ready`.
const SERVER_START: Duration = Duration::from_secs(30);

fn rules_file() -> PathBuf {
    repo_root().join("alerts/aws-iam-exporter.rules.yml")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                repo_root().join(p)
            }
        })
        .unwrap_or_else(|| repo_root().join("target"))
}

/// A report with data for every metric family the dashboards and rules use:
/// root (no keys, MFA, password used an hour ago), users with one and two
/// active keys (used, never used, old), console users with and without MFA,
/// one who never signed in.
fn report() -> String {
    ReportBuilder::new(ACCOUNT)
        .root(RootRow {
            mfa_active: true,
            password_last_used: Some(secs_ago(3600)),
            ..Default::default()
        })
        .user(
            UserRow::new("alice")
                .created(days_ago(400))
                .password(Some(days_ago(1)))
                .mfa(true)
                .key1(days_ago(10), Some(days_ago(1))),
        )
        .user(
            UserRow::new("bob")
                .created(days_ago(300))
                .password(None)
                .key1(days_ago(200), Some(days_ago(100)))
                .key2(days_ago(5), None),
        )
        .user(
            UserRow::new("carol")
                .created(days_ago(200))
                .password(Some(days_ago(60)))
                .mfa(true),
        )
        .user(
            UserRow::new("deploy-bot")
                .created(days_ago(30))
                .key1(days_ago(30), None),
        )
        .csv()
}

/// GET a Prometheus / Alertmanager JSON API.
fn get_json(url: &str) -> serde_json::Value {
    let r = http_get(url).unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(r.status, 200, "GET {url} -> {}: {}", r.status, r.text());
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("GET {url}: bad JSON {e}"))
}

/// Prometheus instant query; the result vector.
fn prom_query(prom: &str, q: &str) -> Vec<serde_json::Value> {
    let body = format!("query={}", form_encode(q));
    let url = format!("{prom}/api/v1/query");
    let r = http_post(&url, "application/x-www-form-urlencoded", body.as_bytes())
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    assert_eq!(r.status, 200, "query {q} -> {}: {}", r.status, r.text());
    let j: serde_json::Value = serde_json::from_slice(&r.body).expect("query JSON");
    j["data"]["result"].as_array().cloned().unwrap_or_default()
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `alerts[]` of a webhook request that have `status` and `alertname`.
fn alerts_in<'a>(
    req: &'a WebhookRequest,
    status: &'a str,
    alertname: &'a str,
) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
    req.json["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |a| a["status"] == status && a["labels"]["alertname"] == alertname)
}

/// What the stack looks like right now, for failure messages.
fn diagnostics(prom: &str, am: &str, webhook: &Webhook) -> String {
    let show = |url: String| match http_get(&url) {
        Ok(r) => format!("GET {url} -> {}\n{}", r.status, r.text()),
        Err(e) => format!("GET {url}: {e}"),
    };
    let mut s = String::new();
    s.push_str(&show(format!("{prom}/api/v1/alerts")));
    s.push_str("\n\n");
    s.push_str(&show(format!("{prom}/api/v1/targets")));
    s.push_str("\n\n");
    s.push_str(&show(format!("{prom}/api/v1/alertmanagers")));
    s.push_str("\n\n");
    s.push_str(&show(format!("{am}/api/v2/alerts")));
    s.push_str("\n\nwebhook requests:\n");
    for r in webhook.received() {
        s.push_str(&format!("  {} {}\n", r.path, r.body));
    }
    s
}

/// First-seen times of one transition across the three stages.
#[derive(Debug, Default)]
struct Stages {
    exporter: Option<Duration>,
    prometheus: Option<Duration>,
    webhook: Option<WebhookRequest>,
}

fn secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".into(), |d| format!("{:.3}", d.as_secs_f64()))
}

/// One alert's transition to follow: the alert, and the exporter's series that changes first
/// (`metric{labels}` becomes `want`; `None`: the series disappears).
struct Watch<'a> {
    alert: &'a str,
    metric: &'a str,
    labels: &'a [(&'a str, &'a str)],
    want: Option<f64>,
}

/// Polls the exporter (the watched series), the Prometheus alert state (`ALERTS`) and the
/// webhook every 100 ms until the webhook has a notification with `status` for the watched
/// alert among the requests after the first `since_req`; records when each stage was first
/// seen changed (an upper bound, at 100 ms resolution).
#[allow(clippy::too_many_arguments)]
fn follow_transition(
    t0: Instant,
    exporter: &mut Exporter,
    prom: &str,
    am: &str,
    webhook: &Webhook,
    since_req: usize,
    watch: &Watch<'_>,
    status: &str,
) -> Stages {
    let alert = watch.alert;
    let mut st = Stages::default();
    let firing_q = format!("ALERTS{{alertname=\"{alert}\",alertstate=\"firing\"}}");
    let deadline = t0 + NOTIFY_TIMEOUT;
    let observe = |st: &mut Stages, exporter: &mut Exporter| {
        if let Some(code) = exporter.try_wait() {
            panic!("exporter exited with {code}");
        }
        if st.exporter.is_none() {
            let (code, _, body) = exporter.get("/metrics");
            let value = metric_value(&body, watch.metric, watch.labels);
            if code == 200 && value == watch.want {
                st.exporter = Some(t0.elapsed());
            }
        }
        if st.prometheus.is_none() {
            let firing = !prom_query(prom, &firing_q).is_empty();
            if firing == (status == "firing") {
                st.prometheus = Some(t0.elapsed());
            }
        }
    };
    loop {
        observe(&mut st, exporter);
        if let Some(r) = webhook
            .received()
            .into_iter()
            .skip(since_req)
            .find(|r| alerts_in(r, status, alert).next().is_some())
        {
            st.webhook = Some(r);
            // A stage that changed between the last look and the notification.
            observe(&mut st, exporter);
            return st;
        }
        if Instant::now() >= deadline {
            panic!(
                "no {status} {alert} notification within {NOTIFY_TIMEOUT:?} \
                 (exporter changed after {}s, Prometheus alert after {}s)\n{}",
                secs(st.exporter),
                secs(st.prometheus),
                diagnostics(prom, am, webhook)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn root_access_key_pages_through_prometheus_and_alertmanager() {
    let started = Instant::now();
    let Some(prometheus_bin) = require_tool("PROMETHEUS_BIN", &["prometheus"]) else {
        return;
    };
    let Some(alertmanager_bin) = require_tool(
        "ALERTMANAGER_BIN",
        &["prometheus-alertmanager", "alertmanager"],
    ) else {
        return;
    };
    let Some(python) = require_tool("PYTHON3", &["python3"]) else {
        return;
    };
    let tmp = tempfile::Builder::new()
        .prefix("e2e-alerting-")
        .tempdir()
        .expect("tempdir");

    // 1. The AWS side: no root key (summary and report agree), root MFA on.
    let s = Scenario::start_for(ACCOUNT);
    let mut summary = default_summary(4);
    summary.insert("AccountAccessKeysPresent".into(), 0);
    summary.insert("AccountMFAEnabled".into(), 1);
    s.set_summary_map(summary);
    s.set_report(report());
    s.set_password_policy(Some(PasswordPolicy::default()));
    s.set_virtual_mfa(vec![VirtualMfa::user(ACCOUNT, "alice")]);
    // A fresh CodeCommit credential: the service-credential panels have data, no control fails.
    s.set_service_credentials(vec![ServiceCredentialRow {
        user: "alice".into(),
        service: "codecommit.amazonaws.com".into(),
        id: "ACCACODECOMMITNEW0001".into(),
        status: "Active".into(),
        created: days_ago(5),
        expires: None,
    }]);

    // 2. The exporter: the full refresh once an hour (here: only the first), the fast checks
    // every second.
    let mut exporter = Exporter::start(
        &s.endpoint(),
        &[
            "--refresh.interval=1h",
            "--refresh.fast-interval=1s",
            "--metrics.per-user=true",
        ],
    );
    exporter.wait_ready(Duration::from_secs(30));
    let first = exporter.scrape();
    assert_eq!(
        metric_value(
            &first,
            "aws_iam_root_access_keys_present",
            &[("account_id", ACCOUNT)]
        ),
        Some(0.0),
        "root key must be absent at the start:\n{first}"
    );

    // 3. Alertmanager -> webhook.
    let webhook = Webhook::start();
    let am_config = write_file(
        tmp.path(),
        "alertmanager.yml",
        &format!(
            "route:\n  receiver: test\n  group_by: ['alertname', 'account_id']\n  \
             group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: test\n    webhook_configs:\n      - url: '{}'\n        \
             send_resolved: true\n",
            webhook.url()
        ),
    );
    let am_data = tmp.path().join("alertmanager-data");
    std::fs::create_dir_all(&am_data).expect("mkdir");
    let (_alertmanager, am_port) = start_server("alertmanager", "/-/ready", SERVER_START, |port| {
        command(
            &alertmanager_bin,
            &[
                format!("--config.file={}", am_config.display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--cluster.listen-address=".into(),
                format!("--storage.path={}", am_data.display()),
                "--log.level=debug".into(),
            ],
        )
    });
    let am = format!("http://127.0.0.1:{am_port}");

    // 4. Prometheus: scrape the exporter, evaluate the shipped rules, alert to AM.
    let prom_config = write_file(
        tmp.path(),
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - '{}'\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\n\
             scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: ['{}']\n",
            rules_file().display(),
            exporter.address()
        ),
    );
    let prom_data = tmp.path().join("prometheus-data");
    std::fs::create_dir_all(&prom_data).expect("mkdir");
    let (_prometheus, prom_port) = start_server("prometheus", "/-/ready", SERVER_START, |port| {
        command(
            &prometheus_bin,
            &[
                format!("--config.file={}", prom_config.display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                format!("--storage.tsdb.path={}", prom_data.display()),
            ],
        )
    });
    let prom = format!("http://127.0.0.1:{prom_port}");

    // Warm-up, with a positive control: the root password was used an hour
    // ago, so AwsIamRootAccountUsed (for: 0m) must reach the webhook. When it
    // has, the root-key alert has been evaluated on the same data and must not
    // have fired.
    let control = webhook.wait_for(NOTIFY_TIMEOUT, |r| {
        alerts_in(r, "firing", "AwsIamRootAccountUsed")
            .next()
            .is_some()
    });
    assert!(
        control.is_some(),
        "warm-up: no AwsIamRootAccountUsed notification (positive control)\n{}",
        diagnostics(&prom, &am, &webhook)
    );
    let up = prom_query(&prom, &format!("up{{job=\"{JOB}\"}}"));
    assert!(
        up.len() == 1 && up[0]["value"][1] == "1",
        "exporter target not up: {up:?}"
    );
    let present = prom_query(
        &prom,
        &format!("aws_iam_root_access_keys_present{{account_id=\"{ACCOUNT}\"}}"),
    );
    assert!(
        present.len() == 1 && present[0]["value"][1] == "0",
        "Prometheus should see the root key absent: {present:?}"
    );
    let early: Vec<String> = webhook
        .received()
        .iter()
        .filter(|r| webhook_alertnames(r, "firing").iter().any(|n| n == ALERT))
        .map(|r| r.body.clone())
        .collect();
    assert!(
        early.is_empty(),
        "{ALERT} notified while no root key exists: {early:?}"
    );

    // One real scrape with every family of a normal refresh (for step 7).
    let scrape_main = write_file(tmp.path(), "scrape-main.txt", &exporter.scrape());

    // 5. A root access key appears.
    let before = webhook.received().len();
    let t_fire = Instant::now();
    s.set_summary("AccountAccessKeysPresent", 1);
    let root_key = |want: f64| Watch {
        alert: ALERT,
        metric: "aws_iam_root_access_keys_present",
        labels: &[("account_id", ACCOUNT)],
        want: Some(want),
    };
    let fire = follow_transition(
        t_fire,
        &mut exporter,
        &prom,
        &am,
        &webhook,
        before,
        &root_key(1.0),
        "firing",
    );
    let req = fire.webhook.as_ref().expect("firing notification");
    let fire_latency = req.received_at.duration_since(t_fire);
    let alert = alerts_in(req, "firing", ALERT).next().expect("alert");
    assert_eq!(
        alert["labels"]["account_id"], ACCOUNT,
        "account_id label: {}",
        req.body
    );
    assert_eq!(
        alert["labels"]["severity"], "critical",
        "severity: {}",
        req.body
    );
    assert!(
        alert["annotations"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains(ACCOUNT)),
        "summary annotation should name the account: {}",
        req.body
    );
    // The short runbook travels in the alert itself (no link to a guessed
    // host): the verify command and a pointer to the long form.
    assert!(
        alert["annotations"]["runbook"].as_str().is_some_and(|s| {
            s.contains("aws iam get-account-summary --query SummaryMap.AccountAccessKeysPresent")
                && s.ends_with("docs/runbooks.md#awsiamrootaccesskeypresent in the aws-iam-exporter repository.")
        }),
        "runbook annotation: {}",
        req.body
    );
    println!(
        "e2e: root key appeared -> FIRING {ALERT} at the webhook in {:.3}s \
         (exporter {}s, Prometheus alert firing {}s)",
        fire_latency.as_secs_f64(),
        secs(fire.exporter),
        secs(fire.prometheus)
    );

    // 6. The key is deleted.
    let before = webhook.received().len();
    let t_resolve = Instant::now();
    s.set_summary("AccountAccessKeysPresent", 0);
    let resolve = follow_transition(
        t_resolve,
        &mut exporter,
        &prom,
        &am,
        &webhook,
        before,
        &root_key(0.0),
        "resolved",
    );
    let req = resolve.webhook.as_ref().expect("resolved notification");
    let resolve_latency = req.received_at.duration_since(t_resolve);
    let alert = alerts_in(req, "resolved", ALERT).next().expect("alert");
    assert_eq!(alert["labels"]["account_id"], ACCOUNT, "{}", req.body);
    assert_eq!(alert["labels"]["severity"], "critical", "{}", req.body);
    println!(
        "e2e: root key deleted -> RESOLVED {ALERT} at the webhook in {:.3}s \
         (exporter {}s, Prometheus alert gone {}s)",
        resolve_latency.as_secs_f64(),
        secs(resolve.exporter),
        secs(resolve.prometheus)
    );
    // 6b. AWS quarantines an exposed key of `leaked`, and the quarantine is removed.
    let quarantined = |want: Option<f64>| Watch {
        alert: EXPOSED,
        metric: "aws_iam_user_quarantined",
        labels: &[
            ("account_id", ACCOUNT),
            ("user", "leaked"),
            ("policy", QUARANTINE),
        ],
        want,
    };
    let before = webhook.received().len();
    let t_exposed = Instant::now();
    s.attach_policy(PolicyAttachment::aws(
        QUARANTINE,
        PolicyEntity::user("leaked"),
    ));
    let exposed = follow_transition(
        t_exposed,
        &mut exporter,
        &prom,
        &am,
        &webhook,
        before,
        &quarantined(Some(1.0)),
        "firing",
    );
    let req = exposed.webhook.as_ref().expect("firing notification");
    let exposed_latency = req.received_at.duration_since(t_exposed);
    let alert = alerts_in(req, "firing", EXPOSED).next().expect("alert");
    for (label, want) in [
        ("account_id", ACCOUNT),
        ("user", "leaked"),
        ("policy", QUARANTINE),
        ("severity", "critical"),
    ] {
        assert_eq!(alert["labels"][label], want, "{label}: {}", req.body);
    }
    assert!(
        alert["annotations"]["runbook"].as_str().is_some_and(|r| {
            r.contains("Detaching it first is the mistake")
                && r.ends_with(
                    "docs/runbooks.md#awsiamaccesskeyexposed in the aws-iam-exporter repository.",
                )
        }),
        "runbook annotation: {}",
        req.body
    );
    println!(
        "e2e: key quarantined -> FIRING {EXPOSED} at the webhook in {:.3}s \
         (exporter {}s, Prometheus alert firing {}s)",
        exposed_latency.as_secs_f64(),
        secs(exposed.exporter),
        secs(exposed.prometheus)
    );
    // A real scrape with the quarantine series, for step 7.
    let scrape_quarantine = write_file(tmp.path(), "scrape-quarantine.txt", &exporter.scrape());
    let before = webhook.received().len();
    let t_lifted = Instant::now();
    s.detach_policy(&aws_policy_arn(QUARANTINE), &PolicyEntity::user("leaked"));
    let lifted = follow_transition(
        t_lifted,
        &mut exporter,
        &prom,
        &am,
        &webhook,
        before,
        &quarantined(None),
        "resolved",
    );
    let lifted_latency = lifted
        .webhook
        .as_ref()
        .expect("resolved notification")
        .received_at
        .duration_since(t_lifted);
    println!(
        "e2e: quarantine detached -> RESOLVED {EXPOSED} at the webhook in {:.3}s",
        lifted_latency.as_secs_f64()
    );
    assert_eq!(
        s.calls("GenerateCredentialReport"),
        1,
        "every transition came through the fast checks, not a full refresh"
    );

    let latency_file = target_dir().join("e2e-latency.txt");
    let _ = std::fs::create_dir_all(target_dir());
    std::fs::write(
        &latency_file,
        format!(
            "# aws-iam-exporter e2e paging latency (tests/e2e_alerting.rs), seconds\n\
             # full refresh 1h, fast checks 1s, scrape 1s, evaluation 1s, group_wait 1s, group_interval 1s\n\
             firing_webhook {:.3}\nfiring_exporter {}\nfiring_prometheus {}\n\
             resolved_webhook {:.3}\nresolved_exporter {}\nresolved_prometheus {}\n\
             exposed_webhook {:.3}\nexposed_exporter {}\nexposed_prometheus {}\n\
             quarantine_lifted_webhook {:.3}\n",
            fire_latency.as_secs_f64(),
            secs(fire.exporter),
            secs(fire.prometheus),
            resolve_latency.as_secs_f64(),
            secs(resolve.exporter),
            secs(resolve.prometheus),
            exposed_latency.as_secs_f64(),
            secs(exposed.exporter),
            secs(exposed.prometheus),
            lifted_latency.as_secs_f64(),
        ),
    )
    .unwrap_or_else(|e| panic!("write {}: {e}", latency_file.display()));
    println!("e2e: latencies written to {}", latency_file.display());

    // 7. Dashboards and rules against real scrapes and the real Prometheus.
    // aws_iam_exporter_aws_errors_total only exists once an AWS call failed:
    // a second scrape after one failed ListPolicies (a fast check's).
    s.push_faults("ListPolicies", Fault::access_denied(), 1);
    exporter.wait_for_metric(
        "aws_iam_exporter_aws_errors_total",
        &[
            ("account_id", ACCOUNT),
            ("operation", "ListPolicies"),
            ("code", "AccessDenied"),
        ],
        Duration::from_secs(15),
        |v| v >= 1.0,
    );
    let scrape_errors = write_file(tmp.path(), "scrape-errors.txt", &exporter.scrape());
    // Let Prometheus scrape the error counter too, so its queries see it.
    assert!(
        poll_until(Duration::from_secs(15), || {
            (!prom_query(&prom, "aws_iam_exporter_aws_errors_total").is_empty()).then_some(())
        })
        .is_some(),
        "Prometheus never scraped aws_iam_exporter_aws_errors_total"
    );
    let mut dashboards: Vec<PathBuf> = std::fs::read_dir(repo_root().join("dashboards"))
        .expect("dashboards/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    dashboards.sort();
    assert!(!dashboards.is_empty(), "no dashboards/*.json");
    let out = Command::new(python)
        .current_dir(repo_root())
        .arg("scripts/check_dashboards.py")
        .arg("--metrics-file")
        .arg(&scrape_main)
        .arg("--metrics-file")
        .arg(scrape_errors)
        .arg("--metrics-file")
        .arg(scrape_quarantine)
        .arg("--prometheus-url")
        .arg(&prom)
        .args(dashboards)
        .arg(rules_file())
        .output()
        .expect("run scripts/check_dashboards.py");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{}", text.trim_end());
    assert!(
        out.status.success(),
        "scripts/check_dashboards.py failed ({}):\n{text}\n--- scrape (main) ---\n{}",
        out.status,
        std::fs::read_to_string(&scrape_main).unwrap_or_default()
    );

    // 8. Every rule evaluates cleanly; the exporter target is up.
    let mut last = serde_json::Value::Null;
    let all_evaluated = poll_until(Duration::from_secs(10), || {
        last = get_json(&format!("{prom}/api/v1/rules"));
        let rules: Vec<serde_json::Value> = last["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        (!rules.is_empty() && rules.iter().all(|r| r["health"] != "unknown")).then_some(rules)
    });
    let rules = all_evaluated.unwrap_or_else(|| panic!("rules never all evaluated: {last}"));
    let bad: Vec<String> = rules
        .iter()
        .filter(|r| r["health"] != "ok")
        .map(|r| {
            format!(
                "{} health={} lastError={}",
                r["name"], r["health"], r["lastError"]
            )
        })
        .collect();
    assert!(bad.is_empty(), "rules with evaluation errors: {bad:#?}");
    let file_rules = std::fs::read_to_string(rules_file()).expect("rules file");
    let expected = file_rules
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            t.starts_with("- alert:") || t.starts_with("- record:")
        })
        .count();
    assert_eq!(
        rules.len(),
        expected,
        "Prometheus loaded {} rules, the file has {expected}",
        rules.len()
    );
    let targets = get_json(&format!("{prom}/api/v1/targets"));
    let active = targets["data"]["activeTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        active.len() == 1
            && active[0]["labels"]["job"] == JOB
            && active[0]["scrapeUrl"] == format!("{}/metrics", exporter.base_url())
            && active[0]["health"] == "up"
            && active[0]["lastError"] == "",
        "exporter target not healthy: {targets}"
    );

    println!(
        "e2e: {} rules healthy, target up; total {:.1}s",
        rules.len(),
        started.elapsed().as_secs_f64()
    );
    // 9. Drops stop the webhook, Prometheus, Alertmanager, the exporter and
    // the scenario server (processes by PID).
}
