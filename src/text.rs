//! Input echoed in errors and log lines: on one line, and short, so that a huge or hostile
//! value (a 10 MB YAML line, a proxy's HTML page in an SDK error, an escape sequence in a
//! report field) can neither flood nor rewrite a log line. A leaf: it imports nothing.

/// `value` on one line and at most `max` characters: each run of whitespace and control
/// characters (newlines, tabs, escapes) becomes one space, and a longer value is cut and ends in
/// `...`.
pub fn cut(value: &str, max: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max.saturating_add(3)));
    let mut chars = 0;
    let mut in_space = false;
    for c in value.chars() {
        let space = c.is_whitespace() || c.is_control();
        if space && in_space {
            continue;
        }
        in_space = space;
        if chars == max {
            out.push_str("...");
            return out;
        }
        out.push(if space { ' ' } else { c });
        chars += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_value_is_kept_as_it_is() {
        assert_eq!(
            cut("arn:aws:iam::111111111111:role/R", 100),
            "arn:aws:iam::111111111111:role/R"
        );
        assert_eq!(
            cut(" 5m", 40),
            " 5m",
            "a leading space is what is wrong: kept"
        );
        assert_eq!(cut("", 3), "");
    }

    #[test]
    fn a_value_becomes_one_line_without_control_characters() {
        assert_eq!(
            cut("403 Forbidden\n<html>\r\n\t<body>", 100),
            "403 Forbidden <html> <body>"
        );
        assert_eq!(cut("eve\x1b[2J", 100), "eve [2J");
    }

    #[test]
    fn a_long_value_is_cut_at_a_character_boundary() {
        assert_eq!(cut("abcdef", 3), "abc...");
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("ééééé", 2), "éé...");
        let long = cut(&"x".repeat(10 << 20), 300);
        assert_eq!(long.len(), 303);
    }
}
