//! The columns the exporter reads, and where a report's header puts them.

use super::ParseError;

/// The columns this exporter reads. Every one of them is documented by AWS. Only `user` is
/// required: without it no row can be named. Any other column may be missing (AWS's own
/// pre-2015 layout has 16 columns, exports and audit `cut`s fewer); the facts that need it are
/// then unknown, never guessed.
#[derive(Clone, Copy)]
pub(super) enum Col {
    User,
    Arn,
    UserCreationTime,
    PasswordEnabled,
    PasswordLastUsed,
    PasswordLastChanged,
    MfaActive,
    Key1Active,
    Key1LastRotated,
    Key1LastUsed,
    Key2Active,
    Key2LastRotated,
    Key2LastUsed,
    Cert1Active,
    Cert1LastRotated,
    Cert2Active,
    Cert2LastRotated,
}

pub(super) const COLUMNS: [(Col, &str, bool); 17] = [
    (Col::User, "user", true),
    (Col::Arn, "arn", false),
    (Col::UserCreationTime, "user_creation_time", false),
    (Col::PasswordEnabled, "password_enabled", false),
    (Col::PasswordLastUsed, "password_last_used", false),
    (Col::PasswordLastChanged, "password_last_changed", false),
    (Col::MfaActive, "mfa_active", false),
    (Col::Key1Active, "access_key_1_active", false),
    (Col::Key1LastRotated, "access_key_1_last_rotated", false),
    (Col::Key1LastUsed, "access_key_1_last_used_date", false),
    (Col::Key2Active, "access_key_2_active", false),
    (Col::Key2LastRotated, "access_key_2_last_rotated", false),
    (Col::Key2LastUsed, "access_key_2_last_used_date", false),
    (Col::Cert1Active, "cert_1_active", false),
    (Col::Cert1LastRotated, "cert_1_last_rotated", false),
    (Col::Cert2Active, "cert_2_active", false),
    (Col::Cert2LastRotated, "cert_2_last_rotated", false),
];

/// Positions of the columns we read, found from the header row.
pub(super) struct Layout {
    pub(super) index: [Option<usize>; COLUMNS.len()],
}

impl Layout {
    pub(super) fn from_header<'h>(
        header: impl IntoIterator<Item = &'h [u8]>,
    ) -> Result<Layout, ParseError> {
        let mut index = [None; COLUMNS.len()];
        let mut seen = std::collections::HashSet::new();
        for (pos, raw) in header.into_iter().enumerate() {
            let name = std::str::from_utf8(raw)
                .map_err(|_| ParseError::NotCsv("header row is not UTF-8".into()))?
                .trim();
            if !seen.insert(name.to_owned()) {
                return Err(ParseError::DuplicateColumn(name.to_owned()));
            }
            if let Some(slot) = COLUMNS.iter().position(|(_, n, _)| *n == name) {
                index[slot] = Some(pos);
            }
        }
        for (slot, (_, name, required)) in COLUMNS.iter().enumerate() {
            if *required && index[slot].is_none() {
                return Err(ParseError::MissingColumn(name));
            }
        }
        Ok(Layout { index })
    }
}

/// Every column read but `user`, in AWS's order: a report may lack any of them.
pub const OPTIONAL_COLUMNS: [&str; COLUMNS.len() - 1] = {
    let mut names = [""; COLUMNS.len() - 1];
    let mut i = 1;
    while i < COLUMNS.len() {
        names[i - 1] = COLUMNS[i].1;
        i += 1;
    }
    names
};

impl Layout {
    /// The optional columns this header lacks, in [`COLUMNS`] order.
    pub(super) fn missing(&self) -> impl Iterator<Item = &'static str> + '_ {
        COLUMNS
            .iter()
            .zip(self.index)
            .filter(|((_, _, required), at)| !required && at.is_none())
            .map(|((_, name, _), _)| *name)
    }
}
