//! Test support shared by the integration test modules.
//!
//! Style: every helper here is *blocking* and runtime-agnostic. Servers that
//! live in the test process (the IAM [`scenario`] server, the [`Webhook`]
//! receiver) run on their own thread with their own tokio runtime, and child
//! processes (exporter, moto, Prometheus, Alertmanager) are plain
//! `std::process` children. So the helpers work from a plain `#[test]` and
//! from a `#[tokio::test]` alike (use `#[tokio::test]` only when the test
//! itself calls the AWS SDK). The exporter listens on 127.0.0.1:0 and the
//! tests read its bound address from its `listening` log line; the other
//! servers bind 127.0.0.1 on a free port. Every child process is killed by PID
//! when its handle is dropped.
//!
//! Tools: [`require_tool`] finds external programs. When one is missing the
//! test prints `skipped: <tool> not found` and returns early, unless
//! `AWS_IAM_EXPORTER_REQUIRE_TOOLS=1` (set by scripts/test.sh) in which case it
//! panics.

pub mod scenario;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fs::File;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// Environment variable that turns "tool missing: skip" into a panic.
pub const REQUIRE_TOOLS_ENV: &str = "AWS_IAM_EXPORTER_REQUIRE_TOOLS";

/// Root of the crate (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A free TCP port on 127.0.0.1 (bind port 0, read it, release it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .expect("local_addr")
        .port()
}

fn tools_required() -> bool {
    matches!(
        std::env::var(REQUIRE_TOOLS_ENV).as_deref(),
        Ok("1") | Ok("true") | Ok("yes")
    )
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.components().count() > 1 {
        return is_executable(p).then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|c| is_executable(c))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Finds an external tool: first the path (or name) in `env_var`, then each of
/// `fallback_names` (a bare name is looked up in PATH, a path is taken as is).
///
/// When it is missing: panics if `AWS_IAM_EXPORTER_REQUIRE_TOOLS=1`, otherwise
/// prints `skipped: <tool> not found` and returns `None`, so the caller does
/// `let Some(bin) = require_tool("PROMETHEUS_BIN", &["prometheus"]) else { return };`
pub fn require_tool(env_var: &str, fallback_names: &[&str]) -> Option<PathBuf> {
    if let Some(v) = std::env::var_os(env_var).filter(|v| !v.is_empty()) {
        let v = v.to_string_lossy().into_owned();
        if let Some(p) = find_in_path(&v) {
            return Some(p);
        }
        eprintln!("warning: {env_var}={v} is not an executable, trying {fallback_names:?}");
    }
    for name in fallback_names {
        if let Some(p) = find_in_path(name) {
            return Some(p);
        }
    }
    let tool = fallback_names.first().copied().unwrap_or(env_var);
    if tools_required() {
        panic!(
            "required tool {tool} not found (set {env_var} or put it on PATH); \
             run scripts/test.sh, which installs it via scripts/setup-test-env.sh \
             ({REQUIRE_TOOLS_ENV}=1 is set, so the test may not skip)"
        );
    }
    eprintln!("skipped: {tool} not found (set {env_var}, or run scripts/test.sh)");
    None
}

/// Polls `f` every 50 ms until it returns `Some`, or `timeout` passes.
pub fn poll_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------
// Signals and process groups
// ---------------------------------------------------------------------------

/// Sends `sig` to one process.
pub fn signal_pid(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// Sends `sig` to the process group `pgid` (children spawned with
/// `process_group(0)` have pgid == their pid).
pub fn signal_group(pgid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), sig);
    }
}

/// Waits for a child to exit, at most `timeout`.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    poll_until(timeout, || child.try_wait().ok().flatten())
}

fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

// ---------------------------------------------------------------------------
// A blocking HTTP client (hyper-util's legacy client on a shared runtime)
// ---------------------------------------------------------------------------

/// An HTTP response; header names are lower-cased.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The body as UTF-8 (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

type LegacyClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

/// The runtime the blocking helpers run their requests on, and the client.
///
/// NB: one runtime of its own (one worker thread), shared by every test: the
/// helpers are called from plain `#[test]`s and from inside `#[tokio::test]`s,
/// where a nested `block_on` would panic. A request is spawned here and its
/// answer awaited over a std channel, which blocks only the calling thread.
fn client() -> &'static (tokio::runtime::Runtime, LegacyClient) {
    static CLIENT: OnceLock<(tokio::runtime::Runtime, LegacyClient)> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-http-client")
            .enable_all()
            .build()
            .expect("client runtime");
        // No idle connections kept: every request is on a new connection,
        // which the request also asks the server to close.
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build_http();
        (rt, client)
    })
}

/// Sends one request (`Connection: close`) to an `http://host:port/path` URL,
/// within `timeout` (connect, send and the whole body). Does not decode gzip:
/// the body is returned as received.
pub fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    timeout: Duration,
) -> std::io::Result<HttpResponse> {
    let invalid = |e: &dyn std::fmt::Display| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{url}: {e}"))
    };
    if !url.starts_with("http://") {
        return Err(invalid(&"only http:// URLs"));
    }
    let mut req = Request::builder()
        .method(method)
        .uri(url)
        .header(hyper::header::CONNECTION, "close");
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
    {
        req = req.header(hyper::header::USER_AGENT, "aws-iam-exporter-tests");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if body.is_none() && method != "GET" && method != "HEAD" {
        req = req.header(hyper::header::CONTENT_LENGTH, "0");
    }
    let req = req
        .body(Full::new(Bytes::copy_from_slice(body.unwrap_or_default())))
        .map_err(|e| invalid(&e))?;

    let (rt, client) = client();
    let send = client.request(req);
    let (tx, rx) = std::sync::mpsc::channel();
    let url_owned = url.to_string();
    rt.spawn(async move {
        let answer = tokio::time::timeout(timeout, async {
            let resp = send.await.map_err(std::io::Error::other)?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await.map_err(std::io::Error::other)?;
            Ok::<_, std::io::Error>((parts, body.to_bytes()))
        })
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("{url_owned}: no complete answer within {timeout:?}"),
            ))
        });
        let _ = tx.send(answer);
    });
    let (parts, body) = rx
        .recv()
        .map_err(|_| std::io::Error::other("the client runtime dropped the request"))??;
    Ok(HttpResponse {
        status: parts.status.as_u16(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                let v = String::from_utf8_lossy(v.as_bytes()).trim().to_string();
                (k.as_str().to_string(), v)
            })
            .collect(),
        body: body.to_vec(),
    })
}

/// GET with a 10 s timeout.
pub fn http_get(url: &str) -> std::io::Result<HttpResponse> {
    http_request("GET", url, &[], None, Duration::from_secs(10))
}

/// POST with a 10 s timeout.
pub fn http_post(url: &str, content_type: &str, body: &[u8]) -> std::io::Result<HttpResponse> {
    http_request(
        "POST",
        url,
        &[("Content-Type", content_type)],
        Some(body),
        Duration::from_secs(10),
    )
}

// ---------------------------------------------------------------------------
// Child processes with log capture
// ---------------------------------------------------------------------------

/// A child process in its own process group, stdout+stderr captured to a
/// temporary log file; killed (whole group, SIGKILL) on drop.
pub struct ServerProcess {
    pub name: String,
    child: Child,
    log: tempfile::NamedTempFile,
}

impl ServerProcess {
    /// Spawns `cmd` (its stdout/stderr are redirected to the log file).
    pub fn spawn(name: &str, mut cmd: Command) -> ServerProcess {
        let log = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .suffix(".log")
            .tempfile()
            .expect("create log file");
        let out = log.reopen().expect("reopen log");
        let err = log.reopen().expect("reopen log");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name} ({cmd:?}): {e}"));
        ServerProcess {
            name: name.to_string(),
            child,
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process wrote so far (stdout and stderr interleaved).
    pub fn log(&self) -> String {
        read_lossy(self.log.path())
    }

    /// `Some(status)` if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL to the whole process group, then reap.
    pub fn kill(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            signal_group(self.pid(), libc::SIGKILL);
            let _ = self.child.kill();
        } else {
            // The leader is gone; children in its group may remain.
            signal_group(self.pid(), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "----- {} log ({}) -----\n{}\n-----",
                self.name,
                self.log.path().display(),
                tail(&self.log(), 80)
            );
        }
        self.kill();
    }
}

/// Spawns a server binary (Prometheus, Alertmanager, ...) with `args`, in its
/// own process group, log captured, killed by PID on drop.
pub fn spawn_server<S: AsRef<std::ffi::OsStr>>(bin: &Path, args: &[S]) -> ServerProcess {
    let name = bin
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "server".into());
    let mut cmd = Command::new(bin);
    cmd.args(args);
    ServerProcess::spawn(&name, cmd)
}

// ---------------------------------------------------------------------------
// moto
// ---------------------------------------------------------------------------

/// A running `moto_server` on 127.0.0.1 (killed with its process group on drop).
pub struct Moto {
    proc_: ServerProcess,
    port: u16,
}

impl Moto {
    /// Starts moto (`$MOTO_SERVER`, else the repo's pinned
    /// `.venv/bin/moto_server`, else `moto_server` on PATH). `None` when skipped (see [`require_tool`]).
    pub fn start() -> Option<Moto> {
        Self::start_with_env(&[])
    }

    /// Like [`Moto::start`] with extra environment (e.g.
    /// `("INITIAL_NO_AUTH_ACTION_COUNT", "5")`, `("MOTO_ACCOUNT_ID", ...)`).
    pub fn start_with_env(env: &[(&str, &str)]) -> Option<Moto> {
        let venv = repo_root().join(".venv/bin/moto_server");
        let venv = venv.to_string_lossy().into_owned();
        let bin = require_tool("MOTO_SERVER", &[&venv, "moto_server"])?;
        for _attempt in 0..3 {
            let port = free_port();
            let mut cmd = Command::new(&bin);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_ALLOW_NONEXISTENT_REGION", "true")
                .env("PYTHONUNBUFFERED", "1")
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .env_remove("MOTO_ACCOUNT_ID")
                .env_remove("INITIAL_NO_AUTH_ACTION_COUNT")
                .env_remove("AWS_PROFILE");
            for (k, v) in env {
                cmd.env(k, v);
            }
            let mut p = ServerProcess::spawn("moto_server", cmd);
            let url = format!("http://127.0.0.1:{port}/moto-api/");
            let ok = poll_until(Duration::from_secs(60), || {
                if p.try_wait().is_some() {
                    return Some(false);
                }
                http_request("GET", &url, &[], None, Duration::from_secs(2))
                    .ok()
                    .filter(|r| r.status == 200)
                    .map(|_| true)
            });
            if ok == Some(true) {
                return Some(Moto { proc_: p, port });
            }
            eprintln!(
                "moto_server did not come up on port {port}; log:\n{}",
                tail(&p.log(), 40)
            );
            p.kill();
        }
        panic!("moto_server did not start (3 attempts)");
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Wipes all moto state (`POST /moto-api/reset`). Does not change the
    /// auth setting (see [`Moto::set_auth_after`]).
    pub fn reset(&self) {
        let r = http_post(
            &format!("{}/moto-api/reset", self.endpoint()),
            "text/plain",
            b"",
        )
        .unwrap_or_else(|e| panic!("moto reset: {e}\n{}", tail(&self.proc_.log(), 40)));
        assert_eq!(r.status, 200, "moto reset: {}", r.text());
    }

    /// IAM authentication/authorization is enforced after `n` more requests
    /// (`POST /moto-api/reset-auth`, like INITIAL_NO_AUTH_ACTION_COUNT);
    /// `Some(0)` enforces it from now on, `None` switches it off (infinity).
    pub fn set_auth_after(&self, n: Option<u64>) {
        let body = n.map_or_else(|| "inf".to_string(), |n| n.to_string());
        // Must not be form-encoded: moto reads the raw body as a float.
        let r = http_post(
            &format!("{}/moto-api/reset-auth", self.endpoint()),
            "text/plain",
            body.as_bytes(),
        )
        .unwrap_or_else(|e| panic!("moto reset-auth: {e}\n{}", tail(&self.proc_.log(), 40)));
        assert_eq!(r.status, 200, "moto reset-auth: {}", r.text());
    }
}

// ---------------------------------------------------------------------------
// The exporter under test
// ---------------------------------------------------------------------------

/// Path of the exporter binary built by cargo for this test run.
pub fn exporter_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_aws-iam-exporter"))
}

/// Sets the environment of an exporter command: static test credentials
/// (`testing`/`testing`), region us-east-1, no profile or config files, no
/// instance metadata, and `AWS_ENDPOINT_URL` when `aws_endpoint` is given.
pub fn apply_exporter_env(cmd: &mut Command, aws_endpoint: Option<&str>) {
    for var in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_IAM",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL_ORGANIZATIONS",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
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
        let url = format!("{}/readyz", self.base_url());
        let deadline = Instant::now() + timeout;
        loop {
            if self.try_wait().is_some() {
                self.panic_exited("waiting for /readyz");
            }
            if http_request("GET", &url, &[], None, Duration::from_secs(2))
                .is_ok_and(|r| r.status == 200)
            {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "exporter not ready after {timeout:?}\n--- stderr ---\n{}",
                    tail(&self.stderr(), 80)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls until the HTTP server accepts connections (`/healthz` 200).
    pub fn wait_listening(&mut self, timeout: Duration) {
        let url = format!("{}/healthz", self.base_url());
        let deadline = Instant::now() + timeout;
        loop {
            if self.try_wait().is_some() {
                self.panic_exited("waiting for /healthz");
            }
            if http_request("GET", &url, &[], None, Duration::from_secs(2)).is_ok() {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "exporter not listening after {timeout:?}\n--- stderr ---\n{}",
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

// ---------------------------------------------------------------------------
// Text exposition parsing
// ---------------------------------------------------------------------------

/// One sample of the classic text (or OpenMetrics) exposition format.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Parses one sample line; `None` for comments, blank and malformed lines.
pub fn parse_sample_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = line[..name_end].to_string();
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if rest.starts_with('{') {
        let mut chars = rest.char_indices().skip(1).peekable();
        let close = loop {
            // skip separators
            while let Some(&(_, c)) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    chars.next();
                } else {
                    break;
                }
            }
            let (i, c) = chars.next()?;
            if c == '}' {
                break i;
            }
            let mut key = String::from(c);
            loop {
                let (_, c) = chars.next()?;
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            if chars.next()?.1 != '"' {
                return None;
            }
            let mut val = String::new();
            loop {
                let (_, c) = chars.next()?;
                match c {
                    '\\' => match chars.next()?.1 {
                        'n' => val.push('\n'),
                        other => val.push(other),
                    },
                    '"' => break,
                    c => val.push(c),
                }
            }
            labels.insert(key.trim().to_string(), val);
        };
        rest = &rest[close + 1..];
    }
    let value = parse_value(rest.split_whitespace().next()?)?;
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// All samples of `name` in an exposition.
pub fn metric_samples(exposition: &str, name: &str) -> Vec<Sample> {
    exposition
        .lines()
        .filter_map(parse_sample_line)
        .filter(|s| s.name == name)
        .collect()
}

/// The value of the first sample named `name` whose labels include every
/// `(label, value)` pair given (a subset match; `&[]` matches any).
pub fn metric_value(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    exposition
        .lines()
        .filter_map(parse_sample_line)
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
        })
        .map(|s| s.value)
}

// ---------------------------------------------------------------------------
// Webhook receiver (Alertmanager webhook_configs)
// ---------------------------------------------------------------------------

/// One request received by the [`Webhook`].
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    pub path: String,
    pub received_at: Instant,
    pub body: String,
    /// The body parsed as JSON (`Null` if it is not JSON).
    pub json: serde_json::Value,
}

/// An in-process HTTP server on 127.0.0.1 that records every POST (answers
/// 200). Runs on its own thread and runtime; stopped on drop.
pub struct Webhook {
    port: u16,
    received: Arc<Mutex<Vec<WebhookRequest>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Webhook {
    pub fn start() -> Webhook {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind webhook");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let received: Arc<Mutex<Vec<WebhookRequest>>> = Arc::default();
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let rec = received.clone();
        let thread = std::thread::Builder::new()
            .name(format!("webhook-{port}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    loop {
                        tokio::select! {
                            _ = &mut rx => break,
                            acc = listener.accept() => {
                                let Ok((stream, _)) = acc else { continue };
                                let rec = rec.clone();
                                tokio::spawn(async move {
                                    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                                        let rec = rec.clone();
                                        async move {
                                            let path = req.uri().path().to_string();
                                            let body = req
                                                .into_body()
                                                .collect()
                                                .await
                                                .map(|b| b.to_bytes())
                                                .unwrap_or_default();
                                            let body = String::from_utf8_lossy(&body).into_owned();
                                            let json = serde_json::from_str(&body)
                                                .unwrap_or(serde_json::Value::Null);
                                            rec.lock().unwrap().push(WebhookRequest {
                                                path,
                                                received_at: Instant::now(),
                                                body,
                                                json,
                                            });
                                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
                                        }
                                    });
                                    let _ = hyper::server::conn::http1::Builder::new()
                                        .serve_connection(TokioIo::new(stream), svc)
                                        .await;
                                });
                            }
                        }
                    }
                });
                rt.shutdown_timeout(Duration::from_millis(200));
            })
            .expect("spawn webhook thread");
        Webhook {
            port,
            received,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/` (put this in Alertmanager's webhook_configs).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Everything received so far, in arrival order.
    pub fn received(&self) -> Vec<WebhookRequest> {
        self.received.lock().unwrap().clone()
    }

    /// Waits for a request satisfying `pred` (also among those already
    /// received); returns the first match.
    pub fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&WebhookRequest) -> bool,
    ) -> Option<WebhookRequest> {
        poll_until(timeout, || {
            self.received
                .lock()
                .unwrap()
                .iter()
                .find(|r| pred(r))
                .cloned()
        })
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Convenience for Alertmanager payloads: the `alerts[].labels.alertname`
/// values with the given `status` ("firing" / "resolved") in a webhook body.
pub fn webhook_alertnames(req: &WebhookRequest, status: &str) -> Vec<String> {
    req.json["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| x["status"] == status)
                .filter_map(|x| x["labels"]["alertname"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `contents` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let p = dir.join(name);
    let mut f = File::create(&p).unwrap_or_else(|e| panic!("create {}: {e}", p.display()));
    f.write_all(contents.as_bytes()).expect("write");
    p
}

/// The AWS errors counted, less the calls moto 5.2.5 does not implement (it answers them with
/// HTTP 500): ListServiceSpecificCredentials and ListOrganizationsFeatures. The scenario
/// server covers those two; any other error, and any other code for them, still counts.
pub fn aws_errors_beyond_moto_gaps(exposition: &str) -> Vec<Sample> {
    metric_samples(exposition, "aws_iam_exporter_aws_errors_total")
        .into_iter()
        .filter(|s| {
            let gap = matches!(
                s.labels.get("operation").map(String::as_str),
                Some("ListServiceSpecificCredentials" | "ListOrganizationsFeatures")
            );
            !(gap && s.labels.get("code").map(String::as_str) == Some("HTTP500"))
        })
        .collect()
}

/// Compares `got` with the golden file at `path`, printing the lines that differ; with
/// `UPDATE_GOLDEN=1` it rewrites the file instead. `module` is the test module that rewrites it
/// (for the hint: `cargo test --test it MODULE`).
pub fn assert_golden(path: &Path, got: &str, module: &str) {
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, got).unwrap();
        eprintln!("rewrote {}", path.display());
        return;
    }
    let want = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (create it with UPDATE_GOLDEN=1 cargo test --test it {module})",
            path.display()
        )
    });
    if got != want {
        let diff: Vec<String> = want
            .lines()
            .filter(|l| !got.lines().any(|g| g == *l))
            .map(|l| format!("- {l}"))
            .chain(
                got.lines()
                    .filter(|l| !want.lines().any(|w| w == *l))
                    .map(|l| format!("+ {l}")),
            )
            .collect();
        panic!(
            "output differs from {} (UPDATE_GOLDEN=1 to accept):\n{}\n--- got ---\n{got}",
            path.display(),
            diff.join("\n")
        );
    }
}

/// Asserts that `promtool check metrics` finds nothing in `text` (named `what` in the failure)
/// but the one accepted finding: `aws_iam_account_summary{key}` is a contract name (it mirrors
/// GetAccountSummary), and Debian's promtool 2.42 flags the word `summary` in any metric name,
/// whatever its type (here a gauge). Every other finding fails.
pub fn assert_promtool_check_metrics_clean(promtool: &Path, text: &str, what: &str) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool");
    {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    const ACCEPTED: &str = "aws_iam_account_summary metric name should not include type 'summary'";
    let findings: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&o.stderr).lines())
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != ACCEPTED)
        .map(str::to_owned)
        .collect();
    assert!(
        findings.is_empty() && (o.status.success() || o.status.code() == Some(3)),
        "promtool check metrics on {what}: {:?}\n{}",
        o.status,
        findings.join("\n")
    );
}
