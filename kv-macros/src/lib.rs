//! kv_macros
