//! The kv plugin's rules: what `application`, `kv_store`, `kv_cache`, `service` and
//! `actor` blocks mean, and every way they can be wrong.

mod kv_store;
mod names;

use crate::Source;
use crate::ast::{Block, Document, Item, Spanned};
use crate::codegen::binding;
use crate::diagnostic::{Diagnostic, Diagnostics, codes};
use crate::model::{Actor, Application, KvStore, Location, Service, StoreKind};

/// Block types that only mean something directly inside `application`.
const APPLICATION_CHILDREN: &[&str] = &["kv_store", "kv_cache", "service", "actor"];

/// Checks a parsed manifest against the kv rules and returns its typed view.
///
/// Block types other than `application`, `kv_store`, `kv_cache`, `service` and `actor`
/// belong to other plugins and are ignored, as are attributes outside `kv_store`.
///
/// # Errors
///
/// Returns every finding at once, in file order: a missing or second `application`,
/// missing or invalid names, duplicate stores and bindings, unknown or mistyped store
/// attributes, and kv blocks outside the `application`.
///
/// # Examples
///
/// ```
/// let source = kv_build::Source::new("raindrop.manifest", r#"
/// application "demo-app" {
///   kv_store "demo-cache" {}
///   kv_cache "demo_cache" {}
/// }
/// "#);
/// let document = kv_build::parse(&source)?;
/// let errors = kv_build::validate(&document).unwrap_err();
/// assert_eq!(errors.iter().next().map(|d| d.code()), Some("kv::duplicate_binding"));
/// # Ok::<(), kv_build::Diagnostics>(())
/// ```
pub fn validate(document: &Document) -> Result<Application, Diagnostics> {
    let source = &document.source;
    let mut diagnostics = Vec::new();
    let mut applications = Vec::new();
    for block in blocks(&document.items) {
        match block.kind.value.as_str() {
            "application" => applications.push(block),
            kind if APPLICATION_CHILDREN.contains(&kind) => diagnostics.push(
                Diagnostic::new(
                    codes::MISPLACED_BLOCK,
                    format!("`{kind}` blocks belong inside the `application` block"),
                )
                .with_label(block.kind.span.clone(), "outside `application`")
                .with_help(format!(
                    "move it into the application: application \"my-app\" {{ {kind} \"...\" {{}} }}"
                )),
            ),
            _ => {}
        }
    }

    let Some((first, others)) = applications.split_first() else {
        let mut missing = Diagnostic::new(
            codes::MISSING_APPLICATION,
            format!("{} declares no `application`", source.name()),
        );
        if !source.text().trim().is_empty() {
            missing =
                missing.with_label(0..0, "expected `application \"name\" { ... }` in this file");
        }
        // First: it explains the misplaced blocks reported at the same place.
        diagnostics.insert(
            0,
            missing
                .with_help("declare one: application \"demo-app\" { kv_store \"demo-cache\" {} }"),
        );
        return Err(Diagnostics::new(source.clone(), diagnostics));
    };
    for other in others {
        diagnostics.push(
            Diagnostic::new(
                codes::DUPLICATE_APPLICATION,
                "a manifest declares exactly one `application`",
            )
            .with_label(other.kind.span.clone(), "second `application`")
            .with_label(first.kind.span.clone(), "first `application`")
            .with_help("merge the blocks, or move the second application to its own manifest"),
        );
    }

    let application = application(source, first, &mut diagnostics);
    match application {
        Some(application) if diagnostics.is_empty() => Ok(application),
        _ => Err(Diagnostics::new(source.clone(), diagnostics)),
    }
}

/// Reads the `application` block; `None` if something was wrong (and reported).
fn application(
    source: &Source,
    block: &Block,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Application> {
    let name = block_name(block, "application", diagnostics);
    let mut stores = Vec::new();
    let mut store_names = Vec::new();
    let mut services = Vec::new();
    let mut actors = Vec::new();
    for child in block.blocks() {
        let kind = match child.kind.value.as_str() {
            "kv_store" => StoreKind::KvStore,
            "kv_cache" => StoreKind::KvCache,
            "service" => {
                if let Some(name) = block_name(child, "service", diagnostics) {
                    services.push(Service {
                        name: name.value.clone(),
                        location: location(source, child),
                    });
                }
                continue;
            }
            "actor" => {
                if let Some(name) = block_name(child, "actor", diagnostics) {
                    actors.push(Actor {
                        name: name.value.clone(),
                        location: location(source, child),
                    });
                }
                continue;
            }
            _ => continue,
        };
        let store_name = block_name(child, "store", diagnostics);
        let description = kv_store::attributes(child, diagnostics);
        if let Some(store_name) = store_name {
            store_names.push(names::StoreName {
                block_type: kind.block_type(),
                name: store_name,
            });
            stores.push(KvStore {
                name: store_name.value.clone(),
                binding: binding(&store_name.value),
                description,
                kind,
                location: location(source, child),
            });
        }
    }
    diagnostics.extend(names::duplicates(&store_names));
    Some(Application {
        name: name?.value.clone(),
        manifest: source.file_name().to_owned(),
        location: location(source, block),
        stores,
        services,
        actors,
    })
}

/// The block's label if it is present and a valid name; reports it otherwise.
fn block_name<'a>(
    block: &'a Block,
    what: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<&'a Spanned<String>> {
    let kind = &block.kind.value;
    let Some(label) = &block.label else {
        diagnostics.push(
            Diagnostic::new(codes::MISSING_NAME, format!("`{kind}` needs a name"))
                .with_label(
                    block.kind.span.clone(),
                    format!("expected a name after `{kind}`"),
                )
                .with_help(format!(
                    "write it in quotes: {kind} \"my-{what}\" {{ ... }}"
                )),
        );
        return None;
    };
    match names::check(what, label) {
        Some(diagnostic) => {
            diagnostics.push(diagnostic);
            None
        }
        None => Some(label),
    }
}

fn location(source: &Source, block: &Block) -> Location {
    let (line, column) = source.line_column(block.kind.span.start);
    Location { line, column }
}

fn blocks(items: &[Item]) -> impl Iterator<Item = &Block> {
    items.iter().filter_map(|item| match item {
        Item::Block(block) => Some(block),
        Item::Attribute(_) => None,
    })
}
