//! The exporter under test: its binary built by cargo for this run, the test environment of
//! its command (no host AWS settings, static test credentials), and [`Exporter`], a running
//! daemon whose bound port is read from its `listening` log line.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::exposition::{metric_value, val};
use super::http::{HttpResponse, http_request};
use super::process::{free_port, poll_until, read_lossy, signal_pid, tail, wait_timeout};

/// Path of the exporter binary built by cargo for this test run.
pub fn exporter_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_aws-iam-exporter"))
}

/// Removes every `AWS_*` variable this test process inherited (and `RUST_LOG`) from an
/// exporter command, so that nothing of the host's AWS settings (profile, role, endpoint,
/// credentials, retry mode, ...) reaches the exporter under test.
pub fn clear_aws_env(cmd: &mut Command) {
    for (var, _) in std::env::vars_os() {
        if var.to_str().is_some_and(|v| v.starts_with("AWS_")) {
            cmd.env_remove(var);
        }
    }
    cmd.env_remove("RUST_LOG");
}

/// Sets the environment of an exporter command: no inherited AWS settings
/// ([`clear_aws_env`]), static test credentials (`testing`/`testing`), region us-east-1, no
/// profile or config files, no instance metadata, and `AWS_ENDPOINT_URL` when `aws_endpoint`
/// is given.
pub fn apply_exporter_env(cmd: &mut Command, aws_endpoint: Option<&str>) {
    clear_aws_env(cmd);
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    if let Some(ep) = aws_endpoint {
        cmd.env("AWS_ENDPOINT_URL", ep);
    }
}

/// A `Command` for the exporter binary with the test environment applied
/// (for `--once`, `--version`, bad-flag tests, ...). No listen address added.
pub fn exporter_cmd(aws_endpoint: Option<&str>) -> Command {
    let mut cmd = Command::new(exporter_bin());
    apply_exporter_env(&mut cmd, aws_endpoint);
    cmd.stdin(Stdio::null());
    cmd
}

/// Options for [`Exporter::start_with`].
#[derive(Debug, Clone, Default)]
pub struct ExporterOpts {
    /// The binary (default: [`exporter_bin`], the debug build of this run;
    /// e.g. `target/release/aws-iam-exporter` for load tests).
    pub bin: Option<PathBuf>,
    /// Extra flags (a `--web.listen-address=127.0.0.1:0` is always added;
    /// the bound port is read from the `listening` log line).
    pub args: Vec<String>,
    /// AWS_ENDPOINT_URL (moto or the scenario server).
    pub aws_endpoint: Option<String>,
    /// Extra environment, set after the defaults (can override them).
    pub env: Vec<(String, String)>,
    /// Variables to remove after the defaults are applied.
    pub env_remove: Vec<String>,
}

/// A running exporter on 127.0.0.1:PORT; stdout/stderr captured to temp
/// files; killed by PID on drop (its log is printed if the test panicked).
///
/// It listens on port 0 and logs `listening address=127.0.0.1:PORT`;
/// [`Exporter::port`] reads that line on first use (no race for a free
/// port). Only when the flags hide info logs (`--log.level=warn|error`) is a
/// free port chosen up front.
pub struct Exporter {
    child: Child,
    /// The bound port, set once known (up front, or from the log).
    port: OnceLock<u16>,
    stdout: tempfile::NamedTempFile,
    stderr: tempfile::NamedTempFile,
    exited: Option<ExitStatus>,
}

impl Exporter {
    /// Starts the exporter against `aws_endpoint` with `args`.
    pub fn start(aws_endpoint: &str, args: &[&str]) -> Exporter {
        Self::start_with(ExporterOpts {
            args: args.iter().map(|s| s.to_string()).collect(),
            aws_endpoint: Some(aws_endpoint.to_string()),
            ..Default::default()
        })
    }

    pub fn start_with(opts: ExporterOpts) -> Exporter {
        let port = OnceLock::new();
        let listen_port = if hides_info_logs(&opts.args) {
            *port.get_or_init(free_port)
        } else {
            0
        };
        let stdout = tempfile::Builder::new()
            .prefix("exporter-stdout-")
            .tempfile()
            .expect("tempfile");
        let stderr = tempfile::Builder::new()
            .prefix("exporter-stderr-")
            .tempfile()
            .expect("tempfile");
        let mut cmd = exporter_cmd(opts.aws_endpoint.as_deref());
        if let Some(bin) = &opts.bin {
            let mut c = Command::new(bin);
            apply_exporter_env(&mut c, opts.aws_endpoint.as_deref());
            c.stdin(Stdio::null());
            cmd = c;
        }
        cmd.args(&opts.args)
            .arg(format!("--web.listen-address=127.0.0.1:{listen_port}"))
            .stdout(Stdio::from(stdout.reopen().expect("reopen")))
            .stderr(Stdio::from(stderr.reopen().expect("reopen")));
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        for k in &opts.env_remove {
            cmd.env_remove(k);
        }
        let child = cmd.spawn().expect("spawn aws-iam-exporter");
        Exporter {
            child,
            port,
            stdout,
            stderr,
            exited: None,
        }
    }

    /// The port it listens on: waits (up to 60 s) for the `listening` log
    /// line. Panics with the log if the process exits or never logs it.
    pub fn port(&self) -> u16 {
        *self.port.get_or_init(|| {
            let found = poll_until(Duration::from_secs(60), || {
                match listening_port(&self.stderr()) {
                    Some(port) => Some(Some(port)),
                    None if pid_exited(self.pid()) => Some(None),
                    None => None,
                }
            });
            match found {
                Some(Some(port)) => port,
                Some(None) => panic!(
                    "exporter exited before listening\n--- stderr ---\n{}",
                    tail(&self.stderr(), 80)
                ),
                None => panic!(
                    "exporter logged no `listening address=` line in 60 s\n--- stderr ---\n{}",
                    tail(&self.stderr(), 80)
                ),
            }
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// `127.0.0.1:PORT` (for Prometheus scrape configs).
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port())
    }

    /// What the exporter wrote to stderr so far (its logs).
    pub fn stderr(&self) -> String {
        read_lossy(self.stderr.path())
    }

    pub fn stdout(&self) -> String {
        read_lossy(self.stdout.path())
    }

    /// `Some(status)` once the process has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// Asserts that no refresh has succeeded: `scrape` (this exporter's) has
    /// `aws_iam_exporter_refresh_success{account_id="unknown"} 0` and /readyz answers 503.
    #[track_caller]
    pub fn assert_no_refresh_succeeded(&self, scrape: &str) {
        assert_eq!(
            val(
                scrape,
                "aws_iam_exporter_refresh_success",
                &[("account_id", "unknown")]
            ),
            0.0
        );
        assert_eq!(
            self.get("/readyz").0,
            503,
            "/readyz before a refresh succeeded"
        );
    }

    /// Panics with the exporter's logs if it has exited (`what`: what the test was doing).
    pub fn assert_running(&mut self, what: &str) {
        if self.try_wait().is_some() {
            self.panic_exited(what);
        }
    }

    fn panic_exited(&mut self, what: &str) -> ! {
        let s = self.try_wait();
        panic!(
            "{what}: exporter exited with {s:?}\n--- stderr ---\n{}\n--- stdout ---\n{}",
            tail(&self.stderr(), 80),
            tail(&self.stdout(), 40)
        );
    }

    /// Polls `/readyz` until 200. Panics with the exporter's log if it exits
    /// or is not ready within `timeout`.
    pub fn wait_ready(&mut self, timeout: Duration) {
        self.wait_http("/readyz", "ready", timeout, |r| r.status == 200);
    }

    /// Polls until the HTTP server accepts connections (`/healthz` 200).
    pub fn wait_listening(&mut self, timeout: Duration) {
        self.wait_http("/healthz", "listening", timeout, |_| true);
    }

    /// Polls GET `path` until an answer satisfies `done`; panics with the log if the exporter
    /// exits, or is not `what` within `timeout`.
    fn wait_http(
        &mut self,
        path: &str,
        what: &str,
        timeout: Duration,
        done: impl Fn(&HttpResponse) -> bool,
    ) {
        let url = format!("{}{path}", self.base_url());
        let deadline = Instant::now() + timeout;
        loop {
            if self.try_wait().is_some() {
                self.panic_exited(&format!("waiting for {path}"));
            }
            if http_request("GET", &url, &[], None, Duration::from_secs(2)).is_ok_and(|r| done(&r))
            {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "exporter not {what} after {timeout:?}\n--- stderr ---\n{}",
                    tail(&self.stderr(), 80)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// GET `path` → (status, headers (lower-case names), body text).
    pub fn get(&self, path: &str) -> (u16, Vec<(String, String)>, String) {
        let r = self.request(path, &[]);
        let text = r.text();
        (r.status, r.headers, text)
    }

    /// GET `path` with request headers; the raw response (body not decoded).
    pub fn request(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        let url = format!("{}{}", self.base_url(), path);
        http_request("GET", &url, headers, None, Duration::from_secs(30)).unwrap_or_else(|e| {
            panic!(
                "GET {url}: {e}\n--- stderr ---\n{}",
                tail(&self.stderr(), 40)
            )
        })
    }

    /// GET /metrics (classic text format); panics unless 200.
    pub fn scrape(&self) -> String {
        self.scrape_path("/metrics")
    }

    /// GET `path` (e.g. a custom --web.telemetry-path); panics unless 200.
    pub fn scrape_path(&self, path: &str) -> String {
        let (status, _, body) = self.get(path);
        assert_eq!(
            status,
            200,
            "GET {path} -> {status}: {body}\n--- stderr ---\n{}",
            tail(&self.stderr(), 40)
        );
        body
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit. `None` if it did
    /// not exit in time (it is then killed).
    pub fn sigterm(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(s) = self.try_wait() {
            return Some(s);
        }
        signal_pid(self.pid(), libc::SIGTERM);
        let s = wait_timeout(&mut self.child, timeout);
        match s {
            Some(s) => self.exited = Some(s),
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        s
    }

    /// Scrapes until `name{labels}` satisfies `pred`; returns the value.
    /// Panics (with the last scrape and the log) on timeout.
    pub fn wait_for_metric(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        timeout: Duration,
        pred: impl Fn(f64) -> bool,
    ) -> f64 {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            if self.try_wait().is_some() {
                self.panic_exited("waiting for a metric");
            }
            let r = self.request("/metrics", &[]);
            if r.status == 200 {
                last = r.text();
                if let Some(v) = metric_value(&last, name, labels).filter(|v| pred(*v)) {
                    return v;
                }
            }
            if Instant::now() >= deadline {
                panic!(
                    "timeout waiting for {name}{labels:?}; last scrape:\n{last}\n--- stderr ---\n{}",
                    tail(&self.stderr(), 40)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// True when `args` set `--log.level` to `warn` or `error`, which hides the
/// info-level `listening` line.
fn hides_info_logs(args: &[String]) -> bool {
    let mut level = None;
    let mut args = args.iter();
    while let Some(a) = args.next() {
        if let Some(v) = a.strip_prefix("--log.level=") {
            level = Some(v.to_string());
        } else if a == "--log.level" {
            level = args.next().cloned();
        }
    }
    matches!(level.as_deref(), Some("warn" | "error"))
}

/// The port of the exporter's `listening` line, in logfmt
/// (`address=127.0.0.1:PORT`) or JSON (`"address":"127.0.0.1:PORT"`).
fn listening_port(log: &str) -> Option<u16> {
    log.lines()
        .filter(|l| l.contains("listening"))
        .find_map(|l| {
            let (_, rest) = l
                .split_once("address=")
                .or_else(|| l.split_once("\"address\":"))?;
            let addr: String = rest
                .trim_start_matches('"')
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '"' && *c != ',')
                .collect();
            addr.parse::<std::net::SocketAddr>().ok().map(|a| a.port())
        })
}

/// True once process `pid` (our child) has exited: it is a zombie until
/// reaped, or gone. Lets `&self` methods notice an early exit.
fn pid_exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => true,
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "----- exporter stderr (pid {}) -----\n{}\n-----",
                self.pid(),
                tail(&self.stderr(), 100)
            );
        }
        if self.try_wait().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
