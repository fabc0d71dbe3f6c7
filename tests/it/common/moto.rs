//! moto's server (a real IAM, STS and Organizations implementation in Python) as a child
//! process on 127.0.0.1.

use std::process::Command;
use std::time::Duration;

use super::http::http_post;
use super::process::{ServerProcess, start_server, tail};
use super::repo_root;
use super::tools::require_tool;

/// A running `moto_server` on 127.0.0.1 (killed with its process group on drop).
pub struct Moto {
    proc_: ServerProcess,
    port: u16,
}

impl Moto {
    /// Starts moto (`$MOTO_SERVER`, else the repo's pinned `.venv/bin/moto_server`, else
    /// `moto_server` on PATH). When it is missing the test fails; `None` only when skipping
    /// was asked for (see [`require_tool`]).
    pub fn start() -> Option<Moto> {
        Self::start_with_env(&[])
    }

    /// Like [`Moto::start`] with extra environment (e.g.
    /// `("INITIAL_NO_AUTH_ACTION_COUNT", "5")`, `("MOTO_ACCOUNT_ID", ...)`).
    pub fn start_with_env(env: &[(&str, &str)]) -> Option<Moto> {
        let venv = repo_root().join(".venv/bin/moto_server");
        let venv = venv.to_string_lossy().into_owned();
        let bin = require_tool("MOTO_SERVER", &[&venv, "moto_server"])?;
        let (proc_, port) = start_server(
            "moto_server",
            "/moto-api/",
            Duration::from_secs(60),
            |port| {
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
                cmd
            },
        );
        Some(Moto { proc_, port })
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Wipes all moto state (`POST /moto-api/reset`). Does not change the
    /// auth setting (see [`Moto::set_auth_after`]).
    pub fn reset(&self) {
        self.post("reset", "");
    }

    /// IAM authentication/authorization is enforced after `n` more requests
    /// (`POST /moto-api/reset-auth`, like INITIAL_NO_AUTH_ACTION_COUNT);
    /// `Some(0)` enforces it from now on, `None` switches it off (infinity).
    pub fn set_auth_after(&self, n: Option<u64>) {
        let body = n.map_or_else(|| "inf".to_string(), |n| n.to_string());
        // Must not be form-encoded: moto reads the raw body as a float.
        self.post("reset-auth", &body);
    }

    /// `POST /moto-api/<what>` with a plain-text body; panics (with moto's log) unless 200.
    fn post(&self, what: &str, body: &str) {
        let r = http_post(
            &format!("{}/moto-api/{what}", self.endpoint()),
            "text/plain",
            body.as_bytes(),
        )
        .unwrap_or_else(|e| panic!("moto {what}: {e}\n{}", tail(&self.proc_.log(), 40)));
        assert_eq!(r.status, 200, "moto {what}: {}", r.text());
    }
}
