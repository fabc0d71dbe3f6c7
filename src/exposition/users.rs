//! The per-user families, almost every sample of a large account, written straight into the
//! rendered text.
//!
//! prometheus-client writes every other family. Its encoder goes through `dyn Write` and one
//! label encoder per label, which made rendering the largest cost of a 5,000-user `--once`
//! (scripts/bench-once.sh). Here a line is a few appends: the family name and the account's
//! labels, escaped once per family, then the user, the key slot and the value. The bytes are
//! prometheus-client's, label escaping included: the tests render the same samples through both
//! and compare them, on hostile names too.

use std::ops::Range;

use crate::report::{AccessKey, Row};

use super::{AccountView, Fam, b};

/// One per-user sample: the user, the access key slot of per-key families, the value.
pub(super) struct UserSample<'a> {
    pub user: &'a str,
    pub key: Option<&'static str>,
    pub value: i64,
}

/// Where the per-user families go: [`TextWriter`], or prometheus-client in the tests.
pub(super) trait UserFamilies {
    /// Writes family `f`, or nothing when `samples` is empty.
    fn family<'a>(&mut self, f: Fam, samples: impl Iterator<Item = UserSample<'a>>);
}

/// What each per-user family says about each user (only with `--metrics.per-user`).
pub(super) fn encode_users(v: &AccountView, out: &mut impl UserFamilies) {
    let report = &v.data.report;
    let users = &report.users;
    let user = |u: &Row, value| UserSample {
        user: report.name(u),
        key: None,
        value,
    };
    out.family(
        Fam::UserActiveAccessKeys,
        users
            .iter()
            .filter_map(|u| Some(user(u, u.active_access_keys()? as i64))),
    );
    out.family(
        Fam::UserPasswordEnabled,
        users
            .iter()
            .filter_map(|u| Some(user(u, b(u.password_enabled?)))),
    );
    out.family(
        Fam::UserPasswordLastUsed,
        users
            .iter()
            .filter_map(|u| Some(user(u, u.password_last_used?.timestamp()?))),
    );
    out.family(
        Fam::UserMfaActive,
        users.iter().filter_map(|u| Some(user(u, b(u.mfa_active?)))),
    );
    if let Some(set) = crate::posture::virtual_mfa_users(&v.data) {
        out.family(
            Fam::UserVirtualMfa,
            users
                .iter()
                .filter(|u| u.password_enabled == Some(true))
                .map(|u| user(u, b(set.contains(report.name(u))))),
        );
    }
    out.family(
        Fam::UserCreated,
        users
            .iter()
            .filter_map(|u| Some(user(u, u.user_creation_time?.timestamp()?))),
    );
    // The active keys of each user, with their slot.
    let per_key = |value: fn(&AccessKey) -> Option<i64>| {
        users.iter().flat_map(move |u| {
            [("1", &u.access_keys[0]), ("2", &u.access_keys[1])]
                .into_iter()
                .filter(|(_, k)| k.active == Some(true))
                .filter_map(move |(slot, k)| {
                    Some(UserSample {
                        user: report.name(u),
                        key: Some(slot),
                        value: value(k)?,
                    })
                })
        })
    };
    out.family(
        Fam::AccessKeyLastRotated,
        per_key(|k| k.last_rotated?.timestamp()),
    );
    out.family(
        Fam::AccessKeyLastUsed,
        per_key(|k| k.last_used?.timestamp()),
    );
    out.family(
        Fam::AccessKeyNeverUsed,
        per_key(|k| Some(b(k.last_used?.timestamp().is_none()))),
    );
}

/// Appends sample lines to a part's text and records each family's span.
pub(super) struct TextWriter<'t> {
    text: &'t mut String,
    spans: &'t mut [Range<usize>],
    /// The account's labels as they appear between the braces, escaped:
    /// `account_id="123456789012",account_name="prod"`.
    account: String,
    /// Whether any user name needs escaping; IAM names never do, so this is looked up once
    /// per account, not once per line.
    escape_users: bool,
}

impl<'t> TextWriter<'t> {
    /// A writer for the per-user families of `v` into `text`.
    pub fn new(v: &AccountView, text: &'t mut String, spans: &'t mut [Range<usize>]) -> Self {
        let report = &v.data.report;
        TextWriter {
            text,
            spans,
            account: account_labels(&v.labels),
            escape_users: report.users.iter().any(|u| needs_escaping(report.name(u))),
        }
    }
}

/// The account labels of `labels`, as prometheus-client writes them.
fn account_labels(labels: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push_str("=\"");
        push_escaped(&mut out, value);
        out.push('"');
    }
    out
}

impl UserFamilies for TextWriter<'_> {
    fn family<'a>(&mut self, f: Fam, samples: impl Iterator<Item = UserSample<'a>>) {
        let start = self.text.len();
        let mut prefix = String::with_capacity(f.family().name.len() + self.account.len() + 8);
        prefix.push_str(f.family().name);
        prefix.push('{');
        prefix.push_str(&self.account);
        if !self.account.is_empty() {
            prefix.push(',');
        }
        prefix.push_str("user=\"");
        let mut number = itoa::Buffer::new();
        for s in samples {
            let text = &mut *self.text;
            text.push_str(&prefix);
            match self.escape_users {
                true => push_escaped(text, s.user),
                false => text.push_str(s.user),
            }
            text.push('"');
            if let Some(key) = s.key {
                text.push_str(",key=\"");
                text.push_str(key);
                text.push('"');
            }
            text.push_str("} ");
            text.push_str(number.format(s.value));
            text.push('\n');
        }
        if let Some(span) = self.spans.get_mut(f as usize) {
            *span = start..self.text.len();
        }
    }
}

fn needs_escaping(value: &str) -> bool {
    value.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n'))
}

/// A label value as the text formats escape it: backslash, double quote and line feed.
fn push_escaped(out: &mut String, value: &str) {
    if !needs_escaping(value) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use prometheus_client::encoding::DescriptorEncoder;
    use proptest::prelude::*;

    use super::*;
    use crate::exposition::{AccountLabels, Out, Rendered};
    use crate::posture::{AccountData, Facts, Thresholds, derive};

    /// The reference: the same samples through prometheus-client's encoder.
    struct Reference<'o, 'e> {
        out: &'o mut Out<'e>,
        account: &'o [(&'static str, String)],
    }

    impl UserFamilies for Reference<'_, '_> {
        fn family<'a>(&mut self, f: Fam, samples: impl Iterator<Item = UserSample<'a>>) {
            let account = self.account;
            self.out
                .gauges(
                    f,
                    samples.map(|s| {
                        let mut labels = vec![("user", s.user)];
                        labels.extend(s.key.map(|k| ("key", k)));
                        ((account, labels), s.value)
                    }),
                )
                .unwrap();
        }
    }

    #[derive(Debug)]
    struct ReferenceCollector(Arc<AccountView>);

    impl prometheus_client::collector::Collector for ReferenceCollector {
        fn encode(&self, enc: DescriptorEncoder) -> std::fmt::Result {
            let account = self.0.labels.as_slice();
            encode_users(
                &self.0,
                &mut Reference {
                    out: &mut Out { enc },
                    account,
                },
            );
            Ok(())
        }
    }

    fn view(csv: &str, labels: AccountLabels, virtual_mfa: Option<&[&str]>) -> Arc<AccountView> {
        let report = crate::report::parse(csv.as_bytes()).unwrap();
        let facts = Facts {
            virtual_mfa_users: virtual_mfa
                .map(|users| users.iter().map(|u| u.to_string()).collect()),
            ..Facts::default()
        };
        let data = AccountData {
            report,
            generated: None,
            facts,
        };
        let posture = derive(&data, &Thresholds::default(), 1_750_000_000);
        Arc::new(AccountView {
            labels,
            data: data.into(),
            posture,
            per_user: true,
        })
    }

    /// Each per-user family's lines from both writers.
    fn both(v: &Arc<AccountView>) -> Vec<(usize, String, String)> {
        let reference = Rendered::encode(ReferenceCollector(v.clone()));
        let mut text = String::new();
        let mut spans = vec![0..0; super::super::FAMILIES.len()];
        encode_users(v, &mut TextWriter::new(v, &mut text, &mut spans));
        (0..spans.len())
            .map(|f| {
                let ours = text.get(spans[f].clone()).unwrap_or_default().to_owned();
                let theirs = String::from_utf8(reference.samples(f).to_vec()).unwrap();
                (f, ours, theirs)
            })
            .collect()
    }

    fn assert_same_bytes(v: &Arc<AccountView>) -> usize {
        let mut lines = 0;
        for (f, ours, theirs) in both(v) {
            assert_eq!(ours, theirs, "family {}", super::super::FAMILIES[f].name);
            lines += ours.lines().count();
        }
        lines
    }

    const HEADER: &str = crate::report::TEST_HEADER;

    fn row(user: &str, password: &str, keys: [&str; 2]) -> String {
        format!(
            "{user},arn:aws:iam::123456789012:user/x,2020-01-01T00:00:00+00:00,{password},2024-05-01T10:00:00+00:00,2020-01-01T00:00:00+00:00,N/A,true,{k1},2021-01-01T00:00:00+00:00,2024-01-01T00:00:00+00:00,us-east-1,iam,{k2},2022-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A",
            k1 = keys[0],
            k2 = keys[1],
        )
    }

    fn account(name: &str) -> AccountLabels {
        vec![
            ("account_id", "123456789012".to_owned()),
            ("account_name", name.to_owned()),
        ]
    }

    #[test]
    fn lines_are_prometheus_clients_bytes_for_every_per_user_family() {
        let csv = [
            HEADER.to_owned(),
            row("alice", "true", ["true", "true"]),
            row("bob", "false", ["false", "true"]),
            row("carol", "true", ["false", "false"]),
        ]
        .join("\n");
        let v = view(&csv, account("prod"), Some(&["alice"]));
        let lines = assert_same_bytes(&v);
        // 3 users x 5 user families, 2 console users with virtual MFA known, 3 active keys x
        // (last rotated, never used) and 1 of them used.
        assert_eq!(lines, 3 * 5 + 2 + 3 * 2 + 1);
    }

    #[test]
    fn hostile_names_and_account_labels_are_escaped_as_prometheus_client_escapes_them() {
        let csv = [
            HEADER.to_owned(),
            row("\"quoted, with comma\"\"\"", "true", ["true", "false"]),
            row("\"back\\slash\"", "true", ["true", "false"]),
            row("\"line\nfeed\"", "true", ["false", "true"]),
            row("ünïcødé", "false", ["true", "true"]),
        ]
        .join("\n");
        for labels in [
            account("a \"quoted\" \\ name\nwith a line feed"),
            vec![("account_id", "123456789012".to_owned())],
            Vec::new(),
        ] {
            let v = view(&csv, labels, None);
            assert!(assert_same_bytes(&v) > 0);
        }
    }

    #[test]
    fn an_account_without_users_writes_no_family() {
        let v = view(HEADER, account("empty"), Some(&[]));
        for (f, ours, _) in both(&v) {
            assert_eq!(ours, "", "{}", super::super::FAMILIES[f].name);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn any_names_are_written_as_prometheus_client_writes_them(
            names in proptest::collection::vec("[a-z\"\\\\\n ,=+@.é-]{1,12}", 1..6),
            account_name in "[a-z\"\\\\\n ]{0,8}",
            password in proptest::collection::vec(any::<bool>(), 6),
        ) {
            let mut csv = HEADER.to_owned();
            for (i, name) in names.iter().enumerate() {
                let quoted = format!("\"{}{i}\"", name.replace('"', "\"\""));
                csv.push('\n');
                csv.push_str(&row(&quoted, if password[i] { "true" } else { "false" }, ["true", "true"]));
            }
            let v = view(&csv, account(&account_name), Some(&[]));
            for (f, ours, theirs) in both(&v) {
                prop_assert_eq!(ours, theirs, "family {}", super::super::FAMILIES[f].name);
            }
        }
    }
}
