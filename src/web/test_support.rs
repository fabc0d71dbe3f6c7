//! Helpers shared by the web config tests: fixtures and loading YAML from a temp dir.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use hyper::header::HeaderValue;

use super::{WebConfig, WebConfigError};

/// Documented in tests/fixtures/webconfig/regen.sh.
pub(crate) const TEST_USER: &str = "alice";
pub(crate) const TEST_PASSWORD: &str = "wonderland-test-password";

pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webconfig")
}

pub(crate) fn fixture(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

pub(crate) fn test_hash() -> String {
    std::fs::read_to_string(fixtures().join("password.bcrypt"))
        .expect("password.bcrypt fixture")
        .trim()
        .to_string()
}

/// Writes `yaml` to a fresh temp dir and loads it. `{fx}` expands to the fixtures dir.
pub(crate) fn load_yaml(yaml: &str) -> (tempfile::TempDir, Result<WebConfig, WebConfigError>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("web.yml");
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(
        yaml.replace("{fx}", &fixtures().display().to_string())
            .as_bytes(),
    )
    .expect("write");
    drop(f);
    let result = WebConfig::load(&path);
    (dir, result)
}

pub(crate) fn load_ok(yaml: &str) -> WebConfig {
    let (_dir, result) = load_yaml(yaml);
    result.unwrap_or_else(|e| panic!("expected config to load, got: {e}"))
}

pub(crate) fn load_err(yaml: &str) -> WebConfigError {
    let (_dir, result) = load_yaml(yaml);
    match result {
        Ok(cfg) => panic!("expected an error, config loaded: {cfg:?}"),
        Err(e) => e,
    }
}

pub(crate) fn basic(user: &str, password: &str) -> HeaderValue {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    HeaderValue::from_str(&format!("Basic {token}")).expect("header")
}

pub(crate) fn auth_config() -> WebConfig {
    load_ok(&format!(
        "basic_auth_users:\n  {TEST_USER}: {}\n",
        test_hash()
    ))
}

pub(crate) const TLS_ONLY: &str =
    "tls_server_config:\n  cert_file: {fx}/server.crt\n  key_file: {fx}/server.key\n";
