//! The data browser in a real browser: the `kv` binary serves a seeded store (1,121
//! keys: JSON, text, a binary value and a key named `<img src=x onerror=alert(1)>`), and
//! tests/ui/browser.mjs drives Debian's Chromium through playwright-core — sign in
//! (basic, then the API key), list, page past the first 1,000 keys, filter by prefix,
//! open a JSON value, edit it (a TTL of 30 is refused next to its field), create,
//! delete, see a binary value as hex and download it, delete by prefix — and writes a
//! screenshot. A second server with `--no-auth` must work without signing in.
//!
//! The screenshot goes to `$CARGO_TARGET_TMPDIR/ui.png`; `KV_UI_SCREENSHOT=docs/ui.png`
//! writes the one the README shows instead.
//!
//! Skipped, loudly, when node, `tests/ui/node_modules` (`npm ci --prefix tests/ui`) or
//! `/usr/bin/chromium` is missing; with `CI` set, that fails the test instead.

mod serve_bin;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::json;

const API_KEY: &str = "ui-test-key-0123";
const USER: &str = "admin";
const PASSWORD: &str = "pa:ss word";
const MANIFEST: &str =
    "application \"demo-app\" {\n  kv_store \"demo-cache\" {}\n  kv_store \"sessions\" {}\n}\n";
const CONFIG: &str = "data_dir = \"data\"\n\n[stores.sessions]\nmin_ttl = 1\n";
const CHROMIUM: &str = "/usr/bin/chromium";
/// Longer than the script ever needs (about 10 s here), short enough to fail a hang.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui")
}

/// Why the browser test cannot run here, if it cannot.
fn missing_tool() -> Option<String> {
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(_) | Err(_) => return Some("node is not installed".to_owned()),
    }
    if !ui_dir()
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        return Some("playwright-core is not installed: run `npm ci --prefix tests/ui`".to_owned());
    }
    if !Path::new(CHROMIUM).exists() {
        return Some(format!(
            "{CHROMIUM} is missing: run `apt-get install -y chromium`"
        ));
    }
    None
}

/// `kv serve` as a child process, killed when dropped.
struct Served {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[allow(clippy::unwrap_used, reason = "test helper")]
fn serve(auth: bool) -> Served {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("raindrop.manifest"), MANIFEST).unwrap();
    std::fs::write(dir.path().join("kv.toml"), CONFIG).unwrap();
    let mut command = serve_bin::command(dir.path());
    command.env("RUST_LOG", "warn").stderr(Stdio::inherit());
    if auth {
        command
            .env("KV_API_KEY", API_KEY)
            .env("KV_USERNAME", USER)
            .env("KV_PASSWORD", PASSWORD);
    } else {
        command.arg("--no-auth");
    }
    let mut child = command.spawn().unwrap();
    let base = serve_bin::address(&mut child);
    Served {
        child,
        base,
        _dir: dir,
    }
}

/// The seeded store: what the script expects to find.
fn seed_items() -> serde_json::Value {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut logo = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    logo.extend((0..592u32).map(|i| (i * 7 % 251) as u8));
    let mut items = vec![
        json!({"key": "<img src=x onerror=alert(1)>", "value": "<script>alert(2)</script>"}),
        json!({"key": "config:features", "value": r#"{"dark_mode":true,"beta":["search","export"],"max_upload_mb":25}"#}),
        json!({"key": "files/logo.png", "value": b64(&logo), "base64": true,
               "metadata": {"content_type": "image/png"}}),
    ];
    for i in 0..1100u32 {
        let mut item = json!({"key": format!("item:{i:05}"), "value": format!(r#"{{"n":{i}}}"#)});
        if i % 3 == 0 {
            item["metadata"] = json!({"batch": i / 100});
        }
        if i % 2 == 0 {
            item["expiration_ttl"] = json!(3600 * (i % 48 + 1));
        }
        items.push(item);
    }
    for i in 0..10 {
        items.push(json!({"key": format!("tmp:{i}"), "value": "scratch"}));
    }
    let users = [
        ("ada", "Ada", "pro", Some(3 * 3600)),
        ("alan", "Alan", "free", Some(26 * 3600)),
        ("barbara", "Barbara", "pro", None),
        ("edsger", "Edsger", "free", Some(45 * 60)),
        ("grace", "Grace", "enterprise", Some(9 * 86400)),
        ("ken", "Ken", "free", None),
        ("linus", "Linus", "pro", Some(5 * 3600)),
        ("margaret", "Margaret", "enterprise", Some(30 * 86400)),
    ];
    for (id, name, plan, ttl) in users {
        // A JSON value with an integer JavaScript cannot hold exactly.
        let value = format!(
            r#"{{"id":12345678901234567890,"name":"{name}","email":"{id}@example.com","roles":["reader","{plan}"],"settings":{{"theme":"dark","locale":"en-GB"}}}}"#
        );
        let mut item = json!({"key": format!("user:{id}"), "value": value,
                              "metadata": {"plan": plan, "signup": "2024-03-01"}});
        if let Some(ttl) = ttl {
            item["expiration_ttl"] = json!(ttl);
        }
        items.push(item);
    }
    serde_json::Value::Array(items)
}

#[allow(clippy::unwrap_used, reason = "test helper")]
fn seed(base: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let response = http
            .put(format!(
                "{base}/client/v4/accounts/any/storage/kv/namespaces/demo-cache/bulk"
            ))
            .bearer_auth(API_KEY)
            .json(&seed_items())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(r#""successful_key_count":1121"#), "{body}");
    });
}

/// Runs the script; panics with its output if it fails or hangs.
#[allow(clippy::unwrap_used, reason = "test helper")]
fn run_script(base: &str, key: &str, screenshot: &Path, basic: bool) {
    let mut command = Command::new("node");
    command
        .arg(ui_dir().join("browser.mjs"))
        .arg(base)
        .arg(key)
        .arg(screenshot)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if basic {
        command
            .env("KV_UI_USER", USER)
            .env("KV_UI_PASSWORD", PASSWORD);
    }
    let mut child = command.spawn().unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    eprintln!("{out}{err}");
    match status {
        Some(status) => assert!(
            status.success(),
            "tests/ui/browser.mjs failed ({status}):\n{out}\n{err}"
        ),
        None => {
            panic!("tests/ui/browser.mjs did not finish within {SCRIPT_TIMEOUT:?}:\n{out}\n{err}")
        }
    }
}

#[test]
fn the_data_browser_in_chromium() {
    if let Some(why) = missing_tool() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set, so the browser test must run: {why}"
        );
        eprintln!("SKIPPED — the_data_browser_in_chromium: {why}");
        return;
    }
    let screenshot = std::env::var_os("KV_UI_SCREENSHOT").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui.png"),
        |path| Path::new(env!("CARGO_MANIFEST_DIR")).join(path),
    );

    let served = serve(true);
    seed(&served.base);
    run_script(&served.base, API_KEY, &screenshot, true);
    assert!(screenshot.exists(), "{} was written", screenshot.display());
    eprintln!("screenshot: {}", screenshot.display());
    drop(served);

    let open = serve(false);
    let no_auth_shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-no-auth.png");
    run_script(&open.base, "-", &no_auth_shot, false);
}
