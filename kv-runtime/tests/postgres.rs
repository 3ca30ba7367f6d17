//! PostgreSQL backend tests (placeholder).
