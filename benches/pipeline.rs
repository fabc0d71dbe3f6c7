//! Benchmarks of the refresh pipeline and of scrape serving.
//!
//!     cargo bench --bench pipeline                  # everything, a few minutes
//!     cargo bench --bench pipeline -- 'scrape'      # a filter (regex on the benchmark id)
//!
//! Inputs are synthetic credential reports of 100, 5,000 and 50,000 users made by
//! `scripts/gen-report.py` (fixed seed and reference time, so every run measures the same
//! bytes), cached in `target/bench-reports/` and regenerated when the script changes.
//! Under `cargo test --all-targets` criterion runs each benchmark once, as a smoke test, with
//! the 100- and 5,000-user reports only.
//!
//! Groups:
//! - `parse/N`, `derive/N`, `render_account/N`: one stage each (throughput: users/s).
//! - `refresh/N`: CSV bytes -> parse -> derive -> render (account, self-metrics, globals) ->
//!   `Published::build` (the list of pieces both formats share; gzip is built on first
//!   request): a refresh from bytes to a body that scrapes can send.
//! - `publish/{build,first_gzip_classic,contiguous_classic,gzip_contiguous}/N`: the rest of a
//!   refresh after rendering: `Published::build`; the first gzip request of a publication
//!   (build + compressing the head from the pieces); and for comparison what a contiguous copy
//!   of one format costs (build + the pieces copied into one buffer: what a form built by
//!   copying on first request would pay) and compressing that copy.
//! - `once/N`: what `--once` does after rendering: `Published::build`, then
//!   `Published::write_classic` into a sink (no gzip, no OpenMetrics, no copy).
//! - `refresh_file/N`: the same through the daemon's code path: `refresh::Account::refresh`
//!   on an offline file target (file read, `spawn_blocking`, stats) then `State::publish`.
//! - `scrape/*`: `Published::body` for 5,000 users (what a scrape does besides HTTP).
//! - `server_handle/*`: `web::handle` on `GET /metrics` against a `State` holding 5,000
//!   users, body frames walked (not copied).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use aws_iam_exporter::exposition::{
    AccountView, Format, Precompressed, Published, RefreshStats, Rendered, RootUse, render_account,
    render_global, render_stats,
};
use aws_iam_exporter::offline::{FileSource, Files};
use aws_iam_exporter::posture::{
    AccountData, Facts, PasswordPolicy, PolicyState, Summary, Thresholds, derive,
};
use aws_iam_exporter::refresh::{Account, RefreshSettings, Source, Target};
use aws_iam_exporter::report::parse;
use aws_iam_exporter::snapshot::State;
use aws_iam_exporter::web::{ServerSettings, handle};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::BodyExt as _;

/// Report sizes (IAM users, root excluded).
const SIZES: [u64; 3] = [100, 5_000, 50_000];
/// The size the scrape benchmarks serve.
const SCRAPE_USERS: u64 = 5_000;
/// Seed and reference time of the generated reports; `derive` runs at the same instant so the
/// control verdicts are those of a fresh report.
const SEED: u32 = 1;
const NOW: i64 = 1_748_736_000; // 2025-06-01T00:00:00Z
const ACCOUNT: &str = "123456789012";

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// The path of the cached report of `users` users, generated on first use (or when
/// scripts/gen-report.py is newer than the cache).
fn report_path(users: u64) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen-report.py");
    let dir = target_dir().join("bench-reports");
    std::fs::create_dir_all(&dir).expect("create target/bench-reports");
    let path = dir.join(format!("users-{users}-seed-{SEED}-now-{NOW}.csv"));
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = match (modified(&path), modified(&script)) {
        (Some(cache), Some(src)) => cache >= src,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if !fresh {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let out = Command::new(&python)
            .arg(&script)
            .args(["--users", &users.to_string()])
            .args(["--seed", &SEED.to_string()])
            .args(["--now", &NOW.to_string()])
            .args(["--account", ACCOUNT])
            .output()
            .unwrap_or_else(|e| panic!("run {python} {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "gen-report.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Write then rename: a concurrent run never reads half a file.
        let tmp = dir.join(format!(".users-{users}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, &out.stdout).expect("write report");
        std::fs::rename(&tmp, &path).expect("rename report");
    }
    path
}

fn report_bytes(users: u64) -> Vec<u8> {
    std::fs::read(report_path(users)).expect("read cached report")
}

/// What GetAccountSummary returns for a mid-size account (the keys AWS sends).
fn summary(users: u64) -> Summary {
    let keys: [(&str, i64); 31] = [
        ("GroupPolicySizeQuota", 5120),
        ("InstanceProfilesQuota", 1000),
        ("Policies", 420),
        ("GroupsPerUserQuota", 10),
        ("InstanceProfiles", 96),
        ("AttachedPoliciesPerUserQuota", 10),
        ("Users", users as i64),
        ("PoliciesQuota", 1500),
        ("Providers", 3),
        ("AccountMFAEnabled", 1),
        ("AccessKeysPerUserQuota", 2),
        ("AssumeRolePolicySizeQuota", 2048),
        ("PolicyVersionsInUseQuota", 10000),
        ("GlobalEndpointTokenVersion", 1),
        ("VersionsPerPolicyQuota", 5),
        ("AttachedPoliciesPerGroupQuota", 10),
        ("PolicySizeQuota", 6144),
        ("Groups", 57),
        ("AccountSigningCertificatesPresent", 0),
        ("UsersQuota", 5000),
        ("ServerCertificatesQuota", 20),
        ("MFADevices", 1200),
        ("UserPolicySizeQuota", 2048),
        ("PolicyVersionsInUse", 1800),
        ("ServerCertificates", 0),
        ("Roles", 610),
        ("RolesQuota", 1000),
        ("SigningCertificatesPerUserQuota", 2),
        ("MFADevicesInUse", 1150),
        ("RolePolicySizeQuota", 10240),
        ("AccountAccessKeysPresent", 0),
    ];
    Summary(keys.iter().map(|(k, v)| (k.to_string(), *v)).collect())
}

fn account_data(csv: &[u8], users: u64) -> AccountData {
    AccountData {
        report: parse(csv).expect("generated report parses"),
        generated: Some(NOW),
        facts: Facts {
            summary: Some(summary(users)),
            password_policy: PolicyState::Present(PasswordPolicy {
                minimum_length: Some(14),
                reuse_prevention: Some(24),
                max_age_days: Some(90),
                ..PasswordPolicy::default()
            }),
            root_virtual_mfa: Some(false),
            ..Facts::default()
        },
    }
}

fn labels() -> Vec<(&'static str, String)> {
    vec![("account_id", ACCOUNT.to_owned())]
}

fn stats() -> RefreshStats {
    RefreshStats {
        labels: labels(),
        success: true,
        last_success: Some(NOW as f64),
        duration_seconds: 0.05,
        successes: 10,
        failures: 1,
        aws_errors: [(("GetCredentialReport", "Throttling".to_string()), 1)].into(),
        ..RefreshStats::default()
    }
}

/// The rendered parts of one account (data, self-metrics, globals), as a refresh leaves them.
fn rendered_parts(csv: &[u8], users: u64) -> [Rendered; 3] {
    let data = account_data(csv, users);
    let posture = derive(&data, &Thresholds::default(), NOW);
    let view = Arc::new(AccountView {
        labels: labels(),
        data: data.into(),
        posture,
        per_user: true,
    });
    [
        render_account(view),
        render_stats(stats()),
        render_global(1, None, "bench", "bench"),
    ]
}

/// A whole refresh, from CSV bytes to the published exposition.
fn refresh_pipeline(csv: &[u8], users: u64) -> Published {
    let data = account_data(csv, users);
    let posture = derive(&data, &Thresholds::default(), NOW);
    let root_use = posture.root.most_recent_use().map(|at| RootUse {
        labels: labels(),
        at,
    });
    let view = Arc::new(AccountView {
        labels: labels(),
        data: data.into(),
        posture,
        per_user: true,
    });
    let parts = [
        render_account(view),
        render_stats(stats()),
        render_global(1, None, "bench", "bench"),
    ];
    Published::build(parts.iter(), root_use.into_iter().collect())
}

fn sample_size(c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, n: u64) {
    if n >= 50_000 {
        c.sample_size(10).measurement_time(Duration::from_secs(4));
    } else {
        c.sample_size(20).measurement_time(Duration::from_secs(3));
    }
}

/// `cargo bench` passes `--bench`; `cargo test --all-targets` does not, and criterion then runs
/// each benchmark once as a smoke test.
fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// The report sizes to run: all of them under `cargo bench`; under `cargo test` (unoptimized,
/// once each) the 50,000-user report would only make the test suite slower.
fn sizes() -> &'static [u64] {
    if bench_mode() { &SIZES } else { &SIZES[..2] }
}

fn bench_stages(c: &mut Criterion) {
    let inputs: Vec<(u64, Vec<u8>)> = sizes().iter().map(|&n| (n, report_bytes(n))).collect();
    // Sizes, for the README (stderr: criterion owns stdout).
    for (n, csv) in inputs.iter().filter(|_| bench_mode()) {
        let p = refresh_pipeline(csv, *n);
        let plain: Vec<u8> = p
            .body(Format::Classic, false, NOW as f64)
            .iter()
            .flat_map(|c| c.iter().copied())
            .collect();
        let om_len: usize = p
            .body(Format::OpenMetrics, false, NOW as f64)
            .iter()
            .map(|c| c.len())
            .sum();
        eprintln!(
            "sizes: users={n} csv_bytes={} classic_bytes={} classic_gzip_bytes={} openmetrics_bytes={} openmetrics_gzip_bytes={} pieces={} series={}",
            csv.len(),
            plain.len(),
            p.gzip_len(Format::Classic),
            om_len,
            p.gzip_len(Format::OpenMetrics),
            p.pieces(),
            plain
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty() && l[0] != b'#')
                .count(),
        );
    }

    let mut g = c.benchmark_group("parse");
    for (n, csv) in &inputs {
        sample_size(&mut g, *n);
        g.throughput(Throughput::Elements(*n));
        g.bench_with_input(BenchmarkId::from_parameter(n), csv, |b, csv| {
            b.iter(|| parse(black_box(csv)).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("derive");
    for (n, csv) in &inputs {
        let data = account_data(csv, *n);
        sample_size(&mut g, *n);
        g.throughput(Throughput::Elements(*n));
        g.bench_with_input(BenchmarkId::from_parameter(n), &data, |b, data| {
            b.iter(|| derive(black_box(data), &Thresholds::default(), NOW))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("render_account");
    for (n, csv) in &inputs {
        let data = account_data(csv, *n);
        let posture = derive(&data, &Thresholds::default(), NOW);
        let view = Arc::new(AccountView {
            labels: labels(),
            data: data.into(),
            posture,
            per_user: true,
        });
        sample_size(&mut g, *n);
        g.throughput(Throughput::Elements(*n));
        g.bench_with_input(BenchmarkId::from_parameter(n), &view, |b, view| {
            b.iter(|| render_account(view.clone()))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("refresh");
    for (n, csv) in &inputs {
        sample_size(&mut g, *n);
        g.throughput(Throughput::Elements(*n));
        g.bench_with_input(BenchmarkId::from_parameter(n), csv, |b, csv| {
            b.iter(|| refresh_pipeline(black_box(csv), *n))
        });
    }
    g.finish();

    // Where a refresh's time goes after rendering: `Published::build` (pieces only), the
    // first gzip request of a publication, and for comparison a contiguous copy of one format
    // (what a form copied on first request would cost) and the gzip head of that copy.
    let mut g = c.benchmark_group("publish");
    for (n, csv) in &inputs {
        let parts = rendered_parts(csv, *n);
        // What a contiguous copy of the classic form is: the pieces, concatenated.
        let contiguous = |parts: &[Rendered; 3]| {
            Published::build(parts.iter(), Vec::new())
                .body(Format::Classic, false, NOW as f64)
                .concat()
        };
        let classic = contiguous(&parts);
        sample_size(&mut g, *n);
        g.throughput(Throughput::Elements(*n));
        g.bench_with_input(BenchmarkId::new("build", n), &parts, |b, parts| {
            b.iter(|| Published::build(parts.iter(), Vec::new()))
        });
        g.bench_with_input(
            BenchmarkId::new("first_gzip_classic", n),
            &parts,
            |b, parts| {
                b.iter(|| Published::build(parts.iter(), Vec::new()).gzip_len(Format::Classic))
            },
        );
        g.bench_with_input(
            BenchmarkId::new("contiguous_classic", n),
            &parts,
            |b, parts| b.iter(|| contiguous(parts)),
        );
        g.bench_with_input(
            BenchmarkId::new("gzip_contiguous", n),
            &classic,
            |b, body| b.iter(|| Precompressed::new([&body[..]])),
        );
    }
    g.finish();

    // `--once` after rendering: build the pieces, write the classic form out.
    let mut g = c.benchmark_group("once");
    for (n, csv) in &inputs {
        let parts = rendered_parts(csv, *n);
        sample_size(&mut g, *n);
        g.throughput(Throughput::Elements(*n));
        g.bench_with_input(BenchmarkId::from_parameter(n), &parts, |b, parts| {
            b.iter(|| {
                Published::build(parts.iter(), Vec::new())
                    .write_classic(&mut std::io::sink(), NOW as f64)
                    .unwrap()
            })
        });
    }
    g.finish();

    // The daemon's own path: file read + spawn_blocking + stats + State::publish.
    let rt = runtime();
    let mut g = c.benchmark_group("refresh_file");
    for &n in sizes() {
        let (state, mut account) = file_account(n);
        sample_size(&mut g, n);
        g.throughput(Throughput::Elements(n));
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                rt.block_on(account.refresh_once()).unwrap();
                state.publish();
            })
        });
    }
    g.finish();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn refresh_settings() -> RefreshSettings {
    RefreshSettings {
        thresholds: Thresholds::default(),
        per_user: true,
        max_report_bytes: 64 << 20,
        deadline: Duration::from_secs(60),
        refresh_interval: Duration::from_secs(300),
        root_audit_interval: Duration::from_secs(3600),
        fast: None,
    }
}

/// A `State` and the offline account that feeds it, as in `--credential-report.file` mode.
fn file_account(users: u64) -> (Arc<State>, Account) {
    let state = Arc::new(State::default());
    let target = Target {
        key: format!("bench-{users}"),
        account_id: None,
        name: None,
        source: Source::Files(FileSource {
            files: Files {
                report: report_path(users),
                summary: None,
            },
            max_bytes: 64 << 20,
        }),
    };
    let account = Account::new(target, state.clone(), Arc::new(refresh_settings()));
    (state, account)
}

fn bench_scrape(c: &mut Criterion) {
    let csv = report_bytes(SCRAPE_USERS);
    let published = refresh_pipeline(&csv, SCRAPE_USERS);
    let now = NOW as f64 + 3600.0;

    let mut g = c.benchmark_group("scrape");
    g.sample_size(50).measurement_time(Duration::from_secs(3));
    for (name, format, gzip) in [
        ("classic_plain", Format::Classic, false),
        ("classic_gzip", Format::Classic, true),
        ("openmetrics_plain", Format::OpenMetrics, false),
        ("openmetrics_gzip", Format::OpenMetrics, true),
    ] {
        // The gzip heads are built by the first request: warm them outside the measurement.
        let _ = published.body(format, gzip, now);
        g.bench_function(BenchmarkId::new(name, SCRAPE_USERS), |b| {
            b.iter(|| published.body(format, black_box(gzip), now))
        });
    }
    g.finish();

    // web::handle against a State published the way the daemon publishes.
    let rt = runtime();
    let (state, mut account) = file_account(SCRAPE_USERS);
    rt.block_on(account.refresh_once())
        .expect("refresh of the generated report");
    state.publish();
    assert!(state.is_ready());
    let settings = Arc::new(ServerSettings {
        telemetry_path: "/metrics".into(),
        web: None,
        timeouts: Default::default(),
    });
    let mut g = c.benchmark_group("server_handle");
    g.sample_size(50).measurement_time(Duration::from_secs(3));
    for (name, encoding) in [("plain", None), ("gzip", Some("gzip"))] {
        g.bench_function(BenchmarkId::new(name, SCRAPE_USERS), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut req = http::Request::builder().uri("/metrics");
                    if let Some(e) = encoding {
                        req = req.header("accept-encoding", e);
                    }
                    let resp = handle(req.body(()).unwrap(), state.clone(), settings.clone())
                        .await
                        .unwrap();
                    assert_eq!(resp.status(), 200);
                    // Walk the frames as hyper would, without copying them.
                    let mut body = resp.into_body();
                    let mut len = 0;
                    while let Some(frame) = body.frame().await {
                        if let Ok(data) = frame.unwrap().into_data() {
                            len += data.len();
                        }
                    }
                    black_box(len)
                })
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = bench_stages, bench_scrape
}
criterion_main!(benches);
