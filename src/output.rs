//! Shared terminal output helpers: tables in one style. Pure formatting; callers print.

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

/// A table with a header row; columns whose header is in `right` are right-aligned.
pub fn table(header: &[&str], rows: Vec<Vec<String>>, right: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(header.iter().map(|h| Cell::new(h)));
    for row in rows {
        t.add_row(row.into_iter().enumerate().map(|(i, v)| {
            let c = Cell::new(v);
            if right.contains(&header[i]) {
                c.set_alignment(CellAlignment::Right)
            } else {
                c
            }
        }));
    }
    t
}

/// A whole number with thousands separators: 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    group_digits(&n.to_string())
}

/// Thousands separators in a string of digits: "1234567" → "1,234,567" (the one place this is
/// done; charts and reports call it for the integer part of their numbers).
pub fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_separators() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(1234567), "1,234,567");
    }
}
