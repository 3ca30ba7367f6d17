//! kv_runtime
