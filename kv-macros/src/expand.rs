//! `import_manifest!`: arguments, manifest path, then `kv_build` does the rest.

use std::path::{Path, PathBuf};

use kv_build::{Diagnostics, Generator, Settings, Source};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};

/// The name inline manifests are reported under.
pub(crate) const INLINE_NAME: &str = "inline manifest";

/// Where the manifest comes from.
enum Manifest {
    /// `"raindrop.manifest"` or `path = "..."`, relative to `CARGO_MANIFEST_DIR`.
    Path(LitStr),
    /// `inline = r#"..."#`.
    Inline(LitStr),
}

/// The macro's arguments: a bare path, or `key = value` pairs.
struct Args {
    manifest: Manifest,
    runtime: Option<syn::Path>,
    env: Option<Ident>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(input
                .error("expected the manifest's path: import_manifest!(\"raindrop.manifest\")"));
        }
        if input.peek(LitStr) {
            let path = input.parse()?;
            input.parse::<Option<Token![,]>>()?;
            if !input.is_empty() {
                return Err(input.error(
                    "options need the `path = \"...\"` form: import_manifest!(path = \"raindrop.manifest\", runtime = ::kv_runtime)",
                ));
            }
            return Ok(Self {
                manifest: Manifest::Path(path),
                runtime: None,
                env: None,
            });
        }
        let (mut manifest, mut runtime, mut env) = (None, None, None);
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let duplicate = || syn::Error::new(key.span(), format!("`{key}` is given twice"));
            match key.to_string().as_str() {
                "path" | "inline" if manifest.is_some() => {
                    return Err(syn::Error::new(
                        key.span(),
                        "give either `path` or `inline`, once",
                    ));
                }
                "path" => manifest = Some(Manifest::Path(input.parse()?)),
                "inline" => manifest = Some(Manifest::Inline(input.parse()?)),
                "runtime" if runtime.is_some() => return Err(duplicate()),
                "runtime" => runtime = Some(input.parse()?),
                "env" if env.is_some() => return Err(duplicate()),
                "env" => env = Some(input.parse()?),
                _ => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown argument `{key}`; expected `path`, `inline`, `runtime` or `env`"
                        ),
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        let manifest = manifest.ok_or_else(|| {
            input.error("expected `path = \"raindrop.manifest\"` or `inline = r#\"...\"#`")
        })?;
        Ok(Self {
            manifest,
            runtime,
            env,
        })
    }
}

/// Expands `import_manifest!(...)` into the generated `Env`.
pub(crate) fn import_manifest(input: TokenStream) -> syn::Result<TokenStream> {
    let args: Args = syn::parse2(input)?;
    let (source, literal, tracked) = match args.manifest {
        Manifest::Inline(literal) => (Source::new(INLINE_NAME, literal.value()), literal, None),
        Manifest::Path(literal) => {
            let path = resolve(&literal)?;
            let text = std::fs::read_to_string(&path).map_err(|error| {
                syn::Error::new(
                    literal.span(),
                    format!(
                        "cannot read manifest \"{}\" (paths are relative to CARGO_MANIFEST_DIR): {error}",
                        literal.value()
                    ),
                )
            })?;
            let tracked = path.to_str().map(str::to_owned).ok_or_else(|| {
                syn::Error::new(literal.span(), "the manifest's full path is not UTF-8")
            })?;
            (Source::new(literal.value(), text), literal, Some(tracked))
        }
    };
    let app = kv_build::load(&source).map_err(|errors| to_error(&errors, literal.span()))?;

    let mut settings = Settings::default();
    if let Some(runtime) = args.runtime {
        settings = settings.runtime_path(quote!(#runtime).to_string());
    }
    if let Some(env) = args.env {
        settings = settings.env_name(env.to_string());
    }
    let code = Generator::new(settings).generate(&app);
    // Makes rustc rebuild the crate when the manifest changes.
    let track = tracked.map(|path| {
        quote!(
            const _: &str = ::core::include_str!(#path);
        )
    });
    Ok(quote!(#code #track))
}

/// The manifest's path: relative to the crate being compiled, never the working directory.
fn resolve(literal: &LitStr) -> syn::Result<PathBuf> {
    let relative = literal.value();
    if Path::new(&relative).is_absolute() {
        return Err(syn::Error::new(
            literal.span(),
            "absolute paths are not supported; give the manifest's path relative to the crate (CARGO_MANIFEST_DIR)",
        ));
    }
    let dir = env_var("CARGO_MANIFEST_DIR").ok_or_else(|| {
        syn::Error::new(
            literal.span(),
            "CARGO_MANIFEST_DIR is not set; build with Cargo, or use `inline = r#\"...\"#`",
        )
    })?;
    Ok(Path::new(&dir).join(relative))
}

/// One compile error per diagnostic, each the rendered report with file:line:col and caret.
fn to_error(diagnostics: &Diagnostics, span: Span) -> syn::Error {
    diagnostics
        .iter()
        .map(|diagnostic| {
            let rendered = diagnostic.render_plain(diagnostics.source());
            syn::Error::new(span, rendered.trim_end())
        })
        .reduce(|mut all, next| {
            all.combine(next);
            all
        })
        .unwrap_or_else(|| syn::Error::new(span, "the manifest is invalid"))
}

/// The one place the macro reads its environment.
#[allow(
    clippy::disallowed_methods,
    reason = "this is the helper the lint points to"
)]
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
