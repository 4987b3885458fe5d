//! MRR from the revenue dataset: each customer's movement from month to month (ChartMogul's
//! kinds: new, expansion, contraction, churn, reactivation, flat) and the months' sums of those
//! movements (MRR, churned MRR, 12-month net revenue retention). Both tables come from one walk
//! over each customer's monthly series, so the monthly figures are the movements summed.
//!
//! Revenue rows are walked in (customer, month) order, which the lake already stores them in
//! (checked; a stable sort otherwise, so same-month rows are summed in file order), and each
//! customer's series is a run of rows: no map per customer is held (at 51 M revenue rows the
//! maps took 8 GiB).

use super::base::{Calendar, Customers, epoch_day};
use super::frames::{float_col, frame, text, texts};
use crate::error::{Error, Result};
use chrono::Datelike;
use polars::prelude::*;
use std::cmp::Ordering;

/// Movement kinds, by the code [`Revenue::walk`] gives them.
const KINDS: [&str; 6] = [
    "new",
    "reactivation",
    "churn",
    "expansion",
    "contraction",
    "flat",
];
const CHURN: u8 = 2;
const CONTRACTION: u8 = 4;

/// One customer's MRR in one month beside the month before (a row of `mrr_movements`).
struct Movement {
    /// Index into [`Revenue::names`].
    customer: u32,
    /// Index into the walk's labels ([`Revenue::labels`]).
    month: usize,
    mrr: f64,
    prev: f64,
    /// Index into [`KINDS`].
    kind: u8,
    /// `mrr - prev`, rounded to cents.
    amount: f64,
}

/// Every customer's MRR per month, summed over the revenue rows: built once per run and
/// shared by the movements, the monthly sums and the SLA fee lookup. Customers are in id
/// order, each with its months in order, in flat arrays (12 bytes a month).
pub(crate) struct Revenue {
    /// Customer ids in order.
    names: Vec<PlSmallStr>,
    /// Where each customer's months start in `months` and `mrr`, and one more: the end.
    starts: Vec<u32>,
    /// Month number (year × 12 + month0) of each entry.
    months: Vec<i32>,
    mrr: Vec<f64>,
}

/// Month number (year × 12 + month0) of a date: the key of [`MonthlyMrr::get`].
pub(crate) fn month_no(d: chrono::NaiveDate) -> i32 {
    d.year() * 12 + d.month0() as i32
}

impl Revenue {
    /// From the revenue rows (`customer_id`, `month`, `mrr`; any order, rows missing one are
    /// left out): MRR per customer and month, summed. The lake stores revenue in (customer,
    /// month) order, so one pass reads it; rows out of that order are sorted first (stably,
    /// so same-month rows are summed in file order) and read again.
    pub fn build(revenue: &DataFrame) -> Result<Revenue> {
        if let Some(r) = Self::read(revenue)? {
            return Ok(r);
        }
        let sorted = revenue
            .sort(
                ["customer_id", "month"],
                SortMultipleOptions::default().with_maintain_order(true),
            )
            .map_err(Error::polars("model: revenue"))?;
        Ok(Self::read(&sorted)?.expect("sorted rows are in key order"))
    }

    /// [`Revenue::build`] over rows in (customer id, month) order; `None` at the first row out
    /// of that order.
    fn read(rows: &DataFrame) -> Result<Option<Revenue>> {
        let ids = texts(rows, "customer_id")?;
        // Days since the epoch, as the lake stores dates (no 64-bit copy of 51 M rows).
        let days = rows
            .column("month")
            .and_then(|c| c.to_physical_repr().cast(&DataType::Int32))
            .map_err(Error::polars("model: revenue month"))?;
        let days = days.i32().map_err(Error::polars("model: revenue month"))?;
        let first_day = days.min().unwrap_or(0);
        // Month numbers of the days seen, by day (revenue months span a few years of days).
        let mut month_of_day: Vec<i32> = Vec::new();
        // At most a month per row: sized once, so 51 M rows (10 M incidents) never grow the
        // two vectors by copying them (without `mmap`, see `memory.rs`, a grown block that
        // cannot extend in place is copied).
        let mut out = Revenue {
            names: Vec::new(),
            starts: Vec::new(),
            months: Vec::with_capacity(rows.height()),
            mrr: Vec::with_capacity(rows.height()),
        };
        let mut last: Option<(&str, i32)> = None;
        for ((c, d), mrr) in ids
            .iter()
            .zip(days.iter())
            .zip(float_col(rows, "mrr")?.iter())
        {
            let (Some(c), Some(d), Some(mrr)) = (c, d, mrr) else {
                continue;
            };
            // The same customer as the row before, or a later one; else out of order.
            let same = match last.map(|(lc, ld)| (lc.cmp(c), ld)) {
                None | Some((Ordering::Less, _)) => false,
                Some((Ordering::Equal, ld)) if ld <= d => true,
                _ => return Ok(None),
            };
            let slot = (d - first_day) as usize;
            if slot >= month_of_day.len() {
                month_of_day.resize(slot + 1, i32::MIN);
            }
            if month_of_day[slot] == i32::MIN {
                month_of_day[slot] = month_no(epoch_day(d as i64));
            }
            let m = month_of_day[slot];
            if !same {
                out.names.push(c.into());
                out.starts.push(out.months.len() as u32);
            } else if out.months.last() == Some(&m) {
                *out.mrr.last_mut().expect("a month") += mrr;
                last = Some((c, d));
                continue;
            }
            last = Some((c, d));
            out.months.push(m);
            out.mrr.push(mrr);
        }
        out.starts.push(out.months.len() as u32);
        Ok(Some(out))
    }

    /// Customer `k`'s months and their MRR.
    fn customer(&self, k: usize) -> (&[i32], &[f64]) {
        let (a, b) = (self.starts[k] as usize, self.starts[k + 1] as usize);
        (&self.months[a..b], &self.mrr[a..b])
    }

    /// The calendar's months up to the last month the revenue covers: (month number, label).
    /// Movements stop there: a month not yet reported is not a month in which everyone
    /// churned.
    fn labels(&self, cal: &Calendar) -> Vec<(i32, String)> {
        let last = self.months.iter().max().copied();
        cal.months
            .iter()
            .map(|p| (month_no(p.first), p.label()))
            .filter(|(n, _)| last.is_some_and(|last| *n <= last))
            .collect()
    }

    /// Every movement over `labels`, customer by customer, month by month: a row wherever the
    /// customer has MRR in the month or had some the month before.
    fn walk(&self, labels: &[(i32, String)], mut each: impl FnMut(Movement)) {
        for k in 0..self.names.len() {
            let (months, mrr) = self.customer(k);
            let mut at = months.iter().zip(mrr).peekable();
            let mut prev = 0.0;
            let mut ever = false;
            // Months before the customer's first MRR give no row (nothing now, nothing before).
            let from = labels.partition_point(|(n, _)| *n < months[0]);
            for (li, (n, _)) in labels.iter().enumerate().skip(from) {
                if prev == 0.0 && at.peek().is_none() {
                    // No MRR now or later: no more rows.
                    break;
                }
                while at.next_if(|s| s.0 < n).is_some() {}
                let cur = at.next_if(|s| s.0 == n).map_or(0.0, |s| *s.1);
                let kind = if cur > 0.0 && prev == 0.0 {
                    if ever { 1 } else { 0 }
                } else if cur == 0.0 && prev > 0.0 {
                    CHURN
                } else if cur > prev {
                    3
                } else if cur < prev {
                    CONTRACTION
                } else {
                    5
                };
                if cur > 0.0 || prev > 0.0 {
                    each(Movement {
                        customer: k as u32,
                        month: li,
                        mrr: cur,
                        prev,
                        kind,
                        amount: ((cur - prev) * 100.0).round() / 100.0,
                    });
                }
                ever |= cur > 0.0;
                prev = cur;
            }
        }
    }
}

/// Each customer's number in the revenue (by position in [`Customers::list`]; `None`: no
/// revenue), for [`MonthlyMrr`]: built once per run, as the revenue is.
pub(crate) fn customer_numbers(revenue: &Revenue, cu: &Customers) -> Vec<Option<u32>> {
    let mut of = vec![None; cu.list.len()];
    // The names are in customer order, as the list is: a walk, not a search per name.
    let mut find = cu.lookup();
    for (k, name) in revenue.names.iter().enumerate() {
        // Revenue of a customer the lake does not know is not looked up.
        if let Some(ci) = find.row(name.as_str()) {
            of[ci] = Some(k as u32);
        }
    }
    of
}

/// MRR per customer (by position in [`Customers::list`]) and month number (year × 12 +
/// month0): the SLA period fee's lookup, over the run's [`Revenue`].
pub(crate) struct MonthlyMrr<'a> {
    pub revenue: &'a Revenue,
    /// [`customer_numbers`] of the revenue.
    pub of: &'a [Option<u32>],
}

impl MonthlyMrr<'_> {
    /// The customer's MRR in the month, if the revenue has any row for it.
    pub fn get(&self, ci: usize, month_no: i32) -> Option<f64> {
        let (months, mrr) = self.revenue.customer(self.of[ci]? as usize);
        months.binary_search(&month_no).ok().map(|i| mrr[i])
    }
}

/// MRR movements per customer and month, ordered by customer id, then month; only those of
/// the calendar's month `from` on (the walk still starts at each customer's first revenue, so
/// a row's kind is that of the whole history).
pub(crate) fn movements(rev: &Revenue, cal: &Calendar, from: usize) -> Result<DataFrame> {
    let labels = rev.labels(cal);
    // Each month with MRR gives at most one row, and so does each drop to zero after it: the
    // first is the usual count.
    let rows_hint = rev.months.len() + rev.months.len() / 8;
    let (mut cid, mut month, mut mrr, mut prev, mut kind, mut amount) = (
        Vec::with_capacity(rows_hint),
        Vec::with_capacity(rows_hint),
        Vec::with_capacity(rows_hint),
        Vec::with_capacity(rows_hint),
        Vec::with_capacity(rows_hint),
        Vec::with_capacity(rows_hint),
    );
    rev.walk(&labels, |m| {
        if m.month < from {
            return;
        }
        cid.push(m.customer);
        month.push(m.month as u32);
        mrr.push(m.mrr);
        prev.push(m.prev);
        kind.push(m.kind);
        amount.push(m.amount);
    });
    // Each index vector is freed as its column is built (at 54 M rows each text column is
    // 0.9 GB of 16-byte views, and fresh memory is what costs here).
    frame(
        vec![
            text(
                "customer_id",
                cid.into_iter().map(|i| rev.names[i as usize].as_str()),
            ),
            text(
                "month",
                month.into_iter().map(|i| labels[i as usize].1.as_str()),
            ),
            Column::new("mrr".into(), mrr),
            Column::new("prev_mrr".into(), prev),
            text("kind", kind.into_iter().map(|i| KINDS[i as usize])),
            Column::new("amount".into(), amount),
        ],
        &[],
    )
}

/// The movements summed per month, for every month the revenue covers: MRR (null in a month
/// without movements), churned MRR (churn and contraction, positive), and net revenue retention
/// against the month 12 months earlier (the MRR now of the customers who paid then ÷ their MRR
/// then, × 100; null when nobody paid then).
pub(crate) fn months(rev: &Revenue, cal: &Calendar) -> Result<DataFrame> {
    let labels = rev.labels(cal);
    let n = labels.len();
    let (mut mrr, mut churned, mut moved) = (vec![0.0; n], vec![0.0; n], vec![false; n]);
    let (mut base, mut kept) = (vec![0.0; n], vec![0.0; n]);
    // One customer's MRR per month, settled into the retention sums when the next begins.
    let mut own = vec![0.0; n];
    let mut settle = |own: &mut Vec<f64>| {
        for li in 12..n {
            if own[li - 12] > 0.0 {
                base[li] += own[li - 12];
                kept[li] += own[li];
            }
        }
        own.fill(0.0);
    };
    let mut customer = None;
    rev.walk(&labels, |m| {
        if customer != Some(m.customer) {
            settle(&mut own);
            customer = Some(m.customer);
        }
        own[m.month] = m.mrr;
        mrr[m.month] += m.mrr;
        moved[m.month] = true;
        if m.kind == CHURN || m.kind == CONTRACTION {
            churned[m.month] += 0.0 - m.amount;
        }
    });
    settle(&mut own);
    let nrr: Vec<Option<f64>> = (0..n)
        .map(|i| (base[i] > 0.0).then(|| 100.0 * kept[i] / base[i]))
        .collect();
    frame(
        vec![
            Column::new(
                "month".into(),
                labels.iter().map(|l| l.1.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "mrr".into(),
                (0..n)
                    .map(|i| moved[i].then_some(mrr[i]))
                    .collect::<Vec<_>>(),
            ),
            Column::new("churned_mrr".into(), churned),
            Column::new("nrr_base_mrr".into(), base),
            Column::new("nrr_kept_mrr".into(), kept),
            Column::new("nrr_pct".into(), nrr),
        ],
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::period::Period;
    use chrono::NaiveDate;

    /// Revenue rows (customer, month of 2023 or 2024 as 1–24, MRR) as the lake stores them.
    fn revenue(rows: &[(&str, u32, Option<f64>)]) -> DataFrame {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let day = |m: u32| {
            let d = NaiveDate::from_ymd_opt(2023 + (m as i32 - 1) / 12, (m - 1) % 12 + 1, 1);
            (d.unwrap() - epoch).num_days() as i32
        };
        DataFrame::new_infer_height(vec![
            Column::new(
                "customer_id".into(),
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            ),
            Column::new(
                "month".into(),
                rows.iter().map(|r| day(r.1)).collect::<Vec<_>>(),
            )
            .cast(&DataType::Date)
            .unwrap(),
            Column::new("mrr".into(), rows.iter().map(|r| r.2).collect::<Vec<_>>()),
        ])
        .unwrap()
    }

    /// Months from January 2023 to the month holding `as_of`, in UTC.
    fn calendar(as_of: &str) -> Calendar {
        let jan = Period {
            first: NaiveDate::from_ymd_opt(2023, 1, 1).unwrap(),
            months: 1,
        };
        let as_of = chrono::DateTime::parse_from_rfc3339(as_of)
            .unwrap()
            .with_timezone(&chrono::Utc);
        Calendar::spanning(jan, as_of, chrono_tz::UTC)
    }

    fn texts_of(df: &DataFrame, c: &str) -> Vec<String> {
        let s = df.column(c).unwrap().str().unwrap().clone();
        s.iter().map(|v| v.unwrap().to_string()).collect()
    }

    fn nums(df: &DataFrame, c: &str) -> Vec<Option<f64>> {
        df.column(c).unwrap().f64().unwrap().iter().collect()
    }

    #[test]
    fn movements_walk_each_customer_in_month_order() {
        // January to June 2023; revenue reported up to May, so June gets no row.
        let cal = calendar("2023-06-15T00:00:00Z");
        // Out of order, two January rows for A (summed: 120), a row without MRR (ignored).
        let shuffled = revenue(&[
            ("B", 2, Some(50.0)),
            ("A", 1, Some(100.0)),
            ("A", 3, Some(80.0)),
            ("A", 1, Some(20.0)),
            ("C", 2, None),
            ("B", 3, Some(70.0)),
            ("A", 5, Some(90.0)),
        ]);
        let sorted = revenue(&[
            ("A", 1, Some(100.0)),
            ("A", 1, Some(20.0)),
            ("A", 3, Some(80.0)),
            ("A", 5, Some(90.0)),
            ("B", 2, Some(50.0)),
            ("B", 3, Some(70.0)),
            ("C", 2, None),
        ]);
        assert!(Revenue::read(&shuffled).unwrap().is_none());
        assert!(Revenue::read(&sorted).unwrap().is_some());
        let (shuffled, sorted) = (
            Revenue::build(&shuffled).unwrap(),
            Revenue::build(&sorted).unwrap(),
        );
        let got = movements(&shuffled, &cal, 0).unwrap();
        assert!(got.equals_missing(&movements(&sorted, &cal, 0).unwrap()));
        let num = |c: &str| -> Vec<f64> { nums(&got, c).into_iter().flatten().collect() };
        assert_eq!(
            texts_of(&got, "customer_id"),
            ["A", "A", "A", "A", "A", "B", "B", "B"]
        );
        assert_eq!(
            texts_of(&got, "month"),
            [
                "2023-01", "2023-02", "2023-03", "2023-04", "2023-05", "2023-02", "2023-03",
                "2023-04"
            ]
        );
        assert_eq!(
            texts_of(&got, "kind"),
            [
                "new",
                "churn",
                "reactivation",
                "churn",
                "reactivation",
                "new",
                "expansion",
                "churn"
            ]
        );
        assert_eq!(num("mrr"), [120.0, 0.0, 80.0, 0.0, 90.0, 50.0, 70.0, 0.0]);
        assert_eq!(
            num("prev_mrr"),
            [0.0, 120.0, 0.0, 80.0, 0.0, 0.0, 50.0, 70.0]
        );
        assert_eq!(
            num("amount"),
            [120.0, -120.0, 80.0, -80.0, 90.0, 50.0, 20.0, -70.0]
        );
        // From March (month 2) on: the same rows of March to May, their kinds from the whole
        // history (A's March is a reactivation, not a new customer).
        let late = movements(&sorted, &cal, 2).unwrap();
        assert_eq!(texts_of(&late, "customer_id"), ["A", "A", "A", "B", "B"]);
        assert_eq!(
            texts_of(&late, "month"),
            ["2023-03", "2023-04", "2023-05", "2023-03", "2023-04"]
        );
        assert_eq!(
            texts_of(&late, "kind"),
            [
                "reactivation",
                "churn",
                "reactivation",
                "expansion",
                "churn"
            ]
        );
    }

    #[test]
    fn monthly_sums_and_retention_by_hand() {
        // January 2023 to March 2024 (15 months), revenue reported up to February 2024.
        let cal = calendar("2024-03-10T00:00:00Z");
        let df = months(
            &Revenue::build(&revenue(&[
                // A pays 100 from January 2023, 60 in January 2024 (contraction of 40).
                ("A", 1, Some(100.0)),
                ("A", 2, Some(100.0)),
                ("A", 3, Some(100.0)),
                ("A", 4, Some(100.0)),
                ("A", 5, Some(100.0)),
                ("A", 6, Some(100.0)),
                ("A", 7, Some(100.0)),
                ("A", 8, Some(100.0)),
                ("A", 9, Some(100.0)),
                ("A", 10, Some(100.0)),
                ("A", 11, Some(100.0)),
                ("A", 12, Some(100.0)),
                ("A", 13, Some(60.0)),
                ("A", 14, Some(60.0)),
                // B pays 50 in January 2023 only (churns in February 2023).
                ("B", 1, Some(50.0)),
                // C is new in January 2024 (not in the retention cohort).
                ("C", 13, Some(30.0)),
                ("C", 14, Some(30.0)),
            ]))
            .unwrap(),
            &cal,
        )
        .unwrap();
        assert_eq!(df.height(), 14, "{df}");
        let month = texts_of(&df, "month");
        assert_eq!(month[0], "2023-01");
        assert_eq!(month[13], "2024-02");
        let at = |c: &str, m: &str| nums(&df, c)[month.iter().position(|x| x == m).unwrap()];
        assert_eq!(at("mrr", "2023-01"), Some(150.0));
        assert_eq!(at("mrr", "2023-02"), Some(100.0));
        assert_eq!(at("churned_mrr", "2023-02"), Some(50.0));
        assert_eq!(at("mrr", "2024-01"), Some(90.0));
        assert_eq!(at("churned_mrr", "2024-01"), Some(40.0));
        assert_eq!(at("churned_mrr", "2024-02"), Some(0.0));
        // No month 12 months before 2023: no retention.
        assert_eq!(at("nrr_pct", "2023-12"), None);
        // January 2024 against January 2023: A and B paid 150 then, pay 60 now.
        assert_eq!(at("nrr_base_mrr", "2024-01"), Some(150.0));
        assert_eq!(at("nrr_kept_mrr", "2024-01"), Some(60.0));
        assert_eq!(at("nrr_pct", "2024-01"), Some(40.0));
        // February 2024 against February 2023: A paid 100, pays 60.
        assert_eq!(at("nrr_pct", "2024-02"), Some(60.0));
    }
}
