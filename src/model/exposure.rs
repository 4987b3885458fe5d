//! Who each incident reaches, without listing incident × customer pairs. An incident that names
//! customers reaches those; otherwise one on an asset reaches every customer whose closure
//! holds the asset ("broad"). Broad reach is the same for every customer of an exposure group,
//! so downtime is merged once per group; a customer named by incidents adds only the excess of
//! those incidents over the group's downtime. Per asset, broad incidents are indexed by start
//! time with running sums, so "incidents reaching this customer in this window" costs a binary
//! search per asset.

use super::base::{Customers, Incidents};
use super::intervals::{Segment, merge_max};
use std::collections::HashMap;

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

    fn bounds(&self, from: i64, to: i64) -> (usize, usize) {
        let a = self.starts.partition_point(|s| *s < from);
        let b = self.starts.partition_point(|s| *s < to);
        (a, b.max(a))
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
    /// Per group: merged downtime of the broad incidents that reach it.
    pub group_timeline: Vec<Timeline>,
    /// Per customer named by incidents: those incidents, by start.
    pub named: HashMap<u32, Vec<u32>>,
    /// Per customer named by incidents: downtime of theirs above the group's.
    pub excess: HashMap<u32, Timeline>,
    /// Per incident asset id: customers whose closure holds it, and their ARR.
    pub exposed: Vec<(u64, f64)>,
}

impl Exposure {
    pub fn build(inc: &Incidents, cu: &Customers) -> Exposure {
        let n_assets = inc.assets.len();
        let mut reach = Vec::with_capacity(inc.list.len());
        let mut lines: Vec<AssetLine> = (0..n_assets).map(|_| AssetLine::default()).collect();
        let mut named: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut order: Vec<u32> = (0..inc.list.len() as u32).collect();
        order.sort_by_key(|&i| inc.list[i as usize].started);
        for &i in &order {
            let x = &inc.list[i as usize];
            if !x.customers.is_empty() {
                let mut hit: Vec<u32> = x
                    .customers
                    .iter()
                    .filter_map(|c| cu.index.get(c).map(|&k| k as u32))
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
                    cd += x.downtime();
                }
                h.push(ch);
                s12.push(cs);
                o.push(co);
                d.push(cd);
            }
            (line.cum_hits, line.cum_sev12, line.cum_open, line.cum_down) = (h, s12, o, d);
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
        let group_timeline = group_assets
            .iter()
            .map(|assets| set_timeline(&lines, assets))
            .collect::<Vec<_>>();
        let mut exposed = vec![(0u64, 0.0f64); n_assets];
        for (g, assets) in cu.groups.iter().zip(&group_assets) {
            for &a in assets {
                exposed[a as usize].0 += g.members;
                exposed[a as usize].1 += g.arr;
            }
        }
        let excess = named
            .iter()
            .map(|(&c, list)| {
                let g = cu.list[c as usize].group as usize;
                let pieces: Vec<Segment> = list
                    .iter()
                    .flat_map(|&i| inc.list[i as usize].pieces.iter().copied())
                    .collect();
                (c, excess_over(&group_timeline[g], &merge_max(&pieces)))
            })
            .collect();
        Exposure {
            reach,
            starts: inc.list.iter().map(|x| x.started).collect(),
            lines,
            group_assets,
            group_timeline,
            named,
            excess,
            exposed,
        }
    }

    /// Merged downtime a customer sees inside `[from, to)`.
    pub fn customer_downtime(&self, cu: &Customers, c: usize, from: i64, to: i64) -> f64 {
        let g = cu.list[c].group as usize;
        self.group_timeline[g].within(from, to)
            + self
                .excess
                .get(&(c as u32))
                .map_or(0.0, |t| t.within(from, to))
    }

    /// Every incident that reaches customer `c` and started in `[from, to)`, broad then named.
    pub fn reaching(&self, cu: &Customers, c: usize, from: i64, to: i64) -> Vec<u32> {
        let g = cu.list[c].group as usize;
        let mut out: Vec<u32> = self.group_assets[g]
            .iter()
            .flat_map(|&a| self.lines[a as usize].started_in(from, to).iter().copied())
            .collect();
        out.extend(self.named_in(c, from, to));
        out
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

    #[test]
    fn excess_plus_base_is_the_merge_of_both() {
        // Base: partial 0.3 on [0,60); extra: full on [20,30) and partial on [50,80).
        let base = Timeline::new(vec![seg(0, 60, 0.3)]);
        let extra = merge_max(&[seg(20, 30, 1.0), seg(50, 80, 0.3)]);
        let ex = excess_over(&base, &extra);
        let merged = Timeline::new(merge_max(&[seg(0, 60, 0.3), seg(20, 30, 1.0), seg(50, 80, 0.3)]));
        for (a, b) in [(0, 100), (0, 25), (25, 55), (55, 90), (70, 75)] {
            let want = merged.within(a * M, b * M);
            let got = base.within(a * M, b * M) + ex.within(a * M, b * M);
            assert!((want - got).abs() < 1e-9, "[{a},{b}): {want} vs {got}");
        }
        // Over the whole span: 60x0.3 + 10x0.7 + 20x0.3 = 18 + 7 + 6 = 31.
        assert!((base.within(0, 100 * M) + ex.within(0, 100 * M) - 31.0).abs() < 1e-9);
    }
}
