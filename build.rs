//! Bakes the git revision into the binary for `--version` and `aws_iam_exporter_build_info`.
//! The Docker build passes it as `AWS_IAM_EXPORTER_GIT_REVISION` (no .git in the context).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=AWS_IAM_EXPORTER_GIT_REVISION");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let revision = std::env::var("AWS_IAM_EXPORTER_GIT_REVISION")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=AWS_IAM_EXPORTER_GIT_REVISION={revision}");
}
