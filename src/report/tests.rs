//! Unit tests of the parser, on hand-made rows and on the public fixtures.

use super::*;
use base64::Engine as _;

use super::TEST_HEADER as HEADER;
const ROOT: &str = "<root_account>,arn:aws:iam::123456789012:root,2015-01-01T00:00:00+00:00,not_supported,2024-05-01T10:00:00+00:00,not_supported,not_supported,true,true,2020-01-01T00:00:00+00:00,2024-05-02T00:00:00+00:00,us-east-1,iam,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A";
const ALICE: &str = "alice,arn:aws:iam::123456789012:user/alice,2020-01-01T00:00:00Z,TRUE,no_information,2020-01-01T00:00:00Z,N/A,FALSE,TRUE,2020-01-01T00:00:05Z,N/A,N/A,N/A,TRUE,2021-01-01T00:00:00Z,2024-01-01T00:00:00Z,us-west-2,s3,FALSE,N/A,FALSE,N/A";

fn csv(rows: &[&str]) -> String {
    let mut s = String::from(HEADER);
    for r in rows {
        s.push('\n');
        s.push_str(r);
    }
    s.push('\n');
    s
}

#[test]
fn root_row_and_user_rows_are_separated() {
    let r = parse(csv(&[ROOT, ALICE]).as_bytes()).unwrap();
    let root = r.root.as_ref().unwrap();
    assert_eq!(r.users.len(), 1);
    assert_eq!(r.name(&r.users[0]), "alice");
    assert_eq!(r.account_id.as_deref(), Some("123456789012"));
    assert_eq!(root.password_enabled, None);
    assert_eq!(root.mfa_active, Some(true));
    assert_eq!(root.access_keys[0].active, Some(true));
    assert_eq!(root.access_keys[1].active, Some(false));
    assert_eq!(root.password_last_used, Some(Date::At(1714557600)));
}

#[test]
fn special_values_stay_distinct() {
    let r = parse(csv(&[ROOT, ALICE]).as_bytes()).unwrap();
    let alice = &r.users[0];
    assert_eq!(alice.password_enabled, Some(true));
    assert_eq!(alice.password_last_used, Some(Date::NoInformation));
    assert_eq!(alice.access_keys[0].last_used, Some(Date::NotApplicable));
    let root = r.root.unwrap();
    assert_eq!(root.password_last_changed, Some(Date::NotSupported));
}

#[test]
fn a_user_listed_twice_is_served_once_from_the_row_created_last_with_one_warning() {
    // The re-created alice (2022) is listed before the deleted one (2020).
    let recreated = ALICE
        .replace("2020-01-01T00:00:00Z,TRUE", "2022-02-02T00:00:00Z,FALSE")
        .replacen("no_information", "N/A", 1);
    let bob = ALICE
        .replace("alice", "bob")
        .replace("2020-01-01T00:00:00Z,TRUE", "2023-01-01T00:00:00Z,TRUE");
    let r = parse(csv(&[ROOT, &recreated, &bob, ALICE]).as_bytes()).unwrap();
    let names: Vec<_> = r.users.iter().map(|u| r.name(u)).collect();
    assert_eq!(names, ["alice", "bob"]);
    assert_eq!(r.users[0].password_enabled, Some(false));
    assert_eq!(
        r.warnings,
        [Warning::DuplicateUser {
            user: "alice".into(),
            rows: 2
        }]
    );
    assert!(r.warnings[0].to_string().contains("`alice` in 2 rows"));
}

#[test]
fn rows_of_a_duplicate_user_with_equal_creation_times_resolve_to_the_later_row() {
    let later = ALICE.replacen("TRUE", "FALSE", 1);
    let r = parse(csv(&[ALICE, &later]).as_bytes()).unwrap();
    assert_eq!(r.users.len(), 1);
    assert_eq!(r.users[0].password_enabled, Some(false));
}

#[test]
fn a_second_root_row_is_resolved_like_a_duplicate_user() {
    let older = ROOT.replace("2015-01-01T00:00:00+00:00", "2010-01-01T00:00:00+00:00");
    let r = parse(csv(&[ROOT, &older, ALICE]).as_bytes()).unwrap();
    assert_eq!(r.users.len(), 1);
    let root = r.root.as_ref().unwrap();
    assert_eq!(root.user_creation_time, Some(Date::At(1420070400)));
    assert_eq!(r.name(root), ROOT_USER);
    assert_eq!(r.warnings.len(), 1);
}

#[test]
fn times_with_z_and_with_offset_are_the_same_instant() {
    assert_eq!(
        parse_time("2020-01-01T00:00:00Z"),
        parse_time("2020-01-01T00:00:00+00:00")
    );
    assert_eq!(parse_time("2020-01-01T02:00:00+02:00"), Some(1577836800));
    assert_eq!(parse_time("2020-01-01"), None);
}

#[test]
fn aws_dates_read_to_the_second_including_leap_days_and_the_epoch() {
    // AWS's own form, from the IAM user guide's sample report.
    assert_eq!(parse_time("2014-04-21T08:42:00+00:00"), Some(1398069720));
    assert_eq!(parse_time("1970-01-01T00:00:00+00:00"), Some(0));
    assert_eq!(parse_time("1969-12-31T23:59:59Z"), Some(-1));
    assert_eq!(parse_time("2024-02-29T12:00:00Z"), Some(1709208000));
    assert_eq!(parse_time("2000-02-29T00:00:00Z"), Some(951782400));
    assert_eq!(parse_time("2023-02-29T00:00:00Z"), None, "not a leap year");
    assert_eq!(parse_time("1900-02-29T00:00:00Z"), None, "not a leap year");
    assert_eq!(parse_time("2024-04-31T00:00:00Z"), None);
    assert_eq!(parse_time("2024-13-01T00:00:00Z"), None);
    assert_eq!(parse_time("2024-01-01T24:00:00Z"), None);
    // Beyond AWS's form, `time` reads what RFC 3339 allows.
    assert_eq!(parse_time("2024-01-01T00:00:00.5Z"), Some(1704067200));
    assert_eq!(parse_time("2024-01-01T01:00:00+01:00"), Some(1704067200));
}

#[test]
fn booleans_are_read_in_any_case() {
    let r = parse(csv(&[ALICE]).as_bytes()).unwrap();
    assert_eq!(r.users[0].access_keys[1].active, Some(true));
    assert_eq!(r.users[0].mfa_active, Some(false));
    let lower = ALICE.replace("TRUE", "true").replace("FALSE", "false");
    assert_eq!(parse(csv(&[&lower]).as_bytes()).unwrap().users, r.users);
}

#[test]
fn columns_are_read_by_name_whatever_their_order_and_extra_columns() {
    // Reverse the header and every row, and add a column AWS might add one day.
    let rev = |line: &str| {
        let mut f: Vec<&str> = line.split(',').collect();
        f.reverse();
        f.push("extra");
        f.join(",")
    };
    let body = format!(
        "{}\n{}\n{}\n",
        rev(HEADER).replace(",extra", ",some_new_column"),
        rev(ROOT),
        rev(ALICE)
    );
    let straight = parse(csv(&[ROOT, ALICE]).as_bytes()).unwrap();
    assert_eq!(parse(body.as_bytes()).unwrap(), straight);
}

#[test]
fn crlf_line_endings_and_a_byte_order_mark_are_accepted() {
    let body = format!("\u{feff}{}", csv(&[ROOT, ALICE]).replace('\n', "\r\n"));
    let r = parse(body.as_bytes()).unwrap();
    assert_eq!(r.users.len(), 1);
    assert!(r.root.is_some());
}

#[test]
fn quoted_names_with_commas_are_one_field() {
    let row = ALICE
        .replacen("alice", "\"a,lice\"", 1)
        .replace("user/alice", "user/a,lice");
    let row = row.replacen(
        "arn:aws:iam::123456789012:user/a,lice",
        "\"arn:aws:iam::123456789012:user/a,lice\"",
        1,
    );
    let r = parse(csv(&[&row]).as_bytes()).unwrap();
    assert_eq!(r.name(&r.users[0]), "a,lice");
    assert_eq!(r.users[0].access_keys[1].active, Some(true));
}

#[test]
fn a_missing_required_column_is_named() {
    // `user` is the one column a report cannot do without (issue 15 A2).
    let body = csv(&[ALICE]).replace("user,arn", "username,arn");
    assert_eq!(
        parse(body.as_bytes()),
        Err(ParseError::MissingColumn("user"))
    );
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/reports/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_public_custodian_report_with_a_user_listed_twice_serves_the_last_row() {
    let r = parse(&fixture("custodian-duplicate-user.csv")).unwrap();
    assert_eq!(r.users.len(), 19);
    let chris: Vec<_> = r
        .users
        .iter()
        .filter(|u| r.name(u) == "christopher")
        .collect();
    assert_eq!(chris.len(), 1);
    // Same creation time in both rows: the later one (key 1 active, password used) wins.
    assert_eq!(chris[0].access_keys[0].active, Some(true));
    assert_eq!(r.warnings.len(), 1);
}

#[test]
fn a_column_missing_from_the_header_makes_its_facts_unknown() {
    let header: Vec<&str> = HEADER.split(',').filter(|c| *c != "mfa_active").collect();
    let row: Vec<&str> = ALICE
        .split(',')
        .enumerate()
        .filter(|(i, _)| *i != 7)
        .map(|(_, v)| v)
        .collect();
    let r = parse(format!("{}\n{}\n", header.join(","), row.join(",")).as_bytes()).unwrap();
    assert_eq!(r.users[0].mfa_active, None);
    assert_eq!(r.users[0].password_enabled, Some(true));
}

#[test]
fn the_aws_2015_layout_without_last_used_columns_parses_with_last_use_unknown() {
    let r = parse(&fixture("aws-2015-16-columns.csv")).unwrap();
    assert_eq!(r.users.len(), 2);
    assert_eq!(r.account_id.as_deref(), Some("123456789012"));
    let admin = &r.users[0];
    assert_eq!(admin.active_access_keys(), Some(2));
    assert_eq!(admin.access_keys[0].last_used, None);
    assert_eq!(admin.password_last_used, Some(Date::At(1429543112)));
    let root = r.root.as_ref().unwrap();
    assert_eq!(root.mfa_active, Some(true));
    assert_eq!(root.certificates[1].active, Some(false));
}

#[test]
fn a_14_column_subset_without_the_second_certificate_parses() {
    let r = parse(&fixture("aws-2015-14-columns.csv")).unwrap();
    assert_eq!(r.users.len(), 2);
    let root = r.root.as_ref().unwrap();
    assert_eq!(root.certificates[0].active, Some(false));
    assert_eq!(root.certificates[1].active, None);
}

#[test]
fn the_cis_audit_cut_without_arn_parses_and_leaves_the_account_id_to_the_caller() {
    let r = parse(&fixture("cis-audit-6-columns.csv")).unwrap();
    assert_eq!(r.users.len(), 6);
    assert_eq!(r.account_id, None);
    let paras = r.users.iter().find(|u| r.name(u) == "paras").unwrap();
    assert_eq!(paras.active_access_keys(), Some(2));
    assert_eq!(paras.user_creation_time, None);
    assert_eq!(paras.access_keys[1].last_rotated, None);
}

#[test]
fn certificate_columns_are_optional_and_unknown_when_missing() {
    let header: Vec<&str> = HEADER.split(',').take(18).collect();
    let row: Vec<&str> = ALICE.split(',').take(18).collect();
    let body = format!("{}\n{}\n", header.join(","), row.join(","));
    let r = parse(body.as_bytes()).unwrap();
    // Missing means unknown, not inactive: the root certificate control must not pass on it.
    assert_eq!(r.users[0].certificates[0].active, None);
}

#[test]
fn a_bad_date_is_unknown_for_its_row_counted_and_named_by_line_and_column() {
    let row = ALICE.replace("2021-01-01T00:00:00Z", "yesterday");
    let r = parse(csv(&[ROOT, &row]).as_bytes()).unwrap();
    assert_eq!(r.users[0].access_keys[1].last_rotated, None);
    // The rest of the row is served.
    assert_eq!(r.users[0].access_keys[1].active, Some(true));
    assert_eq!(
        r.users[0].access_keys[0].last_rotated,
        Some(Date::At(1577836805))
    );
    assert_eq!(r.unparsed, [("access_key_2_last_rotated", 1)].into());
    let expected = ParseError::BadValue {
        line: 3,
        column: "access_key_2_last_rotated",
        problem: "`yesterday` is not an RFC 3339 time".into(),
    };
    assert_eq!(
        r.warnings,
        [Warning::Unparsed {
            column: "access_key_2_last_rotated",
            count: 1,
            first: expected.to_string(),
        }]
    );
    assert!(r.warnings[0].to_string().contains("line 3"));
}

#[test]
fn a_bad_boolean_is_unknown_for_its_row_and_counted() {
    let row = ALICE.replacen("FALSE", "maybe", 1);
    let bob = ALICE.replace("alice", "bob").replacen("FALSE", "maybe", 1);
    let r = parse(csv(&[&row, &bob]).as_bytes()).unwrap();
    assert_eq!(r.users[0].mfa_active, None);
    assert_eq!(r.unparsed, [("mfa_active", 2)].into());
    // One warning per column, however many rows.
    assert_eq!(r.warnings.len(), 1);
}

#[test]
fn a_user_row_without_true_or_false_for_its_password_has_it_unknown_and_counted() {
    // `not_supported` is root's documented value, not a user's.
    let row = ALICE.replacen("TRUE", "not_supported", 1);
    let r = parse(csv(&[ROOT, &row]).as_bytes()).unwrap();
    assert_eq!(r.users[0].password_enabled, None);
    assert_eq!(r.users[0].mfa_active, Some(false));
    assert_eq!(r.unparsed, [("password_enabled", 1)].into());
    assert_eq!(r.root.unwrap().password_enabled, None);
}

#[test]
fn an_unnamed_row_or_a_bad_arn_does_not_reject_the_report() {
    let unnamed = ALICE.replacen("alice", "", 1);
    let bad_arn = ALICE
        .replace("alice", "bob")
        .replace("arn:aws:iam::123456789012:user/bob", "arn:nope");
    let r = parse(csv(&[&unnamed, &bad_arn, ROOT]).as_bytes()).unwrap();
    assert_eq!(r.users.len(), 1);
    assert_eq!(r.account_id.as_deref(), Some("123456789012"));
    assert_eq!(r.unparsed, [("arn", 1), ("user", 1)].into());
}

#[test]
fn an_echoed_value_is_cut() {
    let long = "x".repeat(10_000);
    let row = ALICE.replacen("FALSE", &long, 1);
    let r = parse(csv(&[&row]).as_bytes()).unwrap();
    assert!(r.warnings[0].to_string().len() < 400, "{}", r.warnings[0]);
}

#[test]
fn short_rows_and_non_csv_bodies_are_errors() {
    let short = format!("{HEADER}\nalice,arn:aws:iam::123456789012:user/alice\n");
    assert!(matches!(
        parse(short.as_bytes()),
        Err(ParseError::NotCsv(_))
    ));
    assert_eq!(
        parse(b"<html>Access denied</html>"),
        Err(ParseError::MissingColumn("user"))
    );
    assert_eq!(parse(b"  \n"), Err(ParseError::Empty));
}

#[test]
fn two_accounts_in_one_report_are_refused() {
    let other = ALICE
        .replace("123456789012", "999999999999")
        .replacen("alice", "bob", 1);
    assert_eq!(
        parse(csv(&[ALICE, &other]).as_bytes()),
        Err(ParseError::MixedAccounts(
            "123456789012".into(),
            "999999999999".into()
        ))
    );
}

#[test]
fn a_report_with_only_a_header_has_no_users_and_no_account() {
    let r = parse(format!("{HEADER}\n").as_bytes()).unwrap();
    assert!(r.users.is_empty() && r.root.is_none() && r.account_id.is_none());
}

#[test]
fn moto_not_supported_values_parse() {
    let moto = "bob,arn:aws:iam::123456789012:user/bob,2024-01-01T00:00:00+00:00,false,not_supported,not_supported,not_supported,false,true,2024-01-01T00:00:00+00:00,N/A,not_supported,not_supported,false,N/A,N/A,not_supported,not_supported,false,N/A,false,N/A";
    let r = parse(csv(&[moto]).as_bytes()).unwrap();
    assert_eq!(r.users[0].password_last_used, Some(Date::NotSupported));
    assert_eq!(r.users[0].password_enabled, Some(false));
}

#[test]
fn cli_json_is_detected_and_decoded() {
    let body = csv(&[ROOT, ALICE]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
    let json = format!(
        r#"{{"Content": "{b64}", "ReportFormat": "text/csv", "GeneratedTime": "2024-06-01T12:00:00+00:00"}}"#
    );
    let doc = decode_document(json.as_bytes(), 1 << 20).unwrap();
    assert_eq!(doc.csv, body.as_bytes());
    assert_eq!(doc.generated, Some(1717243200));
    let plain = decode_document(body.as_bytes(), 1 << 20).unwrap();
    assert_eq!(plain.generated, None);
}

#[test]
fn bare_base64_as_the_cli_prints_it_is_detected_and_decoded() {
    let body = csv(&[ROOT, ALICE]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
    let doc = decode_document(format!("{b64}\n").as_bytes(), 1 << 20).unwrap();
    assert_eq!(doc.csv, body.as_bytes());
    assert_eq!(doc.generated, None);
    // Wrapped by a terminal copy, still one report.
    let wrapped: Vec<String> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let doc = decode_document(wrapped.join("\r\n").as_bytes(), 1 << 20).unwrap();
    assert_eq!(parse(&doc.csv).unwrap().users.len(), 1);
}

#[test]
fn bad_base64_and_bad_json_are_named() {
    let err = decode_document(br#"{"Content": "!!!"}"#, 1024).unwrap_err();
    assert!(matches!(err, ParseError::BadBase64(_)), "{err}");
    let err = decode_document(br#"{"Contents": "x"}"#, 1024).unwrap_err();
    assert!(err.to_string().contains("Content"), "{err}");
    let err = decode_document(br#"{"Content": "", "ReportFormat": "text/xml"}"#, 1024).unwrap_err();
    assert!(err.to_string().contains("text/xml"), "{err}");
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    assert_eq!(
        decode_document(&[b'a'; 100], 10),
        Err(ParseError::TooLarge {
            size: 100,
            limit: 10
        })
    );
}

mod properties {
    use super::super::*;
    use proptest::prelude::*;
    use time::format_description::well_known::Rfc3339;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse(&bytes);
            let _ = decode_document(&bytes, 4096);
        }

        #[test]
        fn arbitrary_fields_in_a_valid_header_never_panic(
            rows in proptest::collection::vec(
                proptest::collection::vec("[a-zA-Z0-9_:/+,.@\"\\- <>]{0,30}", 0..25), 0..8)
        ) {
            let mut body = String::from(super::HEADER);
            for row in rows {
                body.push('\n');
                body.push_str(&row.join(","));
            }
            let _ = parse(body.as_bytes());
        }

        /// The fast path agrees with `time`'s RFC 3339 parser on every date-like string, valid
        /// or not: day 0, February 29 of non-leap years, hour 24, second 60, other offsets.
        #[test]
        fn times_read_as_the_rfc3339_parser_reads_them(
            year in 0u32..10_000, month in 0u32..14, day in 0u32..33,
            hour in 0u32..26, minute in 0u32..62, second in 0u32..62,
            zone in prop::sample::select(vec!["Z", "+00:00", "z", "-00:00", "+01:30", "+00:0", ""]),
        ) {
            let s = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{zone}");
            let expected = time::OffsetDateTime::parse(&s, &Rfc3339).ok().map(|t| t.unix_timestamp());
            prop_assert_eq!(parse_time(&s), expected, "{}", s);
        }

        #[test]
        fn any_short_string_reads_as_the_rfc3339_parser_reads_it(s in "[0-9T:+Z. -]{15,30}") {
            let expected = time::OffsetDateTime::parse(&s, &Rfc3339).ok().map(|t| t.unix_timestamp());
            prop_assert_eq!(parse_time(&s), expected, "{}", s);
        }

        /// Lines are split on commas, quoted fields included: the result, errors and line
        /// numbers included, is the csv crate's, whatever the blank lines, field counts, quotes
        /// (well formed or not) and values.
        #[test]
        fn plain_reports_read_as_the_csv_crate_reads_them(
            header in prop::sample::select(vec![super::HEADER, "user", "user,arn", "arn,user,password_enabled", "user,user", "arn"]),
            lines in proptest::collection::vec(
                proptest::collection::vec(prop::sample::select(vec![
                    "", " ", "alice", "bob ", "<root_account>", "true", "FALSE", "N/A", "x",
                    "not_supported", "2024-01-01T00:00:00+00:00", "2024-02-30T00:00:00Z",
                    "arn:aws:iam::123456789012:user/a", "arn:aws:iam::210987654321:root", "é",
                    "\"smith,john\"", "\"quoted\"", "\"\"", "\"a\"\"b\"", " \"a\"", "a\"b",
                    "\"a\"b", "\"open", "close\"", "\"two\nlines\"", "\"arn:aws:iam::123456789012:user/x,y\"",
                ]), 0..24),
                0..8),
            leading_blank in 0usize..3,
            trailing_newline in any::<bool>(),
        ) {
            let mut body = "\n".repeat(leading_blank) + header;
            for fields in &lines {
                body.push('\n');
                body.push_str(&fields.join(","));
            }
            if trailing_newline {
                body.push('\n');
            }
            let by_csv = read_csv(body.as_bytes()).map(|(r, odd)| settle(r, odd));
            prop_assert_eq!(parse(body.as_bytes()), by_csv, "{:?}", body);
        }

        #[test]
        fn arbitrary_json_content_never_panics(content in "\\PC{0,200}", time in "\\PC{0,40}") {
            let json = serde_json::json!({"Content": content, "GeneratedTime": time}).to_string();
            let _ = decode_document(json.as_bytes(), 1 << 16);
        }
    }
}

#[test]
fn an_owned_csv_document_is_kept_as_read_and_loses_only_its_bom() {
    let csv = b"user,arn\nalice,arn:aws:iam::123456789012:user/alice\n".to_vec();
    let read = csv.clone();
    let at = read.as_ptr();
    let doc = decode_document_owned(read, 1 << 20).unwrap();
    assert_eq!(doc.csv, csv);
    assert_eq!(doc.csv.as_ptr(), at, "no copy of a plain CSV file");
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(&csv);
    assert_eq!(decode_document_owned(with_bom, 1 << 20).unwrap().csv, csv);
}

#[test]
fn reports_as_aws_writes_them_are_split_without_the_csv_state_machine() {
    let body = format!(
        "{HEADER}\n{}\n",
        ALICE.replacen("alice", "\"smith,alice\"", 1)
    );
    let (report, _) = read_plain(&body).expect("split line by line").unwrap();
    assert_eq!(report.name(&report.users[0]), "smith,alice");
    let mut fields = Vec::new();
    assert!(split_line("\"a,b\",,c,\"\"", &mut fields));
    assert_eq!(fields, ["a,b", "", "c", ""]);
    // What only the csv crate reads: escaped quotes, quotes inside a field, a field over lines.
    for line in ["\"a\"\"b\",c", "a\"b,c", "\"a\"b,c", "\"open,c"] {
        assert!(!split_line(line, &mut Vec::new()), "{line}");
    }
    let escaped = "user,arn\n\"o\"\"brien\",arn:aws:iam::123456789012:user/x\n";
    assert!(read_plain(escaped).is_none());
    let report = parse(escaped.as_bytes()).unwrap();
    assert_eq!(report.name(&report.users[0]), "o\"brien");
}

#[test]
fn each_row_keeps_its_arn_and_a_user_name_is_the_tail_of_it() {
    let r = parse(include_bytes!("../../examples/credential-report.csv")).unwrap();
    let root = r.root.as_ref().unwrap();
    assert_eq!(r.arn(root), Some("arn:aws:iam::123456789012:root"));
    assert_eq!(r.name(root), ROOT_USER);
    let arn_of = |name: &str| {
        let u = r.users.iter().find(|u| r.name(u) == name).unwrap();
        r.arn(u)
    };
    assert_eq!(
        arn_of("alice"),
        Some("arn:aws:iam::123456789012:user/alice")
    );
    assert_eq!(
        arn_of("backup-svc"),
        Some("arn:aws:iam::123456789012:user/service/backup-svc")
    );
    assert_eq!(
        arn_of("ci,runner"),
        Some("arn:aws:iam::123456789012:user/ci/ci,runner")
    );
    // A name that is not the ARN's tail is stored apart (a hand-edited file).
    let odd = ALICE.replacen("alice,", "alice2,", 1);
    let r = parse(csv(&[&odd]).as_bytes()).unwrap();
    assert_eq!(r.name(&r.users[0]), "alice2");
    assert_eq!(
        r.arn(&r.users[0]),
        Some("arn:aws:iam::123456789012:user/alice")
    );
}

#[test]
fn a_row_without_an_iam_arn_has_none() {
    let r = parse(&fixture("cis-audit-6-columns.csv")).unwrap();
    assert!(r.users.iter().all(|u| r.arn(u).is_none()));
    assert_eq!(r.name(&r.users[0]), "elise");
    let bad = ALICE.replacen("arn:aws:iam::123456789012:user/alice", "not-an-arn", 1);
    let r = parse(csv(&[&bad]).as_bytes()).unwrap();
    assert_eq!(r.arn(&r.users[0]), None);
    assert_eq!(r.name(&r.users[0]), "alice");
}

#[test]
fn blank_lines_are_skipped_without_reserving_anything_for_them() {
    // NB: a report of 60 million blank lines once reserved 12 GB from its newline count.
    let mut body = String::from("user,arn\n");
    body.push_str(&"\n".repeat(1_000_000));
    for body in [body.clone(), body.replace('\n', "\r\n")] {
        let r = parse(body.as_bytes()).unwrap();
        assert!(r.users.is_empty());
        assert_eq!(r.users.capacity(), 0, "rows reserved for blank lines");
    }
    // Rows are read whatever the blank lines around them.
    let r = parse(format!("{HEADER}\n\n\n{ROOT}\n\n{ALICE}\n\n").as_bytes()).unwrap();
    assert_eq!(r.users.len(), 1);
    assert!(r.root.is_some());
}

#[test]
fn a_row_takes_at_most_the_200_bytes_the_documentation_states() {
    // docs/configuration.md (--credential-report.max-bytes) bounds a report's memory with it.
    assert!(
        std::mem::size_of::<Row>() <= 200,
        "{}",
        std::mem::size_of::<Row>()
    );
}

#[test]
fn a_report_of_the_user_column_alone_is_csv_even_where_its_letters_are_base64s() {
    for body in [
        "user\nalice\nbob\n",
        "user\nabcd\nefgh\n",
        "\"user\"\nalice\nbob",
    ] {
        let doc = decode_document(body.as_bytes(), 1 << 20).unwrap();
        assert_eq!(doc.csv, body.as_bytes(), "{body:?}");
        let r = parse(&doc.csv).unwrap();
        assert_eq!(r.users.len(), 2, "{body:?}");
    }
    // And as base64, a report still.
    let b64 = base64::engine::general_purpose::STANDARD.encode("user\nalice\nbob\n");
    let doc = decode_document(format!("{b64}\n").as_bytes(), 1 << 20).unwrap();
    assert_eq!(doc.csv, b"user\nalice\nbob\n");
}

#[test]
fn base64_letters_that_are_neither_a_report_nor_base64_of_one_are_named_bad_base64() {
    for (body, why) in [
        ("YWJjZA==\n", "no CSV header"),
        ("YWJjZA=\n", "quanta"),
        ("YW=JjZA=\n", "quanta"),
        ("dXNlcg\n", "quanta"),
    ] {
        let e = decode_document(body.as_bytes(), 1 << 20).unwrap_err();
        assert!(matches!(e, ParseError::BadBase64(_)), "{body:?}: {e}");
        assert!(e.to_string().contains(why), "{body:?}: {e}");
    }
}

#[test]
fn the_columns_a_header_lacks_are_named_in_the_order_aws_writes_them() {
    let r =
        parse(b"user,mfa_active,arn\nalice,true,arn:aws:iam::123456789012:user/alice\n").unwrap();
    assert_eq!(r.missing_columns.len(), OPTIONAL_COLUMNS.len() - 2);
    assert_eq!(r.missing_columns[0], "user_creation_time");
    assert!(!r.missing_columns.contains(&"mfa_active"));
    assert!(!r.missing_columns.contains(&"arn"));
    assert!(r.missing_columns.contains(&"access_key_2_active"));
    assert!(
        parse(csv(&[ROOT]).as_bytes())
            .unwrap()
            .missing_columns
            .is_empty()
    );
}
