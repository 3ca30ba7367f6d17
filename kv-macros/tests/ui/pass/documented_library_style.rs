//! Generated items are documented and pass `missing_docs`, and nothing is used.
#![deny(warnings, missing_docs, missing_debug_implementations)]

kv_runtime::import_manifest!(inline = r#"
application "support-copilot" {
  env "OPENAI_API_KEY" { secret = true }
  service "api" {
    domain { cname = "support-api" }
  }
  observer "index-uploads" {
    source {
      bucket = "attachments"
      rule { actions = ["PutObject", "CompleteMultipartUpload"] }
    }
  }
  task "nightly-cleanup" { cron = "0 3 * * *" }
  kv_cache "session-cache" { description = "Chat sessions, by id" }
  kv_cache "rate-limits" {}
  kv_store "user-preferences" {
    description = "Language and tone.\nOne entry per agent."
  }
}
"#);

fn main() {}
