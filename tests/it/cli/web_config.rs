//! `--web.config.file`: TLS and basic auth guard the metrics, and no secret reaches the log.

use super::*;

const WEB_USER: &str = "alice";
const WEB_PASSWORD: &str = "wonderland-test-password";

fn webconfig(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/webconfig").join(name)
}

/// GET over HTTPS (trusting only the test CA) → (status, headers, body).
async fn https_get(
    port: u16,
    path: &str,
    auth: Option<(&str, &str)>,
) -> (u16, http::HeaderMap, String) {
    use http_body_util::BodyExt;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(webconfig("ca.crt")).expect("ca.crt") {
        roots.add(cert.expect("CA cert")).expect("add CA");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.expect("TLS handshake");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .expect("HTTP handshake");
    tokio::spawn(conn);
    let mut req = http::Request::builder()
        .uri(path)
        .header("host", format!("localhost:{port}"));
    if let Some((u, p)) = auth {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        req = req.header("authorization", format!("Basic {token}"));
    }
    let resp = sender
        .send_request(
            req.body(http_body_util::Empty::<bytes::Bytes>::new())
                .unwrap(),
        )
        .await
        .expect("HTTPS request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_basic_auth_guard_metrics_and_no_secret_reaches_the_log() {
    let hash = std::fs::read_to_string(webconfig("password.bcrypt")).unwrap();
    let hash = hash.trim().to_string();
    assert!(hash.starts_with("$2"), "bcrypt hash fixture: {hash}");
    let web_config = std::fs::read_to_string(webconfig("web-config.yml")).unwrap();
    assert!(
        web_config.contains(&hash),
        "web-config.yml uses password.bcrypt"
    );

    let mut e = Exporter::start_with(ExporterOpts {
        args: vec![
            "--credential-report.file".into(),
            fixture("reports/full.csv").display().to_string(),
            "--web.config.file".into(),
            webconfig("web-config.yml").display().to_string(),
            "--log.level=debug".into(),
            "--refresh.interval=1s".into(),
        ],
        ..Default::default()
    });
    let port = e.port();
    let listening = poll_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    if listening.is_none() {
        e.assert_running("waiting for it to listen");
        panic!("exporter not listening on {port}");
    }

    // Plain HTTP to the TLS port: no metrics.
    let plain = http_request(
        "GET",
        &format!("http://127.0.0.1:{port}/metrics"),
        &[],
        None,
        Duration::from_secs(3),
    );
    match &plain {
        Err(_) => {}
        Ok(r) => assert!(
            r.status != 200 && !r.text().contains("aws_iam_users"),
            "plain HTTP got {} {}",
            r.status,
            r.text()
        ),
    }

    // Probes stay open for kubelets.
    let (status, _, _) = https_get(port, "/healthz", None).await;
    assert_eq!(status, 200);

    let (status, headers, body) = https_get(port, "/metrics", None).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        headers
            .get("www-authenticate")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("Basic")),
        "{headers:?}"
    );
    assert!(!body.contains("aws_iam_"), "{body}");

    let (status, _, body) = https_get(port, "/metrics", Some((WEB_USER, "wrong-password"))).await;
    assert_eq!(status, 401);
    assert!(!body.contains("aws_iam_"), "{body}");
    let (status, _, _) = https_get(port, "/metrics", Some(("mallory", WEB_PASSWORD))).await;
    assert_eq!(status, 401);

    // With the right credentials (once the first refresh has published).
    let mut last = String::new();
    let mut ok = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while ok.is_none() && Instant::now() < deadline {
        let (status, headers, body) =
            https_get(port, "/metrics", Some((WEB_USER, WEB_PASSWORD))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            headers
                .get("strict-transport-security")
                .and_then(|v| v.to_str().ok()),
            Some("max-age=31536000")
        );
        ok = metric_value(&body, "aws_iam_users", &[A]);
        last = body;
        if ok.is_none() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(ok, Some(6.0), "{last}");

    let log = e.stderr();
    assert!(log.contains("listening"), "no log captured?\n{log}");
    assert!(!log.contains(&hash), "bcrypt hash in the log:\n{log}");
    assert!(!log.contains(WEB_PASSWORD), "password in the log:\n{log}");
    assert!(
        !log.contains("wrong-password"),
        "a tried password in the log:\n{log}"
    );
    let token =
        base64::engine::general_purpose::STANDARD.encode(format!("{WEB_USER}:{WEB_PASSWORD}"));
    assert!(
        !log.contains(&token),
        "Authorization header in the log:\n{log}"
    );
}

/// Starts the daemon on `listen` and returns it with the address its "listening" line gives.
fn start_logging_address(listen: &str) -> (std::process::Child, String) {
    use std::io::BufRead as _;
    let mut child = exporter_cmd(None)
        .args([
            "--credential-report.file",
            &fixture("reports/full.csv").display().to_string(),
            "--web.listen-address",
            listen,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn aws-iam-exporter");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("listening") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(20));
    let Ok(line) = line else {
        let _ = child.kill();
        panic!("no listening line for {listen}");
    };
    let address = line
        .split_whitespace()
        .find_map(|field| field.strip_prefix("address="))
        .unwrap_or_else(|| panic!("no address= in: {line}"))
        .to_string();
    (child, address)
}

#[test]
fn the_listening_line_gives_the_bound_address_of_port_zero_and_of_a_host_name() {
    for listen in ["127.0.0.1:0", "localhost:0"] {
        let (mut child, address) = start_logging_address(listen);
        let bound: std::net::SocketAddr = address
            .parse()
            .unwrap_or_else(|e| panic!("{listen}: address={address}: {e}"));
        assert!(bound.ip().is_loopback(), "{listen}: {bound}");
        assert_ne!(bound.port(), 0, "{listen}: the flag, not the bound port");
        let url = format!("http://{bound}/healthz");
        let r = http_request("GET", &url, &[], None, Duration::from_secs(5));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(r.expect("GET /healthz").status, 200, "{listen}");
    }
}
