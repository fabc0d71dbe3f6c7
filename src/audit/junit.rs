//! `audit --format junit`: JUnit XML for CI, in the common (Ant/Surefire) shape that Jenkins,
//! GitLab and GitHub test reporters read.
//!
//! One `testsuite` per account and one `testcase` per control: a failing control has a
//! `failure` (type = severity) whose message names the offenders as the table does, an unknown
//! one is `skipped` with the reason, a passing one is empty. The counts of each suite (tests,
//! failures, skipped) and of `testsuites` are those of the table's count line.

use std::fmt::Write as _;

use super::fields::UNKNOWN_REASON;
use super::{Audit, AuditSettings, Status, cis_id, fail_on_name, rfc3339};

/// Text for an XML attribute: markup escaped, line breaks kept as character references, and
/// the control characters XML 1.0 cannot carry replaced by `?` (a report file may hold them).
fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// Text for element content: as [`attr`], line breaks and tabs kept as they are.
fn text(s: &str) -> String {
    s.split('\n').map(attr).collect::<Vec<_>>().join("\n")
}

/// `2026-12-01T00:00:00`: the schema's timestamp has no zone; it is UTC.
fn timestamp(t: i64) -> String {
    rfc3339(t).trim_end_matches('Z').to_owned()
}

/// The JUnit XML of the audit: every account that could be read (an unreadable one is only on
/// stderr, and in the exit status). `--max-offenders` shortens a failure's message as it
/// shortens the table; the failure's text lists every offender.
pub fn junit(audit: &Audit<'_>, settings: &AuditSettings) -> String {
    let now = audit.now;
    let count = |status: Status| {
        audit
            .accounts
            .iter()
            .map(|a| a.count(status))
            .sum::<usize>()
    };
    let tests: usize = audit.accounts.iter().map(|a| a.controls.len()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"aws-iam-exporter audit\" tests=\"{tests}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"0\" timestamp=\"{}\">",
        count(Status::Fail),
        count(Status::Unknown),
        timestamp(now)
    );
    for account in &audit.accounts {
        let input = account.input;
        let suite = match &input.name {
            Some(name) => format!("{} ({name})", input.account_id),
            None => input.account_id.clone(),
        };
        let classname = format!("aws-iam-exporter.{}", input.account_id);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"0\" timestamp=\"{}\">",
            attr(&suite),
            account.controls.len(),
            account.count(Status::Fail),
            account.count(Status::Unknown),
            timestamp(now)
        );
        out.push_str("    <properties>\n");
        let mut properties = vec![
            ("account_id", input.account_id.clone()),
            ("key", input.key.clone()),
        ];
        if let Some(name) = &input.name {
            properties.push(("account_name", name.clone()));
        }
        if let Some(generated) = input.data.generated {
            properties.push(("report_generated", rfc3339(generated)));
        }
        properties.push(("cis_version", settings.cis_version.to_owned()));
        properties.push(("fail_on", fail_on_name(settings.fail_on.floor()).to_owned()));
        for (name, value) in properties {
            let _ = writeln!(
                out,
                "      <property name=\"{name}\" value=\"{}\"/>",
                attr(&value)
            );
        }
        out.push_str("    </properties>\n");
        for r in &account.controls {
            let c = r.control.control();
            let open = format!(
                "    <testcase name=\"{}\" classname=\"{}\" time=\"0\"",
                c.id,
                attr(&classname)
            );
            match r.status {
                Status::Pass => {
                    let _ = writeln!(out, "{open}/>");
                }
                Status::Unknown => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                        attr(UNKNOWN_REASON)
                    );
                }
                Status::Fail => {
                    let all: Vec<String> = r.offenders.iter().map(|f| f.describe(now)).collect();
                    let shown = match settings.max_offenders {
                        0 => all.len(),
                        n => n.min(all.len()),
                    };
                    let mut message = format!(
                        "{} failing: {}",
                        r.failing_resources.unwrap_or_default(),
                        all[..shown].join("; ")
                    );
                    if shown < all.len() {
                        let _ = write!(
                            message,
                            "; ... and {} more (--max-offenders)",
                            all.len() - shown
                        );
                    }
                    let mut body = c.title.to_owned();
                    let ids: Vec<String> = [
                        cis_id(r.control, settings.cis_version)
                            .map(|id| format!("CIS {} {id}", settings.cis_version)),
                        (!c.securityhub.is_empty())
                            .then(|| format!("Security Hub {}", c.securityhub)),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    if !ids.is_empty() {
                        let _ = write!(body, " ({})", ids.join(", "));
                    }
                    for line in &all {
                        body.push('\n');
                        body.push_str(line);
                    }
                    let _ = writeln!(
                        out,
                        "{open}>\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                        attr(&message),
                        c.severity.as_str(),
                        text(&body)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::tests::{audit, sample};

    #[test]
    fn markup_and_control_characters_cannot_break_the_xml() {
        assert_eq!(
            attr("a<b>&\"c'\n\x1b"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#10;?"
        );
        assert_eq!(
            text("<root_account>\nci,runner"),
            "&lt;root_account&gt;\nci,runner"
        );
    }

    #[test]
    fn the_suite_counts_are_the_tables_and_each_failure_names_its_offenders() {
        let input = sample();
        let a = audit(&input);
        let xml = junit(&a, &AuditSettings::default());
        assert!(xml.contains(
            "<testsuite name=\"123456789012\" tests=\"27\" failures=\"11\" errors=\"0\" skipped=\"14\""
        ), "{xml}");
        // user_mfa (IAM.19) fails offline too; the new policy, certificate, API-key and
        // quarantine controls are unknown without their calls.
        assert_eq!(xml.matches("<testcase ").count(), 27);
        assert_eq!(xml.matches("<failure ").count(), 11);
        assert_eq!(xml.matches("<skipped ").count(), 14);
        assert!(xml.contains(
            "<failure message=\"1 failing: &lt;root_account&gt; (access_key_1, last used 2026-10-28, 33 days)\" type=\"critical\">No root user access key exists (CIS 4.0.1 1.4, Security Hub IAM.4)\n&lt;root_account&gt; (access_key_1, last used 2026-10-28, 33 days)</failure>"
        ), "{xml}");
        let short = junit(
            &a,
            &AuditSettings {
                max_offenders: 2,
                ..AuditSettings::default()
            },
        );
        assert!(short.contains(
            "message=\"5 failing: backup-svc (access_key_1, last used 2026-11-30, 0 days); ci,runner (access_key_2, last used 2026-11-29, 1 day); ... and 3 more (--max-offenders)\""
        ), "{short}");
        assert!(
            short.contains("\nlegacy-ftp (access_key_1, last used 2026-09-20, 71 days)</failure>")
        );
    }
}
