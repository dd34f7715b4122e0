//! Accepting connections: HTTP/1.1 with a deadline on every request head
//! (an idle keep-alive connection waits for its next head, so it is bounded
//! too) and caps on open connections, overall and per client address. A
//! client that opens thousands of silent connections, or trickles headers a
//! byte at a time, then costs a bounded number of descriptors for a bounded
//! time. Upgraded connections (WebSockets) leave the deadline behind.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Bounds on connections (each has a flag).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections at most; beyond, new ones are closed at once.
    pub max: usize,
    /// Open connections one client address may hold.
    pub per_address: usize,
    /// How long a request head (the request line and headers) may take to
    /// arrive, counted from when the connection is ready for it.
    pub header_timeout: Duration,
}

/// Open connections, by address.
#[derive(Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// One connection's place among the open ones; given back on drop.
struct Slot {
    open: Arc<Mutex<Open>>,
    address: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total -= 1;
        if let Some(n) = open.by_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                open.by_address.remove(&self.address);
            }
        }
    }
}

fn take_slot(open: &Arc<Mutex<Open>>, address: IpAddr, limits: ConnectionLimits) -> Option<Slot> {
    let mut state = open.lock().unwrap_or_else(|e| e.into_inner());
    let mine = state.by_address.get(&address).copied().unwrap_or(0);
    if state.total >= limits.max || mine >= limits.per_address {
        return None;
    }
    state.total += 1;
    *state.by_address.entry(address).or_insert(0) += 1;
    Some(Slot {
        open: open.clone(),
        address,
    })
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then lets
/// every connection finish its request in flight. `ConnectInfo<SocketAddr>`
/// is in every request's extensions.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let open = Arc::new(Mutex::new(Open::default()));
    let connections = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, mostly: wait rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let Some(slot) = take_slot(&open, peer.ip(), limits) else {
            tracing::debug!(%peer, "connection refused: too many open");
            drop(stream);
            continue;
        };
        connections.spawn(connection(
            stream,
            peer,
            router.clone(),
            limits,
            shutdown.clone(),
            slot,
        ));
    }
    connections.close();
    connections.wait().await;
}

/// A connection's socket, holding its slot for as long as it lives: after a
/// WebSocket upgrade too.
struct Counted {
    stream: TcpStream,
    _slot: Slot,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
    slot: Slot,
) {
    let _ = stream.set_nodelay(true);
    let stream = Counted {
        stream,
        _slot: slot,
    };
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            let response = router.oneshot(request.map(Body::new)).await;
            Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
            return;
        }
        _ = shutdown.cancelled() => {}
    }
    conn.as_mut().graceful_shutdown();
    if let Err(e) = conn.await {
        tracing::debug!(%peer, error = %e, "connection ended during shutdown");
    }
}
