//! Processes and ports: free ports on 127.0.0.1, polling, signals, and the server processes
//! the tests start (moto, Prometheus, Alertmanager), each in its own process group with its
//! output captured to a log file, killed by PID when its handle drops.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::http::http_request;

/// A free TCP port on 127.0.0.1 (bind port 0, read it, release it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .expect("local_addr")
        .port()
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

/// Runs `cmd` to its end like `Command::output`, but at most `timeout`: a command still
/// running then is killed, and the error says so with what it wrote to stderr. For commands
/// that must end by themselves (`--once`, `audit`), so that a hang fails the test in seconds.
pub fn output_within(cmd: &mut Command, timeout: Duration) -> Result<std::process::Output, String> {
    let stdout = tempfile::tempfile().expect("tempfile");
    let stderr = tempfile::NamedTempFile::new().expect("tempfile");
    let mut child = cmd
        .stdout(stdout.try_clone().expect("dup"))
        .stderr(stderr.reopen().expect("reopen"))
        .spawn()
        .expect("spawn");
    let Some(status) = wait_timeout(&mut child, timeout) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "still running after {timeout:?}; killed\n--- stderr ---\n{}",
            tail(&read_lossy(stderr.path()), 40)
        ));
    };
    let mut out = Vec::new();
    let mut stdout = stdout;
    std::io::Seek::rewind(&mut stdout).expect("rewind");
    std::io::Read::read_to_end(&mut stdout, &mut out).expect("read stdout");
    Ok(std::process::Output {
        status,
        stdout: out,
        stderr: std::fs::read(stderr.path()).unwrap_or_default(),
    })
}

pub(super) fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

pub(super) fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

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

/// Starts a server process on a free port and waits, up to `ready_within`, until
/// `GET ready_path` answers 200; `command(port)` builds its command line. Retried on a fresh
/// port (three attempts) if it dies or never answers, e.g. when the port was taken between
/// [`free_port`] and the server's bind.
pub fn start_server(
    name: &str,
    ready_path: &str,
    ready_within: Duration,
    command: impl Fn(u16) -> Command,
) -> (ServerProcess, u16) {
    for _attempt in 0..3 {
        let port = free_port();
        let mut p = ServerProcess::spawn(name, command(port));
        let url = format!("http://127.0.0.1:{port}{ready_path}");
        let up = poll_until(ready_within, || {
            if p.try_wait().is_some() {
                return Some(false);
            }
            http_request("GET", &url, &[], None, Duration::from_secs(2))
                .ok()
                .filter(|r| r.status == 200)
                .map(|_| true)
        });
        if up == Some(true) {
            return (p, port);
        }
        eprintln!(
            "{name} did not come up on port {port}; log:\n{}",
            tail(&p.log(), 40)
        );
        p.kill();
    }
    panic!("{name} did not start (3 attempts)");
}

/// A command running `bin` with `args`.
pub fn command<S: AsRef<std::ffi::OsStr>>(bin: &Path, args: &[S]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(args);
    cmd
}
