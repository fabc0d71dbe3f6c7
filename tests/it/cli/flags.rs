//! `--version` and flag errors: exit 2 with one error line naming the flag or key.

use super::*;

#[test]
fn version_prints_the_version_and_the_revision_that_build_info_reports() {
    let o = run(&["--version"]);
    assert!(o.status.success(), "{o:?}");
    let out = String::from_utf8(o.stdout).unwrap();
    let prefix = format!("aws-iam-exporter {} (revision ", env!("CARGO_PKG_VERSION"));
    assert!(out.starts_with(&prefix), "{out:?}");
    assert!(out.ends_with(")\n"), "{out:?}");
    let revision = &out[prefix.len()..out.len() - 2];
    assert!(
        revision == "unknown"
            || (revision.len() >= 7 && revision.bytes().all(|b| b.is_ascii_hexdigit())),
        "revision {revision:?}"
    );
    let metrics = once("full.csv", None, &[]);
    assert_eq!(
        val(
            &metrics,
            "aws_iam_exporter_build_info",
            &[
                ("version", env!("CARGO_PKG_VERSION")),
                ("revision", revision)
            ]
        ),
        1.0
    );
}

/// Lines clap adds after its error line: hints, not errors.
fn is_clap_hint(line: &str) -> bool {
    let l = line.trim();
    l.is_empty()
        || l.starts_with("Usage:")
        || l.starts_with("For more information")
        || l.starts_with("[possible values:")
        || l.starts_with("tip:")
}

#[test]
fn bad_flags_and_config_keys_exit_2_with_one_error_line_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let typo = write_file(
        dir.path(),
        "typo.yml",
        "accounts:\n  - role_arn: arn:aws:iam::222222222222:role/IamExporter\n    nmae: prod\n",
    );
    let typo = typo.display().to_string();
    let report = fixture("reports/full.csv").display().to_string();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--refresh.interval", "soon"],
            vec!["--refresh.interval", "soon"],
        ),
        (vec!["--no-such-flag"], vec!["--no-such-flag"]),
        (
            vec!["--shard.index", "3", "--shard.count", "2"],
            vec!["--shard.index", "3", "--shard.count 2"],
        ),
        (
            vec!["--metrics.per-user", "maybe"],
            vec!["--metrics.per-user", "maybe"],
        ),
        (vec!["--config.file", &typo], vec!["--config.file", "nmae"]),
        (
            vec!["--credential-report.file", &report, "--config.file", &typo],
            vec!["--config.file"],
        ),
        (
            vec!["--credential-report.max-bytes", "10"],
            vec!["--credential-report.max-bytes", "1024"],
        ),
        // Out of range: a usage error at parse time, never a panic (exit 101) later.
        (
            vec!["--aws.timeout", "100000000000y", "--once"],
            vec!["--aws.timeout", "at most 1h"],
        ),
        (
            vec!["--control.password-min-length=-5"],
            vec!["--control.password-min-length"],
        ),
        // Flags that help keep their help: the possible values, the missing flag, the tip.
        (
            vec!["--log.level", "verbose"],
            vec!["--log.level", "possible values", "debug"],
        ),
        (
            vec!["--web.listen-adress", ":1"],
            vec!["--web.listen-adress", "--web.listen-address"],
        ),
        (
            vec!["--account-summary.file", "x.json"],
            vec!["--credential-report.file"],
        ),
        (
            vec![
                "--once",
                "--credential-report.file",
                &report,
                "--web.config.file",
                "w.yml",
            ],
            vec!["--web.config.file", "--once"],
        ),
    ];
    for (args, names) in cases {
        let o = run(&args);
        let err = stderr_of(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {o:?}\n{err}");
        assert!(o.stdout.is_empty(), "{args:?}: stdout {:?}", o.stdout);
        let errors: Vec<&str> = err.lines().filter(|l| !is_clap_hint(l)).collect();
        assert_eq!(
            errors.len(),
            1,
            "{args:?}: want exactly one error line, got:\n{err}"
        );
        assert_eq!(err.lines().count(), 1, "{args:?}: one line in all:\n{err}");
        let line = errors[0];
        assert!(line.contains("error"), "{args:?}: {line}");
        for n in names {
            assert!(
                line.contains(n),
                "{args:?}: the error line must name {n:?}: {line}"
            );
        }
    }
}
