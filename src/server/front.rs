//! [`Front`]: the one service in front of the router, doing once per request what
//! every route needs — authentication (fail closed: every path but the public ones),
//! the body-size ceiling, the request timeout, rendering errors in the envelope of
//! the route's family, metrics and the access log — without boxing a future, cloning
//! a service or arming a timer on the fast path.
//!
//! The router behind it has no layers: axum wraps each route in every layer given to
//! it and clones them per request, which cost more than the handlers themselves.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody as _};
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use tower::Service;

use super::auth::Authenticator;
use super::body::content_length;
use super::envelope::{Family, render_error};
use super::error::{ApiError, Code};
use super::fast;
use super::meter::Meter;
use super::metrics::{SharedMetrics, Target};
use super::state::SharedState;

/// Paths anyone may request; every other path needs credentials (unknown ones too, so
/// that a route added without thought is not public). The data browser's files under
/// `/ui` hold no data: the page asks for credentials and sends them with its API calls.
/// `/metrics` is public only when the server is told so (`--public-metrics`).
fn is_public(path: &str, public_metrics: bool) -> bool {
    matches!(path, "/health" | "/open-api.json" | "/ui")
        || path.starts_with("/ui/")
        || (public_metrics && path == "/metrics")
}

/// Authentication, limits and error rendering around the router.
#[derive(Clone)]
pub(crate) struct Front {
    router: Router,
    state: SharedState,
    auth: Arc<Authenticator>,
    limits: FrontLimits,
    /// The client, for the access log; set per connection.
    peer: Option<SocketAddr>,
}

/// What [`Front`] enforces besides authentication.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrontLimits {
    pub(crate) request_timeout: Duration,
    pub(crate) max_body_bytes: u64,
    pub(crate) public_metrics: bool,
}

impl Front {
    pub(crate) fn new(
        router: Router,
        state: SharedState,
        auth: Arc<Authenticator>,
        limits: FrontLimits,
    ) -> Self {
        Self {
            router,
            state,
            auth,
            limits,
            peer: None,
        }
    }

    /// This service for one connection, from `peer`.
    pub(crate) fn for_peer(&self, peer: SocketAddr) -> Self {
        let mut front = self.clone();
        front.peer = Some(peer);
        front
    }

    /// The server's metrics (the listener counts connections there).
    pub(crate) fn metrics(&self) -> &SharedMetrics {
        &self.state.metrics
    }

    fn refuse(&self, family: Family, why: String) -> Response {
        let error = ApiError::new(StatusCode::UNAUTHORIZED, Code::Unauthorized, why);
        let mut response = render_error(family, &error);
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, self.auth.challenge());
        response
    }
}

impl std::fmt::Debug for Front {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Front").finish_non_exhaustive()
    }
}

impl<B> Service<Request<B>> for Front
where
    B: axum::body::HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = FrontFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> FrontFuture {
        let family = Family::of(request.uri().path());
        let mut request = request.map(Body::new);
        let declared = content_length(request.headers());
        let mut meter = Meter::start(Arc::clone(&self.state.metrics), declared, self.peer);
        let max_body_bytes = self.limits.max_body_bytes;
        if declared.is_some_and(|len| len > max_body_bytes) {
            let error = ApiError::too_large(format!(
                "the request body is larger than any route accepts ({max_body_bytes} bytes)"
            ));
            meter.target_of(&request);
            return FrontFuture::ready(meter.finish(render_error(family, &error)));
        }
        if declared.is_none() && !request.body().is_end_stream() {
            request = meter.count_body(request);
        }
        if !is_public(request.uri().path(), self.limits.public_metrics) {
            // API keys, basic and HS256 answer at once; only a JWKS fetch waits.
            match self.auth.check(request.headers()).now_or_never() {
                Some(Ok(())) => {}
                Some(Err(why)) => {
                    meter.target_of(&request);
                    return FrontFuture::ready(meter.finish(self.refuse(family, why)));
                }
                None => return FrontFuture::boxed(self.clone().slow(request, family, meter)),
            }
        }
        self.dispatch(request, family, meter)
    }
}

impl Front {
    /// The hot routes straight to their handler, everything else through the router.
    fn dispatch(
        &mut self,
        request: Request<Body>,
        family: Family,
        mut meter: Meter,
    ) -> FrontFuture {
        let inner = match fast::route(&self.state, request) {
            Ok((direct, endpoint)) => {
                meter.set_target(Target::known(endpoint));
                Inner::Direct(direct)
            }
            Err(request) => {
                meter.target_of(&request);
                Inner::Router(self.router.call(request))
            }
        };
        FrontFuture::routed(inner, family, self.limits.request_timeout, meter)
    }
}

impl Front {
    /// The rare path: authentication that has to wait (a JWKS fetch).
    async fn slow(mut self, request: Request<Body>, family: Family, mut meter: Meter) -> Response {
        if let Err(why) = self.auth.check(request.headers()).await {
            meter.target_of(&request);
            return meter.finish(self.refuse(family, why));
        }
        match self.dispatch(request, family, meter).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

type RouterFuture = <Router as Service<Request<Body>>>::Future;

/// Who answers a request: the router, or a hot route's handler directly.
#[allow(
    clippy::large_enum_variant,
    reason = "boxing the router's future would cost an allocation per request"
)]
enum Inner {
    Router(RouterFuture),
    Direct(BoxFuture<'static, Response>),
}

impl Inner {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Response> {
        match self {
            Self::Router(future) => match Pin::new(future).poll(cx) {
                Poll::Ready(Ok(response)) => Poll::Ready(response),
                Poll::Ready(Err(never)) => match never {},
                Poll::Pending => Poll::Pending,
            },
            Self::Direct(future) => future.as_mut().poll(cx),
        }
    }
}

/// The response future of [`Front`].
pub(crate) struct FrontFuture {
    state: State,
}

#[allow(
    clippy::large_enum_variant,
    reason = "boxing the router's future would cost the allocation per request this type avoids"
)]
enum State {
    Ready(Option<Response>),
    Routed {
        inner: Inner,
        family: Family,
        timeout: Duration,
        /// Armed only once the handler has not answered on its first poll.
        timer: Option<Pin<Box<tokio::time::Sleep>>>,
        /// Taken when the response is ready.
        meter: Option<Meter>,
    },
    Boxed(BoxFuture<'static, Response>),
}

impl FrontFuture {
    fn ready(response: Response) -> Self {
        Self {
            state: State::Ready(Some(response)),
        }
    }

    fn routed(inner: Inner, family: Family, timeout: Duration, meter: Meter) -> Self {
        Self {
            state: State::Routed {
                inner,
                family,
                timeout,
                timer: None,
                meter: Some(meter),
            },
        }
    }

    fn boxed(future: impl Future<Output = Response> + Send + 'static) -> Self {
        Self {
            state: State::Boxed(Box::pin(future)),
        }
    }
}

impl Future for FrontFuture {
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            State::Ready(response) => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()))),
            State::Boxed(future) => future.as_mut().poll(cx).map(Ok),
            State::Routed {
                inner,
                family,
                timeout,
                timer,
                meter,
            } => {
                let response = match inner.poll(cx) {
                    Poll::Ready(response) => finish(*family, response),
                    Poll::Pending => {
                        let sleep =
                            timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(*timeout)));
                        ready!(sleep.as_mut().poll(cx));
                        let error = ApiError::new(
                            StatusCode::REQUEST_TIMEOUT,
                            Code::Timeout,
                            "the request took too long and was abandoned",
                        );
                        render_error(*family, &error)
                    }
                };
                Poll::Ready(Ok(match meter.take() {
                    Some(meter) => meter.finish(response),
                    None => response,
                }))
            }
        }
    }
}

/// Renders an error response in the family's envelope; passes others through.
fn finish(family: Family, response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    super::envelope::render_errors(family, response)
}
