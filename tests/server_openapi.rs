//! `/open-api.json` says exactly what the server answers: real responses, successes and
//! errors of both route families, validate against the schemas the document gives
//! for their route and status (what schemathesis checks in .ci/schemathesis.sh, here
//! with a small validator for the keywords the document uses).

mod common;

use common::{API_KEY, TestServer, json};
use serde_json::{Value, json};

/// Validates `value` against `schema` (resolving `$ref` in `doc`); the error says where.
fn validate(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = doc
            .pointer(reference.trim_start_matches('#'))
            .ok_or_else(|| format!("{at}: no {reference}"))?;
        return validate(doc, target, value, at);
    }
    let fail = |why: String| Err(format!("{at}: {why}: {value}"));
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_u64() || value.is_i64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        });
        if !ok {
            return fail(format!("not of type {types:?}"));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return fail(format!("not one of {allowed:?}"));
    }
    if let Some(not) = schema.get("not")
        && validate(doc, not, value, at).is_ok()
    {
        return fail(format!("matches not {not}"));
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array)
        && !any.iter().any(|s| validate(doc, s, value, at).is_ok())
    {
        return fail("matches no anyOf".into());
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array)
        && one
            .iter()
            .filter(|s| validate(doc, s, value, at).is_ok())
            .count()
            != 1
    {
        return fail("matches not exactly one oneOf".into());
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_u64),
        value.as_u64(),
    ) && n < min
    {
        return fail(format!("under {min}"));
    }
    if let Some(object) = value.as_object() {
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return fail(format!("{name:?} is required"));
            }
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                if let Some(v) = object.get(name) {
                    validate(doc, property, v, &format!("{at}.{name}"))?;
                }
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && array.len() as u64 > max
        {
            return fail(format!("over {max} items"));
        }
        for (i, item) in array.iter().enumerate() {
            validate(doc, items, item, &format!("{at}[{i}]"))?;
        }
    } else if let (Some(max), Some(array)) = (
        schema.get("maxItems").and_then(Value::as_u64),
        value.as_array(),
    ) && array.len() as u64 > max
    {
        return fail(format!("over {max} items"));
    }
    Ok(())
}

/// The documented schema of `method path` answering `status` with JSON.
fn response_schema<'a>(doc: &'a Value, path: &str, method: &str, status: u16) -> &'a Value {
    let response = &doc["paths"][path][method]["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method} {path}: status {status} is not documented"
    );
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} {status}: no JSON schema: {response}"
    );
    schema
}

const V1_VALUE: &str = "/v1/kv/{store}/{key}";
const CF: &str = "/client/v4/accounts/{account_id}/storage/kv/namespaces";

#[tokio::test]
async fn real_answers_match_the_documented_schemas() {
    let s = TestServer::start().await;
    let (_, doc) = json(s.client.get(s.url("/open-api.json"))).await;
    let cf_keys = format!("{CF}/{{namespace_id}}/keys");
    let cf_value = format!("{CF}/{{namespace_id}}/values/{{key_name}}");
    let cf_bulk_get = format!("{CF}/{{namespace_id}}/bulk/get");
    let cf_metadata = format!("{CF}/{{namespace_id}}/metadata/{{key_name}}");
    let cases: Vec<(&str, &str, reqwest::RequestBuilder)> = vec![
        (
            V1_VALUE,
            "put",
            s.put("/v1/kv/demo-cache/a")
                .body(r#"{"value":{"n":1},"ttl":3600,"metadata":[1]}"#),
        ),
        (V1_VALUE, "get", s.get("/v1/kv/demo-cache/a")),
        (V1_VALUE, "get", s.get("/v1/kv/demo-cache/missing")),
        (
            V1_VALUE,
            "patch",
            s.client
                .patch(s.url("/v1/kv/demo-cache/a"))
                .bearer_auth(API_KEY)
                .body(r#"{"persist":true}"#),
        ),
        (V1_VALUE, "put", s.put("/v1/kv/demo-cache/b").body("{}")),
        (V1_VALUE, "delete", s.delete("/v1/kv/demo-cache/b")),
        ("/v1/kv/{store}", "get", s.get("/v1/kv/demo-cache?limit=1")),
        ("/v1/kv/{store}", "get", s.get("/v1/kv/demo-cache?limit=0")),
        ("/v1/kv/{store}", "get", s.get("/v1/kv/nope")),
        (
            "/v1/kv/{store}",
            "get",
            s.client.get(s.url("/v1/kv/demo-cache")),
        ),
        (
            "/v1/stores/{store}/count",
            "get",
            s.get("/v1/stores/demo-cache/count"),
        ),
        ("/v1/admin/info", "get", s.get("/v1/admin/info")),
        ("/health", "get", s.client.get(s.url("/health"))),
        (CF, "get", s.cf_get("")),
        (&cf_keys, "get", s.cf_get("/demo-cache/keys")),
        (&cf_keys, "get", s.cf_get("/nope/keys")),
        (
            &cf_value,
            "put",
            s.cf_put("/demo-cache/values/c").body("raw"),
        ),
        (&cf_value, "get", s.cf_get("/demo-cache/values/missing")),
        (&cf_metadata, "get", s.cf_get("/demo-cache/metadata/a")),
        (
            &cf_bulk_get,
            "post",
            s.cf_post("/demo-cache/bulk/get")
                .body(r#"{"keys":["a","c","zz"]}"#),
        ),
        (
            &cf_bulk_get,
            "post",
            s.cf_post("/demo-cache/bulk/get").body(r#"{"keys":[]}"#),
        ),
    ];
    for (path, method, request) in cases {
        let (status, body) = json(request).await;
        let schema = response_schema(&doc, path, method, status);
        if let Err(e) = validate(&doc, schema, &body, &format!("{method} {path} {status}")) {
            panic!("{e}\nschema: {schema}");
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn every_route_documents_the_errors_every_route_can_give() {
    let s = TestServer::start().await;
    let (_, doc) = json(s.client.get(s.url("/open-api.json"))).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let error = if path.starts_with("/client/v4") {
            "#/components/schemas/CloudflareError"
        } else {
            "#/components/schemas/WorkertownError"
        };
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            for (status, response) in responses {
                if status.as_str() >= "400" {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"], error,
                        "{method} {path} {status}"
                    );
                }
            }
            let public = operation["security"] == json!([{}]);
            assert_eq!(
                responses.contains_key("401"),
                !public,
                "{method} {path}: 401 exactly on the routes that need credentials"
            );
            if !public {
                assert!(
                    responses["401"]["headers"]["WWW-Authenticate"].is_object(),
                    "{method} {path}"
                );
            }
            for status in ["408", "413"] {
                assert!(responses.contains_key(status), "{method} {path} {status}");
            }
            let names_store = path.contains("{store}") || path.contains("{namespace_id}");
            if names_store {
                assert!(responses.contains_key("404"), "{method} {path}");
                let parameter = operation["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["name"] == "store" || p["name"] == "namespace_id")
                    .unwrap();
                assert_eq!(
                    parameter["schema"]["enum"],
                    json!(["demo-cache", "sessions", "small"]),
                    "{method} {path}: the served stores"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} operations");
    s.stop().await;
}

#[tokio::test]
async fn request_rules_are_the_runtimes() {
    let s = TestServer::start().await;
    let (_, doc) = json(s.client.get(s.url("/open-api.json"))).await;
    let list = &doc["paths"]["/v1/kv/{store}"]["get"]["parameters"];
    let limit = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(
        limit["schema"]["anyOf"][0],
        json!({"type": "integer", "minimum": 1, "maximum": 1000})
    );
    let key = doc["paths"][V1_VALUE]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "key")
        .unwrap()
        .clone();
    assert_eq!(key["schema"]["maxLength"], 512);
    assert_eq!(key["schema"]["not"], json!({"enum": [".", ".."]}));
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["PutValue"]["required"], json!(["value"]));
    // The test server's stores: the highest floor is the default 60 (sessions has 1).
    assert_eq!(schemas["PutValue"]["properties"]["ttl"]["minimum"], 60);
    assert_eq!(schemas["Touch"]["oneOf"].as_array().unwrap().len(), 3);
    let touch = &schemas["Touch"];
    for (body, valid) in [
        (json!({"ttl": 120}), true),
        (json!({"persist": true, "ttl": null}), true),
        (json!({"expiration": 1_900_000_000, "persist": false}), true),
        (json!({"ttl": 120, "persist": true}), false),
        (json!({"ttl": 0}), false),
        (json!({}), false),
    ] {
        assert_eq!(
            validate(&doc, touch, &body, "touch").is_ok(),
            valid,
            "{body}"
        );
    }
    s.stop().await;
}
