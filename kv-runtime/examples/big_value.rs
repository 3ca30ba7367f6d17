//! W5: one 25 MiB value and one 1 GiB streamed value through the runtime and through
//! raw fjall — put and get bandwidth, and the peak resident memory of the process.
//!
//! `cargo run --release -p kv-runtime --example big_value [-- SIZE_MIB ...]`
//!
//! Each case runs in a child process of its own (this program started again with the
//! case's arguments), because peak memory (`VmHWM` in `/proc/self/status`) is a
//! per-process figure that criterion cannot measure. Both sides use a 16 MiB block
//! cache; the data is incompressible (a 1 MiB pseudo-random buffer, sliced in 64 KiB
//! items as a network body would arrive). The raw side writes the same bytes as
//! 256 KiB values into a keyspace with the runtime's blob settings (key-value
//! separation, 8 MiB memtable) and reads them back with `get`; for the 25 MiB case it
//! inserts and reads one 25 MiB value.

// An example that measures: a failed unwrap aborts the run, which is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Instant;

use fjall::{Database, KeyspaceCreateOptions, KvSeparationOptions};
use futures_util::{StreamExt as _, stream};
use kv_runtime::{Body, Bytes, Config, Runtime};

const MIB: u64 = 1024 * 1024;
const CACHE_BYTES: u64 = 16 * MIB;
/// The runtime's chunk size for large values (the fjall backend's), which the raw-fjall
/// side of the comparison uses too.
const CHUNK_BYTES: usize = 256 * 1024;
const ITEM: usize = 64 * 1024;

/// 1 MiB of xorshift output: incompressible, and cheap to slice.
fn noise() -> Bytes {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut out = Vec::with_capacity(MIB as usize);
    while out.len() < MIB as usize {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    Bytes::from(out)
}

/// `len` bytes as 64 KiB slices of the noise buffer.
fn items(noise: &Bytes, len: u64) -> impl Iterator<Item = Bytes> + Send + 'static {
    let noise = noise.clone();
    (0..len.div_ceil(ITEM as u64)).map(move |i| {
        let at = (i as usize * ITEM) % noise.len();
        let take = (len - i * ITEM as u64).min(ITEM as u64) as usize;
        noise.slice(at..at + take)
    })
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn mib_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / MIB as f64 / secs
}

/// Runs one case in this process and prints `put_mib_s get_mib_s peak_rss_mib`.
fn child(side: &str, mode: &str, len: u64) {
    let dir = tempfile::tempdir().unwrap();
    let noise = noise();
    let (put, get) = match side {
        "runtime" => {
            let tokio = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap();
            tokio.block_on(async {
                let mut config = Config::default();
                config
                    .backend_settings("fjall")
                    .set("block_cache_size", CACHE_BYTES as i64);
                config.defaults.max_value_size = u64::MAX;
                let rt = Runtime::builder()
                    .config(config)
                    .data_dir(dir.path())
                    .open()
                    .await
                    .unwrap();
                let store = rt.store("big").unwrap();
                let start = Instant::now();
                if mode == "stream" {
                    let body = stream::iter(items(&noise, len).map(Ok::<_, std::io::Error>));
                    store.put("big", Body::from_stream(body)).await.unwrap();
                } else {
                    let whole: Vec<u8> = items(&noise, len).flat_map(|b| b.to_vec()).collect();
                    store.put("big", whole).await.unwrap();
                }
                let put = start.elapsed().as_secs_f64();
                let start = Instant::now();
                let mut read = 0u64;
                if mode == "stream" {
                    let mut chunks = store.get("big").stream().await.unwrap().unwrap();
                    while let Some(chunk) = chunks.next().await {
                        read += chunk.unwrap().len() as u64;
                    }
                } else {
                    read = store.get("big").bytes().await.unwrap().unwrap().len() as u64;
                }
                assert_eq!(read, len);
                (put, start.elapsed().as_secs_f64())
            })
        }
        _ => {
            let db = Database::builder(dir.path())
                .cache_size(CACHE_BYTES)
                .open()
                .unwrap();
            let ks = db
                .keyspace("raw", || {
                    KeyspaceCreateOptions::default()
                        .with_kv_separation(Some(KvSeparationOptions::default()))
                        .max_memtable_size(8 * MIB)
                })
                .unwrap();
            let start = Instant::now();
            if mode == "stream" {
                let mut buffer = Vec::with_capacity(CHUNK_BYTES);
                let mut index = 0u32;
                for item in items(&noise, len) {
                    buffer.extend_from_slice(&item);
                    if buffer.len() >= CHUNK_BYTES {
                        ks.insert(index.to_be_bytes(), std::mem::take(&mut buffer))
                            .unwrap();
                        buffer.reserve(CHUNK_BYTES);
                        index += 1;
                    }
                }
                if !buffer.is_empty() {
                    ks.insert(index.to_be_bytes(), buffer).unwrap();
                }
            } else {
                let whole: Vec<u8> = items(&noise, len).flat_map(|b| b.to_vec()).collect();
                ks.insert("big", whole).unwrap();
            }
            let put = start.elapsed().as_secs_f64();
            // Read from disk tables, as the runtime's chunks are (its blob memtable is
            // small); a value still in the memtable would be read for free.
            ks.rotate_memtable_and_wait().unwrap();
            let start = Instant::now();
            let mut read = 0u64;
            if mode == "stream" {
                let mut index = 0u32;
                while let Some(chunk) = ks.get(index.to_be_bytes()).unwrap() {
                    read += chunk.len() as u64;
                    index += 1;
                }
            } else {
                read = ks.get("big").unwrap().unwrap().len() as u64;
            }
            assert_eq!(read, len);
            (put, start.elapsed().as_secs_f64())
        }
    };
    println!(
        "{:.1} {:.1} {:.1}",
        mib_s(len, put),
        mib_s(len, get),
        peak_rss_mib()
    );
}

/// glibc's malloc raises its mmap threshold each time it frees an mmapped block, after
/// which 256 KiB chunk buffers come from the heap, and freed ones stay in the process.
/// Pinning the threshold (a standard glibc tunable, no code change) shows the memory
/// the data path actually holds.
const ALLOCATOR_SETTINGS: [(&str, Option<(&str, &str)>); 2] = [
    ("glibc default", None),
    (
        "mmap threshold 128 KiB",
        Some(("MALLOC_MMAP_THRESHOLD_", "131072")),
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [side, mode, len] = args.as_slice()
        && let Ok(len) = len.parse()
    {
        return child(side, mode, len);
    }
    let exe = std::env::current_exe().unwrap();
    println!(
        "W5: block cache 16 MiB, chunks of {} KiB, incompressible data",
        CHUNK_BYTES / 1024
    );
    println!(
        "{:<52} {:>10} {:>10} {:>13}",
        "case", "put MiB/s", "get MiB/s", "peak RSS MiB"
    );
    for (mode, len) in [("bytes", 25 * MIB), ("stream", 1024 * MIB)] {
        for (allocator, env) in ALLOCATOR_SETTINGS {
            let mut figures = Vec::new();
            for side in ["raw_fjall", "runtime"] {
                let mut command = Command::new(&exe);
                command.args([side, mode, &len.to_string()]);
                if let Some((name, value)) = env {
                    command.env(name, value);
                }
                let out = command.output().unwrap();
                assert!(
                    out.status.success(),
                    "{side} {mode}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let line = String::from_utf8(out.stdout).unwrap();
                let f: Vec<f64> = line
                    .split_whitespace()
                    .map(|v| v.parse().unwrap())
                    .collect();
                println!(
                    "{:<52} {:>10.1} {:>10.1} {:>13.1}",
                    format!("{side} {mode} {} MiB, {allocator}", len / MIB),
                    f[0],
                    f[1],
                    f[2]
                );
                figures.push(f);
            }
            println!(
                "{:<52} {:>9.2}x {:>9.2}x",
                "  runtime / raw",
                figures[1][0] / figures[0][0],
                figures[1][1] / figures[0][1]
            );
        }
    }
}
