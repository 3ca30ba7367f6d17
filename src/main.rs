//! The `kv` command-line tool.

fn main() {
    println!("kv: see `kv --help`");
}
