//! Who each incident reaches, without listing incident × customer pairs. An incident that names
//! customers reaches those; otherwise one on an asset reaches every customer whose closure
//! holds the asset ("broad"). Broad reach is the same for every customer of an exposure group.
//!
//! Group downtime comes from one sweep over every asset's merged downtime in time order: each
//! group counts its down assets (per weight level), and when its weight changes the span just
//! ended is added to the group's local-day totals. Days are local midnights in the reporting
//! zone plus the as-of instant, so every window the model asks about (months, quarters,
//! customer and SLA spans, all starting and ending at local midnights or at as-of) is a
//! difference of two running sums; any other window is rebuilt locally from the assets' merged
//! downtime. A customer named by incidents adds only the excess of those incidents over the
//! group's downtime. Per asset, broad incidents are indexed by start time with running sums,
//! so "incidents reaching this customer in this window" costs a binary search per asset.

use super::base::{Calendar, Customers, Incidents};
use super::intervals::{Segment, merge_max};
use crate::query::period::local_midnight;
use polars::prelude::PlHashMap;

/// Merged downtime with running sums: downtime inside any window in O(log n).
#[derive(Default, Clone)]
pub(crate) struct Timeline {
    pub segs: Vec<Segment>,
    /// `cum[i]`: weighted minutes of `segs[..i]`.
    cum: Vec<f64>,
}

impl Timeline {
    /// From merged (sorted, disjoint) segments.
    pub fn new(segs: Vec<Segment>) -> Self {
        let mut cum = Vec::with_capacity(segs.len() + 1);
        let mut t = 0.0;
        cum.push(t);
        for s in &segs {
            t += s.downtime_minutes();
            cum.push(t);
        }
        Timeline { segs, cum }
    }

    /// Weighted downtime up to `t`.
    fn upto(&self, t: i64) -> f64 {
        // Segments entirely before t, plus the part of the one containing t.
        let i = self.segs.partition_point(|s| s.end <= t);
        let mut v = self.cum[i];
        if let Some(s) = self.segs.get(i) {
            if s.start < t {
                v += (t - s.start) as f64 / 60_000_000.0 * s.weight;
            }
        }
        v
    }

    /// Weighted downtime minutes inside `[from, to)`.
    pub fn within(&self, from: i64, to: i64) -> f64 {
        if to <= from || self.segs.is_empty() {
            return 0.0;
        }
        (self.upto(to) - self.upto(from)).max(0.0)
    }
}

/// Broad incidents of one asset, by start time.
#[derive(Default)]
pub(crate) struct AssetLine {
    /// Incident indexes, sorted by start.
    pub incidents: Vec<u32>,
    pub starts: Vec<i64>,
    /// Running counts over `incidents` (`[0] = 0`): incidents with an impact, those of them of
    /// severity sev1 or sev2, those still open; and their downtime minutes.
    pub cum_hits: Vec<u32>,
    pub cum_sev12: Vec<u32>,
    pub cum_open: Vec<u32>,
    pub cum_down: Vec<f64>,
    /// Running count of the incidents with downtime.
    pub cum_down_n: Vec<u32>,
    /// Merged downtime of the asset's broad incidents.
    pub merged: Vec<Segment>,
}

/// Counts and downtime of the incidents (with an impact) in a set, as summed over asset lines.
#[derive(Default, Clone, Copy, Debug, PartialEq)]
pub(crate) struct Tally {
    pub incidents: u64,
    pub sev1_sev2: u64,
    pub open: u64,
    pub downtime: f64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Tally) {
        self.incidents += o.incidents;
        self.sev1_sev2 += o.sev1_sev2;
        self.open += o.open;
        self.downtime += o.downtime;
    }
}

impl AssetLine {
    /// Incident indexes started in `[from, to)`.
    pub fn started_in(&self, from: i64, to: i64) -> &[u32] {
        let (a, b) = self.bounds(from, to);
        &self.incidents[a..b]
    }

    /// The positions in the line of the incidents started in `[from, to)`.
    pub fn bounds(&self, from: i64, to: i64) -> (usize, usize) {
        let a = self.starts.partition_point(|s| *s < from);
        let b = self.starts.partition_point(|s| *s < to);
        (a, b.max(a))
    }

    /// The tally of the incidents (with an impact) started in `[from, to)`.
    /// Whether an incident with downtime started in `[from, to)`.
    pub fn any_downtime(&self, from: i64, to: i64) -> bool {
        let (a, b) = self.bounds(from, to);
        self.cum_down_n[b] > self.cum_down_n[a]
    }

    /// The tally of the incidents (with an impact) started in `[from, to)`.
    pub fn tally(&self, from: i64, to: i64) -> Tally {
        let (a, b) = self.bounds(from, to);
        Tally {
            incidents: (self.cum_hits[b] - self.cum_hits[a]) as u64,
            sev1_sev2: (self.cum_sev12[b] - self.cum_sev12[a]) as u64,
            open: (self.cum_open[b] - self.cum_open[a]) as u64,
            downtime: self.cum_down[b] - self.cum_down[a],
        }
    }
}

pub(crate) enum Reach {
    Nobody,
    /// Every customer exposed to the asset (incident asset id).
    Broad(u32),
    /// These customers (indexes).
    Named(Vec<u32>),
}

pub(crate) struct Exposure {
    pub reach: Vec<Reach>,
    /// Start of each incident (by index).
    starts: Vec<i64>,
    /// Per incident asset id.
    pub lines: Vec<AssetLine>,
    /// Per group: the incident asset ids in its closure.
    pub group_assets: Vec<Vec<u32>>,
    /// Day boundaries (local midnights from the calendar's start, and as-of).
    days: Vec<i64>,
    /// Downtime of the assets in every group's closure, by day, and per group the downtime of
    /// its other assets above it: running sums of exact microseconds, so every window sums
    /// without rounding. Built on first use (the sweep is the dearest part of the exposure, and
    /// queries that need only who an incident reaches never ask for it).
    runs: std::cell::OnceCell<(DayRuns, Vec<DayRuns>)>,
    /// Per customer named by incidents: those incidents, by start.
    pub named: PlHashMap<u32, Vec<u32>>,
    /// Per customer named by incidents: downtime of theirs above the group's.
    pub excess: PlHashMap<u32, Timeline>,
    /// Per incident asset id: customers whose closure holds it, and their ARR.
    pub exposed: Vec<(u64, f64)>,
}

impl Exposure {
    pub fn build(inc: &Incidents, cu: &Customers, cal: &Calendar) -> Exposure {
        let n_assets = inc.assets.len();
        let mut reach = Vec::with_capacity(inc.list.len());
        let mut lines: Vec<AssetLine> = (0..n_assets).map(|_| AssetLine::default()).collect();
        let mut named: PlHashMap<u32, Vec<u32>> = PlHashMap::default();
        let mut order: Vec<u32> = (0..inc.list.len() as u32).collect();
        order.sort_by_key(|&i| inc.list[i as usize].started);
        for &i in &order {
            let x = &inc.list[i as usize];
            if !x.customers.is_empty() {
                let mut hit: Vec<u32> = x
                    .customers
                    .iter()
                    .filter_map(|c| cu.index.get(c.as_str()).map(|&k| k as u32))
                    .collect();
                hit.sort_unstable();
                hit.dedup();
                for &c in &hit {
                    named.entry(c).or_default().push(i);
                }
                reach.push((i, Reach::Named(hit)));
            } else if let Some(a) = x.asset {
                let line = &mut lines[a as usize];
                line.incidents.push(i);
                line.starts.push(x.started);
                reach.push((i, Reach::Broad(a)));
            } else {
                reach.push((i, Reach::Nobody));
            }
        }
        reach.sort_by_key(|(i, _)| *i);
        let reach: Vec<Reach> = reach.into_iter().map(|(_, r)| r).collect();
        let sev12: Vec<bool> = (0..inc.labels.len() as u32)
            .map(|l| matches!(inc.labels.name(l), "sev1" | "sev2"))
            .collect();
        for line in &mut lines {
            let n = line.incidents.len() + 1;
            let (mut h, mut s12, mut o, mut d) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            let (mut ch, mut cs, mut co, mut cd) = (0u32, 0u32, 0u32, 0.0f64);
            let mut dn = Vec::with_capacity(n);
            let mut cdn = 0u32;
            dn.push(0);
            h.push(0);
            s12.push(0);
            o.push(0);
            d.push(0.0);
            for &i in &line.incidents {
                let x = &inc.list[i as usize];
                if x.impact != inc.none {
                    ch += 1;
                    cs += sev12[x.severity as usize] as u32;
                    co += x.open as u32;
                    let d = x.downtime();
                    cd += d;
                    cdn += (d > 0.0) as u32;
                }
                dn.push(cdn);
                h.push(ch);
                s12.push(cs);
                o.push(co);
                d.push(cd);
            }
            (line.cum_hits, line.cum_sev12, line.cum_open, line.cum_down) = (h, s12, o, d);
            line.cum_down_n = dn;
            let pieces: Vec<Segment> = line
                .incidents
                .iter()
                .flat_map(|&i| inc.list[i as usize].pieces.iter().copied())
                .collect();
            line.merged = merge_max(&pieces);
        }
        let group_assets: Vec<Vec<u32>> = cu
            .groups
            .iter()
            .map(|g| g.assets.iter().filter_map(|a| inc.assets.get(a)).collect())
            .collect();
        let days = day_bounds(cal);
        let exposed = (0..n_assets as u32)
            .map(|a| {
                cu.exposed
                    .get(inc.assets.name(a))
                    .copied()
                    .unwrap_or_default()
            })
            .collect();
        let mut ex = Exposure {
            reach,
            starts: inc.list.iter().map(|x| x.started).collect(),
            lines,
            group_assets,
            days,
            runs: std::cell::OnceCell::new(),
            named,
            excess: PlHashMap::default(),
            exposed,
        };
        let excess = ex
            .named
            .iter()
            .map(|(&c, list)| {
                let g = cu.list[c as usize].group as usize;
                let pieces: Vec<Segment> = list
                    .iter()
                    .flat_map(|&i| inc.list[i as usize].pieces.iter().copied())
                    .collect();
                (c, ex.excess_over_group(g, &merge_max(&pieces)))
            })
            .collect();
        ex.excess = excess;
        ex
    }

    /// Every group's downtime as local-day running sums (built on first use).
    fn runs(&self) -> (&DayRuns, &[DayRuns]) {
        let (base, groups) = self.runs.get_or_init(|| {
            let merged: Vec<&[Segment]> = self.lines.iter().map(|l| l.merged.as_slice()).collect();
            group_day_runs(&merged, &self.group_assets, &self.days)
        });
        (base, groups)
    }

    /// The excess of `extra` (merged) over group `g`'s downtime, rebuilt around each piece.
    pub fn excess_over_group(&self, g: usize, extra: &[Segment]) -> Timeline {
        let mut out: Vec<Segment> = Vec::new();
        for e in extra {
            let local = Timeline::new(self.local_group(g, e.start, e.end));
            out.extend(excess_over(&local, std::slice::from_ref(e)).segs);
        }
        Timeline::new(out)
    }

    /// Group `g`'s merged downtime inside `[from, to)`, rebuilt from its assets' merged downtime.
    pub fn local_group(&self, g: usize, from: i64, to: i64) -> Vec<Segment> {
        let mut all: Vec<Segment> = Vec::new();
        for &a in &self.group_assets[g] {
            let m = &self.lines[a as usize].merged;
            let first = m.partition_point(|s| s.end <= from);
            for s in &m[first..] {
                if s.start >= to {
                    break;
                }
                all.push(Segment::new(s.start.max(from), s.end.min(to), s.weight));
            }
        }
        merge_max(&all)
    }

    /// Group `g`'s downtime minutes inside `[from, to)`.
    pub fn group_downtime(&self, g: usize, from: i64, to: i64) -> f64 {
        if to <= from {
            return 0.0;
        }
        let (base_days, group_days) = self.runs();
        let between = |a: usize, b: usize| base_days.between(a, b) + group_days[g].between(a, b);
        match (self.days.binary_search(&from), self.days.binary_search(&to)) {
            (Ok(a), Ok(b)) => between(a, b),
            _ => {
                // Off the day grid: the whole days inside from the running sums, the edges
                // rebuilt.
                let a = self.days.partition_point(|d| *d < from);
                let b = self.days.partition_point(|d| *d <= to).saturating_sub(1);
                let edge = |x: i64, y: i64| {
                    self.local_group(g, x, y)
                        .iter()
                        .map(Segment::downtime_minutes)
                        .sum::<f64>()
                };
                if a >= self.days.len() || b < a || self.days[b] <= self.days[a] {
                    return edge(from, to);
                }
                edge(from, self.days[a]) + between(a, b) + edge(self.days[b], to)
            }
        }
    }

    /// Merged downtime a customer sees inside `[from, to)`.
    pub fn customer_downtime(&self, cu: &Customers, c: usize, from: i64, to: i64) -> f64 {
        let g = cu.list[c].group as usize;
        self.group_downtime(g, from, to)
            + self
                .excess
                .get(&(c as u32))
                .map_or(0.0, |t| t.within(from, to))
    }

    /// Incidents naming customer `c` that started in `[from, to)`.
    pub fn named_in<'a>(&'a self, c: usize, from: i64, to: i64) -> impl Iterator<Item = u32> + 'a {
        self.named
            .get(&(c as u32))
            .into_iter()
            .flatten()
            .copied()
            .filter(move |_| from < to)
            .filter(move |&i| self.started(i) >= from && self.started(i) < to)
    }

    fn started(&self, i: u32) -> i64 {
        self.starts[i as usize]
    }
}

/// Local midnights in the reporting zone from the calendar's first day through as-of, and as-of.
fn day_bounds(cal: &Calendar) -> Vec<i64> {
    let Some(&first) = cal.starts.first() else {
        return vec![cal.as_of];
    };
    let mut out = vec![first];
    let mut day = cal.months[0].first;
    loop {
        day = day.succ_opt().expect("a next day");
        let t = local_midnight(day, cal.tz).timestamp_micros();
        if t >= cal.as_of {
            break;
        }
        if t > *out.last().expect("non-empty") {
            out.push(t);
        }
    }
    if cal.as_of > *out.last().expect("non-empty") {
        out.push(cal.as_of);
    }
    out
}

/// Running down microseconds at each day boundary, per weight level (heaviest first).
#[derive(Default)]
pub(crate) struct DayRuns {
    pub levels: Vec<f64>,
    pub runs: Vec<Vec<i64>>,
}

impl DayRuns {
    /// Weighted minutes between day boundaries `a` and `b`.
    fn between(&self, a: usize, b: usize) -> f64 {
        self.runs
            .iter()
            .zip(&self.levels)
            .map(|(run, w)| (run[b] - run[a]) as f64 / 60_000_000.0 * w)
            .sum()
    }
}

/// Distinct weights of the segments, heaviest first.
fn weight_levels<'a>(segs: impl Iterator<Item = &'a Segment>) -> Vec<f64> {
    let mut levels: Vec<f64> = segs.map(|s| s.weight).collect();
    levels.sort_by(|a, b| b.total_cmp(a));
    levels.dedup();
    levels
}

/// Turn per-day microseconds into running sums (entry i: before days[i]).
fn running(v: &mut [i64]) {
    let mut run = 0;
    for x in v.iter_mut() {
        let here = *x;
        *x = run;
        run += here;
    }
}

/// Day runs of one merged timeline.
fn day_runs(segs: &[Segment], days: &[i64]) -> DayRuns {
    let levels = weight_levels(segs.iter());
    let mut runs = vec![vec![0i64; days.len()]; levels.len()];
    for s in segs {
        let l = levels.iter().position(|w| *w == s.weight).unwrap_or(0);
        add_days(&mut runs[l], days, s.start, s.end);
    }
    runs.iter_mut().for_each(|r| running(r));
    DayRuns { levels, runs }
}

/// Day runs of the downtime common to every group, and per group of its downtime above that.
/// Assets in every group's closure (the core platform) are down for every customer at once:
/// their merged downtime is counted once, and the sweep sees only the other assets' downtime
/// above it.
fn group_day_runs(
    merged: &[&[Segment]],
    group_assets: &[Vec<u32>],
    days: &[i64],
) -> (DayRuns, Vec<DayRuns>) {
    let n_assets = merged.len();
    let n_groups = group_assets.len();
    let mut groups_of: Vec<Vec<u32>> = vec![Vec::new(); n_assets];
    for (g, assets) in group_assets.iter().enumerate() {
        for &a in assets {
            groups_of[a as usize].push(g as u32);
        }
    }
    let universal: Vec<bool> = groups_of.iter().map(|g| g.len() == n_groups).collect();
    let base = merge_max(
        &(0..n_assets)
            .filter(|&a| universal[a])
            .flat_map(|a| merged[a].iter().copied())
            .collect::<Vec<_>>(),
    );
    let base_days = day_runs(&base, days);
    let base_tl = Timeline::new(base);
    let rest: Vec<Vec<Segment>> = (0..n_assets)
        .map(|a| {
            if universal[a] || groups_of[a].is_empty() {
                Vec::new()
            } else {
                excess_over(&base_tl, merged[a]).segs
            }
        })
        .collect();
    (base_days, sweep(&rest, &groups_of, n_groups, days))
}

/// Day runs per group: one pass over every asset's segments in time order, each group
/// counting its down assets per weight level; when a group's weight changes, the span just
/// ended goes to its days.
fn sweep(
    segs: &[Vec<Segment>],
    groups_of: &[Vec<u32>],
    n_groups: usize,
    days: &[i64],
) -> Vec<DayRuns> {
    let levels = weight_levels(segs.iter().flatten());
    let n_levels = levels.len();
    if n_levels == 0 {
        return (0..n_groups).map(|_| DayRuns::default()).collect();
    }
    let level = |w: f64| levels.iter().position(|l| *l == w).unwrap_or(0);
    // Events: (time, -1 end / +1 start, asset, level); ends first at the same time.
    let mut events: Vec<(i64, i8, u32, u8)> = Vec::new();
    for (a, list) in segs.iter().enumerate() {
        if groups_of[a].is_empty() {
            continue;
        }
        for s in list {
            let lv = level(s.weight) as u8;
            events.push((s.start, 1, a as u32, lv));
            events.push((s.end, -1, a as u32, lv));
        }
    }
    events.sort_unstable();
    let mut per_day: Vec<Vec<Vec<i64>>> = vec![vec![vec![0; days.len()]; n_levels]; n_groups];
    let mut counts = vec![0u32; n_groups * n_levels];
    // Current level (n_levels = up) and since when, per group.
    let mut state: Vec<(usize, i64)> = vec![(n_levels, 0); n_groups];
    let mut touched: Vec<u32> = Vec::new();
    let mut marked = vec![false; n_groups];
    let mut i = 0;
    while i < events.len() {
        let t = events[i].0;
        while i < events.len() && events[i].0 == t {
            let (_, d, a, lv) = events[i];
            for &g in &groups_of[a as usize] {
                let k = g as usize * n_levels + lv as usize;
                if d > 0 {
                    counts[k] += 1;
                } else {
                    counts[k] -= 1;
                }
                if !marked[g as usize] {
                    marked[g as usize] = true;
                    touched.push(g);
                }
            }
            i += 1;
        }
        for &g in &touched {
            let g = g as usize;
            marked[g] = false;
            let now = (0..n_levels)
                .find(|&l| counts[g * n_levels + l] > 0)
                .unwrap_or(n_levels);
            let (was, since) = state[g];
            if now != was {
                if was < n_levels {
                    add_days(&mut per_day[g][was], days, since, t);
                }
                state[g] = (now, t);
            }
        }
        touched.clear();
    }
    per_day
        .into_iter()
        .map(|mut runs| {
            runs.iter_mut().for_each(|r| running(r));
            DayRuns {
                levels: levels.clone(),
                runs,
            }
        })
        .collect()
}

/// Add `[from, to)` to the per-day microseconds (entry i: the day starting at days[i]).
fn add_days(per_day: &mut [i64], days: &[i64], from: i64, to: i64) {
    let mut i = days.partition_point(|d| *d <= from).saturating_sub(1);
    let mut s = from;
    while s < to && i < days.len() {
        let end = days.get(i + 1).copied().unwrap_or(i64::MAX).min(to);
        if end > s {
            per_day[i] += end - s;
        }
        s = end.max(s);
        i += 1;
    }
}

/// Merged downtime of the broad incidents on a set of assets.
pub(crate) fn set_timeline(lines: &[AssetLine], assets: &[u32]) -> Timeline {
    let all: Vec<Segment> = assets
        .iter()
        .flat_map(|&a| lines[a as usize].merged.iter().copied())
        .collect();
    Timeline::new(merge_max(&all))
}

/// The parts of `extra` (merged) that weigh more than `base` at the same instant, weighted by
/// the difference: `base + excess` is the merge of both.
pub(crate) fn excess_over(base: &Timeline, extra: &[Segment]) -> Timeline {
    let mut out: Vec<Segment> = Vec::new();
    for e in extra {
        let mut cur = e.start;
        let first = base.segs.partition_point(|s| s.end <= e.start);
        for b in &base.segs[first..] {
            if b.start >= e.end {
                break;
            }
            if b.start > cur {
                out.push(Segment::new(cur, b.start, e.weight));
            }
            let (s, t) = (b.start.max(cur), b.end.min(e.end));
            if t > s && e.weight > b.weight {
                out.push(Segment::new(s, t, e.weight - b.weight));
            }
            cur = cur.max(b.end);
            if cur >= e.end {
                break;
            }
        }
        if cur < e.end {
            out.push(Segment::new(cur, e.end, e.weight));
        }
    }
    Timeline::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000_000;

    fn seg(a: i64, b: i64, w: f64) -> Segment {
        Segment::new(a * M, b * M, w)
    }

    #[test]
    fn timeline_windows_match_clipping_each_segment() {
        let t = Timeline::new(vec![seg(0, 10, 1.0), seg(20, 40, 0.3), seg(50, 60, 1.0)]);
        assert_eq!(t.within(0, 100 * M), 10.0 + 6.0 + 10.0);
        assert!((t.within(5 * M, 25 * M) - (5.0 + 1.5)).abs() < 1e-9);
        assert_eq!(t.within(10 * M, 20 * M), 0.0);
        assert!((t.within(30 * M, 55 * M) - (3.0 + 5.0)).abs() < 1e-9);
        assert_eq!(t.within(55 * M, 55 * M), 0.0);
    }

    /// Group downtime from the sweep's day sums equals merging each group's assets directly,
    /// for random assets, weights, groups and day-aligned windows.
    #[test]
    fn day_sums_match_merging_each_group() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let day = 1440 * M;
        let days: Vec<i64> = (0..=40).map(|d| d * day).collect();
        for _round in 0..20 {
            let n_assets = rng.random_range(1..8usize);
            let merged: Vec<Vec<Segment>> = (0..n_assets)
                .map(|_| {
                    let raw: Vec<Segment> = (0..rng.random_range(0..30))
                        .map(|_| {
                            let a = rng.random_range(0..40 * 1440i64);
                            let len = rng.random_range(1..3000i64);
                            let w = if rng.random_bool(0.5) { 1.0 } else { 0.3 };
                            seg(a, (a + len).min(40 * 1440), w)
                        })
                        .collect();
                    merge_max(&raw)
                })
                .collect();
            // Random groups; the first asset is in all of them (a common core).
            let groups: Vec<Vec<u32>> = (0..rng.random_range(1..6))
                .map(|_| {
                    (0..n_assets as u32)
                        .filter(|&a| a == 0 || rng.random_bool(0.5))
                        .collect()
                })
                .collect();
            let refs: Vec<&[Segment]> = merged.iter().map(Vec::as_slice).collect();
            let (base, per) = group_day_runs(&refs, &groups, &days);
            for (g, assets) in groups.iter().enumerate() {
                let all: Vec<Segment> = assets
                    .iter()
                    .flat_map(|&a| merged[a as usize].iter().copied())
                    .collect();
                let truth = Timeline::new(merge_max(&all));
                for _ in 0..10 {
                    let a = rng.random_range(0..40usize);
                    let b = rng.random_range(a..=40usize);
                    let want = truth.within(days[a], days[b]);
                    let got = base.between(a, b) + per[g].between(a, b);
                    assert!(
                        (want - got).abs() < 1e-6,
                        "group {g} days {a}..{b}: {want} vs {got}"
                    );
                }
            }
        }
    }

    #[test]
    fn excess_plus_base_is_the_merge_of_both() {
        // Base: partial 0.3 on [0,60); extra: full on [20,30) and partial on [50,80).
        let base = Timeline::new(vec![seg(0, 60, 0.3)]);
        let extra = merge_max(&[seg(20, 30, 1.0), seg(50, 80, 0.3)]);
        let ex = excess_over(&base, &extra);
        let merged = Timeline::new(merge_max(&[
            seg(0, 60, 0.3),
            seg(20, 30, 1.0),
            seg(50, 80, 0.3),
        ]));
        for (a, b) in [(0, 100), (0, 25), (25, 55), (55, 90), (70, 75)] {
            let want = merged.within(a * M, b * M);
            let got = base.within(a * M, b * M) + ex.within(a * M, b * M);
            assert!((want - got).abs() < 1e-9, "[{a},{b}): {want} vs {got}");
        }
        // Over the whole span: 60x0.3 + 10x0.7 + 20x0.3 = 18 + 7 + 6 = 31.
        assert!((base.within(0, 100 * M) + ex.within(0, 100 * M) - 31.0).abs() < 1e-9);
    }
}
