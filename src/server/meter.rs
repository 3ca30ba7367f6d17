//! What happens when a request is answered: its metrics are recorded and its access
//! log line written — method, route template (never the path, so never a key),
//! status, latency and bytes — through `tracing` at `info` on the target [`ACCESS_LOG`].

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody as _};
use axum::http::Request;
use axum::response::Response;

use super::metrics::{CountingBody, SharedMetrics, Target};

/// The `tracing` target of the access log: one event per request at `info`, with the
/// fields `method`, `route` (the template, never the path), `status`, `latency_us`,
/// `bytes_in` (as declared), `bytes_out` (when known) and `peer`.
pub const ACCESS_LOG: &str = "kv::access";

/// A request on its way: when it arrived, where it goes, what it sent.
pub(crate) struct Meter {
    metrics: SharedMetrics,
    started: Instant,
    target: Option<Target>,
    bytes_in: u64,
    peer: Option<SocketAddr>,
}

impl Meter {
    /// Starts timing `request`; `bytes_in` is its declared `Content-Length`, if any.
    pub(crate) fn start(
        metrics: SharedMetrics,
        bytes_in: Option<u64>,
        peer: Option<SocketAddr>,
    ) -> Self {
        Self {
            metrics,
            started: Instant::now(),
            target: None,
            bytes_in: bytes_in.unwrap_or(0),
            peer,
        }
    }

    /// Names the endpoint, when the fast path knows it without matching.
    pub(crate) fn set_target(&mut self, target: Target) {
        self.target = Some(target);
    }

    /// The endpoint, matched from the request now if it was not named.
    pub(crate) fn target_of<B>(&mut self, request: &Request<B>) -> Target {
        *self.target.get_or_insert_with(|| {
            self.metrics
                .classify(request.method(), request.uri().path())
        })
    }

    /// A body of unknown length (a chunked upload) is counted as it is read.
    pub(crate) fn count_body(&mut self, request: Request<Body>) -> Request<Body> {
        let target = self.target_of(&request);
        let counter = self.metrics.bytes_in_counter(target);
        request.map(|body| Body::new(CountingBody::new(body, counter)))
    }

    /// Records the answer and logs it; the response body's bytes are counted now, or
    /// as they are sent when its length is not known.
    pub(crate) fn finish(self, mut response: Response) -> Response {
        let target = self.target.unwrap_or_else(Target::unmatched);
        let elapsed = self.started.elapsed();
        let status = response.status();
        self.metrics.record(target, status, elapsed, self.bytes_in);
        let bytes_out = response.body().size_hint().exact();
        match bytes_out {
            Some(bytes) => self.metrics.add_bytes_out(target, bytes),
            None => {
                let counter = self.metrics.bytes_out(target);
                response = response.map(|body| Body::new(CountingBody::new(body, counter)));
            }
        }
        log(&self, target, status.as_u16(), elapsed, bytes_out);
        response
    }
}

fn log(meter: &Meter, target: Target, status: u16, elapsed: Duration, bytes_out: Option<u64>) {
    tracing::info!(
        target: ACCESS_LOG,
        method = target.method(),
        route = target.route(),
        status,
        latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        bytes_in = meter.bytes_in,
        bytes_out,
        peer = meter.peer.map(tracing::field::display),
        "request"
    );
}
