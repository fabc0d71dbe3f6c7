//! Loading `tls_server_config`, reading SANs, and real handshakes on 127.0.0.1.

use super::*;
use crate::web::WebConfig;
use crate::web::test_support::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

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
    let err =
        load_err("tls_server_config:\n  cert_file: {fx}/server.crt\n  key_file: {fx}/client.key\n");
    assert_eq!(err.key(), Some("tls_server_config.key_file"), "{err}");
    assert!(
        err.to_string().contains("does not match the certificate"),
        "{err}"
    );
}

#[test]
fn a_cert_file_without_pem_certificates_is_rejected() {
    let err =
        load_err("tls_server_config:\n  cert_file: {fx}/server.key\n  key_file: {fx}/server.key\n");
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
