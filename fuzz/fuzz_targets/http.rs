//! The REST server in-process: a few requests per input — any method, a path built
//! on the routes (or any path), query, headers, credentials and body — through the same
//! service `kv serve` answers connections with, over in-memory stores, with an API
//! key, basic credentials and an HS256 JWT secret configured.
//!
//! Properties: nothing panics and no answer is a 5xx; a request without valid
//! credentials gets 401 with `WWW-Authenticate` unless its path is public; every error
//! is a JSON envelope of its route family with `success: false`; a JSON answer parses.

#![no_main]

use std::convert::Infallible;
use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::Arbitrary;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, header};
use axum::response::Response;
use bytes::Bytes;
use http_body_util::BodyExt as _;
use kv::server::{AuthSettings, BasicCredentials, Settings};
use kv_runtime::{Config, ManualClock, Runtime};
use libfuzzer_sys::fuzz_target;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use tower::ServiceExt as _;
use tower::util::BoxCloneSyncService;

const STORES: [&str; 3] = ["demo-cache", "small", "sessions"];
const CONFIG: &str = "[stores.small]\nmax_value_size = 65536\n[stores.sessions]\nmin_ttl = 1\n";
const API_KEY: &str = "fuzz-api-key";
const USERNAME: &str = "admin";
const PASSWORD: &str = "fuzz-password";
const JWT_SECRET: &str = "fuzz-jwt-secret";
const JWT_ISSUER: &str = "kv-fuzz";
const START_SECS: u64 = 1_700_000_000;

type Service = BoxCloneSyncService<Request<Body>, Response, Infallible>;

struct Harness {
    tokio: tokio::runtime::Runtime,
    service: Service,
    runtime: Runtime,
    clock: ManualClock,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        // Paused time: a streaming answer (watch) is read until a virtual deadline,
        // which passes as soon as nothing else can run.
        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a tokio runtime");
        let clock = ManualClock::new(START_SECS);
        let runtime = tokio.block_on(async {
            Runtime::builder()
                .config(Config::from_toml(CONFIG, "kv.toml").expect("the fuzz config"))
                .in_memory()
                .clock(clock.clone())
                .open()
                .await
                .expect("an in-memory runtime")
        });
        let settings = Settings::new(AuthSettings {
            api_key: Some(API_KEY.to_owned()),
            basic: Some(BasicCredentials {
                username: USERNAME.to_owned(),
                password: PASSWORD.to_owned(),
            }),
            jwt_secret: Some(JWT_SECRET.to_owned()),
            jwt_issuer: Some(JWT_ISSUER.to_owned()),
            ..AuthSettings::default()
        })
        .application("fuzz-app");
        let service = kv::server::in_process_service(&settings, &runtime, STORES)
            .expect("the service builds");
        Harness {
            tokio,
            service: BoxCloneSyncService::new(service),
            runtime,
            clock,
        }
    })
}

#[derive(Arbitrary, Debug)]
struct Input {
    requests: Vec<Req>,
}

#[derive(Arbitrary, Debug)]
struct Req {
    method: Verb,
    route: Route,
    query: Vec<(Param, Text)>,
    headers: Vec<(HeaderChoice, Text)>,
    auth: Auth,
    body: Payload,
    transfer: Transfer,
    /// Seconds the store clock moves before the request.
    advance: u8,
}

#[derive(Arbitrary, Debug)]
enum Verb {
    Get,
    Put,
    Post,
    Delete,
    Patch,
    Head,
    Options,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum StoreName {
    Known(u8),
    Other(String),
}

#[derive(Arbitrary, Debug)]
struct Key {
    text: String,
    /// Percent-encode `/` too (`%2F`), or leave it raw.
    encode_slash: bool,
}

#[derive(Arbitrary, Debug)]
enum Route {
    Raw(String),
    V1Value(StoreName, Key),
    V1List(StoreName),
    V1Count(StoreName),
    V1Keys(StoreName),
    V1Watch(StoreName),
    AdminInfo,
    CfNamespaces(String),
    CfNamespace(String, StoreName),
    CfKeys(String, StoreName),
    CfValue(String, StoreName, Key),
    CfMetadata(String, StoreName, Key),
    CfBulk(String, StoreName),
    CfBulkDelete(String, StoreName),
    CfBulkGet(String, StoreName),
    Health,
    OpenApi,
    Ui(String),
}

#[derive(Arbitrary, Debug)]
enum Param {
    Prefix,
    Limit,
    Cursor,
    ExpirationTtl,
    Expiration,
    Page,
    PerPage,
    Order,
    Direction,
    Type,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Text {
    Number(i64),
    Str(String),
    /// The last `cursor` an answer carried.
    LastCursor,
    /// The last `ETag` an answer carried.
    LastEtag,
    Star,
}

#[derive(Arbitrary, Debug)]
enum HeaderChoice {
    IfMatch,
    IfNoneMatch,
    ContentType,
    Accept,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Auth {
    None,
    ApiKey,
    WrongApiKey(String),
    XAuthKey,
    Basic,
    WrongBasic(String, String),
    Jwt(Claims),
    JwtWrongSecret(Claims),
    /// Any `Authorization` value: may or may not be valid.
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct Claims {
    exp: Option<i32>,
    nbf: Option<i32>,
    iss: Option<Option<String>>,
    aud: Option<String>,
    extra: Vec<(String, Json)>,
}

#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(Field, Json)>),
}

#[derive(Arbitrary, Debug)]
enum Field {
    Known(u8),
    Other(String),
}

const FIELDS: [&str; 10] = [
    "value",
    "ttl",
    "expiration",
    "expiration_ttl",
    "metadata",
    "key",
    "base64",
    "keys",
    "type",
    "withMetadata",
];

#[derive(Arbitrary, Debug)]
enum Payload {
    Empty,
    Bytes(Vec<u8>),
    Json(Json),
    /// `len * 256` bytes of `byte`: past the `small` store's 64 KiB at `len` > 256.
    Large {
        byte: u8,
        len: u16,
    },
    Multipart {
        boundary: String,
        parts: Vec<(Field, Option<String>, Vec<u8>)>,
        terminated: bool,
    },
}

#[derive(Arbitrary, Debug)]
enum Transfer {
    /// With `Content-Length`, as most clients send.
    Sized,
    /// Chunked, of about this many bytes each.
    Chunked(u8),
    /// Chunked, and the client goes away before the end.
    Aborted(u8),
}

/// What a request's `Text::Last*` refer to.
#[derive(Default)]
struct Memory {
    cursor: Option<String>,
    etag: Option<String>,
}

fuzz_target!(|input: Input| {
    let h = harness();
    h.tokio.block_on(async {
        for name in STORES {
            let store = h.runtime.store(name).expect("a served store");
            store
                .delete_prefix("")
                .await
                .expect("clearing a memory store");
        }
        h.clock.set(START_SECS);
        let mut memory = Memory::default();
        for req in input.requests.into_iter().take(6) {
            h.clock.advance(Duration::from_secs(u64::from(req.advance)));
            send(h, req, &mut memory).await;
        }
    });
});

/// Characters that must be escaped in a path segment; `/` optional.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']');
const SEGMENT_AND_SLASH: &AsciiSet = &SEGMENT.add(b'/');
const QUERY: &AsciiSet = &SEGMENT.add(b'&').add(b'=').add(b'+');

fn seg(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT_AND_SLASH).to_string()
}

fn store(name: &StoreName) -> String {
    match name {
        StoreName::Known(i) => STORES[usize::from(*i) % STORES.len()].to_owned(),
        StoreName::Other(s) => seg(s),
    }
}

fn key(key: &Key) -> String {
    let set = if key.encode_slash {
        SEGMENT_AND_SLASH
    } else {
        SEGMENT
    };
    utf8_percent_encode(&key.text, set).to_string()
}

fn path(route: &Route) -> String {
    let cf = |account: &str, name: &StoreName| {
        format!(
            "/client/v4/accounts/{}/storage/kv/namespaces/{}",
            seg(account),
            store(name)
        )
    };
    match route {
        Route::Raw(p) => p.clone(),
        Route::V1Value(s, k) => format!("/v1/kv/{}/{}", store(s), key(k)),
        Route::V1List(s) => format!("/v1/kv/{}", store(s)),
        Route::V1Count(s) => format!("/v1/stores/{}/count", store(s)),
        Route::V1Keys(s) => format!("/v1/stores/{}/keys", store(s)),
        Route::V1Watch(s) => format!("/v1/stores/{}/watch", store(s)),
        Route::AdminInfo => "/v1/admin/info".to_owned(),
        Route::CfNamespaces(a) => {
            format!("/client/v4/accounts/{}/storage/kv/namespaces", seg(a))
        }
        Route::CfNamespace(a, s) => cf(a, s),
        Route::CfKeys(a, s) => format!("{}/keys", cf(a, s)),
        Route::CfValue(a, s, k) => format!("{}/values/{}", cf(a, s), key(k)),
        Route::CfMetadata(a, s, k) => format!("{}/metadata/{}", cf(a, s), key(k)),
        Route::CfBulk(a, s) => format!("{}/bulk", cf(a, s)),
        Route::CfBulkDelete(a, s) => format!("{}/bulk/delete", cf(a, s)),
        Route::CfBulkGet(a, s) => format!("{}/bulk/get", cf(a, s)),
        Route::Health => "/health".to_owned(),
        Route::OpenApi => "/open-api.json".to_owned(),
        Route::Ui(tail) => format!("/ui/{}", seg(tail)),
    }
}

fn text(value: &Text, memory: &Memory) -> String {
    match value {
        Text::Number(n) => n.to_string(),
        Text::Str(s) => s.clone(),
        Text::LastCursor => memory.cursor.clone().unwrap_or_default(),
        Text::LastEtag => memory.etag.clone().unwrap_or_default(),
        Text::Star => "*".to_owned(),
    }
}

fn field(f: &Field) -> String {
    match f {
        Field::Known(i) => FIELDS[usize::from(*i) % FIELDS.len()].to_owned(),
        Field::Other(s) => s.clone(),
    }
}

fn json(value: &Json) -> serde_json::Value {
    match value {
        Json::Null => serde_json::Value::Null,
        Json::Bool(b) => (*b).into(),
        Json::Int(i) => (*i).into(),
        Json::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
        }
        Json::Str(s) => s.clone().into(),
        Json::Array(items) => items.iter().map(json).collect(),
        Json::Object(fields) => fields.iter().map(|(k, v)| (field(k), json(v))).collect(),
    }
}

/// Whether `Auth` certainly carries no valid credential.
fn surely_refused(auth: &Auth) -> bool {
    match auth {
        Auth::None | Auth::JwtWrongSecret(_) => true,
        Auth::WrongApiKey(k) => k.trim() != API_KEY,
        Auth::WrongBasic(u, p) => u != USERNAME || p != PASSWORD,
        Auth::ApiKey | Auth::XAuthKey | Auth::Basic | Auth::Jwt(_) | Auth::Raw(_) => false,
    }
}

fn jwt(claims: &Claims, secret: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut body = serde_json::Map::new();
    for (k, v) in &claims.extra {
        body.insert(k.clone(), json(v));
    }
    if let Some(exp) = claims.exp {
        body.insert("exp".into(), (now + i64::from(exp)).into());
    }
    if let Some(nbf) = claims.nbf {
        body.insert("nbf".into(), (now + i64::from(nbf)).into());
    }
    match &claims.iss {
        Some(None) => {
            body.insert("iss".into(), JWT_ISSUER.into());
        }
        Some(Some(other)) => {
            body.insert("iss".into(), other.clone().into());
        }
        None => {}
    }
    if let Some(aud) = &claims.aud {
        body.insert("aud".into(), aud.clone().into());
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &serde_json::Value::Object(body),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing")
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn payload(body: &Payload) -> (Vec<u8>, Option<String>) {
    match body {
        Payload::Empty => (Vec::new(), None),
        Payload::Bytes(b) => (b.clone(), None),
        Payload::Json(j) => (
            serde_json::to_vec(&json(j)).expect("JSON serializes"),
            Some("application/json".to_owned()),
        ),
        Payload::Large { byte, len } => (vec![*byte; usize::from(*len % 1024) * 256], None),
        Payload::Multipart {
            boundary,
            parts,
            terminated,
        } => {
            let mut out = Vec::new();
            for (name, filename, content) in parts {
                out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
                let mut disposition =
                    format!("Content-Disposition: form-data; name=\"{}\"", field(name));
                if let Some(f) = filename {
                    disposition.push_str(&format!("; filename=\"{f}\""));
                }
                out.extend_from_slice(disposition.as_bytes());
                out.extend_from_slice(b"\r\n\r\n");
                out.extend_from_slice(content);
                out.extend_from_slice(b"\r\n");
            }
            if *terminated {
                out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            }
            (
                out,
                Some(format!("multipart/form-data; boundary={boundary}")),
            )
        }
    }
}

fn chunked(bytes: Vec<u8>, size: u8, abort: bool) -> Body {
    let size = usize::from(size).max(1) * 64;
    let mut frames: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    if abort {
        frames.push(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "the client went away",
        )));
    }
    Body::from_stream(futures_util::stream::iter(frames))
}

async fn send(h: &Harness, req: Req, memory: &mut Memory) {
    let method = match &req.method {
        Verb::Get => Method::GET,
        Verb::Put => Method::PUT,
        Verb::Post => Method::POST,
        Verb::Delete => Method::DELETE,
        Verb::Patch => Method::PATCH,
        Verb::Head => Method::HEAD,
        Verb::Options => Method::OPTIONS,
        Verb::Other(m) => match Method::from_bytes(m.as_bytes()) {
            Ok(m) => m,
            Err(_) => return,
        },
    };
    let mut uri = path(&req.route);
    let query: Vec<String> = req
        .query
        .iter()
        .map(|(p, v)| {
            let name = match p {
                Param::Prefix => "prefix".to_owned(),
                Param::Limit => "limit".to_owned(),
                Param::Cursor => "cursor".to_owned(),
                Param::ExpirationTtl => "expiration_ttl".to_owned(),
                Param::Expiration => "expiration".to_owned(),
                Param::Page => "page".to_owned(),
                Param::PerPage => "per_page".to_owned(),
                Param::Order => "order".to_owned(),
                Param::Direction => "direction".to_owned(),
                Param::Type => "type".to_owned(),
                Param::Other(s) => utf8_percent_encode(s, QUERY).to_string(),
            };
            format!("{name}={}", utf8_percent_encode(&text(v, memory), QUERY))
        })
        .collect();
    if !query.is_empty() {
        uri = format!("{uri}?{}", query.join("&"));
    }
    let public_path = {
        let p = path(&req.route);
        let p = p.split('?').next().unwrap_or_default().to_owned();
        matches!(p.as_str(), "/health" | "/open-api.json" | "/ui") || p.starts_with("/ui/")
    };
    let mut builder = Request::builder().method(method.clone()).uri(uri.as_str());
    let (bytes, content_type) = payload(&req.body);
    if let Some(ct) = &content_type {
        builder = builder.header(header::CONTENT_TYPE, ct.as_str());
    }
    for (name, value) in &req.headers {
        let name = match name {
            HeaderChoice::IfMatch => header::IF_MATCH,
            HeaderChoice::IfNoneMatch => header::IF_NONE_MATCH,
            HeaderChoice::ContentType => header::CONTENT_TYPE,
            HeaderChoice::Accept => header::ACCEPT,
            HeaderChoice::Other(n) => match HeaderName::from_bytes(n.as_bytes()) {
                // Hyper keeps these consistent with the body; credentials come from `auth`.
                Ok(n)
                    if [
                        header::CONTENT_LENGTH,
                        header::TRANSFER_ENCODING,
                        header::AUTHORIZATION,
                    ]
                    .contains(&n)
                        || n.as_str() == "x-auth-key" =>
                {
                    continue;
                }
                Ok(n) => n,
                Err(_) => continue,
            },
        };
        if let Ok(value) = HeaderValue::from_str(&text(value, memory)) {
            builder = builder.header(name, value);
        }
    }
    let authorization = match &req.auth {
        Auth::None => None,
        Auth::ApiKey => Some(format!("Bearer {API_KEY}")),
        Auth::WrongApiKey(k) => Some(format!("Bearer {k}")),
        Auth::XAuthKey => {
            builder = builder.header("x-auth-key", API_KEY);
            None
        }
        Auth::Basic => Some(basic(USERNAME, PASSWORD)),
        Auth::WrongBasic(u, p) => Some(basic(u, p)),
        Auth::Jwt(c) => Some(format!("Bearer {}", jwt(c, JWT_SECRET))),
        Auth::JwtWrongSecret(c) => Some(format!("Bearer {}", jwt(c, "another-secret"))),
        Auth::Raw(r) => Some(r.clone()),
    };
    if let Some(a) = authorization {
        match HeaderValue::from_str(&a) {
            Ok(v) => builder = builder.header(header::AUTHORIZATION, v),
            Err(_) if surely_refused(&req.auth) => {}
            Err(_) => return,
        }
    }
    let body = match req.transfer {
        Transfer::Sized => {
            builder = builder.header(header::CONTENT_LENGTH, bytes.len());
            Body::from(bytes)
        }
        Transfer::Chunked(size) => chunked(bytes, size, false),
        Transfer::Aborted(size) => chunked(bytes, size, true),
    };
    let Ok(request) = builder.body(body) else {
        return; // not a request hyper would hand over (e.g. an unparsable URI)
    };
    let response = match h.service.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    check(
        response,
        &method,
        &uri,
        public_path,
        surely_refused(&req.auth),
        memory,
    )
    .await;
}

async fn check(
    response: Response,
    method: &Method,
    uri: &str,
    public_path: bool,
    refused: bool,
    memory: &mut Memory,
) {
    let status = response.status();
    let headers = response.headers().clone();
    // A watch answers a stream that never ends: read what comes within a virtual minute.
    let body = tokio::time::timeout(Duration::from_secs(60), response.into_body().collect()).await;
    let body = match body {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) => panic!("{method} {uri}: the body failed: {e}"),
        Err(_) => Bytes::new(),
    };
    let shown = String::from_utf8_lossy(&body[..body.len().min(2000)]).into_owned();
    assert!(
        !status.is_server_error(),
        "{method} {uri} answered {status}: {shown}"
    );
    if status == 401 {
        assert!(
            headers.contains_key(header::WWW_AUTHENTICATE),
            "{method} {uri}: 401 without WWW-Authenticate"
        );
    }
    if refused && !public_path {
        assert!(
            status == 401 || status == 413,
            "{method} {uri} without valid credentials answered {status}: {shown}"
        );
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.is_client_error() && method != Method::HEAD {
        assert!(
            is_json,
            "{method} {uri}: a {status} error that is not JSON: {shown}"
        );
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!("{method} {uri}: a {status} body that is not JSON ({e}): {shown}")
        });
        assert_eq!(
            value.get("success"),
            Some(&serde_json::Value::Bool(false)),
            "{method} {uri}: {shown}"
        );
        if uri.starts_with("/client/v4") {
            let errors = value.get("errors").and_then(|e| e.as_array());
            assert!(
                errors.is_some_and(|e| !e.is_empty()
                    && e.iter()
                        .all(|e| e["code"].is_u64() && e["message"].is_string())),
                "{method} {uri}: a Cloudflare error without errors[]: {shown}"
            );
        } else {
            assert!(
                value["code"].is_string(),
                "{method} {uri}: no code: {shown}"
            );
        }
    } else if is_json && method != Method::HEAD {
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!("{method} {uri}: a JSON answer that does not parse ({e}): {shown}")
        });
        let cursor = value
            .pointer("/result_info/cursor")
            .or_else(|| value.pointer("/data/cursor"))
            .and_then(|c| c.as_str());
        if let Some(c) = cursor.filter(|c| !c.is_empty()) {
            memory.cursor = Some(c.to_owned());
        }
    }
    if let Some(etag) = headers.get(header::ETAG).and_then(|v| v.to_str().ok()) {
        memory.etag = Some(etag.to_owned());
    }
}
