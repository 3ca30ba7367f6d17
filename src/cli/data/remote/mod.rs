//! A `kv serve` as a target, through its Cloudflare-style API (`/client/v4/...`), with
//! the credentials the environment gives: `KV_API_KEY` (Bearer), `KV_TOKEN` (a JWT,
//! Bearer), or `KV_USERNAME` and `KV_PASSWORD` (basic).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::Deserialize;

use super::error::{DataError, Result};
use super::target::Limits;
use super::wire;

mod store;

pub(crate) use self::store::RemoteStore;

/// The account id in request paths (the server accepts any).
const ACCOUNT: &str = "local";

/// Namespaces asked for per page (Cloudflare's maximum).
const NAMESPACES_PER_PAGE: usize = 100;

/// A connection to a `kv serve`.
#[derive(Debug, Clone)]
pub(crate) struct Remote {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    /// `http://host:port`, without a trailing `/`.
    root: String,
    auth: Option<HeaderValue>,
}

/// A Cloudflare v4 envelope.
#[derive(Debug, Deserialize)]
struct Envelope<T> {
    #[serde(default)]
    errors: Vec<ApiMessage>,
    result: Option<T>,
    result_info: Option<CursorInfo>,
}

#[derive(Debug, Deserialize)]
struct ApiMessage {
    code: Option<u32>,
    message: String,
}

#[derive(Debug, Deserialize)]
struct CursorInfo {
    #[serde(default)]
    cursor: String,
}

#[derive(Debug, Deserialize)]
struct Namespace {
    id: String,
}

/// `/v1/admin/info`, the parts read here.
#[derive(Debug, Deserialize)]
struct Info {
    data: InfoData,
}

#[derive(Debug, Deserialize)]
struct InfoData {
    stores: Vec<StoreInfo>,
}

#[derive(Debug, Deserialize)]
struct StoreInfo {
    name: String,
    min_ttl: u64,
    max_value_size: u64,
}

/// A server's refusal: its status, Cloudflare code and message.
struct Refusal {
    status: u16,
    code: Option<u32>,
    message: String,
}

impl Remote {
    /// A client for the server at `url` (`http://HOST:PORT`), with credentials from the
    /// environment.
    pub(crate) fn connect(url: &str) -> Result<Self> {
        let root = url.trim_end_matches('/').to_owned();
        if !(root.starts_with("http://") || root.starts_with("https://")) {
            return Err(DataError::usage(format!(
                "--remote {url:?}: give the server's URL, such as http://127.0.0.1:8787"
            )));
        }
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| DataError::new(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                root,
                auth: credentials()?,
            }),
        })
    }

    fn namespaces_url(&self) -> String {
        format!(
            "{}/client/v4/accounts/{ACCOUNT}/storage/kv/namespaces",
            self.inner.root
        )
    }

    /// The server's stores, in its order.
    pub(crate) async fn stores(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for page in 1.. {
            let url = format!(
                "{}?page={page}&per_page={NAMESPACES_PER_PAGE}",
                self.namespaces_url()
            );
            let found: Vec<Namespace> = self
                .json(self.inner.http.get(url), "listing the server's stores")
                .await?
                .result
                .unwrap_or_default();
            let last = found.len() < NAMESPACES_PER_PAGE;
            names.extend(found.into_iter().map(|n| n.id));
            if last {
                break;
            }
        }
        Ok(names)
    }

    /// Each store's limits, from `/v1/admin/info`.
    pub(crate) async fn limits(&self) -> Result<BTreeMap<String, Limits>> {
        let url = format!("{}/v1/admin/info", self.inner.root);
        let response = self
            .send(self.inner.http.get(url), "reading the server's limits")
            .await?;
        let info: Info = parse(response, "the server's limits").await?;
        Ok(info
            .data
            .stores
            .into_iter()
            .map(|s| {
                let limits = Limits {
                    min_ttl: s.min_ttl,
                    max_value_size: s.max_value_size,
                };
                (s.name, limits)
            })
            .collect())
    }

    /// Store `name` on the server.
    pub(crate) fn store(&self, name: &str) -> RemoteStore {
        RemoteStore {
            remote: self.clone(),
            base: format!("{}/{}", self.namespaces_url(), wire::percent_encode(name)),
        }
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: impl fmt::Display,
    ) -> Result<reqwest::Response> {
        match self.try_send(request, &what).await? {
            Ok(response) => Ok(response),
            Err(refusal) => Err(refused(&what, &refusal)),
        }
    }

    /// Sends; a 4xx or 5xx answer is returned as a [`Refusal`] for the caller to judge.
    async fn try_send(
        &self,
        request: reqwest::RequestBuilder,
        what: &impl fmt::Display,
    ) -> Result<std::result::Result<reqwest::Response, Refusal>> {
        let request = match &self.inner.auth {
            Some(auth) => request.header(AUTHORIZATION, auth.clone()),
            None => request,
        };
        let response = request.send().await.map_err(|e| {
            DataError::new(format!(
                "{what}: cannot reach {}: {}",
                self.inner.root,
                chain(&e)
            ))
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(Ok(response));
        }
        let body = response.bytes().await.unwrap_or_default();
        let (code, message) = match serde_json::from_slice::<Envelope<serde_json::Value>>(&body) {
            Ok(envelope) if !envelope.errors.is_empty() => {
                let first = &envelope.errors[0];
                (first.code, first.message.clone())
            }
            _ => (None, String::from_utf8_lossy(&body).trim().to_owned()),
        };
        Ok(Err(Refusal {
            status: status.as_u16(),
            code,
            message,
        }))
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: impl fmt::Display,
    ) -> Result<Envelope<T>> {
        let response = self.send(request, &what).await?;
        parse(response, &what).await
    }
}

async fn parse<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
    what: impl fmt::Display,
) -> Result<T> {
    let body = response
        .bytes()
        .await
        .map_err(|e| DataError::new(format!("{what}: reading the answer failed: {}", chain(&e))))?;
    serde_json::from_slice(&body).map_err(|e| {
        DataError::new(format!(
            "{what}: the server's answer is not what kv serve sends: {e}"
        ))
    })
}

fn refused(what: impl fmt::Display, refusal: &Refusal) -> DataError {
    let hint = if refusal.status == 401 {
        "\nhint: set KV_API_KEY (or KV_TOKEN, or KV_USERNAME and KV_PASSWORD) to credentials \
         the server accepts"
    } else {
        ""
    };
    DataError::new(format!(
        "{what}: the server answered {}: {}{hint}",
        refusal.status, refusal.message
    ))
}

/// An error with its sources, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The `Authorization` header the environment asks for, if any.
fn credentials() -> Result<Option<HeaderValue>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let value = if let Some(key) = var("KV_API_KEY") {
        format!("Bearer {key}")
    } else if let Some(token) = var("KV_TOKEN") {
        format!("Bearer {token}")
    } else if let (Some(user), Some(password)) = (var("KV_USERNAME"), var("KV_PASSWORD")) {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {encoded}")
    } else {
        return Ok(None);
    };
    let mut header = HeaderValue::from_str(&value).map_err(|_| {
        DataError::usage("the credentials in KV_API_KEY, KV_TOKEN or KV_USERNAME/KV_PASSWORD are not valid in an HTTP header")
    })?;
    header.set_sensitive(true);
    Ok(Some(header))
}
