//! Interval algebra for downtime: merge overlapping outage intervals keeping the highest weight
//! at every instant (a full outage beats a partial one), cut out maintenance windows, split at
//! month boundaries, measure. Times are UTC microseconds; pure functions.

/// A half-open interval `[start, end)` with a downtime weight (1.0 = fully down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub start: i64,
    pub end: i64,
    pub weight: f64,
}

impl Segment {
    pub fn new(start: i64, end: i64, weight: f64) -> Self {
        Segment { start, end, weight }
    }

    pub fn minutes(&self) -> f64 {
        (self.end - self.start) as f64 / 60_000_000.0
    }

    /// Minutes × weight.
    pub fn downtime_minutes(&self) -> f64 {
        self.minutes() * self.weight
    }
}

/// Merge segments: at every instant the weight is the maximum of the segments covering it;
/// adjacent pieces of equal weight are joined. Empty and zero-weight segments vanish.
pub fn merge_max(segments: &[Segment]) -> Vec<Segment> {
    let mut events: Vec<(i64, bool, f64)> = Vec::with_capacity(segments.len() * 2);
    for s in segments
        .iter()
        .filter(|s| s.end > s.start && s.weight > 0.0)
    {
        events.push((s.start, true, s.weight));
        events.push((s.end, false, s.weight));
    }
    events.sort_by(|a, b| a.0.cmp(&b.0));
    let mut active: Vec<f64> = Vec::new();
    let mut out: Vec<Segment> = Vec::new();
    let mut i = 0;
    let mut prev_t: Option<i64> = None;
    while i < events.len() {
        let t = events[i].0;
        if let Some(p) = prev_t {
            let w = active.iter().copied().fold(0.0, f64::max);
            if w > 0.0 && t > p {
                match out.last_mut() {
                    Some(last) if last.end == p && last.weight == w => last.end = t,
                    _ => out.push(Segment::new(p, t, w)),
                }
            }
        }
        while i < events.len() && events[i].0 == t {
            let (_, open, w) = events[i];
            if open {
                active.push(w);
            } else if let Some(pos) = active.iter().position(|a| *a == w) {
                active.swap_remove(pos);
            }
            i += 1;
        }
        prev_t = Some(t);
    }
    out
}

/// Maintenance windows (any order, overlapping or not) as [`cut`] takes them: empty ones dropped, the rest sorted and overlapping or touching
/// ones joined, so that both starts and ends increase.
pub fn disjoint(holes: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut sorted: Vec<(i64, i64)> = holes.iter().copied().filter(|(a, b)| b > a).collect();
    sorted.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(sorted.len());
    for (a, b) in sorted {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Push the parts of `s` outside `holes` (from [`disjoint`]) onto `out`: a binary search finds
/// the first hole ending after the segment starts.
pub fn cut(s: Segment, holes: &[(i64, i64)], out: &mut Vec<Segment>) {
    let mut cur = s.start;
    let first = holes.partition_point(|&(_, he)| he <= cur);
    for &(hs, he) in &holes[first..] {
        if hs >= s.end {
            break;
        }
        if hs > cur {
            out.push(Segment::new(cur, hs, s.weight));
        }
        cur = cur.max(he);
        if cur >= s.end {
            break;
        }
    }
    if cur < s.end {
        out.push(Segment::new(cur, s.end, s.weight));
    }
}

/// Split segments at the given sorted boundaries (e.g. month starts).
pub fn split_at(segments: &[Segment], boundaries: &[i64]) -> Vec<Segment> {
    let mut out = Vec::new();
    for s in segments {
        let mut cur = s.start;
        for &b in boundaries.iter().filter(|b| **b > s.start && **b < s.end) {
            out.push(Segment::new(cur, b, s.weight));
            cur = b;
        }
        out.push(Segment::new(cur, s.end, s.weight));
    }
    out
}

/// Weighted downtime minutes of `segments` inside `[from, to)`.
pub fn downtime_within(segments: &[Segment], from: i64, to: i64) -> f64 {
    segments
        .iter()
        .map(|s| {
            let (a, b) = (s.start.max(from), s.end.min(to));
            if b > a {
                (b - a) as f64 / 60_000_000.0 * s.weight
            } else {
                0.0
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000_000; // one minute in microseconds

    fn seg(a: i64, b: i64, w: f64) -> Segment {
        Segment::new(a * M, b * M, w)
    }

    #[test]
    fn overlapping_outages_merge() {
        // [0,30) and [20,50) and [60,70): 50 + 10 = 60 minutes down.
        let m = merge_max(&[seg(0, 30, 1.0), seg(20, 50, 1.0), seg(60, 70, 1.0)]);
        assert_eq!(m, vec![seg(0, 50, 1.0), seg(60, 70, 1.0)]);
        assert_eq!(m.iter().map(Segment::downtime_minutes).sum::<f64>(), 60.0);
        // Touching intervals join.
        assert_eq!(
            merge_max(&[seg(0, 10, 1.0), seg(10, 20, 1.0)]),
            vec![seg(0, 20, 1.0)]
        );
    }

    #[test]
    fn a_full_outage_beats_an_overlapping_partial_one() {
        // Partial [0,60) at 0.3, full [20,30): 20×0.3 + 10×1 + 30×0.3 = 25 weighted minutes.
        let m = merge_max(&[seg(0, 60, 0.3), seg(20, 30, 1.0)]);
        assert_eq!(m, vec![seg(0, 20, 0.3), seg(20, 30, 1.0), seg(30, 60, 0.3)]);
        let total: f64 = m.iter().map(Segment::downtime_minutes).sum();
        assert!((total - 25.0).abs() < 1e-9, "{total}");
        // Two partials overlapping count once.
        let p = merge_max(&[seg(0, 10, 0.3), seg(5, 15, 0.3)]);
        assert_eq!(p, vec![seg(0, 15, 0.3)]);
    }

    /// `segments` with the `holes` (any order) cut out.
    fn subtract(segments: &[Segment], holes: &[(i64, i64)]) -> Vec<Segment> {
        let holes = disjoint(holes);
        let mut out = Vec::new();
        for s in segments {
            cut(*s, &holes, &mut out);
        }
        out
    }

    #[test]
    fn maintenance_is_cut_out() {
        // Outage [0,100) with maintenance [10,20) and [90,120): 10 + 70 = 80 minutes.
        let s = subtract(&[seg(0, 100, 1.0)], &[(90 * M, 120 * M), (10 * M, 20 * M)]);
        assert_eq!(s, vec![seg(0, 10, 1.0), seg(20, 90, 1.0)]);
        // A window covering the whole outage removes it.
        assert!(subtract(&[seg(30, 40, 1.0)], &[(0, 100 * M)]).is_empty());
        // Overlapping, touching, nested and empty holes: [10,30) [30,35) [40,60) (with [45,50)
        // inside) and [70,70): 10 + 5 + 40 = 55 minutes left of [0,100).
        let holes = [
            (40 * M, 60 * M),
            (10 * M, 25 * M),
            (70 * M, 70 * M),
            (20 * M, 30 * M),
            (45 * M, 50 * M),
            (30 * M, 35 * M),
        ];
        assert_eq!(disjoint(&holes), vec![(10 * M, 35 * M), (40 * M, 60 * M)]);
        let s = subtract(&[seg(0, 100, 1.0), seg(50, 80, 0.5)], &holes);
        assert_eq!(
            s,
            vec![
                seg(0, 10, 1.0),
                seg(35, 40, 1.0),
                seg(60, 100, 1.0),
                seg(60, 80, 0.5)
            ]
        );
    }

    #[test]
    fn splitting_and_windows() {
        let s = split_at(&[seg(50, 150, 1.0)], &[0, 100 * M, 200 * M]);
        assert_eq!(s, vec![seg(50, 100, 1.0), seg(100, 150, 1.0)]);
        assert_eq!(
            downtime_within(&[seg(50, 150, 0.5)], 100 * M, 1000 * M),
            25.0
        );
    }
}
