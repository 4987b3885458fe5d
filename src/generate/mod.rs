//! `opsintel generate`: a realistic, deterministic sample data set for every dataset, written as
//! canonical CSV. The same seed and options give byte-identical files on every machine
//! (ChaCha8 is portable; every collection is iterated in a fixed order).
//!
//! The story a reader should recognise: a dependency graph of ~40 assets, two of them chronically
//! troublesome (search cluster, integrations hub); heavy-tailed ARR where the top 10 customers
//! matter; changes mostly succeed, some fail or are rolled back and some of those cause
//! incidents; maintenance windows on databases and the network; SLAs by segment with credit
//! tiers, some breached; churn whose odds rise with the incidents a customer was hit by; MTTR
//! that improves over the period. Rows are streamed to disk month by month, so `--scale` can
//! reach tens of millions of incidents in bounded memory.

mod catalog;
mod csv_out;
mod dist;

use crate::error::{Error, Result};
use crate::graph::DependencyGraph;
use catalog::{ASSETS, AssetDef};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use csv_out::CsvOut;
use dist::Dist;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

/// Scales the catalogue's incident rates (about 16 incidents a month at scale 1).
const INCIDENT_RATE: f64 = 0.5;

/// Options of a generation run.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub out: PathBuf,
    pub seed: u64,
    /// Customers at scale 1.
    pub customers: usize,
    pub months: u32,
    /// First day of the last month of history.
    pub end_month: NaiveDate,
    /// Multiplies customers, incidents and changes.
    pub scale: f64,
    /// Write `.csv.gz` files instead of `.csv`.
    pub gzip: bool,
}

/// Rows written per file.
#[derive(Debug, Clone)]
pub struct GenerateSummary {
    pub files: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Segment {
    Enterprise,
    MidMarket,
    Smb,
}

impl Segment {
    fn name(self) -> &'static str {
        match self {
            Segment::Enterprise => "enterprise",
            Segment::MidMarket => "mid_market",
            Segment::Smb => "smb",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// One customer's state; kept small, since `--scale` makes millions of them.
struct Customer {
    segment: Segment,
    /// First month index (0-based) the customer pays in.
    start: u32,
    mrr: f64,
    /// Bit set of the assets used directly (indexes into ASSETS).
    uses: u64,
    /// Bit set of every asset whose failure reaches this customer.
    exposed_to: u64,
    /// Incidents that hit the customer in each of the last three months (ring by month % 3).
    hits: [u32; 3],
    churned: bool,
}

fn customer_id(i: usize, width: usize) -> String {
    format!("CUST-{:0width$}", i + 1)
}

/// Generate the data set into `opts.out`.
pub fn generate(opts: &GenerateOptions) -> Result<GenerateSummary> {
    if !(opts.scale > 0.0 && opts.scale.is_finite()) {
        return Err(Error::Usage("--scale must be a positive number".into()));
    }
    if opts.months == 0 || opts.customers == 0 {
        return Err(Error::Usage(
            "--months and --customers must be at least 1".into(),
        ));
    }
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let mut rng = Dist(ChaCha8Rng::seed_from_u64(opts.seed));
    let months: Vec<NaiveDate> = (0..opts.months)
        .map(|i| shift_month(opts.end_month, i as i32 - (opts.months as i32 - 1)))
        .collect();
    let period_end = shift_month(opts.end_month, 1)
        .and_hms_opt(0, 0, 0)
        .expect("midnight");

    // Assets and the dependency closure: which assets take each asset down.
    let mut graph = DependencyGraph::new();
    for a in ASSETS {
        graph.add(a.id, a.depends_on.iter().copied());
    }
    let index = |id: &str| {
        ASSETS
            .iter()
            .position(|a| a.id == id)
            .expect("catalog ids are consistent")
    };
    let reach: Vec<u64> = ASSETS
        .iter()
        .map(|a| {
            graph
                .needs(a.id)
                .iter()
                .map(|d| index(d))
                .chain([index(a.id)])
                .fold(0u64, |m, i| m | (1 << i))
        })
        .collect();
    write_assets(&opts.out, opts.gzip)?;

    // Customers.
    let n_customers = ((opts.customers as f64) * opts.scale).round().max(1.0) as usize;
    let width = n_customers.to_string().len().max(4);
    let mut customers = Vec::with_capacity(n_customers);
    for _ in 0..n_customers {
        // Heavy-tailed ARR: Pareto with alpha 1.1 from 8,000, capped at 3.6 M.
        let arr = (8_000.0 / rng.unit().max(1e-9).powf(1.0 / 1.1)).min(3_600_000.0);
        let arr = (arr / 100.0).round() * 100.0;
        let segment = if arr >= 150_000.0 {
            Segment::Enterprise
        } else if arr >= 30_000.0 {
            Segment::MidMarket
        } else {
            Segment::Smb
        };
        // 70 % are customers before the window opens; the rest join during it.
        let start = if rng.unit() < 0.7 {
            0
        } else {
            rng.below(opts.months as u64) as u32
        };
        let uses = (0..ASSETS.len())
            .filter(|&j| {
                ASSETS[j].adoption[segment.index()] > 0.0
                    && rng.unit() < ASSETS[j].adoption[segment.index()]
            })
            .fold(0u64, |m, j| m | (1 << j));
        let exposed_to = (0..ASSETS.len())
            .filter(|j| uses & (1 << j) != 0)
            .fold(0u64, |m, j| m | reach[j]);
        customers.push(Customer {
            segment,
            start,
            mrr: arr / 12.0,
            uses,
            exposed_to,
            hits: [0; 3],
            churned: false,
        });
    }
    let has_users: Vec<bool> = (0..ASSETS.len())
        .map(|j| customers.iter().any(|c| c.exposed_to & (1 << j) != 0))
        .collect();

    let mut inc = CsvOut::create(
        &opts.out,
        "incidents",
        &[
            "incident_id",
            "title",
            "severity",
            "status",
            "asset_id",
            "impact",
            "customer_ids",
            "started_at",
            "detected_at",
            "acknowledged_at",
            "first_customer_notice_at",
            "mitigated_at",
            "resolved_at",
            "root_cause",
            "caused_by_change_id",
            "source",
            "updated_at",
        ],
        opts.gzip,
    )?;
    let mut chg = CsvOut::create(
        &opts.out,
        "changes",
        &[
            "change_id",
            "asset_id",
            "kind",
            "summary",
            "scheduled_start",
            "scheduled_end",
            "started_at",
            "finished_at",
            "outcome",
            "risk",
            "source",
            "updated_at",
        ],
        opts.gzip,
    )?;
    let mut mw = CsvOut::create(
        &opts.out,
        "maintenance",
        &[
            "window_id",
            "asset_id",
            "starts_at",
            "ends_at",
            "announced_at",
        ],
        opts.gzip,
    )?;
    let mut churn = CsvOut::create(
        &opts.out,
        "churn",
        &[
            "customer_id",
            "churned_at",
            "kind",
            "mrr_lost",
            "reason",
            "reason_detail",
            "voluntary",
        ],
        opts.gzip,
    )?;
    let mut rev = CsvOut::create(
        &opts.out,
        "revenue",
        &["customer_id", "month", "mrr"],
        opts.gzip,
    )?;

    let (mut n_inc, mut n_chg, mut n_mw) = (0u64, 0u64, 0u64);
    for (m, &month) in months.iter().enumerate() {
        // Incidents that hit everyone exposed to an asset, counted per asset this month.
        let mut broad_hits = [0u32; 64];
        for c in customers.iter_mut() {
            c.hits[m % 3] = 0;
        }
        let month_start = month.and_hms_opt(0, 0, 0).expect("midnight");
        let month_secs = (shift_month(month, 1) - month).num_seconds();
        // Operations get better: durations shrink from 100 % to 55 % over the period.
        let improve = 1.0 - 0.45 * m as f64 / (opts.months.max(2) - 1) as f64;

        // Maintenance windows: Sunday 02:00-04:00 UTC in the second week.
        for &(asset, every) in catalog::MAINTAINED {
            if m as u32 % every == 0 {
                n_mw += 1;
                let day = month
                    + Duration::days(
                        7 + (6 - month.weekday().num_days_from_sunday() as i64 + 1) % 7,
                    );
                let start = day.and_hms_opt(2, 0, 0).expect("valid");
                mw.row(&[
                    &format!("MW-{n_mw:06}"),
                    asset,
                    &ts(start),
                    &ts(start + Duration::hours(2)),
                    &ts(start - Duration::days(7)),
                ])?;
            }
        }

        // Changes, some of which cause incidents.
        let mut caused: Vec<(usize, String, NaiveDateTime)> = Vec::new();
        for (j, a) in ASSETS.iter().enumerate() {
            for _ in 0..rng.poisson(a.change_rate * opts.scale) {
                n_chg += 1;
                let id = format!("CHG-{n_chg:08}");
                let start = month_start + Duration::seconds(rng.below(month_secs as u64) as i64);
                let kind =
                    rng.pick_weighted(&[("standard", 0.6), ("normal", 0.35), ("emergency", 0.05)]);
                let risk = match kind {
                    "standard" => "low",
                    "normal" => rng.pick_weighted(&[("low", 0.5), ("medium", 0.4), ("high", 0.1)]),
                    _ => rng.pick_weighted(&[("medium", 0.5), ("high", 0.5)]),
                };
                let fail = a.change_fail * if kind == "emergency" { 2.0 } else { 1.0 };
                let u = rng.unit();
                let outcome = if u < fail * 0.55 {
                    "failed"
                } else if u < fail {
                    "rolled_back"
                } else if u < fail + 0.03 {
                    "cancelled"
                } else {
                    "succeeded"
                };
                let dur = Duration::minutes(5 + rng.below(115) as i64);
                let finish = start + dur;
                let (outcome, finished) = if finish >= period_end {
                    ("in_progress", None)
                } else {
                    (outcome, Some(finish))
                };
                let (s_start, s_end) = if kind == "normal" {
                    let s = start - Duration::minutes(rng.below(30) as i64);
                    (Some(s), Some(s + Duration::minutes(120)))
                } else {
                    (None, None)
                };
                let summary = format!("{}: {}", a.name, rng.pick(catalog::CHANGE_SUMMARIES));
                chg.row(&[
                    &id,
                    a.id,
                    kind,
                    &summary,
                    &opt_ts(s_start),
                    &opt_ts(s_end),
                    &ts(start),
                    &opt_ts(finished),
                    outcome,
                    risk,
                    if rng.unit() < 0.7 {
                        "servicenow"
                    } else {
                        "github"
                    },
                    &ts(finished.unwrap_or(start)),
                ])?;
                let p_incident = match outcome {
                    "failed" | "rolled_back" => 0.35,
                    "succeeded" => 0.01,
                    _ => 0.0,
                };
                if let Some(f) = finished {
                    if rng.unit() < p_incident {
                        caused.push((j, id, f + Duration::minutes(rng.below(60) as i64)));
                    }
                }
            }
        }

        // Incidents: spontaneous ones per asset, plus those caused by changes.
        let mut planned: Vec<(usize, NaiveDateTime, Option<String>)> = caused
            .into_iter()
            .map(|(j, id, t)| (j, t, Some(id)))
            .collect();
        for (j, a) in ASSETS.iter().enumerate() {
            for _ in 0..rng.poisson(a.incident_rate * INCIDENT_RATE * opts.scale) {
                planned.push((
                    j,
                    month_start + Duration::seconds(rng.below(month_secs as u64) as i64),
                    None,
                ));
            }
        }
        planned.sort_by(|x, y| (x.1, x.0).cmp(&(y.1, y.0)));
        for (j, started, change) in planned {
            let a = &ASSETS[j];
            n_inc += 1;
            let sev = severity(&mut rng, a, change.is_some());
            let mut impact = impact(&mut rng, sev);
            // Internal components sit behind redundancy: most of their failures only degrade
            // the service customers see.
            if a.adoption == [0.0; 3] && rng.unit() < 0.7 {
                impact = match impact {
                    "outage" => "partial",
                    "partial" => "degraded",
                    other => other,
                };
            }
            let detected = started + Duration::seconds((rng.exp(6.0 * 60.0) * improve) as i64);
            let mtta_median = [3.0, 6.0, 15.0, 45.0, 120.0][sev - 1] * 60.0 * improve;
            let acknowledged = detected + Duration::seconds(rng.lognormal(mtta_median, 0.8) as i64);
            let ttm_median = [24.0, 30.0, 80.0, 240.0, 600.0][sev - 1] * 60.0 * improve;
            let mitigated =
                started + Duration::seconds((rng.lognormal(ttm_median, 0.7) as i64).max(120));
            let resolved = mitigated + Duration::seconds(rng.lognormal(45.0 * 60.0, 0.9) as i64);
            // A few low-severity tickets are never closed: `lake check` should find them.
            let forgotten = sev >= 4 && rng.unit() < 0.01;
            let open = resolved >= period_end || forgotten;
            let notice = (sev <= 2 && matches!(impact, "outage" | "partial")).then(|| {
                detected + Duration::seconds((rng.lognormal(15.0 * 60.0, 0.5) * improve) as i64)
            });
            // Who is hit: named customers for some partial incidents, else everyone exposed.
            let mut named: Vec<usize> = Vec::new();
            if impact == "partial" && has_users[j] && rng.unit() < 0.6 {
                for _ in 0..1 + rng.below(3) {
                    // Rejection sampling: a random customer who depends on the asset.
                    for _ in 0..200 {
                        let ci = rng.below(customers.len() as u64) as usize;
                        if customers[ci].exposed_to & (1 << j) != 0 {
                            named.push(ci);
                            break;
                        }
                    }
                }
                named.sort_unstable();
                named.dedup();
            }
            if matches!(impact, "outage" | "partial") {
                if named.is_empty() {
                    broad_hits[j] += 1;
                } else {
                    for &ci in &named {
                        customers[ci].hits[m % 3] += 1;
                    }
                }
            }
            let named_ids: Vec<String> = named.iter().map(|&ci| customer_id(ci, width)).collect();
            let root_cause = if change.is_some() {
                "change"
            } else {
                rng.pick_weighted(catalog::ROOT_CAUSES)
            };
            let title = format!("{}: {}", a.name, rng.pick(catalog::SYMPTOMS));
            let status = if open {
                "open"
            } else if rng.unit() < 0.6 {
                "closed"
            } else {
                "resolved"
            };
            let (mitigated, resolved) = if open {
                (
                    if mitigated < period_end && !forgotten {
                        Some(mitigated)
                    } else {
                        None
                    },
                    None,
                )
            } else {
                (Some(mitigated), Some(resolved))
            };
            let source =
                rng.pick_weighted(&[("pagerduty", 0.6), ("servicenow", 0.3), ("statuspage", 0.1)]);
            inc.row(&[
                &format!("INC-{n_inc:08}"),
                &title,
                &format!("sev{sev}"),
                status,
                a.id,
                impact,
                &named_ids.join(";"),
                &ts(started),
                &ts(detected),
                &ts(acknowledged),
                &opt_ts(notice),
                &opt_ts(mitigated),
                &opt_ts(resolved),
                root_cause,
                change.as_deref().unwrap_or(""),
                source,
                &ts(resolved.unwrap_or(acknowledged)),
            ])?;
        }

        // Revenue and churn for the month.
        for (ci, c) in customers.iter_mut().enumerate() {
            let mut bits = c.exposed_to;
            while bits != 0 {
                c.hits[m % 3] += broad_hits[bits.trailing_zeros() as usize];
                bits &= bits - 1;
            }
            if c.churned || (m as u32) < c.start {
                continue;
            }
            let id = customer_id(ci, width);
            let hits_90d: u32 = c.hits.iter().sum();
            // Monthly churn odds by segment, raised by the incidents that hit the customer in
            // the last 90 days (typical exposure is 0-3 hits).
            let base = [0.0025, 0.005, 0.01][c.segment.index()];
            let hazard = (base * (0.6 + 0.3 * hits_90d as f64)).min(0.1);
            if rng.unit() < hazard {
                let involuntary = rng.unit() < 0.08;
                let reason = if involuntary {
                    "other"
                } else if rng.unit() < (0.15 * hits_90d as f64).min(0.6) {
                    "reliability"
                } else {
                    rng.pick_weighted(catalog::CHURN_REASONS)
                };
                let detail = match reason {
                    "reliability" => "too many outages",
                    "other" if involuntary => "payment failed",
                    "price" => "budget cuts",
                    "competitor" => "moved to a competitor",
                    _ => "",
                };
                let full = rng.unit() < 0.7;
                let lost = if full {
                    c.mrr
                } else {
                    (c.mrr * (0.2 + 0.3 * rng.unit()) * 100.0).round() / 100.0
                };
                let day = month + Duration::days(rng.below(28) as i64);
                churn.row(&[
                    &id,
                    &day.to_string(),
                    if full { "full" } else { "downgrade" },
                    &money(lost),
                    reason,
                    detail,
                    if involuntary { "false" } else { "true" },
                ])?;
                c.mrr -= lost;
                if full {
                    c.churned = true;
                    continue;
                }
            } else if rng.unit() < 0.02 {
                c.mrr *= 1.1 + 0.2 * rng.unit();
            }
            c.mrr = (c.mrr * 100.0).round() / 100.0;
            rev.row(&[&id, &month.to_string(), &money(c.mrr)])?;
        }
    }

    // Dimension files written last: they describe the customers' end state.
    let mut cust = CsvOut::create(
        &opts.out,
        "customers",
        &[
            "customer_id",
            "name",
            "segment",
            "region",
            "arr",
            "since",
            "owner",
            "updated_at",
        ],
        opts.gzip,
    )?;
    let mut ca = CsvOut::create(
        &opts.out,
        "customer_assets",
        &["customer_id", "asset_id"],
        opts.gzip,
    )?;
    let mut sla = CsvOut::create(
        &opts.out,
        "slas",
        &[
            "sla_id",
            "customer_id",
            "asset_id",
            "metric",
            "target",
            "period",
            "severities",
            "credit_tiers",
            "valid_from",
            "valid_to",
        ],
        opts.gzip,
    )?;
    let updated = ts(period_end - Duration::hours(1));
    for (i, c) in customers.iter().enumerate() {
        let id = customer_id(i, width);
        let name = format!(
            "{} {} {}",
            catalog::NAME_A[i % catalog::NAME_A.len()],
            catalog::NAME_B[(i / catalog::NAME_A.len()) % catalog::NAME_B.len()],
            catalog::NAME_C
                [(i / (catalog::NAME_A.len() * catalog::NAME_B.len())) % catalog::NAME_C.len()]
        );
        let name = if i >= catalog::NAME_A.len() * catalog::NAME_B.len() * catalog::NAME_C.len() {
            format!("{name} {}", i + 1)
        } else {
            name
        };
        let since = if c.start == 0 {
            shift_month(months[0], -(1 + rng.below(48) as i32))
                + Duration::days(rng.below(27) as i64)
        } else {
            months[c.start as usize] + Duration::days(rng.below(27) as i64)
        };
        cust.row(&[
            &id,
            &name,
            c.segment.name(),
            rng.pick(catalog::REGIONS),
            &money((c.mrr * 12.0 * 100.0).round() / 100.0),
            &since.to_string(),
            rng.pick(catalog::OWNERS),
            &updated,
        ])?;
        for (j, a) in ASSETS.iter().enumerate() {
            if c.uses & (1 << j) != 0 {
                ca.row(&[&id, a.id])?;
            }
        }
        let (target, tiers) = match c.segment {
            Segment::Enterprise => ("99.9", "99.9:10;99.5:25;99.0:50"),
            Segment::MidMarket => ("99.5", "99.5:10;99.0:25"),
            Segment::Smb => ("99.0", "99.0:10"),
        };
        if c.segment != Segment::Smb || rng.unit() < 0.6 {
            let period = if c.segment == Segment::Enterprise && rng.unit() < 0.3 {
                "quarter"
            } else {
                "month"
            };
            sla.row(&[
                &format!("SLA-{id}-AV"),
                &id,
                "",
                "availability",
                target,
                period,
                "",
                tiers,
                &since.to_string(),
                "",
            ])?;
        }
        if c.segment == Segment::Enterprise {
            sla.row(&[
                &format!("SLA-{id}-TTA"),
                &id,
                "",
                "time_to_acknowledge",
                "15",
                "month",
                "sev1;sev2",
                "",
                &since.to_string(),
                "",
            ])?;
            sla.row(&[
                &format!("SLA-{id}-TTR"),
                &id,
                "",
                "time_to_resolve",
                "240",
                "month",
                "sev1",
                "",
                &since.to_string(),
                "",
            ])?;
        }
    }
    let _ = (n_inc, n_chg);
    let mut files = vec![("assets.csv".to_string(), ASSETS.len() as u64)];
    for f in [cust, ca, inc, chg, mw, sla, churn, rev] {
        files.push(f.finish()?);
    }
    files.sort();
    Ok(GenerateSummary { files })
}

fn write_assets(out: &Path, gzip: bool) -> Result<()> {
    let mut w = CsvOut::create(
        out,
        "assets",
        &[
            "asset_id",
            "name",
            "kind",
            "tier",
            "owner_team",
            "depends_on",
            "monthly_cost",
            "updated_at",
        ],
        gzip,
    )?;
    for a in ASSETS {
        w.row(&[
            a.id,
            a.name,
            a.kind,
            &a.tier.to_string(),
            a.team,
            &a.depends_on.join(";"),
            &money(a.monthly_cost),
            "2026-01-01T00:00:00Z",
        ])?;
    }
    w.finish()?;
    Ok(())
}

fn severity(rng: &mut Dist, a: &AssetDef, from_change: bool) -> usize {
    let w: [f64; 5] = match (a.tier, from_change) {
        (1, _) | (_, true) => [0.06, 0.18, 0.36, 0.28, 0.12],
        (2, _) => [0.03, 0.14, 0.38, 0.32, 0.13],
        _ => [0.01, 0.08, 0.36, 0.38, 0.17],
    };
    let choices: Vec<(usize, f64)> = (1..=5).zip(w).collect();
    rng.pick_weighted(&choices)
}

fn impact(rng: &mut Dist, sev: usize) -> &'static str {
    let w: &[(&str, f64)] = match sev {
        1 => &[("outage", 0.55), ("partial", 0.45)],
        2 => &[("outage", 0.08), ("partial", 0.3), ("degraded", 0.62)],
        3 => &[("partial", 0.04), ("degraded", 0.6), ("none", 0.36)],
        _ => &[("degraded", 0.3), ("none", 0.7)],
    };
    rng.pick_weighted(w)
}

fn shift_month(d: NaiveDate, by: i32) -> NaiveDate {
    let total = d.year() * 12 + d.month0() as i32 + by;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1)
        .expect("first of month")
}

fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn opt_ts(t: Option<NaiveDateTime>) -> String {
    t.map(ts).unwrap_or_default()
}

fn money(v: f64) -> String {
    format!("{v:.2}")
}
