//! ARNs (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`): the one reader of their fields, for
//! the report's `arn` column, the role ARNs of `--config.file` and AssumeRole's answer. A leaf:
//! it imports nothing.

/// The fields of an ARN, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    /// Everything after the account field (it may hold `:` and `/`); `None` when the ARN ends
    /// with the account.
    pub resource: Option<&'a str>,
}

impl<'a> Arn<'a> {
    /// Splits `arn` on its first five colons; `None` when it does not start with `arn:` or has
    /// no account field. memchr: the report reads one ARN per row.
    pub fn parse(arn: &'a str) -> Option<Arn<'a>> {
        fn next(s: &str) -> (&str, Option<&str>) {
            match memchr::memchr(b':', s.as_bytes()) {
                Some(i) => (&s[..i], Some(&s[i + 1..])),
                None => (s, None),
            }
        }
        let rest = arn.strip_prefix("arn:")?;
        let (partition, rest) = next(rest);
        let (service, rest) = next(rest?);
        let (region, rest) = next(rest?);
        let (account, resource) = next(rest?);
        Some(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }
}

/// Whether `s` is an AWS account id: 12 digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account id of an IAM ARN (`arn:aws:iam::123456789012:user/x`), if well formed.
pub fn iam_account(arn: &str) -> Option<&str> {
    let arn = Arn::parse(arn)?;
    (arn.service == "iam" && is_account_id(arn.account)).then_some(arn.account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn arn_account_ids_are_checked() {
        assert_eq!(
            iam_account("arn:aws:iam::123456789012:user/a:b"),
            Some("123456789012")
        );
        assert_eq!(
            iam_account("arn:aws-us-gov:iam::123456789012:root"),
            Some("123456789012")
        );
        assert_eq!(iam_account("arn:aws:s3:::bucket"), None);
        assert_eq!(iam_account("arn:aws:iam::12345:root"), None);
    }

    #[test]
    fn the_fields_are_split_on_the_first_five_colons() {
        let arn = Arn::parse("arn:aws:sts::123456789012:assumed-role/R/s:x").unwrap();
        assert_eq!(
            arn,
            Arn {
                partition: "aws",
                service: "sts",
                region: "",
                account: "123456789012",
                resource: Some("assumed-role/R/s:x"),
            }
        );
        assert_eq!(
            Arn::parse("arn:aws:iam::123456789012").unwrap().resource,
            None
        );
        assert_eq!(Arn::parse("arn:aws:iam:"), None);
        assert_eq!(Arn::parse(" arn:aws:iam::123456789012:root"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The account of an ARN as a plain `splitn` reads it.
        #[test]
        fn account_of_arn_reads_as_splitting_on_colons(arn in "(arn|ar|arn:)?(:|aws|aws-cn|iam|[0-9]{11,13}|x/y|:)*") {
            let mut parts = arn.splitn(6, ':');
            let expected = match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some("arn"), Some(_), Some("iam"), Some(_), Some(account))
                    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) => Some(account),
                _ => None,
            };
            prop_assert_eq!(iam_account(&arn), expected);
        }
    }
}
