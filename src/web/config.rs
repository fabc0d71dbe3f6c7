//! `--web.config.file`: the Prometheus exporter-toolkit web configuration.
//!
//! This module owns parsing and validating the exporter-toolkit YAML format
//! (<https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md>)
//! and turning it into what the HTTP server needs:
//!
//! * `tls_server_config` -> a rustls [`TlsAcceptor`] (aws-lc-rs provider), with
//!   client-certificate policies, TLS version bounds, cipher suites, curves,
//!   `client_allowed_sans` and ALPN (`h2` + `http/1.1`, or `http/1.1` only);
//! * `http_server_config` -> the `http2` switch and the extra response headers
//!   (only the ones exporter-toolkit allows);
//! * `basic_auth_users` -> bcrypt-checked HTTP basic auth with a bounded cache of
//!   successful verifications and a dummy hash for unknown users;
//! * `rate_limit` -> a token bucket ([`WebConfig::check_rate_limit`]).
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

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::header::{HeaderName, HeaderValue};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, SupportedKxGroup, WebPkiSupportedAlgorithms};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
    SupportedCipherSuite, SupportedProtocolVersion,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use serde::Deserialize;
use tokio_rustls::TlsAcceptor;

/// How many successful `(user, password, hash)` verifications are remembered.
const AUTH_CACHE_CAPACITY: usize = 100;
/// bcrypt only looks at the first 72 bytes; like Go's x/crypto/bcrypt, longer
/// passwords are refused rather than silently truncated.
const BCRYPT_MAX_PASSWORD_LEN: usize = 72;

/// Header names exporter-toolkit lets a web config set, with their allowed values
/// (an empty list means any value).
const ALLOWED_HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

const CLIENT_AUTH_TYPES: &str = "NoClientCert, RequestClientCert, RequireAnyClientCert, \
     VerifyClientCertIfGiven, RequireAndVerifyClientCert";

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
struct Ctx<'a> {
    path: &'a Path,
    dir: &'a Path,
}

impl Ctx<'_> {
    fn invalid(&self, key: impl Into<String>, message: impl Into<String>) -> WebConfigError {
        WebConfigError::Invalid {
            path: self.path.to_path_buf(),
            key: key.into(),
            message: message.into(),
        }
    }

    /// Relative paths are relative to the config file's directory (like Go's `JoinDir`).
    fn resolve(&self, file: &str) -> PathBuf {
        let p = Path::new(file);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }

    fn read(&self, key: &str, file: &Path) -> Result<Vec<u8>, WebConfigError> {
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
struct RawTls {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    interval: Option<RawDuration>,
    burst: Option<u64>,
}

/// Go's yaml decoding of `time.Duration`: a duration string (`"1s"`) or nanoseconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawDuration {
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
fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------
// Validated config
// ---------------------------------------------------------------------------

/// A loaded and fully validated `--web.config.file`.
pub struct WebConfig {
    path: PathBuf,
    tls: Option<Tls>,
    http2: bool,
    headers: Vec<(HeaderName, HeaderValue)>,
    auth: BasicAuth,
    rate_limiter: Option<RateLimiter>,
}

struct Tls {
    server_config: Arc<ServerConfig>,
    summary: TlsSummary,
}

/// What `Debug` shows of the TLS settings: sources and policies, never key material.
#[derive(Debug)]
#[allow(dead_code, reason = "the fields are only read through Debug")]
struct TlsSummary {
    cert: String,
    key: String,
    client_auth_type: ClientAuth,
    client_ca: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    versions: Vec<&'static str>,
    alpn: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "" | "NoClientCert" => Self::NoClientCert,
            "RequestClientCert" => Self::RequestClientCert,
            // "RequireClientCert" is kept by exporter-toolkit for backwards compatibility.
            "RequireAnyClientCert" | "RequireClientCert" => Self::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => Self::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => Self::RequireAndVerifyClientCert,
            _ => return None,
        })
    }
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

    /// The path the config was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
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

    /// `true` if no users are configured, or if `authorization` holds valid `Basic`
    /// credentials for a configured user. On `false` the server should answer
    /// `401 Unauthorized` with `WWW-Authenticate: Basic`.
    ///
    /// A cache miss costs one bcrypt verification (tens of milliseconds at cost 10),
    /// so call this from `tokio::task::spawn_blocking` if that matters; successful
    /// verifications are cached, so steady-state scrapes are cheap.
    pub fn check_basic_auth(&self, authorization: Option<&HeaderValue>) -> bool {
        self.auth.check(authorization)
    }

    /// Extra headers to set on every response (including 401s), from
    /// `http_server_config.headers`.
    pub fn response_headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// Token-bucket rate limit from `rate_limit`: `true` if this request may proceed
    /// (always `true` when no rate limit is configured). On `false` the server should
    /// answer `429 Too Many Requests`.
    pub fn check_rate_limit(&self) -> bool {
        self.rate_limiter.as_ref().is_none_or(RateLimiter::allow)
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

// ---------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------

fn build_headers(
    ctx: &Ctx<'_>,
    raw: BTreeMap<String, String>,
) -> Result<Vec<(HeaderName, HeaderValue)>, WebConfigError> {
    let mut out = Vec::new();
    for (name, value) in raw {
        let key = format!("http_server_config.headers.{name}");
        let Some((_, allowed_values)) = ALLOWED_HEADERS.iter().find(|(n, _)| *n == name) else {
            let allowed: Vec<&str> = ALLOWED_HEADERS.iter().map(|(n, _)| *n).collect();
            return Err(ctx.invalid(
                key,
                format!(
                    "HTTP header {name:?} can not be configured; allowed: {}",
                    allowed.join(", ")
                ),
            ));
        };
        if value.is_empty() {
            continue; // "Unset if blank."
        }
        if !allowed_values.is_empty() && !allowed_values.contains(&value.as_str()) {
            return Err(ctx.invalid(
                key,
                format!("invalid value {value:?}; expected one of: {allowed_values:?}"),
            ));
        }
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| ctx.invalid(&key, format!("invalid header name: {e}")))?;
        let header_value = HeaderValue::from_str(&value)
            .map_err(|e| ctx.invalid(&key, format!("invalid header value: {e}")))?;
        out.push((header_name, header_value));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------

fn build_tls(ctx: &Ctx<'_>, raw: RawTls, http2: bool) -> Result<Option<Tls>, WebConfigError> {
    // Same rule as exporter-toolkit's TLSConfig.IsEnabled: any of these turns TLS on.
    let enabled = [
        &raw.cert,
        &raw.key,
        &raw.client_ca,
        &raw.cert_file,
        &raw.key_file,
        &raw.client_ca_file,
        &raw.client_auth_type,
    ]
    .iter()
    .any(|v| non_empty(v).is_some());
    if !enabled {
        if raw.min_version.is_some()
            || raw.max_version.is_some()
            || raw.cipher_suites.is_some()
            || raw.curve_preferences.is_some()
            || raw.client_allowed_sans.is_some()
        {
            tracing::warn!(
                path = %ctx.path.display(),
                "tls_server_config has no certificate, key, CA or client_auth_type: TLS is disabled and its other settings are ignored"
            );
        }
        return Ok(None);
    }

    let mut provider = rustls::crypto::aws_lc_rs::default_provider();

    // Certificate chain and key.
    let (cert_pem, cert_source) = pem_source(ctx, "cert", &raw.cert, "cert_file", &raw.cert_file)?;
    let (key_pem, key_source) = pem_source(ctx, "key", &raw.key, "key_file", &raw.key_file)?;
    let cert_key = cert_source.key.clone();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| ctx.invalid(&cert_key, format!("not a valid PEM certificate file: {e}")))?;
    if chain.is_empty() {
        return Err(ctx.invalid(&cert_key, "no PEM certificate found"));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        ctx.invalid(
            &key_source.key,
            format!("no usable PEM private key found: {e}"),
        )
    })?;

    // Client auth policy and CA.
    let client_auth_text = raw.client_auth_type.as_deref().unwrap_or("");
    let client_auth = ClientAuth::parse(client_auth_text).ok_or_else(|| {
        ctx.invalid(
            "tls_server_config.client_auth_type",
            format!("invalid value {client_auth_text:?}; expected one of: {CLIENT_AUTH_TYPES}"),
        )
    })?;
    let client_ca = match optional_pem_source(
        ctx,
        "client_ca",
        &raw.client_ca,
        "client_ca_file",
        &raw.client_ca_file,
    )? {
        Some((pem, source)) => Some((load_roots(ctx, &source.key, &pem)?, source)),
        None => None,
    };
    if client_ca.is_some() && client_auth == ClientAuth::NoClientCert {
        let key = client_ca
            .as_ref()
            .map(|(_, s)| s.key.clone())
            .unwrap_or_default();
        return Err(ctx.invalid(
            key,
            "a client CA is configured but client_auth_type is NoClientCert; \
             set client_auth_type (RequireAndVerifyClientCert to enforce client certificates)",
        ));
    }
    let sans = match &raw.client_allowed_sans {
        None => None,
        Some(list) => {
            let key = "tls_server_config.client_allowed_sans";
            if list.is_empty() {
                return Err(ctx.invalid(key, "must not be an empty list"));
            }
            if !matches!(
                client_auth,
                ClientAuth::RequireAnyClientCert | ClientAuth::RequireAndVerifyClientCert
            ) {
                return Err(ctx.invalid(
                    key,
                    "requires client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert",
                ));
            }
            Some(list.clone())
        }
    };

    // Protocol versions.
    let min = parse_version(ctx, "tls_server_config.min_version", &raw.min_version, 12)?;
    let max = parse_version(ctx, "tls_server_config.max_version", &raw.max_version, 13)?;
    if max < 12 {
        return Err(ctx.invalid(
            "tls_server_config.max_version",
            "TLS versions below TLS12 are not supported (rustls speaks TLS12 and TLS13)",
        ));
    }
    if min > max {
        return Err(ctx.invalid(
            "tls_server_config.min_version",
            "min_version is greater than max_version",
        ));
    }
    let mut tls12 = min <= 12;
    let tls13 = max >= 13;

    // Cipher suites (TLS 1.2 only; TLS 1.3 suites are not configurable, as in Go).
    if let Some(names) = &raw.cipher_suites {
        let tls12_suites = select_cipher_suites(ctx, names, &provider)?;
        if !names.is_empty() {
            let tls13_suites = provider
                .cipher_suites
                .iter()
                .filter(|s| s.version() == &rustls::version::TLS13)
                .copied();
            if tls12_suites.is_empty() && tls12 {
                if !tls13 {
                    return Err(ctx.invalid(
                        "tls_server_config.cipher_suites",
                        "none of the listed TLS 1.2 cipher suites is supported, and TLS13 is disabled by max_version",
                    ));
                }
                tracing::warn!(
                    path = %ctx.path.display(),
                    "tls_server_config.cipher_suites: no supported TLS 1.2 suite listed; only TLS 1.3 will be offered"
                );
                tls12 = false;
            }
            provider.cipher_suites = tls13_suites.chain(tls12_suites).collect();
        }
    }

    // Key exchange groups.
    if let Some(names) = &raw.curve_preferences
        && !names.is_empty()
    {
        provider.kx_groups = select_kx_groups(ctx, names)?;
    }

    let mut versions: Vec<&'static SupportedProtocolVersion> = Vec::new();
    let mut version_names = Vec::new();
    if tls13 {
        versions.push(&rustls::version::TLS13);
        version_names.push("TLS13");
    }
    if tls12 {
        versions.push(&rustls::version::TLS12);
        version_names.push("TLS12");
    }

    let provider = Arc::new(provider);
    let verifier = client_verifier(
        ctx,
        client_auth,
        client_ca.as_ref().map(|(r, _)| r),
        sans.clone(),
        &provider,
    )?;

    let mut config = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| ctx.invalid("tls_server_config", format!("unusable TLS settings: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key_der)
        .map_err(|e| {
            let why = match e {
                rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                    format!(
                        "the private key does not match the certificate in {}",
                        cert_source.describe
                    )
                }
                other => format!("cannot use certificate and key: {other}"),
            };
            ctx.invalid(&key_source.key, why)
        })?;
    config.ignore_client_order = raw.prefer_server_cipher_suites.unwrap_or(true);
    let alpn: Vec<&'static str> = if http2 {
        vec!["h2", "http/1.1"]
    } else {
        vec!["http/1.1"]
    };
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();

    Ok(Some(Tls {
        server_config: Arc::new(config),
        summary: TlsSummary {
            cert: cert_source.describe,
            key: key_source.describe,
            client_auth_type: client_auth,
            client_ca: client_ca.map(|(_, s)| s.describe),
            client_allowed_sans: sans,
            versions: version_names,
            alpn,
        },
    }))
}

/// Where a PEM blob came from: the dotted key to blame and a description for `Debug`.
struct PemSource {
    key: String,
    describe: String,
}

/// Exactly one of the inline key and the file key must be set.
fn pem_source(
    ctx: &Ctx<'_>,
    inline_key: &str,
    inline: &Option<String>,
    file_key: &str,
    file: &Option<String>,
) -> Result<(Vec<u8>, PemSource), WebConfigError> {
    optional_pem_source(ctx, inline_key, inline, file_key, file)?.ok_or_else(|| {
        ctx.invalid(
            format!("tls_server_config.{file_key}"),
            format!("missing: one of {inline_key} or {file_key} is required when TLS is enabled"),
        )
    })
}

fn optional_pem_source(
    ctx: &Ctx<'_>,
    inline_key: &str,
    inline: &Option<String>,
    file_key: &str,
    file: &Option<String>,
) -> Result<Option<(Vec<u8>, PemSource)>, WebConfigError> {
    match (non_empty(inline), non_empty(file)) {
        (Some(_), Some(_)) => Err(ctx.invalid(
            format!("tls_server_config.{inline_key}"),
            format!("{inline_key} and {file_key} are mutually exclusive"),
        )),
        (Some(text), None) => Ok(Some((
            text.as_bytes().to_vec(),
            PemSource {
                key: format!("tls_server_config.{inline_key}"),
                describe: format!("inline ({inline_key})"),
            },
        ))),
        (None, Some(name)) => {
            let key = format!("tls_server_config.{file_key}");
            let file = ctx.resolve(name);
            let bytes = ctx.read(&key, &file)?;
            Ok(Some((
                bytes,
                PemSource {
                    key,
                    describe: file.display().to_string(),
                },
            )))
        }
        (None, None) => Ok(None),
    }
}

fn load_roots(ctx: &Ctx<'_>, key: &str, pem: &[u8]) -> Result<Arc<RootCertStore>, WebConfigError> {
    let mut roots = RootCertStore::empty();
    for (i, cert) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let cert =
            cert.map_err(|e| ctx.invalid(key, format!("not a valid PEM certificate file: {e}")))?;
        roots.add(cert).map_err(|e| {
            ctx.invalid(
                key,
                format!("certificate #{} is not usable as a CA: {e}", i + 1),
            )
        })?;
    }
    if roots.is_empty() {
        return Err(ctx.invalid(key, "no PEM certificate found"));
    }
    Ok(Arc::new(roots))
}

/// Returns the version as 10..=13.
fn parse_version(
    ctx: &Ctx<'_>,
    key: &str,
    value: &Option<String>,
    default: u8,
) -> Result<u8, WebConfigError> {
    let Some(text) = non_empty(value) else {
        return Ok(default);
    };
    let v = match text {
        "TLS10" => 10,
        "TLS11" => 11,
        "TLS12" => 12,
        "TLS13" => 13,
        other => {
            return Err(ctx.invalid(
                key,
                format!("unknown TLS version {other:?}; expected TLS12 or TLS13"),
            ));
        }
    };
    if v < 12 && key.ends_with("min_version") {
        tracing::warn!(
            path = %ctx.path.display(),
            "{key}: {text} is not supported by rustls; TLS12 is the minimum used"
        );
    }
    Ok(v)
}

/// Names Go's `tls.CipherSuites()` knows that rustls does not implement (CBC and
/// static-RSA key exchange). They are skipped with a warning.
const GO_ONLY_CIPHER_SUITES: &[&str] = &[
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
];
/// TLS 1.3 suite names: accepted and ignored, as in Go.
const TLS13_CIPHER_SUITES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

fn select_cipher_suites(
    ctx: &Ctx<'_>,
    names: &[String],
    provider: &CryptoProvider,
) -> Result<Vec<SupportedCipherSuite>, WebConfigError> {
    let key = "tls_server_config.cipher_suites";
    let mut out: Vec<SupportedCipherSuite> = Vec::new();
    for name in names {
        let found = provider.cipher_suites.iter().find(|s| {
            s.version() == &rustls::version::TLS12 && s.suite().as_str() == Some(name.as_str())
        });
        if let Some(suite) = found {
            if !out.iter().any(|s| s.suite() == suite.suite()) {
                out.push(*suite);
            }
        } else if GO_ONLY_CIPHER_SUITES.contains(&name.as_str()) {
            tracing::warn!(
                path = %ctx.path.display(),
                "{key}: {name} is not implemented by rustls and is skipped"
            );
        } else if !TLS13_CIPHER_SUITES.contains(&name.as_str()) {
            return Err(ctx.invalid(key, format!("unknown cipher suite {name:?}")));
        }
    }
    Ok(out)
}

fn select_kx_groups(
    ctx: &Ctx<'_>,
    names: &[String],
) -> Result<Vec<&'static dyn SupportedKxGroup>, WebConfigError> {
    use rustls::crypto::aws_lc_rs::kx_group;
    let key = "tls_server_config.curve_preferences";
    let mut out: Vec<&'static dyn SupportedKxGroup> = Vec::new();
    for name in names {
        let group = match name.as_str() {
            "CurveP256" => kx_group::SECP256R1,
            "CurveP384" => kx_group::SECP384R1,
            "X25519" => kx_group::X25519,
            "X25519MLKEM768" => kx_group::X25519MLKEM768,
            "CurveP521" => {
                tracing::warn!(
                    path = %ctx.path.display(),
                    "{key}: CurveP521 is not implemented by rustls and is skipped"
                );
                continue;
            }
            other => return Err(ctx.invalid(key, format!("unknown curve {other:?}"))),
        };
        if !out.iter().any(|g| g.name() == group.name()) {
            out.push(group);
        }
    }
    if out.is_empty() {
        return Err(ctx.invalid(key, "none of the listed curves is supported"));
    }
    Ok(out)
}

fn client_verifier(
    ctx: &Ctx<'_>,
    client_auth: ClientAuth,
    roots: Option<&Arc<RootCertStore>>,
    sans: Option<Vec<String>>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, WebConfigError> {
    let inner: Arc<dyn ClientCertVerifier> = match client_auth {
        ClientAuth::NoClientCert => return Ok(WebPkiClientVerifier::no_client_auth()),
        ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert => {
            Arc::new(UnverifiedClientCert {
                mandatory: client_auth == ClientAuth::RequireAnyClientCert,
                hints: roots.map(|r| r.subjects()).unwrap_or_default(),
                algorithms: provider.signature_verification_algorithms,
            })
        }
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert => {
            let Some(roots) = roots else {
                return Err(ctx.invalid(
                    "tls_server_config.client_ca_file",
                    format!(
                        "required when client_auth_type is {client_auth:?} (there is no system-roots fallback)"
                    ),
                ));
            };
            let mut builder = WebPkiClientVerifier::builder_with_provider(
                Arc::clone(roots),
                Arc::clone(provider),
            );
            if client_auth == ClientAuth::VerifyClientCertIfGiven {
                builder = builder.allow_unauthenticated();
            }
            builder.build().map_err(|e| {
                ctx.invalid(
                    "tls_server_config.client_ca_file",
                    format!("cannot build client certificate verifier: {e}"),
                )
            })?
        }
    };
    Ok(match sans {
        Some(allowed) => Arc::new(SanCheckingVerifier { inner, allowed }),
        None => inner,
    })
}

/// Go's `RequestClientCert` / `RequireAnyClientCert`: ask for a client certificate but
/// do not chain it to a CA. The handshake signature is still checked, so the client
/// must hold the certificate's private key.
#[derive(Debug)]
struct UnverifiedClientCert {
    mandatory: bool,
    hints: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for UnverifiedClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Like Go, insist that the certificate at least parses.
        rustls::server::ParsedCertificate::try_from(end_entity)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `client_allowed_sans`: after the inner verifier accepts the certificate, require
/// one of its SAN values (DNS, e-mail, IP, URI) to equal an allowed entry exactly.
#[derive(Debug)]
struct SanCheckingVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<String>,
}

impl ClientCertVerifier for SanCheckingVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let sans = subject_alt_names(end_entity).ok_or(rustls::Error::InvalidCertificate(
            rustls::CertificateError::BadEncoding,
        ))?;
        if sans.iter().any(|san| self.allowed.contains(san)) {
            Ok(verified)
        } else {
            tracing::debug!(found = ?sans, "client certificate has none of client_allowed_sans");
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

// --- minimal DER walk for the subjectAltName extension -------------------------

/// Reads one DER TLV: `(tag, contents, rest)`. Single-byte tags, definite lengths only.
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high tag numbers never occur where we look
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Iterates the TLVs inside a constructed value; `None` items mean malformed DER.
fn der_items(mut input: &[u8]) -> impl Iterator<Item = Option<(u8, &[u8])>> {
    std::iter::from_fn(move || {
        if input.is_empty() {
            return None;
        }
        match der_tlv(input) {
            Some((tag, value, rest)) => {
                input = rest;
                Some(Some((tag, value)))
            }
            None => {
                input = &[];
                Some(None)
            }
        }
    })
}

/// SAN values of an X.509 certificate formatted like Go's `crypto/x509` fields
/// (DNS names, e-mail addresses, IPs via `net.IP.String()`, URIs). `None` if the DER
/// is malformed.
fn subject_alt_names(cert_der: &[u8]) -> Option<Vec<String>> {
    const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11]; // 2.5.29.17
    let (0x30, cert, _) = der_tlv(cert_der)? else {
        return None;
    };
    let (0x30, tbs, _) = der_tlv(cert)? else {
        return None;
    };
    let mut names = Vec::new();
    for item in der_items(tbs) {
        let (tag, value) = item?;
        if tag != 0xa3 {
            continue; // not [3] extensions
        }
        let (0x30, extensions, _) = der_tlv(value)? else {
            return None;
        };
        for ext in der_items(extensions) {
            let (0x30, ext) = ext? else {
                return None;
            };
            let mut fields = der_items(ext);
            let (0x06, oid) = fields.next()?? else {
                return None;
            };
            if oid != OID_SAN {
                continue;
            }
            let mut octets = None;
            for field in fields {
                match field? {
                    (0x01, _) => {} // critical flag
                    (0x04, v) => octets = Some(v),
                    _ => return None,
                }
            }
            let (0x30, general_names, _) = der_tlv(octets?)? else {
                return None;
            };
            for name in der_items(general_names) {
                match name? {
                    // rfc822Name [1], dNSName [2], uniformResourceIdentifier [6]: IA5String
                    (0x81 | 0x82 | 0x86, v) => names.push(String::from_utf8_lossy(v).into_owned()),
                    // iPAddress [7]
                    (0x87, v) => names.push(format_ip(v)?),
                    _ => {} // otherName, directoryName, ...: Go ignores them too
                }
            }
        }
    }
    Some(names)
}

fn format_ip(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => Some(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string()),
        16 => {
            let octets: [u8; 16] = bytes.try_into().ok()?;
            let v6 = Ipv6Addr::from(octets);
            // Go prints IPv4-mapped addresses in dotted form.
            Some(match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => v6.to_string(),
            })
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Basic auth
// ---------------------------------------------------------------------------

struct BasicAuth {
    /// user -> bcrypt hash. Never printed.
    users: BTreeMap<String, String>,
    /// Verified against for unknown users so response time does not reveal whether a
    /// user exists. Same cost as the most expensive configured hash.
    dummy_hash: String,
    /// Random per-process HMAC key for cache keys, so the cache holds no password
    /// equivalents that could be brute-forced faster than bcrypt.
    cache_key: aws_lc_rs::hmac::Key,
    cache: Mutex<HashSet<[u8; 32]>>,
    /// bcrypt verifications performed (cache misses), for tests and diagnostics.
    verifications: AtomicU64,
}

impl BasicAuth {
    fn new(ctx: &Ctx<'_>, users: BTreeMap<String, String>) -> Result<Self, WebConfigError> {
        let mut max_cost = 0;
        for (user, hash) in &users {
            let key = format!("basic_auth_users.{user}");
            // Never include the hash itself in the message.
            let parts: bcrypt::HashParts = hash
                .parse()
                .map_err(|e| ctx.invalid(&key, format!("not a valid bcrypt hash ({e})")))?;
            let cost = parts.get_cost();
            if !(4..=31).contains(&cost) {
                return Err(ctx.invalid(
                    &key,
                    format!("bcrypt cost {cost} is outside the valid range 4..=31"),
                ));
            }
            max_cost = max_cost.max(cost);
            if user.contains(':') {
                tracing::warn!(
                    path = %ctx.path.display(),
                    "{key}: user names containing ':' can never log in with basic auth"
                );
            }
        }
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let dummy_hash = if users.is_empty() {
            String::new()
        } else {
            let mut secret = [0u8; 32];
            aws_lc_rs::rand::SecureRandom::fill(&rng, &mut secret)
                .map_err(|_| ctx.invalid("basic_auth_users", "cannot get OS randomness"))?;
            bcrypt::hash(secret, max_cost).map_err(|e| {
                ctx.invalid("basic_auth_users", format!("cannot create dummy hash: {e}"))
            })?
        };
        let cache_key = aws_lc_rs::hmac::Key::generate(aws_lc_rs::hmac::HMAC_SHA256, &rng)
            .map_err(|_| ctx.invalid("basic_auth_users", "cannot get OS randomness"))?;
        Ok(BasicAuth {
            users,
            dummy_hash,
            cache_key,
            cache: Mutex::new(HashSet::new()),
            verifications: AtomicU64::new(0),
        })
    }

    fn check(&self, authorization: Option<&HeaderValue>) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some((user, password)) = authorization.and_then(parse_basic_credentials) else {
            return false;
        };
        if password.len() > BCRYPT_MAX_PASSWORD_LEN {
            return false; // Go's bcrypt refuses these before hashing, for any user.
        }
        let stored = std::str::from_utf8(&user)
            .ok()
            .and_then(|u| self.users.get(u));
        let hash = stored.map_or(self.dummy_hash.as_str(), String::as_str);
        let cache_key = self.cache_key_for(&user, &password, hash);
        if stored.is_some() && self.lock_cache().contains(&cache_key) {
            return true;
        }
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let ok = bcrypt::verify(&password, hash).unwrap_or(false);
        if ok && stored.is_some() {
            let mut cache = self.lock_cache();
            if cache.len() >= AUTH_CACHE_CAPACITY {
                // HMAC outputs are uniformly random, so dropping the first entries in
                // iteration order is random eviction.
                let evict: Vec<[u8; 32]> = cache
                    .iter()
                    .take((AUTH_CACHE_CAPACITY / 10).max(1))
                    .copied()
                    .collect();
                for k in &evict {
                    cache.remove(k);
                }
            }
            cache.insert(cache_key);
            return true;
        }
        false
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        // A panic while holding the lock cannot leave the set inconsistent.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cache_key_for(&self, user: &[u8], password: &[u8], hash: &str) -> [u8; 32] {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.cache_key);
        for part in [user, password, hash.as_bytes()] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

/// Parses `Basic base64(user:password)` like Go's `Request.BasicAuth`: scheme is
/// case-insensitive, standard padded base64, split at the first `:`.
fn parse_basic_credentials(value: &HeaderValue) -> Option<(Vec<u8>, Vec<u8>)> {
    use base64::Engine as _;
    const PREFIX: &[u8] = b"basic ";
    let bytes = value.as_bytes();
    if bytes.len() < PREFIX.len() || !bytes[..PREFIX.len()].eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(bytes[PREFIX.len()..].trim_ascii())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

// ---------------------------------------------------------------------------
// Rate limit
// ---------------------------------------------------------------------------

/// Token bucket equivalent to Go's `rate.NewLimiter(rate.Every(interval), burst)`:
/// starts full, refills one token per `interval`, holds at most `burst`.
#[derive(Debug)]
struct RateLimiter {
    interval: Duration,
    burst: u64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    fn new(ctx: &Ctx<'_>, raw: RawRateLimit) -> Result<Option<Self>, WebConfigError> {
        let interval = match raw.interval {
            None => return Ok(None),
            Some(RawDuration::Nanos(n)) if n >= 0 => Duration::from_nanos(n as u64),
            Some(RawDuration::Nanos(_)) => {
                return Err(ctx.invalid("rate_limit.interval", "must not be negative"));
            }
            Some(RawDuration::Text(s)) => parse_go_duration(&s).ok_or_else(|| {
                ctx.invalid(
                    "rate_limit.interval",
                    format!("invalid duration {s:?} (expected e.g. \"100ms\", \"1s\", \"1m30s\")"),
                )
            })?,
        };
        if interval.is_zero() {
            return Ok(None); // "set to 0 to disable rate limiter"
        }
        let burst = raw.burst.unwrap_or(0);
        if burst == 0 {
            return Err(ctx.invalid(
                "rate_limit.burst",
                "must be at least 1 when rate_limit.interval is set (0 would refuse every request)",
            ));
        }
        Ok(Some(RateLimiter {
            interval,
            burst,
            state: Mutex::new((burst as f64, Instant::now())),
        }))
    }

    fn allow(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (tokens, last) = *state;
        let refill = now.duration_since(last).as_secs_f64() / self.interval.as_secs_f64();
        let tokens = (tokens + refill).min(self.burst as f64);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            true
        } else {
            *state = (tokens, now);
            false
        }
    }
}

/// Go's `time.ParseDuration` for non-negative values: `300ms`, `1.5h`, `2h45m`, `0`.
fn parse_go_duration(s: &str) -> Option<Duration> {
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        if num.is_empty() || num == "." {
            return None;
        }
        let value: f64 = num.parse().ok()?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let nanos_per_unit = match unit {
            "ns" => 1e0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * nanos_per_unit;
        rest = after;
    }
    if !total.is_finite() || total > u64::MAX as f64 {
        return None;
    }
    Some(Duration::from_nanos(total as u64))
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// Documented in tests/fixtures/webconfig/regen.sh.
    const TEST_USER: &str = "alice";
    const TEST_PASSWORD: &str = "wonderland-test-password";

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webconfig")
    }

    fn fixture(name: &str) -> String {
        fixtures().join(name).display().to_string()
    }

    fn test_hash() -> String {
        std::fs::read_to_string(fixtures().join("password.bcrypt"))
            .expect("password.bcrypt fixture")
            .trim()
            .to_string()
    }

    /// Writes `yaml` to a fresh temp dir and loads it. `{fx}` expands to the fixtures dir.
    fn load_yaml(yaml: &str) -> (tempfile::TempDir, Result<WebConfig, WebConfigError>) {
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

    fn load_ok(yaml: &str) -> WebConfig {
        let (_dir, result) = load_yaml(yaml);
        result.unwrap_or_else(|e| panic!("expected config to load, got: {e}"))
    }

    fn load_err(yaml: &str) -> WebConfigError {
        let (_dir, result) = load_yaml(yaml);
        match result {
            Ok(cfg) => panic!("expected an error, config loaded: {cfg:?}"),
            Err(e) => e,
        }
    }

    fn basic(user: &str, password: &str) -> HeaderValue {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {token}")).expect("header")
    }

    fn auth_config() -> WebConfig {
        load_ok(&format!(
            "basic_auth_users:\n  {TEST_USER}: {}\n",
            test_hash()
        ))
    }

    const TLS_ONLY: &str =
        "tls_server_config:\n  cert_file: {fx}/server.crt\n  key_file: {fx}/server.key\n";

    #[test]
    fn a_web_config_can_be_shared_across_tasks() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<WebConfig>();
        assert_send_sync::<WebConfigError>();
    }

    // --- loading -----------------------------------------------------------------

    #[test]
    fn the_sample_fixture_config_loads_with_tls_headers_and_users() {
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
        assert!(cfg.check_basic_auth(Some(&basic(TEST_USER, TEST_PASSWORD))));
    }

    #[test]
    fn relative_file_names_resolve_against_the_config_file_directory() {
        // The sample config says `cert_file: server.crt`; the test's working directory
        // is the crate root, where no server.crt exists.
        assert!(!Path::new("server.crt").exists());
        let cfg = WebConfig::load(&fixtures().join("web-config.yml")).expect("loads");
        assert!(format!("{cfg:?}").contains(&fixture("server.crt")));
    }

    #[test]
    fn an_empty_file_means_plain_http_without_auth() {
        let cfg = load_ok("");
        assert!(cfg.tls_acceptor().is_none());
        assert!(!cfg.requires_auth());
        assert!(cfg.check_basic_auth(None));
        assert!(cfg.response_headers().is_empty());
        assert!(cfg.check_rate_limit());
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
    fn a_missing_cert_file_names_the_key_and_the_file() {
        let err =
            load_err("tls_server_config:\n  cert_file: missing.pem\n  key_file: {fx}/server.key\n");
        let msg = err.to_string();
        assert_eq!(err.key(), Some("tls_server_config.cert_file"));
        assert!(
            msg.contains("tls_server_config.cert_file: cannot read "),
            "{msg}"
        );
        assert!(msg.contains("missing.pem"), "{msg}");
    }

    #[test]
    fn a_cert_without_a_key_is_rejected() {
        let err = load_err("tls_server_config:\n  cert_file: {fx}/server.crt\n");
        assert_eq!(err.key(), Some("tls_server_config.key_file"), "{err}");
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn a_key_that_does_not_match_the_certificate_is_rejected() {
        let err = load_err(
            "tls_server_config:\n  cert_file: {fx}/server.crt\n  key_file: {fx}/client.key\n",
        );
        assert_eq!(err.key(), Some("tls_server_config.key_file"), "{err}");
        assert!(
            err.to_string().contains("does not match the certificate"),
            "{err}"
        );
    }

    #[test]
    fn a_cert_file_without_pem_certificates_is_rejected() {
        let err = load_err(
            "tls_server_config:\n  cert_file: {fx}/server.key\n  key_file: {fx}/server.key\n",
        );
        assert_eq!(err.key(), Some("tls_server_config.cert_file"), "{err}");
    }

    #[test]
    fn inline_cert_and_key_load_and_are_exclusive_with_files() {
        let cert = std::fs::read_to_string(fixture("server.crt")).unwrap();
        let key = std::fs::read_to_string(fixture("server.key")).unwrap();
        let indent = |s: &str| s.lines().map(|l| format!("    {l}\n")).collect::<String>();
        let yaml = format!(
            "tls_server_config:\n  cert: |\n{}  key: |\n{}",
            indent(&cert),
            indent(&key)
        );
        let cfg = load_ok(&yaml);
        assert!(cfg.tls_acceptor().is_some());
        let dbg = format!("{cfg:?}");
        assert!(
            !dbg.contains("PRIVATE KEY") && !dbg.contains(key.lines().nth(1).unwrap()),
            "{dbg}"
        );

        let err = load_err(&format!("{yaml}  cert_file: {{fx}}/server.crt\n"));
        assert_eq!(err.key(), Some("tls_server_config.cert"), "{err}");
    }

    #[test]
    fn an_unknown_client_auth_type_is_rejected() {
        let err = load_err(&format!("{TLS_ONLY}  client_auth_type: RequireSomething\n"));
        assert_eq!(
            err.key(),
            Some("tls_server_config.client_auth_type"),
            "{err}"
        );
        assert!(err.to_string().contains("RequireSomething"), "{err}");
    }

    #[test]
    fn a_client_ca_without_a_client_auth_type_is_rejected() {
        let err = load_err(&format!("{TLS_ONLY}  client_ca_file: {{fx}}/ca.crt\n"));
        assert_eq!(err.key(), Some("tls_server_config.client_ca_file"), "{err}");
    }

    #[test]
    fn verifying_client_certs_without_a_ca_is_rejected() {
        let err = load_err(&format!(
            "{TLS_ONLY}  client_auth_type: RequireAndVerifyClientCert\n"
        ));
        assert_eq!(err.key(), Some("tls_server_config.client_ca_file"), "{err}");
    }

    #[test]
    fn a_ca_file_that_is_missing_names_the_key() {
        let err = load_err(&format!(
            "{TLS_ONLY}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: nope.crt\n"
        ));
        assert_eq!(err.key(), Some("tls_server_config.client_ca_file"), "{err}");
        assert!(err.to_string().contains("cannot read"), "{err}");
    }

    #[test]
    fn client_allowed_sans_require_a_mandatory_client_certificate() {
        let err = load_err(&format!(
            "{TLS_ONLY}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: {{fx}}/ca.crt\n  client_allowed_sans: [a]\n"
        ));
        assert_eq!(
            err.key(),
            Some("tls_server_config.client_allowed_sans"),
            "{err}"
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
    fn a_malformed_bcrypt_hash_is_rejected_without_echoing_it() {
        let err = load_err("basic_auth_users:\n  bob: $2y$10$tooshort-secret-ish\n");
        let msg = err.to_string();
        assert_eq!(err.key(), Some("basic_auth_users.bob"), "{msg}");
        assert!(msg.contains("not a valid bcrypt hash"), "{msg}");
        assert!(!msg.contains("tooshort"), "{msg}");
    }

    #[test]
    fn a_plaintext_password_instead_of_a_hash_is_rejected() {
        let err = load_err("basic_auth_users:\n  bob: hunter2\n");
        assert_eq!(err.key(), Some("basic_auth_users.bob"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn a_header_exporter_toolkit_does_not_allow_is_rejected() {
        let err = load_err("http_server_config:\n  headers:\n    X-Powered-By: rust\n");
        assert_eq!(
            err.key(),
            Some("http_server_config.headers.X-Powered-By"),
            "{err}"
        );
        assert!(err.to_string().contains("can not be configured"), "{err}");
    }

    #[test]
    fn an_enumerated_header_with_a_bad_value_is_rejected() {
        let err = load_err("http_server_config:\n  headers:\n    X-Frame-Options: allow\n");
        assert_eq!(
            err.key(),
            Some("http_server_config.headers.X-Frame-Options"),
            "{err}"
        );
    }

    #[test]
    fn a_blank_header_value_leaves_the_header_unset() {
        let cfg = load_ok(
            "http_server_config:\n  headers:\n    Content-Security-Policy: \"\"\n    X-XSS-Protection: \"1; mode=block\"\n",
        );
        let headers = cfg.response_headers();
        assert_eq!(headers.len(), 1);
        assert_eq!(headers[0].0, "x-xss-protection");
        assert_eq!(headers[0].1, "1; mode=block");
    }

    #[test]
    fn tls_versions_are_validated() {
        let err = load_err(&format!("{TLS_ONLY}  min_version: TLS14\n"));
        assert_eq!(err.key(), Some("tls_server_config.min_version"), "{err}");
        let err = load_err(&format!(
            "{TLS_ONLY}  min_version: TLS13\n  max_version: TLS12\n"
        ));
        assert_eq!(err.key(), Some("tls_server_config.min_version"), "{err}");
        let err = load_err(&format!("{TLS_ONLY}  max_version: TLS11\n"));
        assert_eq!(err.key(), Some("tls_server_config.max_version"), "{err}");
        let cfg = load_ok(&format!("{TLS_ONLY}  min_version: TLS10\n"));
        assert!(format!("{cfg:?}").contains("[\"TLS13\", \"TLS12\"]"));
    }

    #[test]
    fn cipher_suites_are_mapped_to_rustls_and_unknown_ones_rejected() {
        let cfg = load_ok(&format!(
            "{TLS_ONLY}  cipher_suites:\n    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n    - TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA\n  prefer_server_cipher_suites: false\n"
        ));
        let sc = &cfg.tls.as_ref().unwrap().server_config;
        assert!(!sc.ignore_client_order);
        let tls12: Vec<_> = sc
            .crypto_provider()
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS12)
            .map(|s| s.suite())
            .collect();
        assert_eq!(
            tls12,
            [rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]
        );

        let err = load_err(&format!("{TLS_ONLY}  cipher_suites: [TLS_BOGUS]\n"));
        assert_eq!(err.key(), Some("tls_server_config.cipher_suites"), "{err}");
    }

    #[test]
    fn curve_preferences_are_mapped_and_unknown_ones_rejected() {
        let cfg = load_ok(&format!(
            "{TLS_ONLY}  curve_preferences: [CurveP384, X25519]\n"
        ));
        let groups: Vec<_> = cfg
            .tls
            .as_ref()
            .unwrap()
            .server_config
            .crypto_provider()
            .kx_groups
            .iter()
            .map(|g| g.name())
            .collect();
        assert_eq!(
            groups,
            [rustls::NamedGroup::secp384r1, rustls::NamedGroup::X25519]
        );
        let err = load_err(&format!("{TLS_ONLY}  curve_preferences: [Curve25519x]\n"));
        assert_eq!(
            err.key(),
            Some("tls_server_config.curve_preferences"),
            "{err}"
        );
    }

    #[test]
    fn tls_settings_without_certificate_mean_plain_http() {
        let cfg = load_ok("tls_server_config:\n  min_version: TLS13\n");
        assert!(cfg.tls_acceptor().is_none());
    }

    // --- basic auth ----------------------------------------------------------------

    #[test]
    fn basic_auth_accepts_the_right_password() {
        let cfg = auth_config();
        assert!(cfg.check_basic_auth(Some(&basic(TEST_USER, TEST_PASSWORD))));
    }

    #[test]
    fn basic_auth_rejects_a_wrong_password() {
        let cfg = auth_config();
        assert!(!cfg.check_basic_auth(Some(&basic(TEST_USER, "wrong"))));
        assert!(!cfg.check_basic_auth(Some(&basic(TEST_USER, ""))));
    }

    #[test]
    fn basic_auth_rejects_an_unknown_user_after_a_dummy_bcrypt_verification() {
        let cfg = auth_config();
        assert!(!cfg.check_basic_auth(Some(&basic("mallory", TEST_PASSWORD))));
        // The dummy hash was verified so timing matches a known user with a wrong password.
        assert_eq!(cfg.auth.verifications.load(Ordering::Relaxed), 1);
        let dummy_cost = cfg
            .auth
            .dummy_hash
            .parse::<bcrypt::HashParts>()
            .unwrap()
            .get_cost();
        let real_cost = test_hash().parse::<bcrypt::HashParts>().unwrap().get_cost();
        assert_eq!(dummy_cost, real_cost);
    }

    #[test]
    fn basic_auth_rejects_a_missing_or_malformed_header() {
        let cfg = auth_config();
        assert!(!cfg.check_basic_auth(None));
        assert!(!cfg.check_basic_auth(Some(&HeaderValue::from_static("Basic !!!not-base64"))));
        assert!(!cfg.check_basic_auth(Some(&HeaderValue::from_static("Basic"))));
        // base64("alice") has no colon separating user and password.
        assert!(!cfg.check_basic_auth(Some(&HeaderValue::from_static("Basic YWxpY2U="))));
        assert_eq!(cfg.auth.verifications.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn basic_auth_rejects_a_non_basic_scheme() {
        let cfg = auth_config();
        let bearer = basic(TEST_USER, TEST_PASSWORD)
            .to_str()
            .unwrap()
            .replacen("Basic", "Bearer", 1);
        assert!(!cfg.check_basic_auth(Some(&HeaderValue::from_str(&bearer).unwrap())));
    }

    #[test]
    fn basic_auth_scheme_is_case_insensitive() {
        let cfg = auth_config();
        let lower = basic(TEST_USER, TEST_PASSWORD)
            .to_str()
            .unwrap()
            .replacen("Basic", "bAsIc", 1);
        assert!(cfg.check_basic_auth(Some(&HeaderValue::from_str(&lower).unwrap())));
    }

    #[test]
    fn basic_auth_refuses_passwords_longer_than_bcrypt_can_check() {
        let cfg = auth_config();
        let long = format!("{TEST_PASSWORD}{}", "x".repeat(80));
        assert!(!cfg.check_basic_auth(Some(&basic(TEST_USER, &long))));
    }

    #[test]
    fn no_users_means_every_request_is_allowed() {
        let cfg = load_ok("basic_auth_users: {}\n");
        assert!(!cfg.requires_auth());
        assert!(cfg.check_basic_auth(None));
    }

    #[test]
    fn a_successful_verification_is_cached_and_skips_bcrypt_next_time() {
        let cfg = auth_config();
        let good = basic(TEST_USER, TEST_PASSWORD);
        assert!(cfg.check_basic_auth(Some(&good)));
        assert_eq!(cfg.auth.verifications.load(Ordering::Relaxed), 1);
        assert!(cfg.check_basic_auth(Some(&good)));
        assert!(cfg.check_basic_auth(Some(&good)));
        assert_eq!(
            cfg.auth.verifications.load(Ordering::Relaxed),
            1,
            "cache hit path"
        );
        assert_eq!(cfg.auth.lock_cache().len(), 1);
    }

    #[test]
    fn failed_verifications_are_not_cached() {
        let cfg = auth_config();
        let bad = basic(TEST_USER, "nope");
        assert!(!cfg.check_basic_auth(Some(&bad)));
        assert!(!cfg.check_basic_auth(Some(&bad)));
        assert_eq!(cfg.auth.verifications.load(Ordering::Relaxed), 2);
        assert!(cfg.auth.lock_cache().is_empty());
    }

    #[test]
    fn the_auth_cache_stays_bounded() {
        let cfg = auth_config();
        {
            let mut cache = cfg.auth.lock_cache();
            for i in 0..AUTH_CACHE_CAPACITY as u64 {
                let mut k = [0u8; 32];
                k[..8].copy_from_slice(&i.to_be_bytes());
                cache.insert(k);
            }
        }
        assert!(cfg.check_basic_auth(Some(&basic(TEST_USER, TEST_PASSWORD))));
        let len = cfg.auth.lock_cache().len();
        assert!(len <= AUTH_CACHE_CAPACITY, "{len}");
        // The fresh entry survived eviction: the next check is a cache hit.
        assert!(cfg.check_basic_auth(Some(&basic(TEST_USER, TEST_PASSWORD))));
        assert_eq!(cfg.auth.verifications.load(Ordering::Relaxed), 1);
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

    // --- rate limit ----------------------------------------------------------------

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_go_duration("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("10us"), Some(Duration::from_micros(10)));
        assert_eq!(parse_go_duration(""), None);
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("-1s"), None);
        assert_eq!(parse_go_duration("1d"), None);
    }

    #[test]
    fn the_rate_limit_allows_a_burst_then_refuses() {
        let cfg = load_ok("rate_limit:\n  interval: 1h\n  burst: 2\n");
        assert!(cfg.check_rate_limit());
        assert!(cfg.check_rate_limit());
        assert!(!cfg.check_rate_limit());
    }

    #[test]
    fn a_zero_rate_limit_interval_disables_it_and_bad_values_are_rejected() {
        let cfg = load_ok("rate_limit:\n  interval: 0s\n  burst: 0\n");
        assert!(cfg.check_rate_limit());
        let err = load_err("rate_limit:\n  interval: 1s\n");
        assert_eq!(err.key(), Some("rate_limit.burst"), "{err}");
        let err = load_err("rate_limit:\n  interval: soon\n  burst: 1\n");
        assert_eq!(err.key(), Some("rate_limit.interval"), "{err}");
    }

    // --- SAN parsing -----------------------------------------------------------------

    #[test]
    fn subject_alt_names_are_read_like_go_formats_them() {
        let pem = std::fs::read(fixture("client.crt")).unwrap();
        let der = CertificateDer::from_pem_slice(&pem).unwrap();
        let mut sans = subject_alt_names(&der).expect("parses");
        sans.sort();
        assert_eq!(
            sans,
            [
                "client.example.com",
                "client@example.com",
                "spiffe://example.com/client"
            ]
        );
        let pem = std::fs::read(fixture("server.crt")).unwrap();
        let der = CertificateDer::from_pem_slice(&pem).unwrap();
        assert_eq!(
            subject_alt_names(&der).unwrap(),
            ["localhost", "127.0.0.1", "::1"]
        );
    }

    proptest::proptest! {
        #[test]
        fn the_san_parser_never_panics_on_garbage(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = subject_alt_names(&bytes);
        }

        #[test]
        fn the_san_parser_never_panics_on_a_truncated_or_mutated_certificate(cut in 0usize..800, flip in 0usize..800, bit in 0u8..8) {
            let pem = std::fs::read(fixture("client.crt")).unwrap();
            let mut der = CertificateDer::from_pem_slice(&pem).unwrap().to_vec();
            if flip < der.len() { der[flip] ^= 1 << bit; }
            der.truncate(cut);
            let _ = subject_alt_names(&der);
        }
    }

    // --- TLS handshakes -----------------------------------------------------------------

    fn certs(name: &str) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_file_iter(fixture(name))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn key(name: &str) -> PrivateKeyDer<'static> {
        PrivateKeyDer::from_pem_file(fixture(name)).unwrap()
    }

    struct Client {
        cert: Option<(&'static str, &'static str)>,
        versions: &'static [&'static SupportedProtocolVersion],
        alpn: &'static [&'static str],
    }

    static TLS12_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];

    const NO_CERT: Client = Client {
        cert: None,
        versions: rustls::ALL_VERSIONS,
        alpn: &["h2", "http/1.1"],
    };
    const CA_SIGNED: Client = Client {
        cert: Some(("client.crt", "client.key")),
        ..NO_CERT
    };
    const SELF_SIGNED: Client = Client {
        cert: Some(("rogue-client.crt", "rogue-client.key")),
        ..NO_CERT
    };

    /// Runs one handshake against `cfg`'s acceptor on 127.0.0.1 and returns the
    /// negotiated ALPN protocol if the server accepted the connection.
    async fn handshake(cfg: &WebConfig, client: Client) -> Result<Option<String>, String> {
        let acceptor = cfg.tls_acceptor().expect("TLS enabled");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
            let mut tls = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
            tls.write_all(b"!").await.map_err(|e| e.to_string())?;
            tls.flush().await.map_err(|e| e.to_string())?;
            let alpn = tls
                .get_ref()
                .1
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned());
            // Keep the connection open until the client has read the byte.
            let mut buf = [0u8; 1];
            let _ = tls.read(&mut buf).await;
            Ok::<_, String>(alpn)
        });

        let mut roots = RootCertStore::empty();
        for c in certs("ca.crt") {
            roots.add(c).unwrap();
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_protocol_versions(client.versions)
        .unwrap()
        .with_root_certificates(roots);
        let mut config = match client.cert {
            Some((c, k)) => builder.with_client_auth_cert(certs(c), key(k)).unwrap(),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = client.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let client_side = async {
            let tcp = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| e.to_string())?;
            let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
            let mut tls = connector
                .connect(name, tcp)
                .await
                .map_err(|e| e.to_string())?;
            // With TLS 1.3 a refused client certificate only shows up on the first read.
            let mut buf = [0u8; 1];
            tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
            tls.shutdown().await.ok();
            Ok::<_, String>(())
        };
        let timeout = Duration::from_secs(20);
        let client_result = tokio::time::timeout(timeout, client_side)
            .await
            .map_err(|_| "client timed out".to_string())?;
        let server_result = tokio::time::timeout(timeout, server)
            .await
            .map_err(|_| "server timed out".to_string())?
            .map_err(|e| e.to_string())?;
        match (server_result, client_result) {
            (Ok(alpn), Ok(())) => Ok(alpn),
            (Err(server), client) => Err(format!("server: {server}; client: {client:?}")),
            (Ok(_), Err(client)) => Err(format!("client: {client}")),
        }
    }

    fn mtls_config(client_auth_type: &str, extra: &str) -> WebConfig {
        load_ok(&format!(
            "{TLS_ONLY}  client_auth_type: {client_auth_type}\n  client_ca_file: {{fx}}/ca.crt\n{extra}"
        ))
    }

    #[tokio::test]
    async fn a_client_trusting_the_test_ca_completes_a_handshake_and_gets_h2() {
        let cfg = load_ok(TLS_ONLY);
        assert_eq!(handshake(&cfg, NO_CERT).await, Ok(Some("h2".to_string())));
    }

    #[tokio::test]
    async fn with_http2_disabled_only_http11_is_negotiated() {
        let cfg = load_ok(&format!("{TLS_ONLY}http_server_config:\n  http2: false\n"));
        assert!(!cfg.http2());
        assert_eq!(
            handshake(&cfg, NO_CERT).await,
            Ok(Some("http/1.1".to_string()))
        );
    }

    #[tokio::test]
    async fn min_version_tls13_refuses_a_tls12_only_client() {
        let cfg = load_ok(&format!("{TLS_ONLY}  min_version: TLS13\n"));
        let tls12_only = Client {
            versions: TLS12_ONLY,
            ..NO_CERT
        };
        assert!(handshake(&cfg, tls12_only).await.is_err());
        let cfg = load_ok(TLS_ONLY);
        let tls12_only = Client {
            versions: TLS12_ONLY,
            ..NO_CERT
        };
        assert!(handshake(&cfg, tls12_only).await.is_ok());
    }

    #[tokio::test]
    async fn require_and_verify_refuses_a_client_without_a_certificate() {
        let cfg = mtls_config("RequireAndVerifyClientCert", "");
        let err = handshake(&cfg, NO_CERT).await.unwrap_err();
        assert!(err.contains("server:"), "{err}");
    }

    #[tokio::test]
    async fn require_and_verify_accepts_a_client_certificate_signed_by_the_ca() {
        let cfg = mtls_config("RequireAndVerifyClientCert", "");
        assert!(handshake(&cfg, CA_SIGNED).await.is_ok());
    }

    #[tokio::test]
    async fn require_and_verify_refuses_a_self_signed_client_certificate() {
        let cfg = mtls_config("RequireAndVerifyClientCert", "");
        assert!(handshake(&cfg, SELF_SIGNED).await.is_err());
    }

    #[tokio::test]
    async fn verify_if_given_accepts_no_certificate_but_refuses_a_bad_one() {
        let cfg = mtls_config("VerifyClientCertIfGiven", "");
        assert!(handshake(&cfg, NO_CERT).await.is_ok());
        assert!(handshake(&cfg, CA_SIGNED).await.is_ok());
        assert!(handshake(&cfg, SELF_SIGNED).await.is_err());
    }

    #[tokio::test]
    async fn require_any_client_cert_accepts_an_unverified_certificate_like_go() {
        let cfg = load_ok(&format!(
            "{TLS_ONLY}  client_auth_type: RequireAnyClientCert\n"
        ));
        assert!(handshake(&cfg, SELF_SIGNED).await.is_ok());
        assert!(handshake(&cfg, NO_CERT).await.is_err());
    }

    #[tokio::test]
    async fn request_client_cert_makes_the_certificate_optional() {
        let cfg = load_ok(&format!(
            "{TLS_ONLY}  client_auth_type: RequestClientCert\n"
        ));
        assert!(handshake(&cfg, NO_CERT).await.is_ok());
        assert!(handshake(&cfg, SELF_SIGNED).await.is_ok());
    }

    #[tokio::test]
    async fn client_allowed_sans_accept_a_matching_san_and_refuse_others() {
        let ok = mtls_config(
            "RequireAndVerifyClientCert",
            "  client_allowed_sans: [spiffe://example.com/client]\n",
        );
        assert!(handshake(&ok, CA_SIGNED).await.is_ok());
        let refused = mtls_config(
            "RequireAndVerifyClientCert",
            "  client_allowed_sans: [other.example.com]\n",
        );
        assert!(handshake(&refused, CA_SIGNED).await.is_err());
    }
}
