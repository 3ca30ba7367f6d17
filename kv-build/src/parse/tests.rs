//! Grammar acceptance (`assert_parses!` / `assert_rejects!`) and AST shape.

use pest::Parser as _;

use super::{ManifestParser, Rule, parse};
use crate::Source;
use crate::ast::{Item, Value};

/// Asserts that `rule` matches the whole input.
macro_rules! assert_parses {
    ($rule:expr, $input:expr) => {
        match ManifestParser::parse($rule, $input) {
            Ok(pairs) => {
                let end = pairs.last().map_or(0, |pair| pair.as_span().end());
                assert_eq!(
                    end,
                    $input.len(),
                    "{:?} matched only {:?}",
                    $rule,
                    &$input[..end]
                );
            }
            Err(error) => panic!("{:?} rejected {:?}:\n{error}", $rule, $input),
        }
    };
}

/// Asserts that `rule` does not match the whole input.
macro_rules! assert_rejects {
    ($rule:expr, $input:expr) => {
        if let Ok(pairs) = ManifestParser::parse($rule, $input) {
            let end = pairs.last().map_or(0, |pair| pair.as_span().end());
            assert!(end < $input.len(), "{:?} accepted {:?}", $rule, $input);
        }
    };
}

#[test]
fn identifiers() {
    assert_parses!(Rule::identifier, "kv_store");
    assert_parses!(Rule::identifier, "OPENAI_API_KEY");
    assert_parses!(Rule::identifier, "_private");
    assert_parses!(Rule::identifier, "with-dash2");
    assert_rejects!(Rule::identifier, "2fast");
    assert_rejects!(Rule::identifier, "-dash");
    assert_rejects!(Rule::identifier, "a.b");
}

#[test]
fn strings() {
    assert_parses!(Rule::string, r#""demo-cache""#);
    assert_parses!(Rule::string, r#""""#);
    assert_parses!(Rule::string, r#""0 3 * * *""#);
    assert_parses!(Rule::string, r#""say \"hi\"\n\t\\ \/ \u00e9""#);
    assert_parses!(Rule::string, r#""ünïcødé ✓""#);
    assert_rejects!(Rule::string, r#""unterminated"#);
    assert_rejects!(Rule::string, "\"two\nlines\"");
    assert_rejects!(Rule::string, r#""bad \q escape""#);
    assert_rejects!(Rule::string, r#""short \u12 escape""#);
}

#[test]
fn scalars() {
    assert_parses!(Rule::integer, "42");
    assert_parses!(Rule::integer, "-1");
    assert_parses!(Rule::integer, "0");
    assert_rejects!(Rule::integer, "1.5");
    assert_rejects!(Rule::integer, "12abc");
    assert_parses!(Rule::boolean, "true");
    assert_parses!(Rule::boolean, "false");
    assert_rejects!(Rule::boolean, "trueish");
    assert_rejects!(Rule::boolean, "True");
}

#[test]
fn lists_and_objects() {
    assert_parses!(Rule::list, "[]");
    assert_parses!(Rule::list, r#"["a", "b"]"#);
    assert_parses!(Rule::list, "[\n  \"a\",\n  \"b\",\n]");
    assert_parses!(Rule::list, "[1, [true, false], { k = \"v\" }]");
    assert_parses!(Rule::list, "[\"a\", # comment\n \"b\" /* c */ ]");
    assert_rejects!(Rule::list, r#"["a" "b"]"#);
    assert_rejects!(Rule::list, "[,]");
    assert_parses!(Rule::object, "{}");
    assert_parses!(Rule::object, r#"{ attempts = 3, backoff = "exponential" }"#);
    assert_parses!(
        Rule::object,
        "{\n  \"team\" = \"support\"\n  owner: \"ops\"\n}"
    );
    assert_rejects!(Rule::object, "{ = 3 }");
}

#[test]
fn blocks_and_attributes() {
    assert_parses!(Rule::block, "kv_store \"demo-cache\" {}");
    assert_parses!(Rule::block, "domain { cname = \"api\" }");
    assert_parses!(
        Rule::block,
        "observer \"o\" { source { rule { actions = [\"PutObject\"] } } }"
    );
    assert_parses!(Rule::block, "env \"OPENAI_API_KEY\" { secret = true }");
    assert_parses!(Rule::attribute, "cron = \"0 * * * *\"");
    assert_rejects!(Rule::block, "kv_store demo-cache {}");
    assert_rejects!(Rule::block, "kv_store \"a\" \"b\" {}");
    assert_rejects!(Rule::attribute, "cron = ");
}

#[test]
fn documents() {
    assert_parses!(Rule::document, "");
    assert_parses!(Rule::document, "# only a comment");
    assert_parses!(Rule::document, "\u{FEFF}application \"a\" {}");
    assert_parses!(Rule::document, "a = 1 b { } c \"d\" { e = [] }");
    assert_parses!(
        Rule::document,
        "/* a */ application /* b */ \"x\" /* c */ { /* d */ }"
    );
    assert_parses!(
        Rule::document,
        "application \"a\" {\r\n  # c\r\n  kv_store \"b\" {} // d\r\n}\r\n"
    );
    assert_rejects!(Rule::document, "application \"a\" {");
    assert_rejects!(Rule::document, "application \"a\" {} }");
    assert_rejects!(Rule::document, "/* never closed");
}

#[test]
fn lowering_keeps_values_and_spans() {
    let text = "application \"demo-app\" {\n  kv_store \"demo-cache\" { description = \"a \\\"b\\\"\" }\n  n = [1, -2]\n  o = { k = true }\n}\n";
    let document = parse(&Source::new("m", text)).expect("parses");
    let [Item::Block(app)] = document.items.as_slice() else {
        panic!("one block: {:?}", document.items);
    };
    assert_eq!(app.kind.value, "application");
    assert_eq!(&text[app.kind.span.clone()], "application");
    let label = app.label.as_ref().expect("labelled");
    assert_eq!(label.value, "demo-app");
    assert_eq!(&text[label.span.clone()], "\"demo-app\"");
    assert_eq!(&text[app.span.clone()], text.trim_end());

    let store = app.blocks().next().expect("a store");
    assert_eq!(store.kind.value, "kv_store");
    let description = store.attributes().next().expect("an attribute");
    assert_eq!(description.name.value, "description");
    assert_eq!(description.value.value, Value::String("a \"b\"".to_owned()));
    assert_eq!(&text[description.value.span.clone()], "\"a \\\"b\\\"\"");

    let attributes: Vec<_> = app.attributes().collect();
    let Value::List(items) = &attributes[0].value.value else {
        panic!("a list");
    };
    let numbers: Vec<&Value> = items.iter().map(|item| &item.value).collect();
    assert_eq!(numbers, [&Value::Integer(1), &Value::Integer(-2)]);
    let Value::Object(entries) = &attributes[1].value.value else {
        panic!("an object");
    };
    assert_eq!(entries[0].0.value, "k");
    assert_eq!(entries[0].1.value, Value::Boolean(true));
}

#[test]
fn unicode_escapes() {
    let document = parse(&Source::new("m", r#"x = "\u00e9\u2713""#)).expect("parses");
    let [Item::Attribute(x)] = document.items.as_slice() else {
        panic!("one attribute");
    };
    assert_eq!(x.value.value, Value::String("é✓".to_owned()));
    let surrogate = parse(&Source::new("m", r#"x = "\ud800""#)).expect_err("a surrogate");
    assert_eq!(
        surrogate.iter().next().map(|d| d.code()),
        Some("kv::syntax")
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("x = {}{}", "[".repeat(10_000), "]".repeat(10_000));
    let errors = parse(&Source::new("m", deep)).expect_err("too deep");
    assert_eq!(errors.iter().next().map(|d| d.code()), Some("kv::syntax"));
    let nested = format!("{}{}", "a {".repeat(100), "}".repeat(100));
    let errors = parse(&Source::new("m", nested)).expect_err("too deep");
    assert!(errors.render_plain().contains("nest more than 64 levels"));
}
