//! The HTTP ceiling for `bench/load.sh`: the least a server can do on this machine.
//! A bare hyper HTTP/1.1 server that answers every GET with the same 1 KiB body and
//! every other request, after reading (draining) its body, with an empty 200.
//!
//! `cargo run --release --example hyper_ceiling -- 127.0.0.1:9001`

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;

/// A body of fixed bytes, sent in one frame with an exact length (as `Full` does).
struct Fixed(Option<Bytes>);

impl Body for Fixed {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|bytes| Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |b| b.len() as u64))
    }
}

async fn answer(request: Request<Incoming>, body: Bytes) -> Result<Response<Fixed>, Infallible> {
    if request.method() == Method::GET {
        return Ok(Response::new(Fixed(Some(body))));
    }
    // Drain the request body, as a server that stores it must at least read it.
    let mut incoming = request.into_body();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut incoming).poll_frame(cx)).await
    {
        if frame.is_err() {
            break;
        }
    }
    Ok(Response::new(Fixed(Some(Bytes::new()))))
}

#[tokio::main]
#[allow(clippy::print_stdout, reason = "the bench script reads the address")]
async fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9001)));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "hyper_ceiling: listening on http://{}",
        listener.local_addr()?
    );
    let body = Bytes::from(vec![b'x'; 1024]);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let body = body.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| answer(request, body.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
