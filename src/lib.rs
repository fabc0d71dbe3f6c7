//! aws-iam-exporter: the security hygiene of AWS IAM credentials, as Prometheus metrics.
//!
//! The pipeline, per account and per refresh:
//! a source ([`aws`] or [`offline`] files: report bytes and [`fetch::Facts`]) ->
//! [`report::parse`] -> [`posture::derive`] -> [`exposition`] (rendered once) -> the account's
//! slot in the [`snapshot`], which [`web`] copies from. No AWS call ever happens on the
//! scrape path.
//!
//! - Pure core (no I/O, `now` as an argument): [`report`], [`posture`], [`exposition`], and
//!   [`audit`] (the `audit` command's table and JSON, from the same posture).
//! - Edges: [`aws`] (the only module naming the AWS SDK), [`offline`], [`web`] (HTTP server,
//!   negotiation, TLS, auth).
//! - Between them: [`fetch`] (what a source returns), [`refresh`] (one account's pipeline),
//!   [`schedule`] (when, AWS-free), [`accounts`] (which, from the config), [`snapshot`]
//!   (what scrapes read), [`config`]; [`organization`]: the one exporter-level refresh
//!   (centralized root access, once per interval, not per account).

pub mod accounts;
pub mod audit;
pub mod aws;
pub mod config;
pub mod exposition;
pub mod fetch;
pub mod offline;
pub mod organization;
pub mod posture;
pub mod refresh;
pub mod report;
pub mod schedule;
pub mod snapshot;
pub mod web;

/// glibc's mmap threshold, fixed by `main` at start: allocations this large or larger are
/// mappings of their own, returned to the system when freed (see `fix_malloc_mmap_threshold`).
pub const MALLOC_MMAP_THRESHOLD: usize = 1 << 20;

#[cfg(test)]
mod properties;
