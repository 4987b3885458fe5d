//! Reporting periods: a month (`2026-03`), a quarter (`2026-Q1`) or a year (`2026`), as instants
//! in the reporting time zone. Pure.

use crate::error::{Error, Result};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Tz;

/// A calendar period in the reporting zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    /// First day.
    pub first: NaiveDate,
    /// Length in months: 1, 3 or 12.
    pub months: u32,
}

impl Period {
    /// Parse `YYYY-MM`, `YYYY-Qn`, `YYYY` or a range of months `YYYY-MM..YYYY-MM`.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        let bad = || {
            Error::Usage(format!(
                "period `{s}` is not a month (2026-03), a quarter (2026-Q1), a year (2026) or a range of months (2025-11..2026-10)"
            ))
        };
        if let Some((a, b)) = s.split_once("..") {
            let (a, b) = (Period::parse(a)?, Period::parse(b)?);
            if a.months != 1 || b.months != 1 || b.first < a.first {
                return Err(bad());
            }
            let months = (b.first.year() - a.first.year()) * 12 + b.first.month0() as i32
                - a.first.month0() as i32
                + 1;
            return Ok(Period {
                first: a.first,
                months: months as u32,
            });
        }
        if let Some((y, q)) = s.split_once(['Q', 'q']) {
            let y: i32 = y.trim_end_matches('-').parse().map_err(|_| bad())?;
            let q: u32 = q.parse().map_err(|_| bad())?;
            if !(1..=4).contains(&q) {
                return Err(bad());
            }
            return Ok(Period {
                first: NaiveDate::from_ymd_opt(y, (q - 1) * 3 + 1, 1).ok_or_else(bad)?,
                months: 3,
            });
        }
        if s.len() == 4 {
            let y: i32 = s.parse().map_err(|_| bad())?;
            return Ok(Period {
                first: NaiveDate::from_ymd_opt(y, 1, 1).ok_or_else(bad)?,
                months: 12,
            });
        }
        let d = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").map_err(|_| bad())?;
        Ok(Period {
            first: d,
            months: 1,
        })
    }

    /// The `n` full months before `as_of` (in `tz`).
    pub fn last_full_months(as_of: DateTime<Utc>, tz: Tz, n: u32) -> Self {
        let last = Self::last_full_month(as_of, tz);
        Period {
            first: add_months(last.first, 1 - n as i32),
            months: n,
        }
    }

    /// The last full month before `as_of` (in `tz`).
    pub fn last_full_month(as_of: DateTime<Utc>, tz: Tz) -> Self {
        let local = as_of.with_timezone(&tz).date_naive();
        let this = NaiveDate::from_ymd_opt(local.year(), local.month(), 1).expect("first of month");
        Period {
            first: add_months(this, -1),
            months: 1,
        }
    }

    /// The month that contains `at` (in `tz`).
    pub fn month_of(at: DateTime<Utc>, tz: Tz) -> Self {
        let local = at.with_timezone(&tz).date_naive();
        Period {
            first: NaiveDate::from_ymd_opt(local.year(), local.month(), 1).expect("first of month"),
            months: 1,
        }
    }

    /// The day after the period.
    pub fn end(&self) -> NaiveDate {
        add_months(self.first, self.months as i32)
    }

    /// The period of the same length just before this one.
    pub fn previous(&self) -> Self {
        Period {
            first: add_months(self.first, -(self.months as i32)),
            months: self.months,
        }
    }

    /// The same period a year earlier.
    pub fn year_before(&self) -> Self {
        Period {
            first: add_months(self.first, -12),
            months: self.months,
        }
    }

    /// `2026-03`, `2026-Q1`, `2026`, or `2025-11..2026-10` for any other run of months. A label
    /// parses back to the same period.
    pub fn label(&self) -> String {
        match (self.months, self.first.month0()) {
            (1, _) => self.first.format("%Y-%m").to_string(),
            (3, m) if m % 3 == 0 => format!("{}-Q{}", self.first.year(), m / 3 + 1),
            (12, 0) => self.first.year().to_string(),
            _ => format!(
                "{}..{}",
                self.first.format("%Y-%m"),
                add_months(self.first, self.months as i32 - 1).format("%Y-%m")
            ),
        }
    }

    /// Start instant (UTC) of the period in `tz`.
    pub fn start_utc(&self, tz: Tz) -> DateTime<Utc> {
        local_midnight(self.first, tz)
    }

    /// End instant (exclusive, UTC) of the period in `tz`.
    pub fn end_utc(&self, tz: Tz) -> DateTime<Utc> {
        local_midnight(self.end(), tz)
    }
}

/// Midnight of `d` in `tz`, as UTC (the earlier instant if ambiguous; the first valid instant
/// after a DST gap).
pub fn local_midnight(d: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let naive = d.and_hms_opt(0, 0, 0).expect("midnight");
    match tz.from_local_datetime(&naive).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => tz
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .expect("valid after gap")
            .with_timezone(&Utc),
    }
}

/// First day of the month `by` months after `d`'s month.
pub fn add_months(d: NaiveDate, by: i32) -> NaiveDate {
    let total = d.year() * 12 + d.month0() as i32 + by;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1)
        .expect("first of month")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_months_quarters_and_years() {
        let m = Period::parse("2026-03").unwrap();
        assert_eq!(
            (m.first.to_string(), m.months, m.label()),
            ("2026-03-01".into(), 1, "2026-03".into())
        );
        let q = Period::parse("2025-Q4").unwrap();
        assert_eq!(
            (q.first.to_string(), q.end().to_string(), q.label()),
            ("2025-10-01".into(), "2026-01-01".into(), "2025-Q4".into())
        );
        let y = Period::parse("2025").unwrap();
        assert_eq!((y.first.to_string(), y.months), ("2025-01-01".into(), 12));
        for bad in ["2025-Q5", "2025-13", "March", "25"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(q.previous().label(), "2025-Q3");
        let r = Period::parse("2025-11..2026-10").unwrap();
        assert_eq!(
            (r.months, r.label(), r.previous().label()),
            (
                12,
                "2025-11..2026-10".to_string(),
                "2024-11..2025-10".to_string()
            )
        );
        assert!(Period::parse("2026-10..2025-11").is_err());
        // Every label parses back to its period, including unaligned runs of 3 or 12 months.
        for p in [
            m,
            q,
            y,
            r,
            Period::parse("2026-02..2026-04").unwrap(),
            Period::parse("2026-01..2026-12").unwrap(),
        ] {
            assert_eq!(Period::parse(&p.label()).unwrap(), p, "{}", p.label());
        }
        assert_eq!(Period::parse("2026-01..2026-12").unwrap().label(), "2026");
        assert_eq!(m.year_before().label(), "2025-03");
    }

    #[test]
    fn default_is_the_last_full_month_in_the_reporting_zone() {
        let as_of = DateTime::parse_from_rfc3339("2026-04-01T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(Period::last_full_month(as_of, Tz::UTC).label(), "2026-03");
        // Still March 31 in New York: the last full month is February.
        assert_eq!(
            Period::last_full_month(as_of, Tz::America__New_York).label(),
            "2026-02"
        );
        // Berlin midnight of 2026-03-01 is 2026-02-28T23:00Z.
        assert_eq!(
            Period::parse("2026-03")
                .unwrap()
                .start_utc(Tz::Europe__Berlin)
                .to_rfc3339(),
            "2026-02-28T23:00:00+00:00"
        );
    }
}
