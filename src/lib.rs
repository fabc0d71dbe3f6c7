//! aws-iam-exporter: the security hygiene of AWS IAM credentials, as Prometheus metrics.
//!
//! The pipeline, per account and per refresh:
//! `source` (AWS or files: report bytes, summary, policy) -> [`report::parse`] ->
//! [`posture::derive`] -> [`exposition`] (rendered once) -> published for [`web`] to copy.
//! `refresh` runs that loop apart from scrapes: no AWS call ever happens on the scrape path.

pub mod config;
pub mod exposition;
pub mod posture;
pub mod refresh;
pub mod report;
pub mod source;
pub mod web;
