//! Routing: `/metrics` copies the published exposition, `/` is a landing page, `/healthz`
//! says the process is alive, `/readyz` that data exists. It knows nothing of AWS.

use crate::clock::now_secs;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{
    ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue,
    RETRY_AFTER, VARY, WWW_AUTHENTICATE,
};
use http::{Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};

use crate::snapshot::State;
use crate::web::auth::Auth;
use crate::web::client::Client;
use crate::web::negotiate::{Coding, content_coding, negotiate};
use crate::web::server::ServerSettings;

/// A response body of a few reference-counted chunks: the pre-rendered exposition and its
/// small scrape-time tail are sent without being copied into one buffer.
#[derive(Debug, Default)]
pub struct Chunks(VecDeque<Bytes>);

impl Chunks {
    fn new(chunks: impl IntoIterator<Item = Bytes>) -> Chunks {
        Chunks(chunks.into_iter().filter(|c| !c.is_empty()).collect())
    }
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.iter().map(|c| c.len() as u64).sum())
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Chunks> {
    let mut r = Response::new(Chunks::new([Bytes::from_static(body.as_bytes())]));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn landing_page(telemetry_path: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>AWS IAM Exporter</title></head>
<body>
<h1>AWS IAM Exporter</h1>
<p>Security hygiene of AWS IAM credentials (credential report, account summary, CIS AWS Foundations controls) for Prometheus.</p>
<ul>
<li><a href="{telemetry_path}">Metrics</a></li>
<li><a href="/healthz">Health</a> (alive)</li>
<li><a href="/readyz">Readiness</a> (a refresh has succeeded)</li>
</ul>
<p>Version {} (revision {})</p>
</body>
</html>
"#,
        crate::version::VERSION,
        crate::version::REVISION
    )
}

/// Routes one request. Never touches AWS: the metrics body is an `Arc` clone of the last
/// published exposition plus a tail of a few lines.
pub async fn handle<B>(
    req: Request<B>,
    state: Arc<State>,
    settings: Arc<ServerSettings>,
) -> Result<Response<Chunks>, Infallible> {
    let mut resp = route(&req, &state, &settings).await;
    if let Some(web) = &settings.web {
        for (name, value) in web.response_headers() {
            resp.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(resp)
}

async fn route<B>(req: &Request<B>, state: &State, settings: &ServerSettings) -> Response<Chunks> {
    let path = req.uri().path();
    let read_only = req.method() == Method::GET || req.method() == Method::HEAD;
    // Probes stay open so kubelets need no credentials; they reveal nothing.
    match path {
        "/healthz" | "/readyz" if !read_only => return method_not_allowed(),
        "/healthz" => return text(StatusCode::OK, "ok\n"),
        "/readyz" => {
            return if state.is_ready() {
                text(StatusCode::OK, "ready\n")
            } else {
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not ready: no refresh has succeeded yet\n",
                )
            };
        }
        _ => {}
    }
    if let Some(web) = &settings.web {
        let client = Client::of(req);
        // Credentials first: a client without the password must not use up the rate limit
        // of the scraper that shares its address. Cached outcomes answer at once; checks
        // wait in a bounded queue, fair between clients.
        match web
            .authenticate(client, req.headers().get(AUTHORIZATION))
            .await
        {
            Auth::Allowed => {}
            Auth::Refused => {
                let r = text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
                return with_header(r, WWW_AUTHENTICATE, "Basic");
            }
            Auth::Busy => {
                let r = text(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many password checks waiting: credentials not checked, try again\n",
                );
                return with_header(r, RETRY_AFTER, "1");
            }
        }
        if !web.check_rate_limit(client) {
            return text(StatusCode::TOO_MANY_REQUESTS, "too many requests\n");
        }
    }
    if !read_only {
        return method_not_allowed();
    }
    if path == settings.telemetry_path {
        return metrics(req, state);
    }
    if path == "/" {
        let mut r = Response::new(Chunks::new([Bytes::from(landing_page(
            &settings.telemetry_path,
        ))]));
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        return r;
    }
    text(StatusCode::NOT_FOUND, "not found\n")
}

/// Every route is read-only; RFC 9110 wants `Allow` on a 405.
fn method_not_allowed() -> Response<Chunks> {
    let r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    with_header(r, http::header::ALLOW, "GET, HEAD")
}

fn with_header(
    mut r: Response<Chunks>,
    name: http::header::HeaderName,
    value: &'static str,
) -> Response<Chunks> {
    r.headers_mut()
        .insert(name, HeaderValue::from_static(value));
    r
}

fn metrics<B>(req: &Request<B>, state: &State) -> Response<Chunks> {
    let format = negotiate(req.headers().get(ACCEPT));
    let Some(coding) = content_coding(req.headers().get(ACCEPT_ENCODING)) else {
        let r = text(
            StatusCode::NOT_ACCEPTABLE,
            "not acceptable: Accept-Encoding refuses both gzip and identity, the only codings served\n",
        );
        return with_header(r, VARY, "Accept, Accept-Encoding");
    };
    let gzip = coding == Coding::Gzip;
    let published = state.published();
    let chunks = published.body(format, gzip, now_secs());
    let body = if req.method() == Method::HEAD {
        Chunks::default()
    } else {
        Chunks::new(chunks)
    };
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    if gzip {
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(state: Arc<State>, path: &str, headers: &[(&str, &str)]) -> Response<Chunks> {
        let mut req = Request::builder().uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let settings = Arc::new(ServerSettings {
            telemetry_path: "/metrics".into(),
            web: None,
            timeouts: Default::default(),
        });
        handle(req.body(()).unwrap(), state, settings)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn readyz_is_503_until_a_refresh_succeeds_and_healthz_always_200() {
        let state = Arc::new(State::default());
        assert_eq!(
            get(state.clone(), "/readyz", &[]).await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            get(state.clone(), "/healthz", &[]).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            get(state.clone(), "/nope", &[]).await.status(),
            StatusCode::NOT_FOUND
        );
        let landing = get(state, "/", &[]).await;
        assert_eq!(landing.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn metrics_sets_content_type_and_encoding() {
        let state = Arc::new(State::default());
        state.publish();
        let r = get(state.clone(), "/metrics", &[("accept-encoding", "gzip")]).await;
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
        assert!(
            r.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        let r = get(
            state,
            "/metrics",
            &[("accept", "application/openmetrics-text")],
        )
        .await;
        assert!(
            r.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text")
        );
        assert!(r.headers().get(CONTENT_ENCODING).is_none());
    }

    #[tokio::test]
    async fn metrics_answers_406_when_accept_encoding_refuses_identity_and_offers_nothing_else() {
        let state = Arc::new(State::default());
        state.publish();
        for refused in ["identity;q=0", "*;q=0", "identity;q=0, br, deflate;q=0.5"] {
            let r = get(state.clone(), "/metrics", &[("accept-encoding", refused)]).await;
            assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE, "{refused}");
            assert!(r.headers().get(CONTENT_ENCODING).is_none(), "{refused}");
            assert_eq!(r.headers()[VARY], "Accept, Accept-Encoding");
        }
        let r = get(
            state,
            "/metrics",
            &[("accept-encoding", "identity;q=0, gzip")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
    }

    #[tokio::test]
    async fn metrics_is_not_gzipped_when_identity_weighs_more() {
        let state = Arc::new(State::default());
        state.publish();
        for header in ["gzip;q=0.5, identity", "identity, *;q=0.5"] {
            let r = get(state.clone(), "/metrics", &[("accept-encoding", header)]).await;
            assert_eq!(r.status(), StatusCode::OK, "{header}");
            assert!(r.headers().get(CONTENT_ENCODING).is_none(), "{header}");
        }
    }

    /// GET `path` through `web`, from `client`, with an optional `Authorization` header.
    async fn get_as(
        web: &Arc<crate::web::WebConfig>,
        client: Client,
        authorization: Option<HeaderValue>,
    ) -> StatusCode {
        let mut req = Request::builder().uri("/metrics");
        if let Some(a) = authorization {
            req = req.header(AUTHORIZATION, a);
        }
        let mut req = req.body(()).unwrap();
        req.extensions_mut().insert(client);
        let settings = Arc::new(ServerSettings {
            telemetry_path: "/metrics".into(),
            web: Some(Arc::clone(web)),
            timeouts: Default::default(),
        });
        let state = Arc::new(State::default());
        state.publish();
        handle(req, state, settings).await.unwrap().status()
    }

    #[tokio::test]
    async fn requests_that_fail_authentication_do_not_use_up_the_rate_limit() {
        use crate::web::test_support::{TEST_PASSWORD, TEST_USER, basic, load_ok, test_hash};
        let web = Arc::new(load_ok(&format!(
            "basic_auth_users:\n  {TEST_USER}: {}\nrate_limit:\n  interval: 1h\n  burst: 1\n",
            test_hash()
        )));
        // Another client without the password, and one on the scraper's own address.
        let (scraper, other) = (
            Client::from_ip("192.0.2.1".parse().unwrap()),
            Client::from_ip("192.0.2.2".parse().unwrap()),
        );
        for client in [other, scraper] {
            for auth in [None, Some(basic(TEST_USER, "wrong"))] {
                for _ in 0..3 {
                    let status = get_as(&web, client, auth.clone()).await;
                    assert_eq!(status, StatusCode::UNAUTHORIZED);
                }
            }
        }
        let good = Some(basic(TEST_USER, TEST_PASSWORD));
        assert_eq!(get_as(&web, scraper, good.clone()).await, StatusCode::OK);
        // The scraper's own budget is spent now; the other client's is its own.
        assert_eq!(
            get_as(&web, scraper, good.clone()).await,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(get_as(&web, other, good).await, StatusCode::OK);
    }

    async fn with_method(method: &str, path: &str) -> Response<Chunks> {
        let settings = Arc::new(ServerSettings {
            telemetry_path: "/metrics".into(),
            web: None,
            timeouts: Default::default(),
        });
        let req = Request::builder()
            .method(method)
            .uri(path)
            .body(())
            .unwrap();
        handle(req, Arc::new(State::default()), settings)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn every_route_answers_get_and_head_and_refuses_other_methods_with_allow() {
        for path in ["/healthz", "/readyz", "/", "/metrics"] {
            for method in ["GET", "HEAD"] {
                let r = with_method(method, path).await;
                assert_ne!(
                    r.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
            }
            for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
                let r = with_method(method, path).await;
                assert_eq!(
                    r.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
                assert_eq!(
                    r.headers()[http::header::ALLOW],
                    "GET, HEAD",
                    "{method} {path}"
                );
            }
        }
    }
}
