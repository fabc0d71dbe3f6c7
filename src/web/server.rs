//! The accept loop (hyper 1.x on tokio): plain or TLS connections, served until a shutdown
//! future resolves, then drained. Like mini-redis, [`run`] takes a bound listener and a
//! shutdown future, so tests inject both.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::snapshot::State;
use crate::web::WebConfig;
use crate::web::client::Client;
use crate::web::routes::{Chunks, handle};

/// How long in-flight requests get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long a connection told to close (idle, or shutting down) gets before it is dropped,
/// e.g. a client that stops reading before the HTTP/2 GOAWAY is flushed.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// What the server needs besides the state.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub telemetry_path: String,
    pub web: Option<Arc<WebConfig>>,
    pub timeouts: Timeouts,
}

/// Connection deadlines, so that idle clients cannot hold file descriptors in any protocol.
/// Injectable so tests can use milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// A TLS handshake that takes longer is dropped (slowloris).
    pub tls_handshake: Duration,
    /// HTTP/1 request headers must arrive within this (slowloris), over TLS too.
    pub header_read: Duration,
    /// A connection with no request in flight for this long is closed (HTTP/1 keep-alive,
    /// HTTP/2 GOAWAY), counted from accept, from the TLS handshake or from the last
    /// response. This also bounds the protocol sniff before the first byte, which
    /// hyper-util's `auto::Builder` does not time out.
    pub idle: Duration,
    /// HTTP/2 PING interval and how long to wait for its ACK: a peer that vanished while a
    /// stream is open is found.
    pub http2_keep_alive_interval: Duration,
    pub http2_keep_alive_timeout: Duration,
}

impl Default for Timeouts {
    /// `idle` is 90 s, Go's `DefaultTransport.IdleConnTimeout`: longer than the usual scrape
    /// intervals (15 s to 1 m), so a scraper keeps its connection, and not equal to one,
    /// so the server's close does not race the next scrape.
    fn default() -> Self {
        Timeouts {
            tls_handshake: Duration::from_secs(10),
            header_read: Duration::from_secs(30),
            idle: Duration::from_secs(90),
            http2_keep_alive_interval: Duration::from_secs(30),
            http2_keep_alive_timeout: Duration::from_secs(20),
        }
    }
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
    let timeouts = settings.timeouts;
    let tls = settings.web.as_ref().and_then(|w| w.tls_acceptor());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(timeouts.http2_keep_alive_interval)
        .keep_alive_timeout(timeouts.http2_keep_alive_timeout);
    // HTTP/2 is offered over TLS (ALPN) when the web config allows it; plain HTTP is HTTP/1.1.
    let h2 = settings.web.as_ref().is_some_and(|w| w.http2());
    let builder = Arc::new(if h2 { builder } else { builder.http1_only() });
    // Cancelled on shutdown: every connection is asked to close gracefully.
    let closing = CancellationToken::new();
    // Each connection task holds a clone of `done_tx`; `done_rx` yields `None` once all of
    // them have ended (mini-redis' shutdown_complete).
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
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
        let conn = Conn {
            client: Client::from_ip(peer.ip()),
            state: state.clone(),
            settings: settings.clone(),
            builder: builder.clone(),
            closing: closing.clone(),
            _done: done_tx.clone(),
        };
        match tls.clone() {
            None => {
                tokio::spawn(async move {
                    if let Err(e) = conn.serve(stream).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            Some(acceptor) => {
                tokio::spawn(async move {
                    let handshake = acceptor.accept(stream);
                    let stream = match tokio::time::timeout(timeouts.tls_handshake, handshake).await
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
                    if let Err(e) = conn.serve(stream).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
        }
    }
    drop(listener);
    closing.cancel();
    drop(done_tx);
    tokio::select! {
        _ = done_rx.recv() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("connections still open after the grace period; closing"),
    }
}

/// One accepted connection and what serving it needs.
struct Conn {
    /// The peer, recorded in each request for the password-check queue and the rate limit.
    client: Client,
    state: Arc<State>,
    settings: Arc<ServerSettings>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    /// Cancelled when the server shuts down.
    closing: CancellationToken,
    /// Dropped when the connection ends; [`run`] waits for all of them.
    _done: mpsc::Sender<()>,
}

impl Conn {
    /// Serves HTTP on `io` (plain or TLS) until the client leaves, the connection is idle
    /// for [`Timeouts::idle`], or the server shuts down.
    async fn serve<I>(self, io: I) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let timeouts = self.settings.timeouts;
        // Requests in flight on this connection, counted until their body is sent.
        let (in_flight, mut in_flight_rx) = watch::channel(0usize);
        let in_flight = Arc::new(in_flight);
        let (state, settings, client) = (self.state, self.settings, self.client);
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(client);
            let guard = InFlight::start(&in_flight);
            let response = handle(req, state.clone(), settings.clone());
            async move {
                let response = response.await?;
                Ok::<_, Infallible>(response.map(|body| Tracked {
                    body,
                    _guard: guard,
                }))
            }
        });
        let conn = self.builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        tokio::select! {
            done = conn.as_mut() => return done,
            // No request for `idle`: also ends a protocol sniff or TLS session that never speaks.
            _ = idle(&mut in_flight_rx, timeouts.idle) => {}
            _ = self.closing.cancelled() => {}
        }
        // HTTP/1 closes after the current response, HTTP/2 sends GOAWAY, a sniff stops.
        conn.as_mut().graceful_shutdown();
        match tokio::time::timeout(CLOSE_GRACE, conn).await {
            Ok(done) => done,
            Err(_) => Ok(()), // dropped: the socket closes
        }
    }
}

/// Resolves once no request has been in flight for `timeout`.
async fn idle(in_flight: &mut watch::Receiver<usize>, timeout: Duration) {
    loop {
        if in_flight.wait_for(|n| *n == 0).await.is_err() {
            return std::future::pending().await; // the service is gone; hyper ends the conn
        }
        // A request starting (or ending) restarts the clock.
        if tokio::time::timeout(timeout, in_flight.changed())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Counts one request as in flight from its start until its response body is dropped
/// (sent or abandoned).
struct InFlight(Arc<watch::Sender<usize>>);

impl InFlight {
    fn start(counter: &Arc<watch::Sender<usize>>) -> InFlight {
        counter.send_modify(|n| *n += 1);
        InFlight(Arc::clone(counter))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// A response body that keeps its request counted as in flight while hyper sends it.
struct Tracked {
    body: Chunks,
    _guard: InFlight,
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests;
