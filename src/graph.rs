//! The asset dependency graph: who depends on whom, cycles, and the set of assets whose failure
//! reaches a given asset. Pure data structure over asset ids; no I/O.

use std::collections::{BTreeMap, BTreeSet};

/// Directed graph: `asset -> assets it depends on`.
#[derive(Debug, Default, Clone)]
pub struct DependencyGraph {
    deps: BTreeMap<String, BTreeSet<String>>,
}

impl DependencyGraph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Declare an asset and what it depends on.
    pub fn add(&mut self, asset: &str, depends_on: impl IntoIterator<Item = impl Into<String>>) {
        let entry = self.deps.entry(asset.to_string()).or_default();
        entry.extend(depends_on.into_iter().map(Into::into));
    }

    pub fn assets(&self) -> impl Iterator<Item = &str> {
        self.deps.keys().map(String::as_str)
    }

    /// Dependencies that name an asset not declared: (asset, missing dependency).
    pub fn dangling(&self) -> Vec<(String, String)> {
        self.deps
            .iter()
            .flat_map(|(a, ds)| {
                ds.iter()
                    .filter(|d| !self.deps.contains_key(*d))
                    .map(move |d| (a.clone(), d.clone()))
            })
            .collect()
    }

    /// Every asset that needs `asset` directly or through others (not including itself).
    pub fn dependents(&self, asset: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut stack = vec![asset.to_string()];
        while let Some(a) = stack.pop() {
            for (b, ds) in &self.deps {
                if ds.contains(&a) && b != asset && out.insert(b.clone()) {
                    stack.push(b.clone());
                }
            }
        }
        out
    }

    /// Every asset `asset` needs, directly or through others (not including itself).
    pub fn needs(&self, asset: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut stack = vec![asset.to_string()];
        while let Some(a) = stack.pop() {
            for d in self.deps.get(&a).into_iter().flatten() {
                if d != asset && out.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        out
    }

    /// Dependency cycles, each as the path `a -> b -> ... -> a`, each cycle reported once.
    pub fn cycles(&self) -> Vec<Vec<String>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Active,
            Done,
        }
        fn visit<'a>(
            g: &'a BTreeMap<String, BTreeSet<String>>,
            a: &'a str,
            marks: &mut BTreeMap<&'a str, Mark>,
            path: &mut Vec<&'a str>,
            out: &mut Vec<Vec<String>>,
        ) {
            marks.insert(a, Mark::Active);
            path.push(a);
            for d in g.get(a).into_iter().flatten() {
                match marks.get(d.as_str()).copied().unwrap_or(Mark::New) {
                    Mark::New if g.contains_key(d) => visit(g, d, marks, path, out),
                    Mark::Active => {
                        let start = path.iter().position(|p| *p == d).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            path[start..].iter().map(|s| s.to_string()).collect();
                        cycle.push(d.clone());
                        out.push(cycle);
                    }
                    _ => {}
                }
            }
            path.pop();
            marks.insert(a, Mark::Done);
        }
        let mut marks = BTreeMap::new();
        let mut out = Vec::new();
        for a in self.deps.keys() {
            if marks.get(a.as_str()).copied().unwrap_or(Mark::New) == Mark::New {
                visit(&self.deps, a, &mut marks, &mut Vec::new(), &mut out);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> DependencyGraph {
        // web -> api -> db, api -> cache, batch -> db
        let mut g = DependencyGraph::new();
        g.add("web", ["api"]);
        g.add("api", ["db", "cache"]);
        g.add("db", Vec::<String>::new());
        g.add("cache", Vec::<String>::new());
        g.add("batch", ["db"]);
        g
    }

    #[test]
    fn dependents_and_needs_follow_the_chain() {
        let g = chain();
        let d: Vec<_> = g.dependents("db").into_iter().collect();
        assert_eq!(d, vec!["api", "batch", "web"]);
        assert!(g.dependents("web").is_empty());
        let n: Vec<_> = g.needs("web").into_iter().collect();
        assert_eq!(n, vec!["api", "cache", "db"]);
        assert!(g.cycles().is_empty());
    }

    #[test]
    fn cycles_and_dangling_edges_are_found() {
        let mut g = chain();
        g.add("db", ["web"]);
        g.add("cache", ["ghost"]);
        let cycles = g.cycles();
        assert_eq!(cycles, vec![vec!["api", "db", "web", "api"]]);
        assert_eq!(
            g.dangling(),
            vec![("cache".to_string(), "ghost".to_string())]
        );
        // A self-loop is a cycle too.
        let mut s = DependencyGraph::new();
        s.add("x", ["x"]);
        assert_eq!(s.cycles(), vec![vec!["x", "x"]]);
    }
}
