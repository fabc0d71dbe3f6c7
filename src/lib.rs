//! aws-iam-exporter: the security hygiene of AWS IAM credentials, as Prometheus metrics.
//!
//! The pipeline, per account and per refresh:
//! a source ([`aws`] or [`offline`] files: report bytes and facts) -> [`report::parse`] ->
//! [`posture::derive`] -> [`exposition`] (rendered once) -> the account's slot in the
//! [`snapshot`], which [`web`] copies from. No AWS call ever happens on the scrape path.
//!
//! - Pure core (no I/O, `now` as an argument): [`report`], [`posture`], [`exposition`], and
//!   [`audit`] (the `audit` command's table and JSON, from the same posture).
//! - Edges: [`aws`] (the only module naming the AWS SDK), [`offline`], [`web`] (HTTP server,
//!   negotiation, TLS, auth).
//! - Between them: `fetch` (what a source returns), [`refresh`] (one account's pipeline),
//!   `fast` (an account's fast check: the signals that page, every minute), `schedule` (when,
//!   AWS-free), `cadence` (when a member's root audit is due, within its refreshes), [`accounts`]
//!   (which, from the [`config`]: where a run is
//!   assembled), [`snapshot`] (what scrapes read); `organization`: the one exporter-level
//!   refresh (centralized root access, once per interval, not per account).
//! - Leaves, importing nothing of the crate: [`version`], [`shard`], [`clock`], `text` (input
//!   echoed in messages, cut), `arn` (the fields of an ARN).
//!
//! Only what the binary (`main.rs`), the benchmarks and the integration tests name is public;
//! `src/module_graph.rs` checks that the modules import each other without a cycle and that
//! only `accounts` reads the configuration.

// The binary: flags, the run, the server.
pub mod accounts;
pub mod audit;
pub mod clock;
pub mod config;
pub mod version;
pub mod web;
// The binary and the benchmarks: the pipeline's stages.
pub mod exposition;
pub mod offline;
pub mod posture;
pub mod refresh;
pub mod report;
pub mod snapshot;
// The integration tests: which replica watches an account, the calls a refresh makes.
pub mod aws;
pub mod shard;

mod arn;
mod cadence;
mod fast;
mod fetch;
mod organization;
mod schedule;
mod text;

/// glibc's mmap threshold, fixed by `main` at start: allocations this large or larger are
/// mappings of their own, returned to the system when freed (see `fix_malloc_mmap_threshold`).
pub const MALLOC_MMAP_THRESHOLD: usize = 1 << 20;

#[cfg(test)]
mod module_graph;
#[cfg(test)]
mod properties;
