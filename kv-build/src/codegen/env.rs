//! The `Env` struct and its constructors.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Ident, Path};

use crate::format::one_line;
use crate::model::{Application, KvStore};

/// Generates `struct Env` and `impl Env` for `app`.
pub(super) fn env(app: &Application, runtime: &Path, env: &Ident) -> TokenStream {
    let stores = app.stores();
    let struct_doc = [
        format!(
            " Bindings of application `{}`, declared in `{}`.",
            app.name(),
            one_line(app.manifest())
        ),
        String::new(),
        format!(" Open it with [`{env}::open`], or [`{env}::in_memory`] in tests."),
    ];
    let mut fields = Vec::with_capacity(stores.len());
    let mut opened = Vec::with_capacity(stores.len());
    let mut in_memory = Vec::with_capacity(stores.len());
    for store in stores {
        let field = match syn::parse_str::<Ident>(store.binding()) {
            Ok(field) => field,
            Err(_) => {
                let message = format!("kv_build: `{}` is not a valid field name", store.binding());
                return quote!(::core::compile_error!(#message););
            }
        };
        let name = store.name();
        let doc = field_doc(app, store);
        fields.push(quote! {
            #(#[doc = #doc])*
            pub #field: #runtime::KvStore
        });
        opened.push(
            quote!(#field: #runtime::__codegen::open_store(runtime, Self::APPLICATION, #name)?),
        );
        in_memory.push(quote!(#field: #runtime::__codegen::memory_store(&runtime, #name)));
    }
    let application = app.name();
    let names = stores.iter().map(KvStore::name);

    // With no stores the runtime would go unused; say so instead of warning.
    let open_body = if stores.is_empty() {
        quote! {
            let _ = runtime;
            ::core::result::Result::Ok(Self {})
        }
    } else {
        quote!(::core::result::Result::Ok(Self { #(#opened,)* }))
    };
    let in_memory_body = if stores.is_empty() {
        quote!(Self {})
    } else {
        quote! {
            let runtime = #runtime::Runtime::in_memory();
            Self { #(#in_memory,)* }
        }
    };

    quote! {
        #(#[doc = #struct_doc])*
        #[derive(Clone, Debug)]
        #[allow(non_snake_case, dead_code)]
        pub struct #env {
            #(#fields,)*
        }

        #[allow(dead_code)]
        impl #env {
            /// The application name from the manifest.
            pub const APPLICATION: &'static str = #application;

            /// The names of the application's stores, in manifest order.
            pub const STORES: &'static [&'static str] = &[#(#names),*];

            /// Opens every store of this application from `runtime`.
            ///
            /// # Errors
            ///
            /// Returns the runtime's error if a store cannot be opened.
            pub fn open(runtime: &#runtime::Runtime) -> #runtime::Result<Self> {
                #open_body
            }

            /// Opens every store in a fresh in-memory runtime, for tests.
            pub fn in_memory() -> Self {
                #in_memory_body
            }
        }
    }
}

/// A description is plain text: escape what Markdown or rustdoc would read as markup
/// (`session:<id>` would be an unclosed HTML tag, `[x]` a broken intra-doc link), so it
/// renders as written and never trips a rustdoc lint in the user's crate.
fn escape_markdown(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        if matches!(c, '\\' | '<' | '>' | '[' | ']' | '`' | '*' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The field's doc lines: the description, if any, then where the store is declared.
fn field_doc(app: &Application, store: &KvStore) -> Vec<String> {
    let location = store.location();
    let declared = format!(
        " `{} \"{}\"` ({}:{}:{}).",
        store.kind().block_type(),
        store.name(),
        one_line(app.manifest()),
        location.line,
        location.column
    );
    let mut lines: Vec<String> = store
        .description()
        .map(|text| {
            // A lone `\r` ends a line too: left in a `///` line it is a bare CR, which
            // neither syn nor rustc accept.
            text.lines()
                .flat_map(|line| line.split('\r'))
                .map(|line| {
                    if line.trim().is_empty() {
                        String::new()
                    } else {
                        format!(" {}", escape_markdown(line))
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    if !lines.is_empty() {
        lines.push(String::new());
    }
    lines.push(declared);
    lines
}

#[cfg(test)]
mod markdown_tests {
    use super::escape_markdown;

    #[test]
    fn descriptions_render_as_plain_text() {
        assert_eq!(
            escape_markdown("session:<id> keys"),
            "session:\\<id\\> keys"
        );
        assert_eq!(
            escape_markdown("see [docs] and `x`"),
            "see \\[docs\\] and \\`x\\`"
        );
        assert_eq!(escape_markdown("a_b*c\\d"), "a\\_b\\*c\\\\d");
        assert_eq!(escape_markdown("Rendered pages"), "Rendered pages");
    }
}
