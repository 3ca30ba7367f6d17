//! What the route attributes leave implicit, added to the rendered document so that it
//! says exactly what the server answers (schemathesis checks every response against it):
//!
//! - a success body is declared as its payload (`body = Count`); here it is wrapped in
//!   the envelope of its family, `{"status","success","data"}` on `/v1` and `/health`,
//!   `{"success","errors","messages","result","result_info"?}` on `/client/v4`;
//! - every error status gets the error envelope of its family as its body;
//! - the answers [`Front`](crate::server::front::Front) gives before any handler runs:
//!   401 on every non-public route, 413 for a declared body over every limit, 408 for a
//!   request that took too long;
//! - path parameters naming a store list the stores this server serves.

use serde_json::{Map, Value, json};

/// What the document needs to know about the served stores.
#[derive(Debug, Clone)]
pub(crate) struct Served {
    /// The stores' names.
    pub(crate) stores: Vec<String>,
    /// The highest expiration floor among them (`min_ttl`): a TTL at least this is
    /// valid for every store.
    pub(crate) min_ttl: u64,
}

const WORKERTOWN_ERROR: &str = "WorkertownError";
const CLOUDFLARE_ERROR: &str = "CloudflareError";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Workertown,
    Cloudflare,
}

fn family(path: &str) -> Family {
    if path.starts_with("/client/v4") {
        Family::Cloudflare
    } else {
        Family::Workertown
    }
}

/// Whether a path's successes are enveloped (the data browser's files and this
/// document are not).
fn enveloped(path: &str) -> bool {
    path.starts_with("/client/v4") || path.starts_with("/v1/") || path == "/health"
}

/// Completes the document, as the module docs say.
pub(crate) fn complete(doc: &mut Value, served: &Served) {
    let schemas = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut);
    if let Some(schemas) = schemas {
        schemas.insert(WORKERTOWN_ERROR.to_owned(), workertown_error());
        schemas.insert(CLOUDFLARE_ERROR.to_owned(), cloudflare_error());
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            if matches!(
                method.as_str(),
                "get" | "put" | "post" | "delete" | "patch" | "head" | "options"
            ) {
                operation_in(path, operation, served);
            }
        }
    }
}

fn operation_in(path: &str, operation: &mut Value, served: &Served) {
    let family = family(path);
    let public = operation.get("security") == Some(&json!([{}]));
    let mut names_a_store = false;
    let mut other_parameters = false;
    if let Some(parameters) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    {
        for parameter in parameters {
            match parameter.get("name").and_then(Value::as_str) {
                Some("store" | "namespace_id") if parameter.get("in") == Some(&json!("path")) => {
                    parameter["schema"] = json!({"type": "string", "enum": served.stores});
                    names_a_store = true;
                }
                Some("account_id") => {}
                _ => other_parameters = true,
            }
        }
    }
    let has_input = other_parameters || operation.get("requestBody").is_some();
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        let Ok(code) = status.parse::<u16>() else {
            continue;
        };
        if (200..300).contains(&code) && enveloped(path) {
            if let Some(schema) = response.pointer_mut("/content/application~1json/schema") {
                let payload = schema.take();
                *schema = success(family, payload);
            }
        } else if code >= 400 {
            response["content"] = error_content(family);
        }
    }
    let mut add = |status: &str, description: &str| {
        responses.entry(status.to_owned()).or_insert_with(
            || json!({"description": description, "content": error_content(family)}),
        );
    };
    if has_input {
        add(
            "400",
            "An invalid parameter, key or body: the message names it and the limit",
        );
    }
    if names_a_store {
        add(
            "404",
            "`store_not_found` (Cloudflare 10013): the path names no store of the manifest",
        );
    }
    add(
        "408",
        "`timeout`: the request took longer than the server's request timeout",
    );
    add(
        "413",
        "`payload_too_large`: the declared body is larger than any route accepts",
    );
    if !public {
        add("401", "`unauthorized`: missing or wrong credentials");
        if let Some(unauthorized) = responses.get_mut("401") {
            unauthorized["headers"] = json!({
                "WWW-Authenticate": {
                    "description": "The schemes the server accepts",
                    "schema": {"type": "string"},
                }
            });
        }
    }
}

/// The success envelope around `payload`.
fn success(family: Family, payload: Value) -> Value {
    match family {
        Family::Workertown => json!({
            "type": "object",
            "required": ["status", "success", "data"],
            "properties": {
                "status": {"type": "integer", "enum": [200]},
                "success": {"type": "boolean", "enum": [true]},
                "data": payload,
            },
        }),
        Family::Cloudflare => json!({
            "type": "object",
            "required": ["success", "errors", "messages", "result"],
            "properties": {
                "success": {"type": "boolean", "enum": [true]},
                "errors": {"type": "array", "maxItems": 0},
                "messages": {"type": "array", "maxItems": 0},
                "result": payload,
                "result_info": {"type": "object"},
            },
        }),
    }
}

fn error_content(family: Family) -> Value {
    let name = match family {
        Family::Workertown => WORKERTOWN_ERROR,
        Family::Cloudflare => CLOUDFLARE_ERROR,
    };
    json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}})
}

fn workertown_error() -> Value {
    let mut properties = Map::new();
    properties.insert(
        "status".into(),
        json!({"type": "integer", "description": "The HTTP status"}),
    );
    properties.insert(
        "success".into(),
        json!({"type": "boolean", "enum": [false]}),
    );
    properties.insert("data".into(), json!({"type": "null"}));
    properties.insert(
        "error".into(),
        json!({"type": "string", "description": "What is wrong, naming the limit and the value"}),
    );
    properties.insert(
        "code".into(),
        json!({"type": "string", "description": "A stable code: `key_not_found`, `unauthorized`, ..."}),
    );
    json!({
        "type": "object",
        "description": "An error of the /v1 routes: `{\"status\":404,\"success\":false,\"data\":null,\"error\":\"...\",\"code\":\"key_not_found\"}`",
        "required": ["status", "success", "data", "error", "code"],
        "properties": properties,
    })
}

fn cloudflare_error() -> Value {
    json!({
        "type": "object",
        "description": "An error of the Cloudflare routes, in Cloudflare's shape",
        "required": ["success", "errors", "messages", "result"],
        "properties": {
            "success": {"type": "boolean", "enum": [false]},
            "errors": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "integer", "description": "Cloudflare's code: 10009 key not found, 10013 namespace not found, 10000 authentication, ..."},
                        "message": {"type": "string"},
                    },
                },
            },
            "messages": {"type": "array", "maxItems": 0},
            "result": {"type": "null"},
        },
    })
}
