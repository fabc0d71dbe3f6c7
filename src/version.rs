//! The exporter's version and git revision (baked in by `build.rs`): what `--version`, the
//! landing page, the start-up log line and `aws_iam_exporter_build_info` say. A leaf: it
//! imports nothing.

/// The crate's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision the binary was built from (`unknown` outside a checkout).
pub const REVISION: &str = env!("AWS_IAM_EXPORTER_GIT_REVISION");
/// Version plus git revision, as `--version` prints it.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision ",
    env!("AWS_IAM_EXPORTER_GIT_REVISION"),
    ")"
);
