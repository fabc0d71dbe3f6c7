//! The external programs the tests run (moto, Prometheus, Alertmanager, promtool, python3) and
//! what happens when one is missing: the test prints `skipped: <tool> not found` and returns
//! early, unless `AWS_IAM_EXPORTER_REQUIRE_TOOLS=1` (set by scripts/test.sh), in which case it
//! panics.

use std::path::{Path, PathBuf};

/// Environment variable that turns "tool missing: skip" into a panic.
pub const REQUIRE_TOOLS_ENV: &str = "AWS_IAM_EXPORTER_REQUIRE_TOOLS";

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
