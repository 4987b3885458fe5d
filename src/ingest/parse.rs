//! Pure parsers for one canonical value each (timestamps, dates, numbers, enums, lists, credit
//! tiers). They return the reason a value is rejected as text; they never see files or rows.

use crate::schema::normalise_enum;
use chrono::{DateTime, Datelike as _, LocalResult, NaiveDate, NaiveDateTime, TimeZone as _};
use chrono_tz::Tz;

/// Microseconds since the Unix epoch, UTC.
pub type Micros = i64;

const NAIVE_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
];
const OFFSET_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M%:z",
    "%Y-%m-%d %H:%M%:z",
];

/// Parse a timestamp: with `Z` or an offset it is taken as given; naive ones are read in `tz`.
pub fn timestamp(raw: &str, tz: Tz) -> Result<Micros, String> {
    let s = raw.trim();
    if let Some(micros) = utc_seconds(s) {
        return Ok(micros);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(dt.timestamp_micros());
    }
    // `2025-03-01 12:00:00Z` and `... UTC` are common in exports.
    let zulu = s
        .strip_suffix('Z')
        .or_else(|| s.strip_suffix(" UTC"))
        .map(str::trim_end);
    for f in OFFSET_FORMATS {
        if let Ok(dt) = DateTime::parse_from_str(s, f) {
            return Ok(dt.timestamp_micros());
        }
    }
    let (naive_src, zone) = match zulu {
        Some(rest) => (rest, Tz::UTC),
        None => (s, tz),
    };
    let naive = NAIVE_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(naive_src, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(naive_src, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .ok_or_else(|| {
            "not a timestamp (expected ISO 8601 such as 2025-03-01T12:00:00Z, 2025-03-01 12:00:00+02:00 or 2025-03-01 12:00)".to_string()
        })?;
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(dt) => Ok(dt.timestamp_micros()),
        LocalResult::Ambiguous(earliest, _) => Ok(earliest.timestamp_micros()),
        LocalResult::None => Err(format!(
            "{naive} does not exist in time zone {zone} (skipped by a DST change)"
        )),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` exactly, read without chrono's parser: the shape most exports write
/// (every generated and bundled timestamp), and RFC 3339 parsing was the largest part of a
/// changes ingest's typed parsing. `None` for any other shape, or for a date or time that does
/// not exist (a leap second too): the caller then parses with chrono, which decides.
fn utc_seconds(s: &str) -> Option<Micros> {
    let b = s.as_bytes();
    if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    // The date part is `padded_ymd`'s ten-byte shape (its dashes checked there).
    let date = padded_ymd(s.get(..10)?)?;
    let time = chrono::NaiveTime::from_hms_opt(
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    )?;
    Some(date.and_time(time).and_utc().timestamp_micros())
}

/// The number written by `b`, if every byte is an ASCII digit.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// `YYYY-MM-DD` or `YYYY-MM` (the first day) written with every digit, read without chrono's
/// format interpreter: most exports write dates so, and interpreting `%Y-%m-%d` per value was
/// a fifth of a revenue ingest's samples. `None` for any other shape (the caller then parses
/// with the format, which decides), or for a day that does not exist.
fn padded_ymd(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let (y, m, d) = match b.len() {
        10 if b[4] == b'-' && b[7] == b'-' => {
            (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?)
        }
        7 if b[4] == b'-' => (digits(&b[0..4])?, digits(&b[5..7])?, 1),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// Parse a calendar date `YYYY-MM-DD`.
pub fn date(raw: &str) -> Result<NaiveDate, String> {
    let s = raw.trim();
    if s.len() == 10
        && let Some(d) = padded_ymd(s)
    {
        return Ok(d);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| "not a date (expected YYYY-MM-DD)".to_string())
}

/// Parse a month: `YYYY-MM` or the first day `YYYY-MM-01`.
pub fn month(raw: &str) -> Result<NaiveDate, String> {
    let s = raw.trim();
    let d = match padded_ymd(s) {
        Some(d) => Ok(d),
        None if s.len() == 7 => NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d"),
        None => NaiveDate::parse_from_str(s, "%Y-%m-%d"),
    }
    .map_err(|_| "not a month (expected YYYY-MM or YYYY-MM-01)".to_string())?;
    if d.day() != 1 {
        return Err("a month must be given as its first day (YYYY-MM-01) or as YYYY-MM".into());
    }
    Ok(d)
}

/// Parse an integer within `min..=max`.
pub fn int(raw: &str, min: i64, max: i64) -> Result<i64, String> {
    let v: i64 = raw
        .trim()
        .parse()
        .map_err(|_| "not a whole number".to_string())?;
    if v < min || v > max {
        return Err(format!("{v} is outside {min}..{max}"));
    }
    Ok(v)
}

/// Parse a finite number of at least `min`.
pub fn float(raw: &str, min: f64) -> Result<f64, String> {
    let v: f64 = raw.trim().parse().map_err(|_| {
        "not a number (use `.` as decimal point, no thousands separators)".to_string()
    })?;
    if !v.is_finite() {
        return Err("not a finite number".into());
    }
    if v < min {
        return Err(format!("{v} is below the minimum {min}"));
    }
    Ok(v)
}

/// Parse a boolean: true/false, yes/no, y/n, 1/0, t/f.
pub fn boolean(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Ok(true),
        "false" | "f" | "no" | "n" | "0" => Ok(false),
        _ => Err("not a boolean (expected true/false)".into()),
    }
}

/// Parse one value of a closed set; returns the canonical spelling.
pub fn enumeration(raw: &str, allowed: &'static [&'static str]) -> Result<&'static str, String> {
    // Most values are already written as declared: taken as they are, without normalising
    // (every declared value is its own normal form: a test checks it).
    if let Some(a) = allowed.iter().find(|a| **a == raw) {
        return Ok(a);
    }
    let mut norm = normalise_enum(raw);
    // Severities: `1`..`5` and `p1`..`p5` are common spellings of sev1..sev5.
    if allowed.first() == Some(&"sev1") {
        if let Some(n) = norm
            .strip_prefix('p')
            .or(Some(norm.as_str()))
            .filter(|n| n.len() == 1)
        {
            norm = format!("sev{n}");
        }
        norm = norm.replace("sev_", "sev");
    }
    allowed
        .iter()
        .find(|a| **a == norm)
        .copied()
        .ok_or_else(|| {
            let hint = crate::schema::nearest(&norm, allowed.iter().copied())
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            format!(
                "unknown value{hint}; expected one of {}",
                allowed.join(", ")
            )
        })
}

/// Split a `;`-separated list (also accepts `,` when no `;` is present); empty items dropped.
pub fn list(raw: &str) -> Vec<String> {
    let sep = if raw.contains(';') { ';' } else { ',' };
    raw.split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parse SLA credit tiers `threshold:credit;...` and return them normalised, thresholds
/// descending (`99.9:10;99:25`). Thresholds are percentages in (0, 100]; credits in [0, 100] and
/// must not fall as the threshold falls.
pub fn credit_tiers(raw: &str) -> Result<String, String> {
    let mut tiers = Vec::new();
    for part in raw.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (t, c) = part
            .split_once(':')
            .ok_or_else(|| format!("tier `{part}` is not `threshold:credit`"))?;
        let t: f64 = t
            .trim()
            .parse()
            .map_err(|_| format!("tier `{part}`: threshold is not a number"))?;
        let c: f64 = c
            .trim()
            .trim_end_matches('%')
            .parse()
            .map_err(|_| format!("tier `{part}`: credit is not a number"))?;
        if !(t > 0.0 && t <= 100.0) {
            return Err(format!(
                "tier `{part}`: threshold must be a percentage in (0, 100]"
            ));
        }
        if !(0.0..=100.0).contains(&c) {
            return Err(format!(
                "tier `{part}`: credit must be a percentage in [0, 100]"
            ));
        }
        tiers.push((t, c));
    }
    if tiers.is_empty() {
        return Err("no tiers given".into());
    }
    tiers.sort_by(|a, b| b.0.total_cmp(&a.0));
    if tiers.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err("two tiers have the same threshold".into());
    }
    if tiers.windows(2).any(|w| w[1].1 < w[0].1) {
        return Err("credit must not fall as the threshold falls".into());
    }
    Ok(tiers
        .iter()
        .map(|(t, c)| format!("{t}:{c}"))
        .collect::<Vec<_>>()
        .join(";"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> Micros {
        timestamp(s, Tz::UTC).unwrap()
    }

    #[test]
    fn timestamps_with_offsets_are_honoured() {
        // 2025-03-01T12:00:00Z = 1740830400 s since the epoch.
        let base = 1_740_830_400_000_000;
        assert_eq!(utc("2025-03-01T12:00:00Z"), base);
        assert_eq!(utc("2025-03-01 12:00:00Z"), base);
        assert_eq!(utc("2025-03-01 12:00:00 UTC"), base);
        assert_eq!(utc("2025-03-01T14:00:00+02:00"), base);
        assert_eq!(utc("2025-03-01 14:00:00+0200"), base);
        assert_eq!(utc("2025-03-01T12:00:00.250Z"), base + 250_000);
        // An offset wins over --source-tz.
        assert_eq!(
            timestamp("2025-03-01T14:00:00+02:00", Tz::America__New_York).unwrap(),
            base
        );
    }

    #[test]
    fn naive_timestamps_are_read_in_the_source_zone() {
        let base = 1_740_830_400_000_000;
        assert_eq!(utc("2025-03-01 12:00:00"), base);
        assert_eq!(utc("2025-03-01T12:00"), base);
        // Berlin is UTC+1 in March before DST: 13:00 local = 12:00Z.
        assert_eq!(
            timestamp("2025-03-01 13:00", Tz::Europe__Berlin).unwrap(),
            base
        );
        // A date alone is local midnight.
        assert_eq!(utc("2025-03-01"), base - 12 * 3_600_000_000);
    }

    #[test]
    fn dst_gaps_and_overlaps() {
        // 2025-03-30 02:30 does not exist in Berlin (clocks jump 02:00 -> 03:00).
        let err = timestamp("2025-03-30 02:30", Tz::Europe__Berlin).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
        // 2025-10-26 02:30 happens twice; the earlier (CEST, UTC+2) is 00:30Z.
        let t = timestamp("2025-10-26 02:30", Tz::Europe__Berlin).unwrap();
        assert_eq!(t, utc("2025-10-26T00:30:00Z"));
    }

    #[test]
    fn bad_timestamps_are_rejected() {
        for bad in ["yesterday", "2025-13-01", "01/03/2025", "2025-02-30 10:00"] {
            assert!(timestamp(bad, Tz::UTC).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_padded_date_reader_agrees_with_chronos_format() {
        let chrono_date = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
        let mut day = NaiveDate::from_ymd_opt(1999, 12, 25).unwrap();
        while day < NaiveDate::from_ymd_opt(2001, 3, 5).unwrap() {
            let s = day.format("%Y-%m-%d").to_string();
            assert_eq!(date(&s).ok(), Some(day), "{s}");
            day = day.succ_opt().unwrap();
        }
        for odd in [
            "2023-02-29",
            "2024-02-30",
            "2025-00-10",
            "2025-13-01",
            "2025-01-32",
            "2025-01-00",
            "2025-3-01",
            "2025-03-1",
            "2025/03/01",
            "2025-03-0a",
            "+2025-03-01",
            " 2025-03-01 ",
            "0000-01-01",
            "20250301",
            "2025-03-01T",
            "2025-07",
            "",
        ] {
            assert_eq!(date(odd).ok(), chrono_date(odd), "{odd:?}");
        }
        // Months: the first day, or the month alone.
        for odd in [
            "2025-07",
            "2025-7",
            "2025-13",
            "2025-00",
            "2025-07-01",
            "2025-07-02",
            "2025/07",
        ] {
            // The reference: seven characters are read as the month's first day ("2025-7" is
            // neither form).
            let want = if odd.len() == 7 {
                chrono_date(&format!("{odd}-01"))
            } else {
                chrono_date(odd)
            }
            .filter(|d| d.day() == 1);
            assert_eq!(month(odd).ok(), want, "{odd:?}");
        }
    }

    #[test]
    fn dates_and_months() {
        assert_eq!(date("2024-02-29").unwrap().to_string(), "2024-02-29");
        assert!(date("2023-02-29").is_err());
        assert_eq!(month("2025-07").unwrap().to_string(), "2025-07-01");
        assert_eq!(month("2025-07-01").unwrap().to_string(), "2025-07-01");
        assert!(month("2025-07-15").unwrap_err().contains("first day"));
    }

    #[test]
    fn numbers_and_bools() {
        assert_eq!(int("3", 1, 4), Ok(3));
        assert!(int("5", 1, 4).unwrap_err().contains("outside 1..4"));
        assert!(int("2.5", 1, 4).is_err());
        assert_eq!(float(" 1200.5 ", 0.0), Ok(1200.5));
        assert!(float("1,200.5", 0.0).is_err());
        assert!(float("-1", 0.0).unwrap_err().contains("below the minimum"));
        assert!(float("NaN", 0.0).is_err());
        assert_eq!(boolean("Yes"), Ok(true));
        assert_eq!(boolean("0"), Ok(false));
        assert!(boolean("maybe").is_err());
    }

    #[test]
    fn the_utc_fast_path_agrees_with_chrono() {
        // Every shape the fast path takes, against chrono's RFC 3339 parser: the first and last
        // second of days across leap and common years, month ends and a DST change elsewhere.
        for (date, time) in [
            ("1970-01-01", "00:00:00"),
            ("2024-02-29", "23:59:59"),
            ("2023-03-26", "01:30:00"),
            ("2025-12-31", "12:34:56"),
            ("0001-01-01", "00:00:00"),
            ("9999-12-31", "23:59:59"),
        ] {
            let s = format!("{date}T{time}Z");
            let chrono = DateTime::parse_from_rfc3339(&s).unwrap().timestamp_micros();
            assert_eq!(utc_seconds(&s), Some(chrono), "{s}");
            assert_eq!(utc(&s), chrono, "{s}");
        }
        // 2024-02-29T23:59:59Z = 1709251199 s since the epoch (hand-checked: 19782 days).
        assert_eq!(
            utc_seconds("2024-02-29T23:59:59Z"),
            Some(1_709_251_199_000_000)
        );
        // Other shapes and impossible values are left to chrono, which decides as before.
        for s in [
            "2023-02-29T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-01-01T24:00:00Z",
            "2016-12-31T23:59:60Z",
            "2023-01-01t00:00:00Z",
            "2023-01-01T00:00:00z",
            "2023-01-01T00:00:0aZ",
            "2023/01/01T00:00:00Z",
            "2023-01 01T00:00:00Z",
            "+023-01-01T00:00:00Z",
        ] {
            assert_eq!(utc_seconds(s), None, "{s}");
        }
        assert!(timestamp("2023-02-29T00:00:00Z", Tz::UTC).is_err());
        assert_eq!(
            timestamp("2016-12-31T23:59:60Z", Tz::UTC),
            Ok(DateTime::parse_from_rfc3339("2016-12-31T23:59:60Z")
                .unwrap()
                .timestamp_micros())
        );
        assert_eq!(utc("2023-01-01t00:00:00z"), utc("2023-01-01T00:00:00Z"));
    }

    #[test]
    fn every_declared_value_is_its_own_normal_form() {
        // The exact-match fast path of `enumeration` is right only if so.
        for kind in crate::schema::DatasetKind::ALL {
            for c in kind.spec().columns {
                if let crate::schema::ColumnType::Enum(allowed) = c.ty {
                    for v in allowed {
                        assert_eq!(normalise_enum(v), *v, "{}.{}", kind.name(), c.name);
                    }
                }
            }
        }
    }

    #[test]
    fn enums_are_case_insensitive_with_aliases() {
        const OUT: &[&str] = &["succeeded", "failed", "rolled_back"];
        assert_eq!(enumeration("Rolled Back", OUT), Ok("rolled_back"));
        assert_eq!(enumeration("FAILED", OUT), Ok("failed"));
        let err = enumeration("faild", OUT).unwrap_err();
        assert!(err.contains("did you mean `failed`"), "{err}");
        const SEV: &[&str] = &["sev1", "sev2", "sev3", "sev4", "sev5"];
        assert_eq!(enumeration("SEV2", SEV), Ok("sev2"));
        assert_eq!(enumeration("Sev 3", SEV), Ok("sev3"));
        assert_eq!(enumeration("P1", SEV), Ok("sev1"));
        assert_eq!(enumeration("4", SEV), Ok("sev4"));
        let err = enumeration("sev9", SEV).unwrap_err();
        assert!(
            !err.contains("did you mean"),
            "no single nearest value: {err}"
        );
        assert!(enumeration("p", SEV).is_err());
    }

    #[test]
    fn lists_split_on_semicolons() {
        assert_eq!(list("a; b;;c "), vec!["a", "b", "c"]);
        assert_eq!(list("a,b"), vec!["a", "b"]);
        assert!(list(" ").is_empty());
    }

    #[test]
    fn credit_tiers_are_validated_and_normalised() {
        assert_eq!(
            credit_tiers("99.0:25; 99.9:10;95:100").unwrap(),
            "99.9:10;99:25;95:100"
        );
        assert!(credit_tiers("99.9").is_err());
        assert!(
            credit_tiers("99.9:10;99:5")
                .unwrap_err()
                .contains("must not fall")
        );
        assert!(credit_tiers("120:10").is_err());
        assert!(credit_tiers("").is_err());
    }
}
