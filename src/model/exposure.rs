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

use super::base::{Calendar, Customers, Incidents, RowLists};
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

/// Whom an incident reaches.
#[derive(Clone, Copy)]
pub(crate) enum Reach<'a> {
    Nobody,
    /// Every customer exposed to the asset (incident asset id).
    Broad(u32),
    /// These customers (indexes, ascending).
    Named(&'a [u32]),
}

/// [`Reach`] as kept, 12 bytes: named customers are a range of [`Exposure::named_hits`].
#[derive(Clone, Copy)]
enum Reached {
    Nobody,
    Broad(u32),
    Named(u32, u32),
}

pub(crate) struct Exposure {
    /// Per incident: whom it reaches.
    reached: Vec<Reached>,
    /// The customers named incidents reach, one incident's after another.
    named_hits: Vec<u32>,
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
    runs: std::sync::OnceLock<(DayRuns, Vec<DayRuns>)>,
    /// Per customer row: the incidents naming the customer, by start (ties in list order).
    pub named: RowLists,
    /// Per customer named by incidents: downtime of theirs above the group's.
    pub excess: PlHashMap<u32, Timeline>,
    /// Per incident asset id: customers whose closure holds it, and their ARR.
    pub exposed: Vec<(u64, f64)>,
}

impl Exposure {
    pub fn build(inc: &Incidents, cu: &Customers, cal: &Calendar) -> Exposure {
        let n_assets = inc.assets.len();
        let mut reached = vec![Reached::Nobody; inc.list.len()];
        let mut named_hits: Vec<u32> = Vec::new();
        let mut lines: Vec<AssetLine> = (0..n_assets).map(|_| AssetLine::default()).collect();
        // (customer row, position of the incident in start order): one flat list per customer
        // at the end. A `Vec` per named customer in a hash map (738 k at 10 M incidents) cost
        // 0.6 s in growing and rehashing.
        let mut named_pairs: Vec<(usize, u32)> = Vec::new();
        // Incidents by start, ties in list order: sorting the starts beside the indexes, not
        // the indexes by a start looked up in the list, which missed the cache at 10 M.
        let mut order: Vec<(i64, u32)> = (inc.list.iter().map(|x| x.started))
            .zip(0..inc.list.len() as u32)
            .collect();
        order.sort_unstable();
        // Every named customer's row, found at once.
        let named_rows = cu.rows_of(inc.every_customer());
        for (rank, &(_, i)) in order.iter().enumerate() {
            let x = &inc.list[i as usize];
            if !inc.customers(x).is_empty() {
                let mut hit: Vec<u32> = named_rows[inc.customer_span(x)]
                    .iter()
                    .flatten()
                    .copied()
                    .collect();
                hit.sort_unstable();
                hit.dedup();
                named_pairs.extend(hit.iter().map(|&c| (c as usize, rank as u32)));
                let first = named_hits.len() as u32;
                named_hits.extend_from_slice(&hit);
                reached[i as usize] = Reached::Named(first, named_hits.len() as u32);
            } else if let Some(a) = x.asset {
                let line = &mut lines[a as usize];
                line.incidents.push(i);
                line.starts.push(x.started);
                reached[i as usize] = Reached::Broad(a);
            }
        }
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
                    let d = inc.downtime(x);
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
                .flat_map(|&i| inc.pieces(&inc.list[i as usize]).iter().copied())
                .collect();
            line.merged = merge_max(&pieces);
        }
        let group_assets: Vec<Vec<u32>> = cu
            .groups
            .iter()
            .map(|g| g.assets.iter().filter_map(|a| inc.assets.get(a)).collect())
            .collect();
        let days = day_bounds(cal);
        // Positions in start order sorted per customer, then made incident indexes.
        let mut named = RowLists::build(cu.list.len(), named_pairs.into_iter());
        named.map_ids(|rank| order[rank as usize].1);
        drop(order);
        let exposed = (0..n_assets as u32)
            .map(|a| {
                cu.exposed
                    .get(inc.assets.name(a))
                    .copied()
                    .unwrap_or_default()
            })
            .collect();
        let mut ex = Exposure {
            reached,
            named_hits,
            starts: inc.list.iter().map(|x| x.started).collect(),
            lines,
            group_assets,
            days,
            runs: std::sync::OnceLock::new(),
            named,
            excess: PlHashMap::default(),
            exposed,
        };
        let excess = ex.named_excess(inc, cu);
        ex.excess = excess;
        ex
    }

    /// Whom each incident reaches, in incident order.
    pub fn reach(&self) -> impl Iterator<Item = Reach<'_>> {
        self.reached.iter().map(|r| match *r {
            Reached::Nobody => Reach::Nobody,
            Reached::Broad(a) => Reach::Broad(a),
            Reached::Named(a, b) => Reach::Named(&self.named_hits[a as usize..b as usize]),
        })
    }

    /// Every group's downtime as local-day running sums (built on first use).
    fn runs(&self) -> (&DayRuns, &[DayRuns]) {
        let (base, groups) = self.runs.get_or_init(|| {
            let merged: Vec<&[Segment]> = self.lines.iter().map(|l| l.merged.as_slice()).collect();
            group_day_runs(&merged, &self.group_assets, &self.days)
        });
        (base, groups)
    }

    /// Per customer named by incidents: the excess of those incidents' merged downtime over
    /// the customer's group's ([`excess_over_groups`]).
    fn named_excess(&self, inc: &Incidents, cu: &Customers) -> PlHashMap<u32, Timeline> {
        let (customers, extras): (Vec<u32>, Vec<(usize, Vec<Segment>)>) = self
            .named
            .rows_with_ids()
            .map(|c| {
                let pieces: Vec<Segment> = (self.named.get(c).iter())
                    .flat_map(|&i| inc.pieces(&inc.list[i as usize]).iter().copied())
                    .collect();
                (c as u32, (cu.list[c].group as usize, merge_max(&pieces)))
            })
            .unzip();
        let merged: Vec<&[Segment]> = self.lines.iter().map(|l| l.merged.as_slice()).collect();
        let excess = excess_over_groups(&merged, &self.group_assets, &extras);
        customers.into_iter().zip(excess).collect()
    }

    /// Group `g`'s merged downtime inside `[from, to)`, rebuilt from its assets' merged downtime.
    pub fn local_group(&self, g: usize, from: i64, to: i64) -> Vec<Segment> {
        let mut all: Vec<Segment> = Vec::new();
        let merged = |a: u32| self.lines[a as usize].merged.as_slice();
        clip_group(merged, &self.group_assets[g], from, to, &mut all, |_, m| {
            m.partition_point(|s| s.end <= from)
        });
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
            .get(c)
            .iter()
            .copied()
            .filter(move |_| from < to)
            .filter(move |&i| self.started(i) >= from && self.started(i) < to)
    }

    fn started(&self, i: u32) -> i64 {
        self.starts[i as usize]
    }
}

/// The pieces of `assets`' merged downtime inside `[from, to)`, clipped to it, into `all`;
/// `first(asset, merged)` is the first segment of the asset's that ends after `from`.
fn clip_group<'m>(
    merged: impl Fn(u32) -> &'m [Segment],
    assets: &[u32],
    from: i64,
    to: i64,
    all: &mut Vec<Segment>,
    mut first: impl FnMut(u32, &[Segment]) -> usize,
) {
    for &a in assets {
        let m = merged(a);
        for s in &m[first(a, m)..] {
            if s.start >= to {
                break;
            }
            all.push(Segment::new(s.start.max(from), s.end.min(to), s.weight));
        }
    }
}

/// For each (group, merged pieces): the excess of the pieces over the group's downtime (its
/// assets' `merged` downtime), rebuilt around each piece. Every piece of every entry is
/// walked in one time order, so each asset's merged downtime is read with a cursor that only
/// moves forward: a binary search per (piece, asset of the group) over lines of a quarter of
/// a million segments missed the cache at 10 M incidents.
fn excess_over_groups(
    merged: &[&[Segment]],
    group_assets: &[Vec<u32>],
    extras: &[(usize, Vec<Segment>)],
) -> Vec<Timeline> {
    // An entry's merged pieces are disjoint: ordered by start, each entry's come in its own
    // order.
    let mut order: Vec<(i64, u32, u32)> = extras
        .iter()
        .enumerate()
        .flat_map(|(k, (_, segs))| {
            segs.iter()
                .enumerate()
                .map(move |(j, e)| (e.start, k as u32, j as u32))
        })
        .collect();
    order.sort_unstable();
    let mut cursor = vec![0usize; merged.len()];
    let mut out: Vec<Vec<Segment>> = vec![Vec::new(); extras.len()];
    let mut all = Vec::new();
    for (_, k, j) in order {
        let (g, segs) = &extras[k as usize];
        let e = segs[j as usize];
        all.clear();
        clip_group(
            |a| merged[a as usize],
            &group_assets[*g],
            e.start,
            e.end,
            &mut all,
            |a, m| {
                let at = &mut cursor[a as usize];
                while m.get(*at).is_some_and(|s| s.end <= e.start) {
                    *at += 1;
                }
                *at
            },
        );
        let local = Timeline::new(merge_max(&all));
        out[k as usize].extend(excess_over(&local, std::slice::from_ref(&e)).segs);
    }
    out.into_iter().map(Timeline::new).collect()
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

/// How the sweep finds the groups an asset's change moves (production asks for the cheaper;
/// tests compare the two).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(not(test), allow(dead_code))]
enum Walk {
    /// Per change, the cheaper of the two below.
    Cheaper,
    /// Look at every group whose closure holds the asset.
    Members,
    /// Word-wide operations on sets of groups, then only the groups that move.
    Bits,
}

/// Day runs per group: one pass over every asset's segments in time order. Each group has a
/// level (the heaviest weight among its down assets, or up) and holds it since some time; when
/// an asset goes down or up, the groups whose level that changes are moved, and the span a
/// group just ended at its old level goes to its days. Exact microseconds: the same sums
/// whichever [`Walk`] finds the groups.
fn sweep(
    segs: &[Vec<Segment>],
    groups_of: &[Vec<u32>],
    n_groups: usize,
    days: &[i64],
) -> Vec<DayRuns> {
    sweep_with(segs, groups_of, n_groups, days, Walk::Cheaper)
}

/// Set or clear bit `i` of a bit set.
fn set_bit(bits: &mut [u64], i: usize, on: bool) {
    if on {
        bits[i / 64] |= 1 << (i % 64);
    } else {
        bits[i / 64] &= !(1 << (i % 64));
    }
}

/// Whether two bit sets share a bit.
fn meet(a: &[u64], b: &[u64]) -> bool {
    a.iter().zip(b).any(|(x, y)| x & y != 0)
}

/// The sweep's state: which assets are down at each level, each group's level and since when,
/// and the groups at each level as bit sets.
struct Sweep<'a> {
    n_levels: usize,
    n_groups: usize,
    days: &'a [i64],
    /// Open segments per asset and level.
    open: Vec<u32>,
    /// Per level: its down assets (`aw` words each).
    down: Vec<u64>,
    /// Per level, and n_levels for up: its groups (`gw` words each).
    at: Vec<u64>,
    level: Vec<usize>,
    /// Since when each group holds its level, and the index of that time's day.
    since: Vec<(i64, usize)>,
    /// The day of the time being swept (times only grow).
    day: usize,
    /// Per group: its assets (`aw` words each).
    assets_of: Vec<u64>,
    /// Per asset: its groups (`gw` words each).
    groups_bits: Vec<u64>,
    aw: usize,
    gw: usize,
    /// Microseconds per day, group and level, day-major: the groups that move at one time
    /// add to the same few kilobytes.
    per_day: Vec<i64>,
}

impl Sweep<'_> {
    fn down_at(&self, l: usize) -> &[u64] {
        &self.down[l * self.aw..(l + 1) * self.aw]
    }

    fn group_assets(&self, g: usize) -> &[u64] {
        &self.assets_of[g * self.aw..(g + 1) * self.aw]
    }

    /// The level of group `g` counting only levels from `from` on.
    fn level_from(&self, g: usize, from: usize) -> usize {
        (from..self.n_levels)
            .find(|&l| meet(self.group_assets(g), self.down_at(l)))
            .unwrap_or(self.n_levels)
    }

    /// Move the sweep to time `t` (never earlier than the last): its day, as [`add_days`]
    /// counts them (a time before the first boundary is in the first day).
    fn seek(&mut self, t: i64) {
        while self.day + 1 < self.days.len() && self.days[self.day + 1] <= t {
            self.day += 1;
        }
    }

    /// Move group `g` to level `to` at the sweep's time `t`; the span it held its old level
    /// goes to its days, as [`add_days`] would add it.
    fn shift(&mut self, g: usize, to: usize, t: i64) {
        let was = self.level[g];
        if was == to {
            return;
        }
        if was < self.n_levels {
            let (from, first) = self.since[g];
            let at = |d: usize| (d * self.n_groups + g) * self.n_levels + was;
            if first == self.day {
                self.per_day[at(first)] += t - from;
            } else {
                self.per_day[at(first)] += self.days[first + 1] - from;
                for d in first + 1..self.day {
                    self.per_day[at(d)] += self.days[d + 1] - self.days[d];
                }
                self.per_day[at(self.day)] += t - self.days[self.day];
            }
        }
        let gw = self.gw;
        set_bit(&mut self.at[was * gw..(was + 1) * gw], g, false);
        set_bit(&mut self.at[to * gw..(to + 1) * gw], g, true);
        self.level[g] = to;
        self.since[g] = (t, self.day);
    }

    /// Asset `a` goes down (`start`) or up at level `lv`, at the sweep's time `t`.
    fn change(&mut self, a: usize, lv: usize, start: bool, t: i64, members: &[u32], walk: Walk) {
        let k = a * self.n_levels + lv;
        if start {
            self.open[k] += 1;
            if self.open[k] > 1 {
                return;
            }
        } else {
            self.open[k] -= 1;
            if self.open[k] > 0 {
                return;
            }
        }
        let aw = self.aw;
        set_bit(&mut self.down[lv * aw..(lv + 1) * aw], a, start);
        // Going up: the other assets still down at this level keep their groups there.
        let mut others = Vec::new();
        if !start {
            for (w, &word) in self.down_at(lv).iter().enumerate() {
                let mut bits = word;
                while bits != 0 {
                    others.push(w * 64 + bits.trailing_zeros() as usize);
                    bits &= bits - 1;
                }
            }
        }
        let by_members = match walk {
            Walk::Members => true,
            Walk::Bits => false,
            Walk::Cheaper => members.len() <= self.gw * (1 + others.len()),
        };
        if by_members {
            for &g in members {
                let g = g as usize;
                if start {
                    if self.level[g] > lv {
                        self.shift(g, lv, t);
                    }
                } else if self.level[g] == lv && !meet(self.group_assets(g), self.down_at(lv)) {
                    let to = self.level_from(g, lv + 1);
                    self.shift(g, to, t);
                }
            }
            return;
        }
        let gw = self.gw;
        for w in 0..gw {
            let mine = self.groups_bits[a * gw + w];
            // Down: the asset's groups at a lighter level or up. Up: its groups at this level
            // with no other asset down at it.
            let mut moved = if start {
                mine & (lv + 1..=self.n_levels).fold(0, |m, l| m | self.at[l * gw + w])
            } else {
                mine & self.at[lv * gw + w]
            };
            for &b in &others {
                if moved == 0 {
                    break;
                }
                moved &= !self.groups_bits[b * gw + w];
            }
            while moved != 0 {
                let g = w * 64 + moved.trailing_zeros() as usize;
                moved &= moved - 1;
                let to = if start {
                    lv
                } else {
                    self.level_from(g, lv + 1)
                };
                self.shift(g, to, t);
            }
        }
    }
}

fn sweep_with(
    segs: &[Vec<Segment>],
    groups_of: &[Vec<u32>],
    n_groups: usize,
    days: &[i64],
    walk: Walk,
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
    let n_assets = segs.len();
    let (aw, gw) = (n_assets.div_ceil(64), n_groups.div_ceil(64));
    let mut assets_of = vec![0u64; n_groups * aw];
    let mut groups_bits = vec![0u64; n_assets * gw];
    for (a, gs) in groups_of.iter().enumerate() {
        for &g in gs {
            let g = g as usize;
            set_bit(&mut assets_of[g * aw..(g + 1) * aw], a, true);
            set_bit(&mut groups_bits[a * gw..(a + 1) * gw], g, true);
        }
    }
    // Every group starts up.
    let mut at = vec![0u64; (n_levels + 1) * gw];
    for g in 0..n_groups {
        set_bit(&mut at[n_levels * gw..], g, true);
    }
    let mut sw = Sweep {
        n_levels,
        n_groups,
        days,
        open: vec![0; n_assets * n_levels],
        down: vec![0; n_levels * aw],
        at,
        level: vec![n_levels; n_groups],
        since: vec![(0, 0); n_groups],
        day: 0,
        assets_of,
        groups_bits,
        aw,
        gw,
        per_day: vec![0; days.len() * n_groups * n_levels],
    };
    for &(t, d, a, lv) in &events {
        sw.seek(t);
        sw.change(
            a as usize,
            lv as usize,
            d > 0,
            t,
            &groups_of[a as usize],
            walk,
        );
    }
    // Per group and level, the running sums over days (blocks of days, so the day-major sums
    // are read a few pages at a time).
    let width = n_groups * n_levels;
    let mut runs: Vec<Vec<Vec<i64>>> = (0..n_groups)
        .map(|_| {
            (0..n_levels)
                .map(|_| Vec::with_capacity(days.len()))
                .collect()
        })
        .collect();
    let mut total = vec![0i64; width];
    for block in (0..days.len()).step_by(16) {
        for (g, group) in runs.iter_mut().enumerate() {
            for (l, run) in group.iter_mut().enumerate() {
                let k = g * n_levels + l;
                for d in block..(block + 16).min(days.len()) {
                    run.push(total[k]);
                    total[k] += sw.per_day[d * width + k];
                }
            }
        }
    }
    runs.into_iter()
        .map(|runs| DayRuns {
            levels: levels.clone(),
            runs,
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

    /// Per asset, up to `most` random outages (minutes) starting in `starts`, each of one of
    /// `weights`, merged.
    fn random_downtime(
        rng: &mut impl rand::Rng,
        n_assets: usize,
        most: usize,
        starts: std::ops::Range<i64>,
        weights: &[f64],
    ) -> Vec<Vec<Segment>> {
        (0..n_assets)
            .map(|_| {
                let raw: Vec<Segment> = (0..rng.random_range(0..most))
                    .map(|_| {
                        let a = rng.random_range(starts.clone());
                        let len = rng.random_range(1..4000i64);
                        seg(a, a + len, weights[rng.random_range(0..weights.len())])
                    })
                    .collect();
                merge_max(&raw)
            })
            .collect()
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
            // Cut at the last day boundary.
            let merged: Vec<Vec<Segment>> =
                random_downtime(&mut rng, n_assets, 30, 0..40 * 1440, &[1.0, 0.3])
                    .into_iter()
                    .map(|segs| {
                        let end = days[40];
                        segs.into_iter()
                            .map(|s| Segment::new(s.start, s.end.min(end), s.weight))
                            .collect()
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

    /// With more groups and assets than a word holds and three weights, the sweep's two ways
    /// of finding the groups that move give the same microseconds, and each group's day sums
    /// equal, to the microsecond, those of merging its assets directly.
    #[test]
    fn sweep_walks_agree_and_match_merging_each_group() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let day = 1440 * M;
        let days: Vec<i64> = (0..=30).map(|d| d * day).collect();
        for _round in 0..6 {
            let n_assets = rng.random_range(60..140usize);
            // Some start before the first day boundary or run past the last.
            let segs = random_downtime(&mut rng, n_assets, 25, -600..30 * 1440, &[1.0, 0.5, 0.3]);
            // Groups of every size: a few assets to most of them.
            let n_groups = rng.random_range(65..200usize);
            let mut groups_of: Vec<Vec<u32>> = vec![Vec::new(); n_assets];
            let mut members: Vec<Vec<u32>> = vec![Vec::new(); n_groups];
            for (g, m) in members.iter_mut().enumerate() {
                let p = [0.03, 0.3, 0.9][g % 3];
                for (a, of) in groups_of.iter_mut().enumerate() {
                    if rng.random_bool(p) {
                        of.push(g as u32);
                        m.push(a as u32);
                    }
                }
            }
            let runs = |walk| sweep_with(&segs, &groups_of, n_groups, &days, walk);
            let (cheaper, by_members, by_bits) =
                (runs(Walk::Cheaper), runs(Walk::Members), runs(Walk::Bits));
            for g in 0..n_groups {
                assert_eq!(by_members[g].runs, by_bits[g].runs, "group {g}");
                assert_eq!(cheaper[g].runs, by_bits[g].runs, "group {g}");
                let all: Vec<Segment> = members[g]
                    .iter()
                    .flat_map(|&a| segs[a as usize].iter().copied())
                    .collect();
                // Exact microseconds per weight: the day runs of the group's merged assets.
                let truth = day_runs(&merge_max(&all), &days);
                for (l, w) in cheaper[g].levels.iter().enumerate() {
                    let want = match truth.levels.iter().position(|x| x == w) {
                        Some(i) => truth.runs[i].clone(),
                        None => vec![0; days.len()],
                    };
                    assert_eq!(cheaper[g].runs[l], want, "group {g} weight {w}");
                }
            }
        }
    }

    /// For random asset downtime, groups and customers' pieces walked together in one time
    /// order: a group's downtime plus a customer's excess over it equals, in any window,
    /// merging the group's assets with the customer's pieces directly.
    #[test]
    fn excess_over_groups_adds_up_to_the_merge_of_group_and_pieces() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _round in 0..10 {
            let n_assets = rng.random_range(1..12usize);
            let lines = random_downtime(&mut rng, n_assets, 40, 0..30 * 1440, &[1.0, 0.3]);
            let groups: Vec<Vec<u32>> = (0..rng.random_range(1..5))
                .map(|_| {
                    (0..n_assets as u32)
                        .filter(|_| rng.random_bool(0.6))
                        .collect()
                })
                .collect();
            // Customers' pieces overlap each other and the assets' downtime in time, so the
            // shared cursors go back and forth between groups.
            let extras: Vec<(usize, Vec<Segment>)> = (0..rng.random_range(1..8))
                .map(|_| {
                    let g = rng.random_range(0..groups.len());
                    (
                        g,
                        random_downtime(&mut rng, 1, 12, 0..30 * 1440, &[1.0, 0.5]).remove(0),
                    )
                })
                .collect();
            let merged: Vec<&[Segment]> = lines.iter().map(Vec::as_slice).collect();
            let excess = excess_over_groups(&merged, &groups, &extras);
            for ((g, pieces), ex) in extras.iter().zip(&excess) {
                let group_all: Vec<Segment> = groups[*g]
                    .iter()
                    .flat_map(|&a| lines[a as usize].iter().copied())
                    .collect();
                let both: Vec<Segment> = group_all.iter().chain(pieces).copied().collect();
                let (group, truth) = (
                    Timeline::new(merge_max(&group_all)),
                    Timeline::new(merge_max(&both)),
                );
                for _ in 0..10 {
                    let a = rng.random_range(0..31 * 1440) * M;
                    let b = rng.random_range(a..=32 * 1440 * M);
                    let (want, got) = (truth.within(a, b), group.within(a, b) + ex.within(a, b));
                    assert!((want - got).abs() < 1e-6, "group {g}: {want} vs {got}");
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
