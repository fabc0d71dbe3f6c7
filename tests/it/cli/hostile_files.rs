//! Report files as a hostile or careless user makes them (issue 22, items 4 to 7): a report of
//! 60 million blank lines under a 2 GiB address space, files with no length (`/dev/zero`, a
//! FIFO), a report of one column (plain and as base64), and a report missing a column.
//!
//! The memory tests run the binary under `ulimit -v` (an address-space limit, as a container's
//! memory limit): a process that asks for more aborts (exit 134) instead of eating the shared
//! machine.

use super::*;

use std::io::Write as _;
use std::process::Command;

/// A 2 GiB address-space limit, in KiB (`ulimit -v`).
const TWO_GIB: u64 = 2 * 1024 * 1024;

/// The exporter with `args`, under `ulimit -v <kib>` (bash sets it, then execs the binary).
fn limited(kib: u64, args: &[&str]) -> Command {
    let mut cmd = Command::new("bash");
    apply_exporter_env(&mut cmd, None);
    cmd.arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
        .arg(exporter_bin())
        .args(args)
        .stdin(std::process::Stdio::null());
    cmd
}

/// `user,arn`, then 60 million newlines (60 MB, under the default
/// `--credential-report.max-bytes`), then `tail`.
fn blank_lines_report(dir: &Path, name: &str, tail: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    f.write_all(b"user,arn\n").unwrap();
    let newlines = vec![b'\n'; 1_000_000];
    for _ in 0..60 {
        f.write_all(&newlines).unwrap();
    }
    f.write_all(tail.as_bytes()).unwrap();
    f.flush().unwrap();
    path
}

/// A row of account 111122223333 with one field too many: no report can take it.
const BAD_ROW: &str = "alice,arn:aws:iam::111122223333:user/alice,extra\n";

/// stderr of a run that must fail: exactly one line, the error.
fn one_error_line(o: &Output) -> String {
    let err = stderr_of(o);
    assert_eq!(o.status.code(), Some(1), "{:?}\n{err}", o.status);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("aws-iam-exporter: error: "), "{err}");
    lines[0].to_owned()
}

#[test]
fn sixty_million_blank_lines_under_a_2_gib_address_space_are_read_as_the_header_they_follow() {
    let dir = tempfile::tempdir().unwrap();
    let report = blank_lines_report(dir.path(), "blank.csv", "");
    let report = report.display().to_string();
    let o = output_within(
        &mut limited(TWO_GIB, &["--once", "--credential-report.file", &report]),
        Duration::from_secs(120),
    )
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{:?}\n{}",
        o.status,
        stderr_of(&o)
    );
    // A header and no rows: no users, as moto's report of an account without users.
    let m = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        val(&m, "aws_iam_users", &[("account_id", "unknown")]),
        0.0,
        "{m}"
    );

    // The same blank lines before a bad row: one clear error, not an abort.
    let bad = blank_lines_report(dir.path(), "blank-bad.csv", BAD_ROW);
    let bad = bad.display().to_string();
    let o = output_within(
        &mut limited(TWO_GIB, &["--once", "--credential-report.file", &bad]),
        Duration::from_secs(120),
    )
    .unwrap();
    let line = one_error_line(&o);
    assert!(line.contains("not CSV"), "{line}");
    assert!(line.len() < 400, "{line}");
}

/// The peak resident memory of a running process (VmHWM), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib * 1024
}

#[test]
fn a_daemon_under_a_2_gib_address_space_keeps_its_last_good_data_through_sixty_million_blank_lines()
{
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.csv");
    std::fs::copy(fixture("reports/full.csv"), &report).unwrap();
    let bad = blank_lines_report(dir.path(), "blank-bad.csv", BAD_ROW);
    let mut e = Exporter::start_with(ExporterOpts {
        bin: Some("bash".into()),
        args: vec![
            "-c".into(),
            format!("ulimit -v {TWO_GIB} && exec \"$0\" \"$@\""),
            exporter_bin().display().to_string(),
            "--credential-report.file".into(),
            report.display().to_string(),
            "--refresh.interval=1s".into(),
        ],
        ..Default::default()
    });
    e.wait_ready(Duration::from_secs(30));
    e.wait_for_metric("aws_iam_users", &[A], Duration::from_secs(10), |v| v == 6.0);

    std::fs::rename(&bad, &report).unwrap();
    e.wait_for_metric(
        "aws_iam_exporter_refreshes_total",
        &[A, ("result", "failure")],
        Duration::from_secs(60),
        |v| v >= 1.0,
    );
    e.assert_running("after the report of blank lines");
    let m = e.scrape();
    assert_eq!(val(&m, "aws_iam_users", &[A]), 6.0, "the last good data");
    let log = e.stderr();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("level=error")).collect();
    assert!(!errors.is_empty(), "{log}");
    assert!(
        errors
            .iter()
            .all(|l| l.contains("not CSV") && l.len() < 600),
        "{errors:#?}"
    );
    // Memory grows with the rows, not with the 60 MB of newlines: the file and little more.
    let peak = peak_rss(e.pid());
    assert!(peak < 256 << 20, "peak RSS {} MiB", peak >> 20);
}

#[test]
fn dev_zero_as_the_report_is_read_up_to_the_limit_and_refused_in_one_line() {
    // NB: /dev/zero has no length and no end: a read without a bound fills the address space.
    let o = output_within(
        &mut limited(
            TWO_GIB,
            &[
                "--once",
                "--credential-report.file",
                "/dev/zero",
                "--credential-report.max-bytes",
                "1048576",
            ],
        ),
        Duration::from_secs(60),
    )
    .unwrap();
    let line = one_error_line(&o);
    assert!(line.contains("/dev/zero"), "{line}");
    assert!(line.contains("over the limit of 1048576 bytes"), "{line}");
}

/// A FIFO in `dir`.
fn fifo(dir: &Path) -> PathBuf {
    let path = dir.join("report.fifo");
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo has no other precondition.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    path
}

#[test]
fn a_fifo_that_never_ends_is_read_up_to_the_limit_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = fifo(dir.path());
    let writer_path = path.clone();
    // Writes a header, then rows, until the reader closes the FIFO or 64 MiB were written.
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&writer_path)
            .unwrap();
        let mut written = 0usize;
        let row = "alice,arn:aws:iam::111122223333:user/alice\n".repeat(1000);
        if f.write_all(b"user,arn\n").is_err() {
            return written;
        }
        while written < 64 << 20 {
            if f.write_all(row.as_bytes()).is_err() {
                break;
            }
            written += row.len();
        }
        written
    });
    let path_arg = path.display().to_string();
    let o = output_within(
        &mut limited(
            TWO_GIB,
            &[
                "--once",
                "--credential-report.file",
                &path_arg,
                "--credential-report.max-bytes",
                "1048576",
            ],
        ),
        Duration::from_secs(60),
    )
    .unwrap();
    let line = one_error_line(&o);
    assert!(line.contains("over the limit of 1048576 bytes"), "{line}");
    let written = writer.join().unwrap();
    assert!(
        written < 4 << 20,
        "{written} bytes were read from the FIFO for a limit of 1 MiB"
    );
}

#[test]
fn a_fifo_without_a_writer_reads_as_an_empty_report_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = fifo(dir.path());
    let path_arg = path.display().to_string();
    let o = output_within(
        exporter_cmd(None).args(["--once", "--credential-report.file", &path_arg]),
        Duration::from_secs(30),
    )
    .unwrap_or_else(|e| panic!("--once waited for a writer: {e}"));
    let line = one_error_line(&o);
    assert!(line.contains("empty"), "{line}");
}

#[test]
fn a_fifo_whose_writer_stalls_fails_the_refresh_at_its_deadline_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let path = fifo(dir.path());
    let writer_path = path.clone();
    // A writer that opens the FIFO, writes a header and then nothing, for longer than the test.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&writer_path)
            .unwrap();
        let _ = f.write_all(b"user,arn\n");
        let _ = done_rx.recv_timeout(Duration::from_secs(60));
    });
    let path_arg = path.display().to_string();
    // Offline, the deadline is --credential-report.timeout. NB: `--once` runs one async
    // thread: a read on it would keep the deadline from ever firing.
    let o = output_within(
        exporter_cmd(None).args([
            "--once",
            "--credential-report.file",
            &path_arg,
            "--credential-report.timeout=2s",
        ]),
        Duration::from_secs(40),
    );
    let _ = done_tx.send(());
    writer.join().unwrap();
    let o = o.unwrap_or_else(|e| panic!("--once hung on the FIFO: {e}"));
    let line = one_error_line(&o);
    assert!(line.contains("took longer than 2s"), "{line}");
}

const ONE_COLUMN: &str = "user\nalice\nbob\n";

#[test]
fn a_report_of_the_user_column_alone_is_read_plain_and_as_base64() {
    let dir = tempfile::tempdir().unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(ONE_COLUMN);
    for (name, body) in [
        ("one-column.csv", ONE_COLUMN.to_owned()),
        // Its letters are base64's and their count a multiple of 4: still CSV.
        ("one-column-abcd.csv", "user\nabcd\nefgh\n".to_owned()),
        ("one-column.b64", format!("{b64}\n")),
    ] {
        let path = write_file(dir.path(), name, &body);
        let o = run(&[
            "--once",
            "--credential-report.file",
            &path.display().to_string(),
        ]);
        assert!(o.status.success(), "{name}: {}", stderr_of(&o));
        let m = String::from_utf8(o.stdout).unwrap();
        assert_eq!(
            val(&m, "aws_iam_users", &[("account_id", "unknown")]),
            2.0,
            "{name}\n{m}"
        );
    }
}

/// `full.csv` without the columns `drop`.
fn full_without(drop: &[&str]) -> String {
    let text = std::fs::read_to_string(fixture("reports/full.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| !drop.contains(&header[i]))
        .collect();
    let mut out = String::new();
    for line in std::iter::once(header.join(",")).chain(lines.map(str::to_owned)) {
        // `full.csv` quotes one name with a comma: keep that field whole.
        let mut fields = Vec::new();
        let mut rest = line.as_str();
        while !rest.is_empty() || fields.len() < header.len() {
            if let Some(q) = rest.strip_prefix('"') {
                let end = q.find('"').unwrap();
                fields.push(format!("\"{}\"", &q[..end]));
                rest = q[end + 1..].strip_prefix(',').unwrap_or("");
            } else {
                let end = rest.find(',').unwrap_or(rest.len());
                fields.push(rest[..end].to_owned());
                rest = rest.get(end + 1..).unwrap_or("");
            }
            if fields.len() == header.len() {
                break;
            }
        }
        let kept: Vec<&str> = keep.iter().map(|&i| fields[i].as_str()).collect();
        out.push_str(&kept.join(","));
        out.push('\n');
    }
    out
}

/// The warnings of `log` about missing columns.
fn missing_column_warnings(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("level=warn") && l.contains("missing"))
        .collect()
}

#[test]
fn a_missing_column_is_named_once_with_what_it_leaves_absent_and_again_only_when_the_set_changes() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.csv");
    let write = |drop: &[&str]| {
        let tmp = dir.path().join("report.tmp");
        std::fs::write(&tmp, full_without(drop)).unwrap();
        std::fs::rename(&tmp, &report).unwrap();
    };
    let successes = |e: &mut Exporter, at_least: f64| {
        e.wait_for_metric(
            "aws_iam_exporter_refreshes_total",
            &[A, ("result", "success")],
            Duration::from_secs(20),
            |v| v >= at_least,
        )
    };
    write(&["access_key_2_active"]);
    let mut e = Exporter::start_with(ExporterOpts {
        args: vec![
            "--credential-report.file".into(),
            report.display().to_string(),
            "--refresh.interval=1s".into(),
        ],
        ..Default::default()
    });
    let n = successes(&mut e, 3.0);
    let log = e.stderr();
    let warned = missing_column_warnings(&log);
    assert_eq!(warned.len(), 1, "{log}");
    for named in [
        "access_key_2_active",
        "multiple_active_keys",
        "aws_iam_users_with_multiple_active_keys",
    ] {
        assert!(
            warned[0].contains(named),
            "`{named}` not named: {}",
            warned[0]
        );
    }
    assert!(!warned[0].contains("mfa_active"), "{}", warned[0]);

    write(&["access_key_2_active", "mfa_active"]);
    successes(&mut e, n + 3.0);
    let log = e.stderr();
    let warned = missing_column_warnings(&log);
    assert_eq!(warned.len(), 2, "{log}");
    for named in ["access_key_2_active", "mfa_active", "console_user_mfa"] {
        assert!(
            warned[1].contains(named),
            "`{named}` not named: {}",
            warned[1]
        );
    }
}
