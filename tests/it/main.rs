//! The integration tests, as one binary: the AWS SDK and the shared support code are compiled
//! and linked once. Each module is one area; `common` holds the servers and helpers they share.
//!
//! Run one area with `cargo test --test it cli::` (module paths are test-name prefixes).

mod common;

mod audit;
mod audit_formats;
mod cli;
mod credentials;
mod e2e_alerting;
mod live_moto;
mod live_scenario;
mod multi_account;
mod scenario_server_selftest;
mod web_auth;
