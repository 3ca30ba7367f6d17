//! The server's endpoints — every route template with its method, as the router
//! registers them — and the classifier that names the endpoint of a request for
//! metrics and logs, so that neither ever carries a raw key. A test holds this table
//! to the OpenAPI document, which the router is built from.

use axum::http::Method;

/// The label for a path no route matches.
pub(crate) const UNMATCHED: &str = "unmatched";

/// `(method, route in the router's syntax)`, in a stable order; an [`Endpoint`] is an
/// index into it.
pub(crate) const ENDPOINTS: &[(Method, &str)] = &[
    (
        Method::GET,
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{*key_name}",
    ),
    (
        Method::PUT,
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{*key_name}",
    ),
    (Method::GET, "/v1/kv/{store}/{*key}"),
    (Method::PUT, "/v1/kv/{store}/{*key}"),
    (Method::DELETE, "/v1/kv/{store}/{*key}"),
    (Method::PATCH, "/v1/kv/{store}/{*key}"),
    (Method::GET, "/v1/kv/{store}"),
    (Method::GET, "/v1/stores/{store}/count"),
    (Method::DELETE, "/v1/stores/{store}/keys"),
    (Method::GET, "/v1/stores/{store}/watch"),
    (Method::GET, "/v1/admin/info"),
    (
        Method::GET,
        "/client/v4/accounts/{account_id}/storage/kv/namespaces",
    ),
    (
        Method::GET,
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}",
    ),
    (
        Method::GET,
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/keys",
    ),
    (
        Method::DELETE,
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{*key_name}",
    ),
    (
        Method::GET,
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/metadata/{*key_name}",
    ),
    (
        Method::PUT,
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk",
    ),
    (
        Method::DELETE,
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk",
    ),
    (
        Method::POST,
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk/delete",
    ),
    (
        Method::POST,
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk/get",
    ),
    (Method::GET, "/health"),
    (Method::GET, "/open-api.json"),
    (Method::GET, "/metrics"),
    (Method::GET, "/ui"),
    (Method::GET, "/ui/"),
    (Method::GET, "/ui/{file}"),
];

/// One of [`ENDPOINTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Endpoint(pub(crate) usize);

impl Endpoint {
    /// The Cloudflare value read, answered by the fast path.
    pub(crate) const CLOUDFLARE_GET_VALUE: Endpoint = Endpoint(0);
    /// The Cloudflare value write, answered by the fast path.
    pub(crate) const CLOUDFLARE_PUT_VALUE: Endpoint = Endpoint(1);
    /// The `/v1` value read, answered by the fast path.
    pub(crate) const V1_GET_VALUE: Endpoint = Endpoint(2);
}

/// The route template as a label: the router's syntax without the `*` of catch-alls
/// (`/v1/kv/{store}/{key}`), as the OpenAPI document writes it.
pub(crate) fn label(route: &str) -> String {
    route.replace("{*", "{")
}

/// Which route a request's path matches, and which endpoint with its method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Matched {
    /// A route and method the server has.
    Endpoint(Endpoint),
    /// A route the server has, with another method (index of the route's first
    /// endpoint, for its label).
    Route(Endpoint),
    /// No route.
    Nothing,
}

/// Matches paths to routes with the router's own matcher.
pub(crate) struct Classifier {
    routes: matchit::Router<Vec<usize>>,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier").finish_non_exhaustive()
    }
}

impl Classifier {
    pub(crate) fn new() -> Self {
        let mut by_route: Vec<(&str, Vec<usize>)> = Vec::new();
        for (index, (_, route)) in ENDPOINTS.iter().enumerate() {
            match by_route.iter_mut().find(|(r, _)| r == route) {
                Some((_, indexes)) => indexes.push(index),
                None => by_route.push((route, vec![index])),
            }
        }
        let mut routes = matchit::Router::new();
        for (route, indexes) in by_route {
            // The table is static and its routes distinct (a test inserts them all).
            if let Err(error) = routes.insert(route, indexes) {
                tracing::error!(%error, route, "metrics: route not classified");
            }
        }
        Self { routes }
    }

    pub(crate) fn classify(&self, method: &Method, path: &str) -> Matched {
        let Ok(found) = self.routes.at(path) else {
            return Matched::Nothing;
        };
        let indexes = found.value;
        // A HEAD of a GET route is answered by the GET handler but labelled HEAD, so
        // it counts as the route's, not the GET endpoint's.
        match indexes.iter().find(|&&i| ENDPOINTS[i].0 == method) {
            Some(&index) => Matched::Endpoint(Endpoint(index)),
            None => indexes
                .first()
                .map_or(Matched::Nothing, |&i| Matched::Route(Endpoint(i))),
        }
    }
}

/// The method as a label: one of the standard methods, or `other`, so that a client
/// cannot grow the metrics without bound.
pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::PUT => "PUT",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CF: &str = "/client/v4/accounts/{account_id}/storage/kv/namespaces";

    #[test]
    fn the_fast_path_endpoints_are_where_their_names_say() {
        let at = |e: Endpoint| (ENDPOINTS[e.0].0.clone(), label(ENDPOINTS[e.0].1));
        let cf = format!("{CF}/{{namespace_id}}/values/{{key_name}}");
        assert_eq!(
            at(Endpoint::CLOUDFLARE_GET_VALUE),
            (Method::GET, cf.clone())
        );
        assert_eq!(at(Endpoint::CLOUDFLARE_PUT_VALUE), (Method::PUT, cf));
        assert_eq!(
            at(Endpoint::V1_GET_VALUE),
            (Method::GET, "/v1/kv/{store}/{key}".to_owned())
        );
    }

    #[test]
    fn paths_classify_to_their_templates_never_their_keys() {
        let c = Classifier::new();
        let name = |m: Matched| match m {
            Matched::Endpoint(e) | Matched::Route(e) => label(ENDPOINTS[e.0].1),
            Matched::Nothing => UNMATCHED.to_owned(),
        };
        let cf = format!("{CF}/{{namespace_id}}/values/{{key_name}}");
        let path = "/client/v4/accounts/a/storage/kv/namespaces/demo/values/user/123";
        assert_eq!(name(c.classify(&Method::GET, path)), cf);
        assert!(matches!(
            c.classify(&Method::GET, path),
            Matched::Endpoint(_)
        ));
        assert!(matches!(c.classify(&Method::HEAD, path), Matched::Route(_)));
        assert!(matches!(c.classify(&Method::POST, path), Matched::Route(_)));
        assert_eq!(
            name(c.classify(&Method::DELETE, "/v1/kv/demo/a/b")),
            "/v1/kv/{store}/{key}"
        );
        assert_eq!(
            name(c.classify(&Method::GET, "/v1/kv/demo")),
            "/v1/kv/{store}"
        );
        assert_eq!(name(c.classify(&Method::GET, "/secret-key")), UNMATCHED);
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
