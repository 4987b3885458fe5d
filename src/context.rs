//! The resolved global context of one run (lake root, as-of time, reporting zone), built once
//! from the command line and environment and passed down. Library code never reads clap types
//! or environment variables.

use crate::error::{Error, Result};
use crate::lake::Lake;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Context {
    pub lake: Lake,
    /// "Now" for every computation of this run.
    pub as_of: DateTime<Utc>,
    /// Reporting time zone.
    pub tz: Tz,
    /// Extra canned queries directory, if any.
    pub queries: Option<PathBuf>,
    /// Report step timings on stderr.
    pub timings: bool,
}

impl Context {
    pub fn resolve(
        lake: Option<PathBuf>,
        as_of: Option<&str>,
        tz: Option<&str>,
        queries: Option<PathBuf>,
    ) -> Result<Self> {
        let tz = match tz {
            Some(t) => parse_tz(t)?,
            None => Tz::UTC,
        };
        let as_of = match as_of {
            Some(s) => parse_as_of(s, tz)?,
            None => Utc::now(),
        };
        let queries = queries.or_else(|| Some(PathBuf::from("queries")).filter(|p| p.is_dir()));
        Ok(Context {
            lake: Lake::new(lake.unwrap_or_else(|| PathBuf::from("lake"))),
            as_of,
            tz,
            queries,
            timings: false,
        })
    }

    pub fn with_timings(mut self, on: bool) -> Self {
        self.timings = on;
        self
    }
}

/// Parse an IANA time zone name, suggesting the nearest on a typo.
pub fn parse_tz(s: &str) -> Result<Tz> {
    s.parse::<Tz>().map_err(|_| {
        let near = crate::schema::nearest(s, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()));
        Error::Usage(format!(
            "unknown time zone `{s}`{}; use an IANA name such as UTC, Europe/Berlin or America/New_York",
            near.map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default()
        ))
    })
}

/// `YYYY-MM-DD` (end of that day in `tz`, so the whole day counts) or an RFC 3339 timestamp.
pub fn parse_as_of(s: &str, tz: Tz) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let next = d.succ_opt().and_then(|n| n.and_hms_opt(0, 0, 0));
        if let Some(t) = next.and_then(|n| n.and_local_timezone(tz).earliest()) {
            return Ok(t.with_timezone(&Utc));
        }
    }
    Err(Error::Usage(format!(
        "--as-of `{s}` is neither a date (YYYY-MM-DD) nor an RFC 3339 timestamp"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_of_a_date_means_the_end_of_that_day() {
        let t = parse_as_of("2026-03-31", Tz::UTC).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-04-01T00:00:00+00:00");
        let t = parse_as_of("2026-03-31", Tz::Europe__Berlin).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-31T22:00:00+00:00");
        assert!(parse_as_of("last week", Tz::UTC).is_err());
    }

    #[test]
    fn time_zone_typos_get_a_suggestion() {
        let e = parse_tz("Europe/Berln").unwrap_err().to_string();
        assert!(e.contains("Europe/Berlin"), "{e}");
    }
}
