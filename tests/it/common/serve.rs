//! An HTTP/1 server inside the test process, on 127.0.0.1, with its own thread and tokio
//! runtime: the home of the accept loop that the scenario server and the webhook receiver
//! share. It works from a plain `#[test]` and from a `#[tokio::test]` alike, and stops (the
//! loop ends, the runtime shuts down, the thread is joined) when its handle is dropped.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// A response of an in-process server.
pub type Resp = Response<Full<Bytes>>;

/// A running in-process server; stopped on drop.
pub struct InProcessServer {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcessServer {
    /// Binds 127.0.0.1:`port` (0: any free port) and serves every connection with `handler`
    /// on a runtime of `workers` threads. The thread is named `<name>-<port>`.
    pub fn start<H, F>(name: &str, port: u16, workers: usize, handler: H) -> InProcessServer
    where
        H: Fn(Request<hyper::body::Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Resp> + Send + 'static,
    {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("bind the {name} server: {e}"));
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local_addr");
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    loop {
                        tokio::select! {
                            _ = &mut rx => break,
                            acc = listener.accept() => {
                                let Ok((stream, _)) = acc else { continue };
                                let handler = handler.clone();
                                tokio::spawn(async move {
                                    let svc = service_fn(move |req| {
                                        let answer = handler(req);
                                        async move { Ok::<_, Infallible>(answer.await) }
                                    });
                                    let _ = hyper::server::conn::http1::Builder::new()
                                        .serve_connection(TokioIo::new(stream), svc)
                                        .await;
                                });
                            }
                        }
                    }
                });
                rt.shutdown_timeout(Duration::from_millis(200));
            })
            .unwrap_or_else(|e| panic!("spawn the {name} server thread: {e}"));
        InProcessServer {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
