//! The accept loop (hyper 1.x on tokio): plain or TLS connections, served until a shutdown
//! future resolves, then drained. Like mini-redis, [`run`] takes a bound listener and a
//! shutdown future, so tests inject both.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::refresh::State;
use crate::web::WebConfig;
use crate::web::routes::handle;

/// How long in-flight requests get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// A TLS handshake that takes longer is dropped (slowloris).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server needs besides the state.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub telemetry_path: String,
    pub web: Option<Arc<WebConfig>>,
}

/// Serves until `shutdown` resolves, then stops accepting and gives in-flight requests
/// [`SHUTDOWN_GRACE`] to finish.
pub async fn run(
    listener: TcpListener,
    state: Arc<State>,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()>,
) {
    let settings = Arc::new(settings);
    let tls = settings.web.as_ref().and_then(|w| w.tls_acceptor());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    // HTTP/2 is offered over TLS (ALPN) when the web config allows it; plain HTTP is HTTP/1.1.
    let h2 = settings.web.as_ref().is_some_and(|w| w.http2());
    let builder = Arc::new(if h2 { builder } else { builder.http1_only() });
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            // Stop accepting; in-flight connections are drained below.
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // NB: a response is two chunks (pre-rendered body, then the scrape-time tail); with
        // Nagle on, the small tail waits for the client's delayed ACK (~40 ms per scrape).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
        }
        let (state, settings, builder) = (state.clone(), settings.clone(), builder.clone());
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            handle(req, state.clone(), settings.clone())
        });
        let watcher = graceful.watcher();
        match tls.clone() {
            None => {
                tokio::spawn(async move {
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    if let Err(e) = watcher.watch(conn.into_owned()).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            Some(acceptor) => {
                tokio::spawn(async move {
                    let stream = match tokio::time::timeout(
                        HANDSHAKE_TIMEOUT,
                        acceptor.accept(stream),
                    )
                    .await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    if let Err(e) = watcher.watch(conn.into_owned()).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("connections still open after the grace period; closing"),
    }
}
