//! `/metrics`: what the server and its stores have done, in Prometheus' text format.
//!
//! Requests are counted by method, route template and status, timed by route (to the
//! response's head), and their bytes counted both ways; open connections are a gauge;
//! store operations, backend errors and read-cache results come from each store's
//! [`KvStore::stats`](kv_runtime::KvStore::stats) when scraped.
//!
//! On the hot path a request costs a clock read at each end, a histogram observation
//! and a few relaxed atomic adds: an endpoint's metrics are looked up once, on its
//! first request, and kept at hand, so only an unusual status needs a lookup.

mod body;
pub(crate) mod endpoints;
mod latency;
mod stores;

use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use kv_runtime::KvStore;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub(crate) use self::body::CountingBody;
use self::endpoints::{Classifier, ENDPOINTS, Endpoint, Matched, UNMATCHED, label, method_label};
use self::latency::Latency;

/// The statuses whose request counters each endpoint keeps at hand.
const COMMON_STATUSES: [u16; 10] = [200, 201, 204, 304, 400, 401, 404, 409, 412, 413];

/// The route labels of [`ENDPOINTS`], rendered once per process.
static ROUTE_LABELS: LazyLock<Vec<String>> =
    LazyLock::new(|| ENDPOINTS.iter().map(|(_, route)| label(route)).collect());

fn route_label(endpoint: Endpoint) -> &'static str {
    ROUTE_LABELS
        .get(endpoint.0)
        .map_or(UNMATCHED, String::as_str)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: &'static str,
}

/// Which endpoint a request went to, for its metrics and its log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target {
    endpoint: Option<Endpoint>,
    method: &'static str,
    route: &'static str,
}

impl Target {
    /// A request the fast path answers: its endpoint is known without matching.
    pub(crate) fn known(endpoint: Endpoint) -> Self {
        Self {
            endpoint: Some(endpoint),
            method: method_label(&ENDPOINTS[endpoint.0].0),
            route: route_label(endpoint),
        }
    }

    /// A request no route was matched for.
    pub(crate) fn unmatched() -> Self {
        Self {
            endpoint: None,
            method: "other",
            route: UNMATCHED,
        }
    }

    /// The method's label (`GET`, ..., or `other`).
    pub(crate) fn method(&self) -> &'static str {
        self.method
    }

    /// The route template (`/v1/kv/{store}/{key}`), or `unmatched`: never the path.
    pub(crate) fn route(&self) -> &'static str {
        self.route
    }
}

/// One endpoint's metrics, created on its first request.
struct EndpointMetrics {
    latency: Latency,
    bytes_in: Counter,
    bytes_out: Counter,
    statuses: [OnceLock<Counter>; COMMON_STATUSES.len()],
}

/// The server's HTTP metrics and the registry `/metrics` renders.
pub(crate) struct HttpMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Latency>,
    bytes_in: Family<RouteLabels, Counter>,
    bytes_out: Family<RouteLabels, Counter>,
    connections: Gauge,
    endpoints: Vec<OnceLock<EndpointMetrics>>,
    classifier: Classifier,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics").finish_non_exhaustive()
    }
}

impl HttpMetrics {
    /// The metrics of a server over `stores`.
    pub(crate) fn new(stores: Vec<KvStore>) -> Self {
        let mut registry = Registry::with_prefix("kv");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Latency>::default();
        let bytes_in = Family::<RouteLabels, Counter>::default();
        let bytes_out = Family::<RouteLabels, Counter>::default();
        let connections = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its response's head, by method and route",
            latency.clone(),
        );
        registry.register(
            "http_request_bytes",
            "Request body bytes received, by method and route",
            bytes_in.clone(),
        );
        registry.register(
            "http_response_bytes",
            "Response body bytes sent, by method and route",
            bytes_out.clone(),
        );
        registry.register(
            "http_open_connections",
            "HTTP connections open now",
            connections.clone(),
        );
        registry.register_collector(Box::new(stores::StoreCollector::new(stores)));
        let endpoints = (0..ENDPOINTS.len()).map(|_| OnceLock::new()).collect();
        Self {
            registry,
            requests,
            latency,
            bytes_in,
            bytes_out,
            connections,
            endpoints,
            classifier: Classifier::new(),
        }
    }

    /// The endpoint of a request the fast path did not take.
    pub(crate) fn classify(&self, method: &Method, path: &str) -> Target {
        let method_label = method_label(method);
        match self.classifier.classify(method, path) {
            Matched::Endpoint(endpoint) => Target {
                endpoint: Some(endpoint),
                method: method_label,
                route: route_label(endpoint),
            },
            Matched::Route(endpoint) => Target {
                endpoint: None,
                method: method_label,
                route: route_label(endpoint),
            },
            Matched::Nothing => Target {
                endpoint: None,
                method: method_label,
                route: UNMATCHED,
            },
        }
    }

    /// Counts a request whose response head is ready: its status, its latency and
    /// the request body's bytes. The response body's bytes go to
    /// [`HttpMetrics::bytes_out`], now or as they are sent.
    pub(crate) fn record(
        &self,
        target: Target,
        status: StatusCode,
        elapsed: Duration,
        bytes_in: u64,
    ) {
        let status = status.as_u16();
        let Some(endpoint) = self.endpoint(target) else {
            let labels = RouteLabels {
                method: target.method,
                route: target.route,
            };
            self.latency.get_or_create(&labels).observe(elapsed);
            self.bytes_in.get_or_create(&labels).inc_by(bytes_in);
            self.count_status(target, status);
            return;
        };
        endpoint.latency.observe(elapsed);
        if bytes_in > 0 {
            endpoint.bytes_in.inc_by(bytes_in);
        }
        match COMMON_STATUSES.iter().position(|&s| s == status) {
            Some(slot) => {
                endpoint.statuses[slot]
                    .get_or_init(|| self.status_counter(target, status))
                    .inc();
            }
            None => self.count_status(target, status),
        }
    }

    /// The counter of request body bytes for `target`.
    pub(crate) fn bytes_in_counter(&self, target: Target) -> Counter {
        match self.endpoint(target) {
            Some(endpoint) => endpoint.bytes_in.clone(),
            None => self.bytes_in.get_or_create_owned(&RouteLabels {
                method: target.method,
                route: target.route,
            }),
        }
    }

    /// Counts `bytes` of response body for `target`.
    pub(crate) fn add_bytes_out(&self, target: Target, bytes: u64) {
        match self.endpoint(target) {
            Some(endpoint) => {
                endpoint.bytes_out.inc_by(bytes);
            }
            None => {
                self.bytes_out(target).inc_by(bytes);
            }
        }
    }

    /// The counter of response body bytes for `target`.
    pub(crate) fn bytes_out(&self, target: Target) -> Counter {
        match self.endpoint(target) {
            Some(endpoint) => endpoint.bytes_out.clone(),
            None => self.bytes_out.get_or_create_owned(&RouteLabels {
                method: target.method,
                route: target.route,
            }),
        }
    }

    /// The gauge of open connections.
    pub(crate) fn connections(&self) -> &Gauge {
        &self.connections
    }

    /// Every metric in Prometheus' text format (version 0.0.4).
    pub(crate) fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::with_capacity(16 * 1024);
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// The metrics of a known endpoint requested with its own method.
    fn endpoint(&self, target: Target) -> Option<&EndpointMetrics> {
        let index = target.endpoint?.0;
        let endpoint = self.endpoints.get(index)?.get_or_init(|| {
            let labels = RouteLabels {
                method: target.method,
                route: target.route,
            };
            EndpointMetrics {
                latency: self.latency.get_or_create_owned(&labels),
                bytes_in: self.bytes_in.get_or_create_owned(&labels),
                bytes_out: self.bytes_out.get_or_create_owned(&labels),
                statuses: Default::default(),
            }
        });
        Some(endpoint)
    }

    fn status_counter(&self, target: Target, status: u16) -> Counter {
        self.requests.get_or_create_owned(&RequestLabels {
            method: target.method,
            route: target.route,
            status,
        })
    }

    fn count_status(&self, target: Target, status: u16) {
        self.status_counter(target, status).inc();
    }
}

/// The server's metrics, shared by its connections.
pub(crate) type SharedMetrics = Arc<HttpMetrics>;
