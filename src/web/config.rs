//! `--web.config.file`: the Prometheus exporter-toolkit web configuration.
//!
//! This module owns parsing and validating the exporter-toolkit YAML format
//! (<https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md>),
//! its errors (with secrets redacted) and the [`WebConfig`] the server asks; each section
//! is built by its own module:
//!
//! * `tls_server_config` -> `tls`: a rustls [`TlsAcceptor`] (aws-lc-rs provider), with
//!   client-certificate policies, TLS version bounds, cipher suites, curves,
//!   `client_allowed_sans` and ALPN (`h2` + `http/1.1`, or `http/1.1` only);
//! * `http_server_config` -> the `http2` switch and, in `headers`, the extra response
//!   headers (only the ones exporter-toolkit allows);
//! * `basic_auth_users` -> `auth`: bcrypt-checked HTTP basic auth with the same work for
//!   known and unknown users, run by `verify`: bounded caches of recent successes and
//!   failures, a bounded queue fair between client addresses, a few low-priority threads;
//! * `rate_limit` -> `rate_limit`: a token bucket per client address
//!   ([`WebConfig::check_rate_limit`]), charged after authentication when users are
//!   configured.
//!
//! Everything is validated up front by [`WebConfig::load`]: unknown keys, unreadable
//! or mismatched certificate/key files, CA files, client auth types, bcrypt hashes
//! and header names all fail loading with an error that names the file and the key.
//!
//! Differences from exporter-toolkit (Go):
//! * The file is read once at start-up; exporter-toolkit re-reads it on every request
//!   and TLS handshake. Restart (or reload) to pick up new certificates or users.
//! * rustls speaks TLS 1.2 and 1.3 only: `min_version: TLS10`/`TLS11` are accepted and
//!   act as `TLS12`; `max_version` below `TLS12` is an error.
//! * Only the cipher suites and curves rustls/aws-lc-rs implement are used: CBC and
//!   static-RSA suites and `CurveP521` are skipped with a warning. TLS 1.3 suites are
//!   not configurable (as in Go). `prefer_server_cipher_suites` maps to rustls'
//!   `ignore_client_order` (Go ≥ 1.17 ignores it).
//! * `VerifyClientCertIfGiven` and `RequireAndVerifyClientCert` need a client CA
//!   (`client_ca_file` or `client_ca`); Go would fall back to the system roots.
//! * `RequestClientCert` / `RequireAnyClientCert` behave as in Go: a client certificate
//!   is requested (or required) but not verified against any CA; only its handshake
//!   signature is checked. Both are insecure, as the upstream docs say.
//! * An empty header value means "unset" for every header (as the upstream docs say).
//! * `client_allowed_sans: []` and `rate_limit.burst: 0` are rejected (they would
//!   refuse every connection / request).
//! * `rate_limit` is a bucket per client address, taken after authentication; Go has one
//!   bucket for everyone, taken before it.
//! * Password checks run on up to half the CPUs, queued fairly between client addresses
//!   with a bound (beyond it: `429`, unchecked); Go runs them one at a time in one queue.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use tokio_rustls::TlsAcceptor;

use super::auth::{Auth, BasicAuth};
use super::client::Client;
use super::headers::build_headers;
use super::rate_limit::RateLimiter;
use super::tls::{Tls, build_tls};

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why a web config file could not be loaded. Every message starts with
/// `web config <path>:` and, where it applies, names the offending key.
/// Messages never contain password hashes or key material.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    /// The config file itself could not be read.
    #[error("web config {}: cannot read file: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// The file is not valid YAML for this schema (syntax error, unknown key, wrong type).
    #[error("web config {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    /// A file named by the config (certificate, key, CA) could not be read.
    #[error("web config {}: {key}: cannot read {}: {cause}", path.display(), file.display())]
    ReadFile {
        path: PathBuf,
        key: String,
        file: PathBuf,
        cause: std::io::Error,
    },
    /// A value is present but invalid.
    #[error("web config {}: {key}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

impl WebConfigError {
    /// The dotted config key the error is about, if any (e.g. `tls_server_config.cert_file`).
    pub fn key(&self) -> Option<&str> {
        match self {
            WebConfigError::ReadFile { key, .. } | WebConfigError::Invalid { key, .. } => Some(key),
            WebConfigError::Read { .. } | WebConfigError::Parse { .. } => None,
        }
    }
}

/// Shorthand for building errors that all carry the config path.
pub(super) struct Ctx<'a> {
    pub(super) path: &'a Path,
    pub(super) dir: &'a Path,
}

impl Ctx<'_> {
    pub(super) fn invalid(
        &self,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> WebConfigError {
        WebConfigError::Invalid {
            path: self.path.to_path_buf(),
            key: key.into(),
            message: message.into(),
        }
    }

    /// Relative paths are relative to the config file's directory (like Go's `JoinDir`).
    pub(super) fn resolve(&self, file: &str) -> PathBuf {
        let p = Path::new(file);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }

    pub(super) fn read(&self, key: &str, file: &Path) -> Result<Vec<u8>, WebConfigError> {
        std::fs::read(file).map_err(|cause| WebConfigError::ReadFile {
            path: self.path.to_path_buf(),
            key: key.to_string(),
            file: file.to_path_buf(),
            cause,
        })
    }
}

// ---------------------------------------------------------------------------
// Raw YAML model
// ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    http_server_config: Option<RawHttp>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
    #[serde(default)]
    rate_limit: Option<RawRateLimit>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub(super) cert: Option<String>,
    pub(super) key: Option<String>,
    pub(super) client_ca: Option<String>,
    pub(super) cert_file: Option<String>,
    pub(super) key_file: Option<String>,
    pub(super) client_auth_type: Option<String>,
    pub(super) client_ca_file: Option<String>,
    pub(super) client_allowed_sans: Option<Vec<String>>,
    pub(super) min_version: Option<String>,
    pub(super) max_version: Option<String>,
    pub(super) cipher_suites: Option<Vec<String>>,
    pub(super) prefer_server_cipher_suites: Option<bool>,
    pub(super) curve_preferences: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimit {
    pub(super) interval: Option<RawDuration>,
    pub(super) burst: Option<u64>,
}

/// Go's yaml decoding of `time.Duration`: a duration string (`"1s"`) or nanoseconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawDuration {
    Nanos(i64),
    Text(String),
}

/// serde quotes offending values (`invalid type: string "..."`); a misplaced bcrypt
/// hash or inline key must not end up in logs, so those values are hidden.
fn redact_quoted_values(message: &str) -> String {
    const MARKER: &str = "string \"";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(MARKER) {
        out.push_str(&rest[..start]);
        out.push_str("string (value hidden)");
        let quoted = &rest[start + MARKER.len()..];
        let mut escaped = false;
        let end = quoted.char_indices().find_map(|(i, c)| {
            let closing = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            closing.then_some(i)
        });
        rest = end.map_or("", |i| &quoted[i + 1..]);
    }
    out.push_str(rest);
    out
}

/// Treat `""` like an absent value, as Go's zero-value checks do.
pub(super) fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------
// Validated config
// ---------------------------------------------------------------------------

/// A loaded and fully validated `--web.config.file`.
pub struct WebConfig {
    path: PathBuf,
    pub(super) tls: Option<Tls>,
    http2: bool,
    headers: Vec<(HeaderName, HeaderValue)>,
    pub(super) auth: BasicAuth,
    rate_limiter: Option<RateLimiter>,
}

impl WebConfig {
    /// Reads and validates the web config at `path`. Relative file names inside it are
    /// resolved against the directory containing `path`.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|cause| WebConfigError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        let raw: RawConfig = serde_yaml_ng::from_str::<Option<RawConfig>>(&text)
            .map_err(|e| WebConfigError::Parse {
                path: path.to_path_buf(),
                message: redact_quoted_values(&e.to_string()),
            })?
            .unwrap_or_default();
        let dir = path.parent().unwrap_or_else(|| Path::new(""));
        let ctx = Ctx { path, dir };

        let raw_http = raw.http_server_config.unwrap_or_default();
        let http2 = raw_http.http2.unwrap_or(true);
        let headers = build_headers(&ctx, raw_http.headers.unwrap_or_default())?;
        let tls = match raw.tls_server_config {
            Some(raw_tls) => build_tls(&ctx, raw_tls, http2)?,
            None => None,
        };
        let auth = BasicAuth::new(&ctx, raw.basic_auth_users.unwrap_or_default())?;
        let rate_limiter = match raw.rate_limit {
            Some(r) => RateLimiter::new(&ctx, r)?,
            None => None,
        };

        Ok(WebConfig {
            path: path.to_path_buf(),
            tls,
            http2,
            headers,
            auth,
            rate_limiter,
        })
    }

    /// The TLS acceptor to wrap accepted TCP streams with; `None` means plain HTTP.
    /// ALPN offers `h2` and `http/1.1`, or only `http/1.1` when `http2: false`.
    pub fn tls_acceptor(&self) -> Option<TlsAcceptor> {
        self.tls
            .as_ref()
            .map(|t| TlsAcceptor::from(Arc::clone(&t.server_config)))
    }

    /// Whether HTTP/2 should be served: only with TLS (negotiated by ALPN) and unless
    /// `http_server_config.http2` is `false`. Plain HTTP is HTTP/1.1 only.
    pub fn http2(&self) -> bool {
        self.http2 && self.tls.is_some()
    }

    /// Whether requests must carry valid basic-auth credentials.
    pub fn requires_auth(&self) -> bool {
        !self.auth.users.is_empty()
    }

    /// Whether a request from `client` with this `Authorization` header may proceed:
    /// [`Auth::Allowed`] if no users are configured or the credentials are valid;
    /// [`Auth::Refused`] (answer `401` with `WWW-Authenticate: Basic`) if not;
    /// [`Auth::Busy`] (answer `429`, unchecked) if too many checks are waiting.
    ///
    /// Recent outcomes are cached; a miss waits for its turn in a bounded queue that is
    /// fair between client addresses, and runs on a few low-priority threads.
    pub async fn authenticate(&self, client: Client, authorization: Option<&HeaderValue>) -> Auth {
        self.auth.check(client, authorization).await
    }

    /// [`WebConfig::authenticate`] from an unknown client, as a yes or no.
    #[cfg(test)]
    pub(crate) async fn check_basic_auth(&self, authorization: Option<&HeaderValue>) -> bool {
        self.authenticate(Client::UNKNOWN, authorization).await == Auth::Allowed
    }

    /// Extra headers to set on every response (including 401s), from
    /// `http_server_config.headers`.
    pub fn response_headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// Token-bucket rate limit from `rate_limit`, one bucket per client address: `true` if
    /// this request from `client` may proceed (always `true` when no rate limit is
    /// configured). On `false` the server should answer `429 Too Many Requests`. With
    /// users configured, ask only once [`WebConfig::authenticate`] allowed the request, so
    /// that clients without the password cannot use up a scraper's budget.
    pub fn check_rate_limit(&self, client: Client) -> bool {
        self.rate_limiter
            .as_ref()
            .is_none_or(|limiter| limiter.allow(client))
    }
}

impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users: Vec<&str> = self.auth.users.keys().map(String::as_str).collect();
        let headers: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("WebConfig")
            .field("path", &self.path)
            .field("tls", &self.tls.as_ref().map(|t| &t.summary))
            .field("http2", &self.http2())
            .field("headers", &headers)
            .field("basic_auth_users", &users)
            .field("rate_limit", &self.rate_limiter)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::test_support::*;

    #[test]
    fn a_web_config_can_be_shared_across_tasks() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<WebConfig>();
        assert_send_sync::<WebConfigError>();
    }

    // --- loading -----------------------------------------------------------------

    #[tokio::test]
    async fn the_sample_fixture_config_loads_with_tls_headers_and_users() {
        let cfg = WebConfig::load(&fixtures().join("web-config.yml")).expect("loads");
        assert!(cfg.tls_acceptor().is_some());
        assert!(cfg.http2());
        assert!(cfg.requires_auth());
        let names: Vec<&str> = cfg
            .response_headers()
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "strict-transport-security",
                "x-content-type-options",
                "x-frame-options"
            ]
        );
        assert!(
            cfg.check_basic_auth(Some(&basic(TEST_USER, TEST_PASSWORD)))
                .await
        );
    }

    #[test]
    fn relative_file_names_resolve_against_the_config_file_directory() {
        // The sample config says `cert_file: server.crt`; the test's working directory
        // is the crate root, where no server.crt exists.
        assert!(!Path::new("server.crt").exists());
        let cfg = WebConfig::load(&fixtures().join("web-config.yml")).expect("loads");
        assert!(format!("{cfg:?}").contains(&fixture("server.crt")));
    }

    #[tokio::test]
    async fn an_empty_file_means_plain_http_without_auth() {
        let cfg = load_ok("");
        assert!(cfg.tls_acceptor().is_none());
        assert!(!cfg.requires_auth());
        assert!(cfg.check_basic_auth(None).await);
        assert!(cfg.response_headers().is_empty());
        assert!(cfg.check_rate_limit(Client::UNKNOWN));
        assert!(!cfg.http2());
    }

    #[test]
    fn a_config_with_only_basic_auth_serves_plain_http() {
        let cfg = auth_config();
        assert!(cfg.tls_acceptor().is_none());
        assert!(cfg.requires_auth());
    }

    #[test]
    fn a_missing_config_file_is_reported_with_its_path() {
        let err = WebConfig::load(Path::new("/nonexistent/web.yml")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("web config /nonexistent/web.yml: cannot read file"),
            "{msg}"
        );
    }

    #[test]
    fn an_unknown_top_level_key_is_rejected() {
        let err = load_err("tls_config:\n  cert_file: x\n");
        assert!(matches!(err, WebConfigError::Parse { .. }), "{err}");
        assert!(err.to_string().contains("tls_config"), "{err}");
    }

    #[test]
    fn an_unknown_nested_key_is_rejected_and_named() {
        let err = load_err(&format!("{TLS_ONLY}  certfile: x\n"));
        let msg = err.to_string();
        assert!(msg.contains("certfile"), "{msg}");
        assert!(msg.contains("tls_server_config"), "{msg}");
    }

    #[test]
    fn values_quoted_in_yaml_type_errors_are_hidden() {
        let err = load_err("basic_auth_users: $2y$10$secret-looking\n");
        let msg = err.to_string();
        assert!(msg.contains("basic_auth_users"), "{msg}");
        assert!(
            msg.contains("value hidden") && !msg.contains("secret-looking"),
            "{msg}"
        );
        assert_eq!(
            redact_quoted_values(r#"a string "x\"y" b string "z"#),
            "a string (value hidden) b string (value hidden)"
        );
    }

    #[test]
    fn invalid_yaml_is_rejected() {
        let err = load_err("tls_server_config: [\n");
        assert!(matches!(err, WebConfigError::Parse { .. }), "{err}");
    }

    #[test]
    fn debug_output_never_contains_the_bcrypt_hash() {
        let cfg = WebConfig::load(&fixtures().join("web-config.yml")).unwrap();
        let dbg = format!("{cfg:?} {cfg:#?}");
        assert!(!dbg.contains(&test_hash()), "{dbg}");
        assert!(!dbg.contains("$2"), "{dbg}");
        assert!(!dbg.contains("PRIVATE KEY"), "{dbg}");
        assert!(dbg.contains("alice"), "user names are fine to show: {dbg}");
    }
}
