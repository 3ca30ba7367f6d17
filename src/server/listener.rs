//! The accept loop: HTTP/1.1 connections served by hyper with a header read timeout,
//! `TCP_NODELAY`, and graceful shutdown (stop accepting, let in-flight requests finish
//! within the grace period, then flush the stores).
//!
//! A connection is handed to hyper only once it has sent something: until then it
//! costs its task and socket, not hyper's buffers (about 18 KiB), so that thousands
//! of idle clients cost little memory. It waits at most the header read timeout for
//! its first byte, and is closed at once on shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use super::front::Front;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

/// Connections the kernel completes ahead of `accept`, at most (it caps this at
/// `net.core.somaxconn`): a burst of new clients larger than this has its connection
/// attempts dropped and retried a second later. tokio's default is 1024.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` for [`serve`], with address reuse and a [`LISTEN_BACKLOG`] backlog.
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `front` on `listener` until `shutdown` resolves, then waits up to `grace`
/// for in-flight connections to finish their current request.
pub(crate) async fn serve(
    listener: TcpListener,
    front: Front,
    header_read_timeout: Duration,
    grace: Duration,
    shutdown: impl Future<Output = ()> + Send,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let (stopping, stop) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let (http, front, watcher, mut stop) = (
            http.clone(),
            front.for_peer(peer),
            graceful.watcher(),
            stop.clone(),
        );
        let open = OpenConnection::new(front.metrics().connections());
        tokio::spawn(async move {
            let _open = open;
            tokio::select! {
                first = first_byte(&stream, header_read_timeout) => if !first { return },
                _ = stop.wait_for(|stopping| *stopping) => return,
            }
            // Boxed, so that the task waiting above is small: a connection's state is
            // allocated once it has something to say.
            let service = TowerToHyperService::new(front);
            let connection = http.serve_connection(TokioIo::new(stream), service);
            if let Err(error) = Box::pin(watcher.watch(connection)).await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // Connections still waiting for their first byte close now.
    let _ = stopping.send(true);
    tracing::info!("waiting for in-flight requests");
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?grace,
            "in-flight requests did not finish within the grace period"
        );
    }
}

/// Whether `stream` has sent something within `timeout` (a socket reports itself
/// readable at first, so this peeks at a byte rather than asking).
async fn first_byte(stream: &TcpStream, timeout: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(timeout, stream.peek(&mut byte)).await,
        Ok(Ok(1))
    )
}

/// One open connection in the `kv_http_open_connections` gauge, for as long as it lives.
struct OpenConnection(prometheus_client::metrics::gauge::Gauge);

impl OpenConnection {
    fn new(gauge: &prometheus_client::metrics::gauge::Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}
