//! The request rules the route types cannot state (their fields are strings or loose
//! JSON, so that a bad value gets the runtime's own error message), added to the
//! rendered document: key lengths, list limits, TTL floors, enumerations, the one-of
//! of a touch. Each mirrors a check of the runtime or a handler, with its limit.
//!
//! What no schema can say is left to the descriptions: an `expiration` must lie at
//! least `min_ttl` seconds in the future (a bound on the clock), a `cursor` must be
//! one the server issued, metadata must serialize to at most 1024 bytes, and a key's
//! limit is 512 bytes of UTF-8 where a schema counts characters.

use kv_runtime::limits::{
    MAX_BULK_ITEMS, MAX_GET_MANY_KEYS, MAX_KEY_BYTES, MAX_LIST_LIMIT, MIN_CACHE_TTL_SECS,
};
use serde_json::{Value, json};

use super::envelope::Served;

/// A key: 1 to 512 bytes, not `.` or `..`.
fn key() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_BYTES,
        "not": {"enum": [".", ".."]},
        "description": "A key: 1 to 512 bytes of UTF-8, not `.` or `..`",
    })
}

/// A whole number of seconds; `format` dropped: values run to `u64::MAX`.
fn seconds(minimum: u64, nullable: bool, description: Option<&Value>) -> Value {
    let mut schema = json!({
        "type": if nullable { json!(["integer", "null"]) } else { json!("integer") },
        "minimum": minimum,
    });
    if let Some(description) = description {
        schema["description"] = description.clone();
    }
    schema
}

/// Applies the rules to the rendered document.
pub(super) fn apply(doc: &mut Value, served: &Served) {
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for operation in item.values_mut() {
                parameters(operation, served);
            }
        }
        let bulk = "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk";
        for (path, method) in [(bulk, "put"), (bulk, "delete")] {
            let pointer = format!(
                "/{}/{method}/requestBody/content/application~1json/schema",
                path.replace('~', "~0").replace('/', "~1")
            );
            if let Some(schema) = paths_pointer(paths, &pointer) {
                schema["maxItems"] = json!(MAX_BULK_ITEMS);
                if method == "delete" {
                    schema["items"] = key();
                }
            }
        }
        // An empty body is a value: the empty one.
        let values = "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{key_name}";
        if let Some(body) = paths
            .get_mut(values)
            .and_then(|item| item.pointer_mut("/put/requestBody"))
        {
            body["required"] = json!(false);
        }
        let bulk_delete = format!("{bulk}/delete");
        let pointer = format!(
            "/{}/post/requestBody/content/application~1json/schema",
            bulk_delete.replace('/', "~1")
        );
        if let Some(schema) = paths_pointer(paths, &pointer) {
            schema["maxItems"] = json!(MAX_BULK_ITEMS);
            schema["items"] = key();
        }
    }
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    if let Some(put) = schemas.get_mut("PutValue") {
        put["required"] = json!(["value"]);
        let described = put["properties"]["value"]["description"].clone();
        put["properties"]["value"] = json!({"description": described, "not": {"type": "null"}});
        time_fields(put, served);
    }
    if let Some(item) = schemas.get_mut("BulkWriteItem") {
        item["properties"]["key"] = key();
        time_fields(item, served);
        // With `base64: true`, `value` is standard base64 with padding.
        item["if"] = json!({"required": ["base64"], "properties": {"base64": {"const": true}}});
        item["then"] = json!({"properties": {"value": {
            "pattern": "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
        }}});
    }
    if let Some(get) = schemas.get_mut("BulkGet") {
        get["properties"]["keys"]["items"] = key();
        get["properties"]["keys"]["minItems"] = json!(1);
        get["properties"]["keys"]["maxItems"] = json!(MAX_GET_MANY_KEYS);
        get["properties"]["type"]["enum"] = json!(["text", "json", null]);
    }
    if let Some(touch) = schemas.get_mut("Touch") {
        *touch = touch_schema(touch, served);
    }
}

/// `/paths` is an object; `pointer` is relative to it.
fn paths_pointer<'a>(
    paths: &'a mut serde_json::Map<String, Value>,
    pointer: &str,
) -> Option<&'a mut Value> {
    let (first, rest) = pointer.trim_start_matches('/').split_once('/')?;
    let first = first.replace("~1", "/").replace("~0", "~");
    paths.get_mut(&first)?.pointer_mut(&format!("/{rest}"))
}

fn parameters(operation: &mut Value, served: &Served) {
    let Some(parameters) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for parameter in parameters {
        let name = parameter.get("name").and_then(Value::as_str).unwrap_or("");
        let description = parameter.get("description").cloned();
        let schema = match (parameter.get("in").and_then(Value::as_str), name) {
            (Some("path"), "key" | "key_name") => key(),
            (Some("query"), "limit") => {
                json!({"type": "integer", "minimum": 1, "maximum": MAX_LIST_LIMIT})
            }
            // Clamped, not refused: page 0 is page 1, per_page to 5..=100.
            (Some("query"), "page" | "per_page") => {
                json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})
            }
            (Some("query"), "order") => json!({"type": "string", "enum": ["id", "title"]}),
            (Some("query"), "direction") => json!({"type": "string", "enum": ["asc", "desc"]}),
            (Some("query"), "expiration_ttl") => seconds(served.min_ttl, false, None),
            (Some("query"), "expiration") => seconds(0, false, None),
            (Some("query"), "cache_ttl") => seconds(MIN_CACHE_TTL_SECS, false, None),
            _ => continue,
        };
        // A whole number in a query may also be empty (`?limit=`), which means unset.
        let schema = if schema["type"] == "integer" && parameter["in"] == "query" {
            json!({"anyOf": [schema, {"type": "string", "maxLength": 0}]})
        } else {
            schema
        };
        parameter["schema"] = schema;
        if let Some(description) = description {
            parameter["description"] = description;
        }
    }
}

/// `ttl` / `expiration_ttl` at least the floor, `expiration` any whole second.
fn time_fields(schema: &mut Value, served: &Served) {
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, field) in properties.iter_mut() {
        let minimum = match name.as_str() {
            "ttl" | "expiration_ttl" => served.min_ttl,
            "expiration" => 0,
            _ => continue,
        };
        *field = seconds(minimum, true, field.get("description"));
    }
}

/// Exactly one of `ttl`, `expiration` or `persist: true` (the others absent, `null`,
/// or `persist: false`).
fn touch_schema(touch: &Value, served: &Served) -> Value {
    let described = |name: &str| touch["properties"][name]["description"].clone();
    let ttl = seconds(served.min_ttl, false, Some(&described("ttl")));
    let expiration = seconds(0, false, Some(&described("expiration")));
    let unset = json!({"type": "null"});
    let not_persist = json!({"type": ["boolean", "null"], "enum": [false, null]});
    let variant = |required: &str, ttl: &Value, expiration: &Value, persist: &Value| {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": [required],
            "properties": {"ttl": ttl, "expiration": expiration, "persist": persist},
        })
    };
    json!({
        "description": touch.get("description").cloned().unwrap_or(Value::Null),
        "oneOf": [
            variant("ttl", &ttl, &unset, &not_persist),
            variant("expiration", &unset, &expiration, &not_persist),
            variant("persist", &unset, &unset, &json!({"type": "boolean", "enum": [true]})),
        ],
    })
}
