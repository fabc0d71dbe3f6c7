//! `tls_server_config`: a rustls [`ServerConfig`] (aws-lc-rs provider) with the client
//! certificate policy, TLS version bounds, cipher suites, curves, `client_allowed_sans`
//! and ALPN of an exporter-toolkit web config.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

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

use super::config::{Ctx, RawTls, WebConfigError, non_empty};

const CLIENT_AUTH_TYPES: &str = "NoClientCert, RequestClientCert, RequireAnyClientCert, \
     VerifyClientCertIfGiven, RequireAndVerifyClientCert";

pub(super) struct Tls {
    pub(super) server_config: Arc<ServerConfig>,
    pub(super) summary: TlsSummary,
}

/// What `Debug` shows of the TLS settings: sources and policies, never key material.
#[derive(Debug)]
#[allow(dead_code, reason = "the fields are only read through Debug")]
pub(super) struct TlsSummary {
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

pub(super) fn build_tls(
    ctx: &Ctx<'_>,
    raw: RawTls,
    http2: bool,
) -> Result<Option<Tls>, WebConfigError> {
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

/// SAN values of an X.509 certificate formatted like Go's `crypto/x509` fields
/// (DNS names, e-mail addresses, IPs via `net.IP.String()`, URIs), read with x509-parser.
/// `None` if the certificate or its SAN extension is malformed (including a duplicate SAN
/// extension, which Go refuses too).
fn subject_alt_names(cert_der: &[u8]) -> Option<Vec<String>> {
    use x509_parser::certificate::X509Certificate;
    use x509_parser::extensions::GeneralName;
    use x509_parser::prelude::FromDer as _;

    let (_, cert) = X509Certificate::from_der(cert_der).ok()?;
    let Some(san) = cert.subject_alternative_name().ok()? else {
        return Some(Vec::new());
    };
    let mut names = Vec::new();
    for name in &san.value.general_names {
        match name {
            GeneralName::RFC822Name(v) | GeneralName::DNSName(v) | GeneralName::URI(v) => {
                names.push((*v).to_string())
            }
            GeneralName::IPAddress(bytes) => names.push(format_ip(bytes)?),
            _ => {} // otherName, directoryName, ...: Go ignores them too
        }
    }
    Some(names)
}

/// Go's `net.IP.String()`: IPv4-mapped IPv6 addresses print in dotted form.
fn format_ip(bytes: &[u8]) -> Option<String> {
    let ip = match bytes.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
        16 => {
            let v6 = Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
            v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
        }
        _ => return None,
    };
    Some(ip.to_string())
}

#[cfg(test)]
mod tests;
