//! Generates `Env` from `raindrop.manifest` into `$OUT_DIR/kv_env.rs`.
fn main() -> Result<(), kv_build::Report> {
    kv_build::compile("raindrop.manifest")
}
