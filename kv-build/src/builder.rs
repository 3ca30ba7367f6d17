//! The build-script API: `compile()` and `configure()`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::Source;
use crate::codegen::{Generator, Settings};
use crate::error::{BuildError, Report};

/// The file written into the output directory; `kv_runtime::include_env!()` includes it.
pub const ENV_FILE_NAME: &str = "kv_env.rs";

/// Reads `manifest` and writes `$OUT_DIR/kv_env.rs`, with default settings; the whole
/// body of a typical `build.rs`.
///
/// Shorthand for `configure().compile(manifest)`; see [`Builder::compile`].
///
/// # Errors
///
/// See [`Builder::compile`].
///
/// # Examples
///
/// ```no_run
/// // build.rs
/// fn main() -> Result<(), kv_build::Report> {
///     kv_build::compile("raindrop.manifest")
/// }
/// ```
pub fn compile(manifest: impl AsRef<Path>) -> Result<(), Report> {
    configure().compile(manifest)
}

/// Starts configuring a build: output directory, runtime path, rerun instructions.
///
/// # Examples
///
/// ```no_run
/// // build.rs
/// fn main() -> Result<(), kv_build::Report> {
///     kv_build::configure()
///         .runtime_path("::my_platform::kv")
///         .compile("manifests/raindrop.manifest")
/// }
/// ```
pub fn configure() -> Builder {
    Builder {
        out_dir: None,
        settings: Settings::default(),
        emit_rerun_if_changed: std::env::var_os("CARGO").is_some(),
    }
}

/// Options for generating `kv_env.rs` from a build script; made by [`configure`].
#[derive(Clone, Debug)]
#[must_use = "a Builder does nothing until `compile` is called"]
pub struct Builder {
    out_dir: Option<PathBuf>,
    settings: Settings,
    emit_rerun_if_changed: bool,
}

impl Builder {
    /// Where to write `kv_env.rs`. Default: the `OUT_DIR` environment variable, which
    /// Cargo sets for build scripts.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// The path generated code uses to reach `kv_runtime`. Default: `::kv_runtime`.
    pub fn runtime_path(mut self, path: impl Into<String>) -> Self {
        self.settings = self.settings.runtime_path(path);
        self
    }

    /// The name of the generated struct. Default: `Env`.
    pub fn env_name(mut self, name: impl Into<String>) -> Self {
        self.settings = self.settings.env_name(name);
        self
    }

    /// Whether to print `cargo::rerun-if-changed=<manifest>`, so Cargo reruns the build
    /// script when the manifest changes. Default: on when run by Cargo (`CARGO` is set).
    pub fn emit_rerun_if_changed(mut self, on: bool) -> Self {
        self.emit_rerun_if_changed = on;
        self
    }

    /// Reads the manifest, checks it and writes the generated `Env` to
    /// `<out_dir>/kv_env.rs`, only if the content changed (so Cargo does not rebuild for
    /// nothing).
    ///
    /// A relative `manifest` path is resolved against `CARGO_MANIFEST_DIR` (the crate
    /// being built), or the current directory outside Cargo. Diagnostics name the path as
    /// given.
    ///
    /// # Errors
    ///
    /// - [`BuildError::Read`] if the manifest cannot be read;
    /// - [`BuildError::Manifest`] with every diagnostic if the manifest is invalid;
    /// - [`BuildError::OutDirNotSet`] without `out_dir` outside a build script;
    /// - [`BuildError::Write`] if the file cannot be written.
    pub fn compile(self, manifest: impl AsRef<Path>) -> Result<(), Report> {
        let manifest = manifest.as_ref();
        let path = resolve(manifest, std::env::var_os("CARGO_MANIFEST_DIR"));
        if self.emit_rerun_if_changed {
            println!("cargo::rerun-if-changed={}", path.display());
        }
        let text = std::fs::read_to_string(&path).map_err(|source| BuildError::Read {
            path: path.clone(),
            source,
        })?;
        let source = Source::new(manifest.display().to_string(), text);
        let app = crate::load(&source).map_err(BuildError::Manifest)?;
        let code = Generator::new(self.settings).generate_file(&app);
        let out_dir = match self.out_dir {
            Some(dir) => dir,
            None => PathBuf::from(std::env::var_os("OUT_DIR").ok_or(BuildError::OutDirNotSet)?),
        };
        write_if_changed(&out_dir.join(ENV_FILE_NAME), &code)?;
        Ok(())
    }
}

/// `manifest` joined to the crate directory when relative.
fn resolve(manifest: &Path, crate_dir: Option<OsString>) -> PathBuf {
    match crate_dir {
        Some(dir) if manifest.is_relative() => Path::new(&dir).join(manifest),
        _ => manifest.to_path_buf(),
    }
}

/// Writes `content` to `path` unless the file already holds exactly that.
pub(crate) fn write_if_changed(path: &Path, content: &str) -> Result<(), BuildError> {
    if std::fs::read(path).is_ok_and(|old| old == content.as_bytes()) {
        return Ok(());
    }
    std::fs::write(path, content).map_err(|source| BuildError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::resolve;

    #[test]
    fn relative_paths_resolve_against_the_crate() {
        assert_eq!(
            resolve(Path::new("raindrop.manifest"), Some("/app".into())),
            PathBuf::from("/app/raindrop.manifest")
        );
        assert_eq!(
            resolve(Path::new("/etc/raindrop.manifest"), Some("/app".into())),
            PathBuf::from("/etc/raindrop.manifest")
        );
        assert_eq!(
            resolve(Path::new("raindrop.manifest"), None),
            PathBuf::from("raindrop.manifest")
        );
    }
}
