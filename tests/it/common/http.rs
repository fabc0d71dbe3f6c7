//! A blocking HTTP client for the tests (hyper-util's legacy client on a runtime of its own):
//! every request on a new connection, answered as an [`HttpResponse`].

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;

/// An HTTP response; header names are lower-cased.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The body as UTF-8 (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

type LegacyClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

/// The runtime the blocking helpers run their requests on, and the client.
///
/// NB: one runtime of its own (one worker thread), shared by every test: the
/// helpers are called from plain `#[test]`s and from inside `#[tokio::test]`s,
/// where a nested `block_on` would panic. A request is spawned here and its
/// answer awaited over a std channel, which blocks only the calling thread.
fn client() -> &'static (tokio::runtime::Runtime, LegacyClient) {
    static CLIENT: OnceLock<(tokio::runtime::Runtime, LegacyClient)> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-http-client")
            .enable_all()
            .build()
            .expect("client runtime");
        // No idle connections kept: every request is on a new connection,
        // which the request also asks the server to close.
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build_http();
        (rt, client)
    })
}

/// Sends one request (`Connection: close`) to an `http://host:port/path` URL,
/// within `timeout` (connect, send and the whole body). Does not decode gzip:
/// the body is returned as received.
pub fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    timeout: Duration,
) -> std::io::Result<HttpResponse> {
    let invalid = |e: &dyn std::fmt::Display| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{url}: {e}"))
    };
    if !url.starts_with("http://") {
        return Err(invalid(&"only http:// URLs"));
    }
    let mut req = Request::builder()
        .method(method)
        .uri(url)
        .header(hyper::header::CONNECTION, "close");
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
    {
        req = req.header(hyper::header::USER_AGENT, "aws-iam-exporter-tests");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if body.is_none() && method != "GET" && method != "HEAD" {
        req = req.header(hyper::header::CONTENT_LENGTH, "0");
    }
    let req = req
        .body(Full::new(Bytes::copy_from_slice(body.unwrap_or_default())))
        .map_err(|e| invalid(&e))?;

    let (rt, client) = client();
    let send = client.request(req);
    let (tx, rx) = std::sync::mpsc::channel();
    let url_owned = url.to_string();
    rt.spawn(async move {
        let answer = tokio::time::timeout(timeout, async {
            let resp = send.await.map_err(std::io::Error::other)?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await.map_err(std::io::Error::other)?;
            Ok::<_, std::io::Error>((parts, body.to_bytes()))
        })
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("{url_owned}: no complete answer within {timeout:?}"),
            ))
        });
        let _ = tx.send(answer);
    });
    let (parts, body) = rx
        .recv()
        .map_err(|_| std::io::Error::other("the client runtime dropped the request"))??;
    Ok(HttpResponse {
        status: parts.status.as_u16(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                let v = String::from_utf8_lossy(v.as_bytes()).trim().to_string();
                (k.as_str().to_string(), v)
            })
            .collect(),
        body: body.to_vec(),
    })
}

/// GET with a 10 s timeout.
pub fn http_get(url: &str) -> std::io::Result<HttpResponse> {
    http_request("GET", url, &[], None, Duration::from_secs(10))
}

/// POST with a 10 s timeout.
pub fn http_post(url: &str, content_type: &str, body: &[u8]) -> std::io::Result<HttpResponse> {
    http_request(
        "POST",
        url,
        &[("Content-Type", content_type)],
        Some(body),
        Duration::from_secs(10),
    )
}
