//! The accept loop on 127.0.0.1:0: idle connections are closed in every protocol.

use std::time::Instant;

use http_body_util::{BodyExt as _, Empty};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::*;
use crate::web::test_support::{TLS_ONLY, fixture, load_ok};

/// Short enough for a test, with `header_read` and the handshake far beyond it, so that
/// only the idle timeout can close the connection.
const SHORT: Timeouts = Timeouts {
    tls_handshake: Duration::from_secs(30),
    header_read: Duration::from_secs(30),
    idle: Duration::from_millis(300),
    http2_keep_alive_interval: Duration::from_secs(30),
    http2_keep_alive_timeout: Duration::from_secs(30),
};
/// How long a test waits for the server to close; generous for a loaded machine.
const CLOSED_WITHIN: Duration = Duration::from_secs(5);

struct TestServer {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    async fn start(web: Option<WebConfig>, timeouts: Timeouts) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let settings = ServerSettings {
            telemetry_path: "/metrics".into(),
            web: web.map(Arc::new),
            timeouts,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(
            listener,
            Arc::new(State::default()),
            settings,
            async move {
                let _ = stopped.await;
            },
        ));
        TestServer {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("server stops")
                .unwrap();
        }
    }
}

/// Reads until the server closes (EOF or an error); panics if it stays open.
async fn assert_closed_by_server(mut io: impl AsyncRead + Unpin, what: &str) {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(CLOSED_WITHIN, async {
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "{what}: still open after {:?}",
        started.elapsed()
    );
}

async fn tls_client(
    addr: std::net::SocketAddr,
    alpn: &[&str],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    use rustls_pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(fixture("ca.crt")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake")
}

/// Sends `GET /healthz` on an HTTP/1.1 keep-alive connection and reads the whole response.
async fn healthz_http1(io: &mut (impl AsyncRead + tokio::io::AsyncWrite + Unpin)) {
    io.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    while !response.ends_with(b"\r\n\r\nok\n") {
        let n = io.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the response");
        response.extend_from_slice(&buf[..n]);
    }
    assert!(response.starts_with(b"HTTP/1.1 200 OK"));
}

#[tokio::test]
async fn an_idle_plain_connection_is_closed_before_its_first_byte() {
    let server = TestServer::start(None, SHORT).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    assert_closed_by_server(tcp, "silent plain connection").await;
    server.stop().await;
}

#[tokio::test]
async fn an_http1_keep_alive_connection_is_closed_once_idle_not_between_quick_requests() {
    let server = TestServer::start(None, SHORT).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    healthz_http1(&mut tcp).await;
    tokio::time::sleep(SHORT.idle / 3).await;
    healthz_http1(&mut tcp).await; // the idle clock restarted at the last response
    assert_closed_by_server(tcp, "idle HTTP/1.1 keep-alive connection").await;
    server.stop().await;
}

#[tokio::test]
async fn an_idle_tls_connection_is_closed_after_the_handshake() {
    let server = TestServer::start(Some(load_ok(TLS_ONLY)), SHORT).await;
    // http2 is on by default: the server sniffs for the HTTP/2 preface.
    let tls = tls_client(server.addr, &["h2", "http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    assert_closed_by_server(tls, "silent TLS connection").await;
    server.stop().await;
}

#[tokio::test]
async fn an_idle_http1_connection_over_tls_is_closed() {
    let server = TestServer::start(Some(load_ok(TLS_ONLY)), SHORT).await;
    let mut tls = tls_client(server.addr, &["http/1.1"]).await;
    healthz_http1(&mut tls).await;
    assert_closed_by_server(tls, "idle HTTP/1.1 over TLS").await;
    server.stop().await;
}

#[tokio::test]
async fn an_idle_http2_connection_gets_goaway_and_is_closed() {
    let server = TestServer::start(Some(load_ok(TLS_ONLY)), SHORT).await;
    let tls = tls_client(server.addr, &["h2"]).await;
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    let conn = tokio::spawn(conn);
    let request = Request::get("https://localhost/healthz")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "ok\n"
    );
    // The client keeps `sender`: only the server can end the connection.
    let ended = tokio::time::timeout(CLOSED_WITHIN, conn).await;
    assert!(ended.is_ok(), "idle HTTP/2 connection still open");
    drop(sender);
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_an_idle_connection_and_returns() {
    let server = TestServer::start(None, Timeouts::default()).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    healthz_http1(&mut tcp).await;
    let started = Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < SHUTDOWN_GRACE,
        "{:?}",
        started.elapsed()
    );
    assert_closed_by_server(tcp, "keep-alive connection at shutdown").await;
}
