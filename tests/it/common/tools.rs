//! The external programs the tests run (moto, Prometheus, Alertmanager, promtool, python3) and
//! what happens when one is missing: the test FAILS, with a message saying how to install it,
//! unless `AWS_IAM_EXPORTER_SKIP_MISSING_TOOLS=1` asks to skip it. A plain `cargo test` on a
//! machine without the tools therefore fails loudly instead of passing tests that did not run.

use std::path::{Path, PathBuf};

/// Environment variable that turns "tool missing: the test fails" into "the test is skipped".
pub const SKIP_MISSING_TOOLS_ENV: &str = "AWS_IAM_EXPORTER_SKIP_MISSING_TOOLS";

/// True when [`SKIP_MISSING_TOOLS_ENV`] asks to skip tests whose tools are missing.
fn skip_allowed() -> bool {
    matches!(
        std::env::var(SKIP_MISSING_TOOLS_ENV).as_deref(),
        Ok("1") | Ok("true") | Ok("yes")
    )
}

/// A test cannot run because `what` is missing (`hint`: how to provide it). Panics, with how
/// to install the tools or how to skip, unless skipping was asked for; then it prints
/// `skipped: ...` and returns, and the caller returns too.
pub fn missing_prerequisite(what: &str, hint: &str) {
    if !skip_allowed() {
        panic!(
            "{what} not found ({hint}). Install the test tools with `bash scripts/setup-test-env.sh` \
             (or run everything with `bash scripts/test.sh`, which does it first), or set \
             {SKIP_MISSING_TOOLS_ENV}=1 to skip the tests that need it"
        );
    }
    eprintln!("skipped: {what} not found ({hint}; {SKIP_MISSING_TOOLS_ENV}=1 is set)");
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
/// When it is missing the test fails (see [`missing_prerequisite`]); `None` only when
/// `AWS_IAM_EXPORTER_SKIP_MISSING_TOOLS=1` asks to skip, so the caller does
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
    let tool = fallback_names
        .first()
        .and_then(|n| Path::new(n).file_name())
        .map_or_else(|| env_var.to_string(), |n| n.to_string_lossy().into_owned());
    let looked = fallback_names.join(", ");
    missing_prerequisite(
        &tool,
        &format!("looked at ${env_var} and {looked}; set {env_var}, or put it on PATH"),
    );
    None
}
