//! Bakes the git revision into the binary for `--version` and `aws_iam_exporter_build_info`.
//! The Docker build passes it as `AWS_IAM_EXPORTER_GIT_REVISION` (no .git in the context).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=AWS_IAM_EXPORTER_GIT_REVISION");
    // NB: in a `git worktree`, `.git` is a file and HEAD lives elsewhere: a missing path would
    // rerun this script, and so recompile the crate, on every cargo command. Ask git where they are.
    for path in ["HEAD", "refs/heads"] {
        let at = git(&["rev-parse", "--git-path", path]).unwrap_or_else(|| format!(".git/{path}"));
        println!("cargo:rerun-if-changed={at}");
    }
    let revision = std::env::var("AWS_IAM_EXPORTER_GIT_REVISION")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=AWS_IAM_EXPORTER_GIT_REVISION={revision}");
}

/// What `git args` prints (trimmed), if git runs and succeeds.
fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}
