//! kv_build
