//! Scale (scenario server): every account refreshes; with AWS_IAM_EXPORTER_SCALE=1, 200 accounts
//! and a table; with a steady window, the IAM calls per second of refreshes and fast checks.

use super::*;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|r| r.trim_start_matches(':').split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// CPU seconds a process has used (utime + stime of /proc/PID/stat, in USER_HZ ticks, which
/// Linux fixes at 100 for userspace).
fn proc_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// The exporter of a scale run (`AWS_IAM_EXPORTER_SCALE_BIN`, else this build) on `cfg`, one
/// attempt per call, warnings only, listening; and when it was started.
fn start_scale_exporter(
    s: &Scenario,
    cfg: &Path,
    concurrency: usize,
    extra: &[String],
) -> (Exporter, Instant) {
    let bin = std::env::var_os("AWS_IAM_EXPORTER_SCALE_BIN").map(PathBuf::from);
    let mut args = vec![
        format!("--config.file={}", cfg.display()),
        format!("--refresh.concurrency={concurrency}"),
        "--aws.max-attempts=1".into(),
        "--log.level=warn".into(),
    ];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let mut exp = Exporter::start_with(ExporterOpts {
        bin,
        args,
        aws_endpoint: Some(s.endpoint()),
        ..Default::default()
    });
    exp.wait_listening(Duration::from_secs(30));
    (exp, started)
}

/// Scrapes until every account of `ids` has `aws_iam_exporter_refresh_success` 1; the time
/// since `started` then. Panics after `limit`, with the exporter's log.
fn wait_all_refreshed(
    exp: &mut Exporter,
    ids: &[String],
    started: Instant,
    limit: Duration,
) -> Duration {
    loop {
        exp.assert_running("every account refreshed");
        if let Ok(r) = http_request(
            "GET",
            &format!("{}/metrics", exp.base_url()),
            &[],
            None,
            Duration::from_secs(30),
        ) && r.status == 200
        {
            let ok = refresh_success(&r.text());
            if ids.iter().all(|id| ok.get(id) == Some(&1.0)) {
                return started.elapsed();
            }
        }
        assert!(
            started.elapsed() < limit,
            "not all {} accounts refreshed within {limit:?}\n{}",
            ids.len(),
            exp.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct ScaleResult {
    concurrency: usize,
    all_fresh: Duration,
    /// CPU seconds of the exporter until every account had data: start-up and one refresh of
    /// every account.
    cpu_first_round: f64,
    /// With `AWS_IAM_EXPORTER_SCALE_STEADY_SECS`: CPU seconds over that window after the first
    /// round, scaled to one refresh interval.
    cpu_per_interval: Option<f64>,
    /// The same window: IAM calls per second by action (fast checks and full refreshes), and
    /// the exporter's CPU seconds per minute.
    steady_calls: Option<(std::collections::BTreeMap<String, f64>, f64)>,
    hwm_kib: u64,
    rss_kib: u64,
    scrape_bytes: usize,
    scrape_gzip_bytes: usize,
    scrape_lines: usize,
    scrape_ms_median: f64,
    scrape_ms_max: f64,
}

/// The IAM actions of a refresh and of a fast check, each answered after the latency.
const ACTIONS: [&str; 8] = [
    "GetAccountSummary",
    "GenerateCredentialReport",
    "GetCredentialReport",
    "GetAccountPasswordPolicy",
    "ListVirtualMFADevices",
    "ListServiceSpecificCredentials",
    "ListServerCertificates",
    "ListPolicies",
];

fn scale_run(
    accounts: usize,
    users: usize,
    latency: Duration,
    interval: &str,
    fast: Option<&str>,
    concurrency: usize,
) -> ScaleResult {
    let s = Scenario::start();
    let ids: Vec<String> = (0..accounts)
        .map(|i| format!("{:012}", 500_000_000_000u64 + i as u64 * 7_919))
        .collect();
    let mut yaml = String::from("accounts:\n");
    for (i, id) in ids.iter().enumerate() {
        let a = seed_scenario_account(&s, id, users);
        if !latency.is_zero() {
            // Every IAM call of the account answers after `latency` (AWS is not instant).
            for action in ACTIONS {
                a.push_faults(action, Fault::hang(latency), 100);
            }
        }
        yaml.push_str(&format!(
            "  - role_arn: arn:aws:iam::{id}:role/IamExporter\n    name: scale-{i}\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_file(dir.path(), "scale.yml", &yaml);

    let mut extra = vec![format!("--refresh.interval={interval}")];
    extra.extend(fast.map(|f| format!("--refresh.fast-interval={f}")));
    let (mut exp, started) = start_scale_exporter(&s, &cfg, concurrency, &extra);
    let all_fresh = wait_all_refreshed(
        &mut exp,
        &ids,
        started,
        Duration::from_secs(60 + accounts as u64),
    );
    let cpu_first_round = proc_cpu_seconds(exp.pid()).unwrap_or(0.0);

    // Optionally, the steady state: CPU over a window once later refreshes come at their slots
    // spread over the interval (the first of them half an interval after the first round),
    // with one scrape every 15 s as Prometheus would, scaled to one interval.
    let window = Duration::from_secs(env_usize("AWS_IAM_EXPORTER_SCALE_STEADY_SECS", 0) as u64);
    let mut steady_calls = None;
    let cpu_per_interval = (!window.is_zero()).then(|| {
        let interval = humantime::parse_duration(interval).expect("a duration");
        let scrape_until = |until: Instant| {
            while Instant::now() < until {
                assert_eq!(exp.request("/metrics", &[]).status, 200);
                std::thread::sleep(
                    until
                        .saturating_duration_since(Instant::now())
                        .min(Duration::from_secs(15)),
                );
            }
        };
        scrape_until(Instant::now() + interval / 2);
        let calls = || ACTIONS.map(|a| s.calls_all_accounts(a));
        let (start, calls_before) = (proc_cpu_seconds(exp.pid()).unwrap_or(0.0), calls());
        let t = Instant::now();
        scrape_until(t + window);
        let used = proc_cpu_seconds(exp.pid()).unwrap_or(0.0) - start;
        let secs = t.elapsed().as_secs_f64();
        let per_second = ACTIONS
            .iter()
            .zip(calls().iter().zip(calls_before))
            .map(|(a, (after, before))| (a.to_string(), (after - before) as f64 / secs))
            .collect();
        steady_calls = Some((per_second, used * 60.0 / secs));
        used * interval.as_secs_f64() / window.as_secs_f64()
    });

    // Scrapes while the accounts keep refreshing (every 1s).
    let mut times = Vec::new();
    let mut body = String::new();
    for _ in 0..10 {
        let t = Instant::now();
        let r = exp.request("/metrics", &[]);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(r.status, 200);
        body = r.text();
        std::thread::sleep(Duration::from_millis(200));
    }
    let gz = exp.request("/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    times.sort_by(f64::total_cmp);
    let ok = refresh_success(&body);
    assert_eq!(ok.len(), accounts, "every account has its series");
    assert_eq!(accounts_gauge(&body), Some(accounts as f64));
    for id in &ids {
        assert_eq!(
            metric_value(&body, "aws_iam_users", &[("account_id", id)]),
            Some(users as f64),
            "{id}"
        );
    }
    let pid = exp.pid();
    ScaleResult {
        concurrency,
        all_fresh,
        cpu_first_round,
        cpu_per_interval,
        steady_calls,
        hwm_kib: proc_status_kib(pid, "VmHWM").unwrap_or(0),
        rss_kib: proc_status_kib(pid, "VmRSS").unwrap_or(0),
        scrape_bytes: body.len(),
        scrape_gzip_bytes: gz.body.len(),
        scrape_lines: body.lines().filter(|l| !l.starts_with('#')).count(),
        scrape_ms_median: times[times.len() / 2],
        scrape_ms_max: times[times.len() - 1],
    }
}

#[test]
fn scale_accounts_all_refresh() {
    let full = matches!(
        std::env::var("AWS_IAM_EXPORTER_SCALE").as_deref(),
        Ok("1") | Ok("true") | Ok("yes")
    );
    let accounts = env_usize(
        "AWS_IAM_EXPORTER_SCALE_ACCOUNTS",
        if full { 200 } else { 20 },
    );
    let users = env_usize("AWS_IAM_EXPORTER_SCALE_USERS", 20);
    let latency = Duration::from_millis(env_usize("AWS_IAM_EXPORTER_SCALE_LATENCY_MS", 50) as u64);
    // 1s: every account is due at once, so the time to all-fresh measures throughput (not the
    // spreading of first refreshes over the interval) and the exporter refreshes non-stop.
    let interval =
        std::env::var("AWS_IAM_EXPORTER_SCALE_INTERVAL").unwrap_or_else(|_| "1s".to_string());
    // Fast checks as the flag says (none by default here: not below a 1s interval).
    let fast = std::env::var("AWS_IAM_EXPORTER_SCALE_FAST").ok();
    let concurrencies: Vec<usize> = std::env::var("AWS_IAM_EXPORTER_SCALE_CONCURRENCY")
        .ok()
        .map(|v| v.split(',').filter_map(|c| c.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![8, 16]);
    let mut results = Vec::new();
    for concurrency in concurrencies {
        results.push(scale_run(
            accounts,
            users,
            latency,
            &interval,
            fast.as_deref(),
            concurrency,
        ));
    }
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let bin = std::env::var("AWS_IAM_EXPORTER_SCALE_BIN")
        .unwrap_or_else(|_| exporter_bin().display().to_string());
    println!();
    println!(
        "scale: {accounts} accounts x {users} users (per-user series on), {} ms per IAM call, \
         --refresh.interval {interval}, --refresh.fast-interval {}, scenario server in the test process ({build} test build), exporter {bin}",
        latency.as_millis(),
        fast.as_deref().unwrap_or("default")
    );
    println!(
        "| concurrency | all accounts refresh_success=1 | CPU until then (start + one refresh each) | CPU per interval, steady | peak RSS (VmHWM) | RSS after | scrape size | gzip | samples | scrape time median / max |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in &results {
        println!(
            "| {} | {:.1} s | {:.2} s | {} | {:.1} MiB | {:.1} MiB | {:.0} KiB | {:.0} KiB | {} | {:.1} / {:.1} ms |",
            r.concurrency,
            r.all_fresh.as_secs_f64(),
            r.cpu_first_round,
            r.cpu_per_interval
                .map_or_else(|| "-".to_owned(), |c| format!("{c:.2} s")),
            r.hwm_kib as f64 / 1024.0,
            r.rss_kib as f64 / 1024.0,
            r.scrape_bytes as f64 / 1024.0,
            r.scrape_gzip_bytes as f64 / 1024.0,
            r.scrape_lines,
            r.scrape_ms_median,
            r.scrape_ms_max,
        );
    }
    for r in &results {
        if let Some((calls, cpu_per_minute)) = &r.steady_calls {
            let total: f64 = calls.values().sum();
            let each: Vec<String> = calls
                .iter()
                .filter(|(_, n)| **n > 0.0)
                .map(|(a, n)| format!("{a} {n:.1}/s"))
                .collect();
            println!(
                "steady state, concurrency {}: {total:.1} IAM calls/s ({}), exporter CPU {cpu_per_minute:.2} s per minute",
                r.concurrency,
                each.join(", ")
            );
        }
    }
}

/// VmRSS and VmHWM of a process, in MiB.
fn rss_hwm_mib(pid: u32) -> (f64, f64) {
    let mib = |k| proc_status_kib(pid, k).unwrap_or(0) as f64 / 1024.0;
    (mib("VmRSS"), mib("VmHWM"))
}

/// What fast checks cost one large account: the memory of the last refresh's data they keep to
/// re-derive from, and the CPU of one re-render when a signal changes. Two runs of the same
/// binary against the same account: fast checks off, then every second, each after serving a
/// scrape; in the second a root key appears and goes. Quick (300 users) under `cargo test`;
/// with AWS_IAM_EXPORTER_SCALE=1, 50,000 users (AWS_IAM_EXPORTER_SCALE_USERS) and a table row
/// each.
#[test]
fn fast_checks_cost_of_a_large_account() {
    let full = matches!(
        std::env::var("AWS_IAM_EXPORTER_SCALE").as_deref(),
        Ok("1") | Ok("true") | Ok("yes")
    );
    let users = if full {
        env_usize("AWS_IAM_EXPORTER_SCALE_USERS", 50_000)
    } else {
        300
    };
    let s = Scenario::start();
    s.seed_users(users, days_ago(400), days_ago(30));
    let bin = std::env::var_os("AWS_IAM_EXPORTER_SCALE_BIN").map(PathBuf::from);
    let mut rows = Vec::new();
    for fast in ["off", "1s"] {
        let mut exp = Exporter::start_with(ExporterOpts {
            bin: bin.clone(),
            args: vec![
                "--refresh.interval=1h".into(),
                format!("--refresh.fast-interval={fast}"),
                "--log.level=warn".into(),
            ],
            aws_endpoint: Some(s.endpoint()),
            ..Default::default()
        });
        exp.wait_ready(Duration::from_secs(300));
        assert_eq!(exp.request("/metrics", &[]).status, 200);
        std::thread::sleep(Duration::from_secs(3));
        let (rss, _) = rss_hwm_mib(exp.pid());
        let mut rerender = None;
        if fast != "off" {
            // A signal changes: the fast check re-derives and re-renders the whole account.
            for (key, want) in [(1, 1.0), (0, 0.0)] {
                let cpu = proc_cpu_seconds(exp.pid()).unwrap_or(0.0);
                let t = Instant::now();
                s.set_summary("AccountAccessKeysPresent", key);
                exp.wait_for_metric(
                    "aws_iam_root_access_keys_present",
                    &[("account_id", DEFAULT_ACCOUNT)],
                    Duration::from_secs(60),
                    |v| v == want,
                );
                rerender = Some((
                    proc_cpu_seconds(exp.pid()).unwrap_or(0.0) - cpu,
                    t.elapsed(),
                ));
            }
        }
        std::thread::sleep(Duration::from_secs(2));
        let (rss_after, hwm) = rss_hwm_mib(exp.pid());
        rows.push((fast, rss, rss_after, hwm, rerender));
    }
    println!();
    println!(
        "fast checks, one account of {users} users (exporter {:?}):",
        bin
    );
    println!(
        "| --refresh.fast-interval | RSS after a scrape | RSS after a re-render | peak (VmHWM) | CPU of a re-render (seconds to /metrics) |"
    );
    println!("|---|---|---|---|---|");
    for (fast, rss, after, hwm, rerender) in rows {
        println!(
            "| {fast} | {rss:.1} MiB | {after:.1} MiB | {hwm:.1} MiB | {} |",
            rerender.map_or_else(
                || "-".to_owned(),
                |(cpu, t)| format!("{cpu:.2} s ({:.1} s)", t.as_secs_f64())
            )
        );
    }
}

/// One run of the root-audit scale test: `members` members read by a root audit only
/// (organizations.root_audit), every IAM and STS answer after `latency`.
struct RootAuditScale {
    concurrency: usize,
    /// Start until every member has refresh_success 1 (one AssumeRoot each).
    round: Duration,
    /// AssumeRoot and IAM calls of that round, all accounts.
    assume_root: u64,
    calls: u64,
    cpu_round: f64,
    hwm_kib: u64,
    rss_kib: u64,
}

fn root_audit_scale_run(members: usize, latency: Duration, concurrency: usize) -> RootAuditScale {
    let s = Scenario::start();
    let ids: Vec<String> = (0..members)
        .map(|i| format!("{:012}", 600_000_000_000u64 + i as u64 * 7_919))
        .collect();
    let names: Vec<String> = (0..members).map(|i| format!("member-{i}")).collect();
    let org: Vec<(&str, &str)> = ids
        .iter()
        .zip(&names)
        .map(|(id, n)| (id.as_str(), n.as_str()))
        .collect();
    s.set_organization(Some(OrganizationState::new(DEFAULT_ACCOUNT).members(&org)));
    for (i, id) in ids.iter().enumerate() {
        // Every tenth root still has an access key (and so one more call).
        let root = match i % 10 {
            0 => RootState::default().with_key(RootAccessKey::active(
                "AKIASCALEROOTKEY0001",
                100,
                Some(30),
            )),
            _ => RootState::default(),
        };
        s.account(id).set_root(root);
    }
    if !latency.is_zero() {
        s.set_latency(Some(latency));
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_file(
        dir.path(),
        "org.yml",
        "organizations:\n  root_audit: true\n",
    );
    let (mut exp, started) = start_scale_exporter(&s, &cfg, concurrency, &[]);
    let round = wait_all_refreshed(
        &mut exp,
        &ids,
        started,
        Duration::from_secs(120 + members as u64),
    );
    let cpu_round = proc_cpu_seconds(exp.pid()).unwrap_or(0.0);
    let assume_root: u64 = ids.iter().map(|id| s.account(id).calls("AssumeRoot")).sum();
    let calls: u64 = ids.iter().map(|id| s.account(id).total_calls()).sum();
    assert_eq!(assume_root, members as u64, "one AssumeRoot per member");
    assert!(s.root_session_calls().is_empty());
    assert_eq!(s.calls_all_accounts("AssumeRole"), 0);
    let text = exp.request("/metrics", &[]).text();
    assert_eq!(accounts_gauge(&text), Some(members as f64 + 1.0));
    let pid = exp.pid();
    RootAuditScale {
        concurrency,
        round,
        assume_root,
        calls,
        cpu_round,
        hwm_kib: proc_status_kib(pid, "VmHWM").unwrap_or(0),
        rss_kib: proc_status_kib(pid, "VmRSS").unwrap_or(0),
    }
}

#[test]
fn scale_root_audit_of_every_member() {
    let full = matches!(
        std::env::var("AWS_IAM_EXPORTER_SCALE").as_deref(),
        Ok("1") | Ok("true") | Ok("yes")
    );
    let members = env_usize(
        "AWS_IAM_EXPORTER_SCALE_ROOT_MEMBERS",
        if full { 2000 } else { 20 },
    );
    let latency = Duration::from_millis(env_usize("AWS_IAM_EXPORTER_SCALE_LATENCY_MS", 50) as u64);
    let results: Vec<RootAuditScale> = [8, 16]
        .into_iter()
        .map(|c| root_audit_scale_run(members, latency, c))
        .collect();
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!();
    println!(
        "root audit scale: {members} members (organizations.root_audit, no role; every tenth root with a key), {} ms per IAM/STS answer, default --root-audit.interval 1h, scenario server in the test process ({build} test build)",
        latency.as_millis()
    );
    println!(
        "| concurrency | full round (every member audited) | AssumeRoot | IAM + STS calls | calls/s in the round | CPU of start + round | peak RSS (VmHWM) | RSS after | AssumeRoot per hour, steady | calls/s, steady |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in &results {
        println!(
            "| {} | {:.1} s | {} | {} | {:.0} | {:.2} s | {:.1} MiB | {:.1} MiB | {} | {:.2} |",
            r.concurrency,
            r.round.as_secs_f64(),
            r.assume_root,
            r.calls,
            r.calls as f64 / r.round.as_secs_f64(),
            r.cpu_round,
            r.hwm_kib as f64 / 1024.0,
            r.rss_kib as f64 / 1024.0,
            r.assume_root,
            r.calls as f64 / 3600.0,
        );
    }
}
