//! Every example app's manifest, through the `kv` CLI: it checks clean, and
//! `kv build generate` prints exactly what `kv_build::Generator` (the build.rs and
//! proc-macro path) produces for it; the actors example checks that output in, and it
//! must match byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use kv_build::{Generator, Source};

fn manifests() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifest-examples");
    let mut found: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|entry| entry.unwrap().path().join("raindrop.manifest"))
        .filter(|path| path.is_file())
        .collect();
    found.sort();
    found
}

#[test]
fn every_example_manifest_checks_and_generates_what_build_rs_would() {
    let manifests = manifests();
    let names: Vec<String> = manifests
        .iter()
        .map(|p| {
            p.parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for app in ["actors", "demo-app"] {
        assert!(
            names.iter().any(|n| n == app),
            "{app} has no manifest: {names:?}"
        );
    }
    for manifest in manifests {
        let dir = manifest.parent().unwrap();
        let check = cargo_bin_cmd!("kv")
            .args(["build", "check"])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}: {}",
            manifest.display(),
            String::from_utf8_lossy(&check.stderr)
        );

        let generate = cargo_bin_cmd!("kv")
            .args(["build", "generate", "--out", "-"])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(generate.status.success(), "{}", manifest.display());
        let app = kv_build::load(&Source::from_path(&manifest).unwrap()).unwrap();
        let expected = Generator::default().generate_file(&app);
        assert_eq!(
            String::from_utf8(generate.stdout).unwrap(),
            expected,
            "{}",
            manifest.display()
        );

        let checked_in = dir.join("src/generated/env.rs");
        if checked_in.is_file() {
            assert_eq!(
                std::fs::read_to_string(&checked_in).unwrap(),
                expected,
                "{} is stale: run kv build generate",
                checked_in.display()
            );
        }
    }
}
