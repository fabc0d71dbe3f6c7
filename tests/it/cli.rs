//! The binary's command line without AWS: `--version`, flag errors, and the
//! offline mode (`--credential-report.file`), once and as a daemon (gzip,
//! OpenMetrics, a report file that breaks and recovers, SIGTERM, TLS and basic
//! auth from `--web.config.file`).
//!
//! The report fixtures are in tests/fixtures/reports/ (account 111122223333):
//! `full.csv` (root row + 6 users: quoted `ops,bob`, `N/A`, `no_information`,
//! `not_supported`), the same report as CRLF, with an extra column, and as the
//! JSON of `aws iam get-credential-report`; `full.summary.json`; and `*.bad.*`
//! files that must be refused. `full.expected.prom` is the golden `--once`
//! output (`UPDATE_GOLDEN=1 cargo test --test it cli::` rewrites it).

use crate::common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;

mod flags;
mod golden;
mod hostile_files;
mod offline_daemon;
mod once;
mod web_config;

const ACCOUNT: &str = "111122223333";
const A: (&str, &str) = ("account_id", ACCOUNT);

fn run(args: &[&str]) -> Output {
    exporter_cmd(None)
        .args(args)
        .output()
        .expect("run aws-iam-exporter")
}

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `--once` on a report (and optionally a summary) plus `extra` flags; panics
/// unless it exits 0; returns stdout.
fn once(report: &str, summary: Option<&str>, extra: &[&str]) -> String {
    let report = fixture(&format!("reports/{report}"));
    let mut args = vec![
        "--once".to_string(),
        "--credential-report.file".to_string(),
        report.display().to_string(),
    ];
    if let Some(s) = summary {
        args.push("--account-summary.file".into());
        args.push(fixture(&format!("reports/{s}")).display().to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&refs);
    assert!(
        o.status.success(),
        "--once {args:?} exited {:?}\n--- stderr ---\n{}",
        o.status,
        stderr_of(&o)
    );
    String::from_utf8(o.stdout).expect("stdout is UTF-8")
}

fn control(text: &str, control: &str) -> f64 {
    val(text, "aws_iam_control_failing", &[A, ("control", control)])
}

/// Sample lines whose values change from run to run (clock, durations,
/// counters of a running daemon).
const VARYING: &[&str] = &[
    "aws_iam_exporter_last_refresh_success_timestamp_seconds",
    "aws_iam_exporter_refresh_duration_seconds",
    "aws_iam_root_last_used_seconds",
];

/// Drops the sample lines of [`VARYING`] (and of `also`), keeps their
/// `# HELP`/`# TYPE` lines, and replaces the build_info revision with
/// `REVISION`.
fn normalise(text: &str, also: &[&str]) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let sample_of = |name: &str| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        };
        if VARYING.iter().chain(also).any(|n| sample_of(n)) {
            continue;
        }
        if line.starts_with("aws_iam_exporter_build_info{") {
            let start = line.find("revision=\"").expect("revision label") + "revision=\"".len();
            let end = start + line[start..].find('"').expect("end of revision");
            out.push_str(&line[..start]);
            out.push_str("REVISION");
            out.push_str(&line[end..]);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}
