//! Test support shared by the integration test modules, one file per concern:
//!
//! - `tools`: finding moto, Prometheus, Alertmanager, promtool; a missing one fails the test
//!   unless `AWS_IAM_EXPORTER_SKIP_MISSING_TOOLS=1`;
//! - `process`: free ports, polling, signals, server processes with captured logs;
//! - `http`: a blocking HTTP client; `serve`: an HTTP server inside the test process;
//! - `exporter`: the exporter binary, its test environment, a running [`Exporter`];
//! - `exposition`: samples read back from an exposition ([`val`], [`metric_value`], ...);
//! - `moto`: moto's server; `scenario`: the IAM/STS scenario server; `sdk`: the AWS SDK on the
//!   test's side;
//! - `alerting`: the Alertmanager webhook receiver and promtool; `golden`: fixtures, written
//!   files and golden outputs.
//!
//! Style: every helper here is *blocking* and runtime-agnostic. Servers that live in the test
//! process (the IAM [`scenario`] server, the [`Webhook`] receiver) run on their own thread with
//! their own tokio runtime, and child processes (exporter, moto, Prometheus, Alertmanager) are
//! plain `std::process` children. So the helpers work from a plain `#[test]` and from a
//! `#[tokio::test]` alike (use `#[tokio::test]` only when the test itself calls the AWS SDK).
//! The exporter listens on 127.0.0.1:0 and the tests read its bound address from its
//! `listening` log line; the other servers bind 127.0.0.1 on a free port. Every child process
//! is killed by PID when its handle is dropped.
//!
//! Everything is re-exported here, so a test module needs `use common::*;` (and
//! `use common::scenario::*;` for the scenario server).

mod alerting;
mod exporter;
mod exposition;
mod golden;
mod http;
mod moto;
mod process;
pub mod scenario;
mod sdk;
mod serve;
mod tools;

use std::path::PathBuf;

pub use alerting::*;
pub use exporter::*;
pub use exposition::*;
pub use golden::*;
pub use http::*;
pub use moto::*;
pub use process::*;
pub use sdk::*;
pub use tools::*;

/// Root of the crate (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
