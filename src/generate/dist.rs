//! Random draws for the generator (uniform, exponential, log-normal, Poisson, weighted choice)
//! over one seeded, portable ChaCha8 stream.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub struct Dist(pub ChaCha8Rng);

impl Dist {
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0.random::<f64>()
    }

    /// Uniform integer in [0, n); 0 when n is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.0.random_range(0..n) }
    }

    /// Exponential with the given mean.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = (1.0 - self.unit()).max(1e-300);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with the given median and log-space standard deviation.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Poisson count with mean `lambda` (Knuth below 30, normal approximation above).
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 30.0 {
            return (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u64;
        }
        let l = (-lambda).exp();
        let (mut k, mut p) = (0u64, 1.0);
        loop {
            p *= self.unit();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// One item, with probability proportional to its weight.
    pub fn pick_weighted<T: Copy>(&mut self, items: &[(T, f64)]) -> T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut u = self.unit() * total;
        for (item, w) in items {
            if u < *w {
                return *item;
            }
            u -= w;
        }
        items[items.len() - 1].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn poisson_and_lognormal_have_the_right_centre() {
        let mut d = Dist(ChaCha8Rng::seed_from_u64(1));
        let n = 20_000;
        let mean = (0..n).map(|_| d.poisson(3.0)).sum::<u64>() as f64 / n as f64;
        assert!((mean - 3.0).abs() < 0.06, "{mean}");
        let big = (0..n).map(|_| d.poisson(400.0)).sum::<u64>() as f64 / n as f64;
        assert!((big - 400.0).abs() < 1.0, "{big}");
        let mut v: Vec<f64> = (0..n).map(|_| d.lognormal(100.0, 0.7)).collect();
        v.sort_by(f64::total_cmp);
        let median = v[n / 2];
        assert!((median - 100.0).abs() < 3.0, "{median}");
    }
}
