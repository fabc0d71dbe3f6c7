//! Wiring only: flags -> config, logging, then one refresh (`--once`, or `audit`) or the daemon
//! (refresh loop + HTTP server) until SIGTERM/SIGINT.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aws_iam_exporter::accounts;
use aws_iam_exporter::audit::{self, Audit, AuditSettings};
use aws_iam_exporter::config::{Config, Flags, Run};
use aws_iam_exporter::snapshot::State;
use aws_iam_exporter::web::{self, ServerSettings, WebConfig};
use clap::Parser as _;
use tokio_util::sync::CancellationToken;

/// Bad flags or config files exit 2, like clap's own errors.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    fix_malloc_mmap_threshold();
    let flags = match Flags::try_parse() {
        Ok(f) => f,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // One line naming the flag and why; clap's usage block would make it many.
            eprintln!(
                "aws-iam-exporter: error: {}",
                aws_iam_exporter::config::one_line_flag_error(&e)
            );
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let config = match Config::from_flags(flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("aws-iam-exporter: error: {e}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    init_logging(&config);
    // `--once` does one round of I/O and writes: one thread spares the start-up and hand-offs
    // of a worker pool (parsing still runs on the blocking pool).
    let runtime = if config.run == Run::Once {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Runtime::new()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aws-iam-exporter: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        match config.run.clone() {
            Run::Audit(settings) => audit(config, settings).await,
            Run::Once => once(config).await,
            Run::Daemon => daemon(config).await,
        }
    });
    // Don't wait on blocking tasks (e.g. a stuck DNS lookup) at exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

/// Keeps every allocation over 1 MiB in its own mapping, returned to the system when freed.
///
/// A refresh allocates and frees a few large buffers (the report, the parsed rows, the rendered
/// text). glibc raises its mmap threshold to the largest block freed so far (up to 32 MiB), after
/// which such buffers come from per-thread arenas that keep the pages once freed, and RSS grows
/// with every refresh. Setting the threshold also turns that dynamic adjustment off.
/// NB: not lower: glibc's default, 128 KiB, would put the ~160 KiB deflate state of every gzip
/// scrape's tail in a fresh mapping. The measurements: docs/performance.md, "Numbers behind the code".
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_malloc_mmap_threshold() {
    // SAFETY: mallopt only sets an allocator parameter; it runs before any other thread exists.
    unsafe {
        libc::mallopt(
            libc::M_MMAP_THRESHOLD,
            aws_iam_exporter::MALLOC_MMAP_THRESHOLD as libc::c_int,
        );
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_malloc_mmap_threshold() {}

fn init_logging(config: &Config) {
    use tracing::Level;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    // Targets, not EnvFilter: the same prefix match on targets, without the regex engine that
    // EnvFilter's directives need (a smaller binary and a shorter build).
    let level = config.log_level.filter();
    let filter = Targets::new().with_default(level).with_targets([
        ("aws_config", Level::ERROR),
        ("aws_smithy_runtime", Level::WARN),
        ("aws_sdk_iam", Level::WARN),
        ("aws_sdk_sts", Level::WARN),
        ("hyper", Level::WARN),
        ("rustls", Level::WARN),
    ]);
    let registry = tracing_subscriber::registry().with(filter);
    if config.log_json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .init();
    } else {
        registry
            .with(
                tracing_logfmt::builder()
                    .layer()
                    .with_writer(std::io::stderr),
            )
            .init();
    }
}

/// `--once`: prints what it read (the accounts it could read: with Organizations failing, the
/// configured ones), then, if anything could not be read, one error line, and exits 1.
async fn once(config: Config) -> ExitCode {
    let read = accounts::once(Arc::new(config)).await;
    let mut code = ExitCode::SUCCESS;
    // Nothing read because of errors: the error line says it all. Nothing to read (a shard
    // with no account): the exporter's own series, as ever.
    if read.read > 0 || read.errors.is_empty() {
        let published = read.state.published();
        let now = aws_iam_exporter::clock::now_secs();
        // Straight to stdout, locked and buffered: the exposition's pieces are written as
        // they are, with no copy into one String.
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        if let Err(e) = published
            .write_classic(&mut out, now)
            .and_then(|()| std::io::Write::flush(&mut out))
        {
            eprintln!("aws-iam-exporter: error: writing the exposition: {e}");
            return ExitCode::FAILURE;
        }
    }
    if !read.errors.is_empty() {
        eprintln!("aws-iam-exporter: error: {}", read.errors);
        code = ExitCode::FAILURE;
    }
    code
}

/// For tests and reproducible output: the time `audit` judges at, as RFC 3339
/// (`2026-12-01T00:00:00Z`), instead of the clock.
const NOW_ENV: &str = "AWS_IAM_EXPORTER_NOW";

/// `audit`: one refresh of every account, printed as a table, JSON, OCSF, JUnit or CSV. Exit 0, 1 (something
/// fails at or above `--fail-on`) or 2 (an account could not be read: one line each on stderr).
async fn audit(config: Config, settings: AuditSettings) -> ExitCode {
    use std::io::{IsTerminal as _, Write as _};
    let now = match std::env::var(NOW_ENV) {
        Ok(s) => match aws_iam_exporter::report::parse_time(&s) {
            Some(t) => t,
            None => {
                eprintln!("aws-iam-exporter: error: {NOW_ENV}: `{s}` is not an RFC 3339 time");
                return ExitCode::from(USAGE_ERROR);
            }
        },
        Err(_) => aws_iam_exporter::clock::now_secs() as i64,
    };
    let thresholds = config.thresholds;
    let read = accounts::fetch_once(Arc::new(config)).await;
    for e in read.errors.lines() {
        eprintln!("aws-iam-exporter: error: {e}");
    }
    let report = Audit {
        now,
        accounts: read
            .inputs
            .iter()
            .map(|i| audit::assess(i, &thresholds, now))
            .collect(),
        discovery: read.errors.discovery_line(),
        errors: read
            .errors
            .accounts
            .iter()
            .map(ToString::to_string)
            .collect(),
    };
    let code = report.exit_code(settings.fail_on.floor());
    // Nothing read: the error line says it all.
    if !report.accounts.is_empty() {
        let no_color = std::env::var("NO_COLOR").ok();
        let color = audit::use_color(std::io::stdout().is_terminal(), no_color.as_deref());
        let text = audit::render(&report, &settings, color);
        // A closed pipe (`| head`) is the reader's choice, not an error of the audit.
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
    ExitCode::from(code)
}

async fn daemon(config: Config) -> ExitCode {
    let web = match &config.web_config_file {
        Some(path) => match WebConfig::load(path) {
            Ok(w) => Some(Arc::new(w)),
            Err(e) => {
                eprintln!("aws-iam-exporter: error: --web.config.file: {e}");
                return ExitCode::from(USAGE_ERROR);
            }
        },
        None => None,
    };
    let listener = match web::bind(&config.listen_address).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "aws-iam-exporter: error: --web.listen-address {}: {e}",
                config.listen_address
            );
            return ExitCode::FAILURE;
        }
    };
    // The bound address, not the flag: `:0` becomes a real port, a host name an address.
    let address = match listener.local_addr() {
        Ok(a) => a.to_string(),
        Err(_) => config.listen_address.to_string(),
    };
    tracing::info!(%address, tls = web.as_ref().is_some_and(|w| w.tls_acceptor().is_some()), version = aws_iam_exporter::version::VERSION, "listening");
    let state = Arc::new(State::default());
    let cancel = CancellationToken::new();
    let settings = ServerSettings {
        telemetry_path: config.telemetry_path.clone(),
        web,
        timeouts: Default::default(),
    };
    let mut refresher = tokio::spawn(accounts::run(
        Arc::new(config),
        state.clone(),
        cancel.clone(),
    ));
    // NB: the refresh loop ends only when cancelled. If it ends on its own (a panic), the
    // process must not go on serving stale data while /healthz says all is well: stop and
    // exit non-zero, so that the orchestrator restarts it.
    let refresh_died = tokio::select! {
        _ = web::run(listener, state, settings, shutdown_signal()) => false,
        ended = &mut refresher => {
            tracing::error!(error = ?ended.err(), "the refresh loop ended unexpectedly; exiting");
            true
        }
    };
    cancel.cancel();
    if refresh_died {
        return ExitCode::FAILURE;
    }
    if tokio::time::timeout(Duration::from_secs(2), refresher)
        .await
        .is_err()
    {
        tracing::warn!("refresh loop did not stop within 2s");
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// Resolves on SIGTERM (Kubernetes, docker stop) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = term => tracing::info!("SIGTERM received; shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received; shutting down"),
    }
}
