//! Charts: the chart a canned query suggests in its metadata, drawn from the query's result.
//! Pure renderers: a result frame and a [`ChartSpec`] in, SVG text out ([`png::svg_to_png`] for
//! PNG). Kinds: `bar` (horizontal, top rows by value), `stacked_bar`, `line`, `line_trend` (with a
//! least-squares trend of the first series), `kpi` (tiles) and `heatmap` (rows × columns, shade by
//! value). An empty result draws a chart that
//! says so.

pub mod png;
pub mod theme;

use crate::error::{Error, Result};
use crate::query::catalog::ChartSpec;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use polars::prelude::*;
use theme::*;

/// Size and footnote of a chart.
#[derive(Debug, Clone)]
pub struct ChartOptions {
    pub width: u32,
    pub height: u32,
    /// Source and as-of line printed under the plot.
    pub footnote: String,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            width: 1000,
            height: 560,
            footnote: String::new(),
        }
    }
}

/// The data a chart draws, taken from a result frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Vec<String>,
    pub names: Vec<String>,
    /// One vector per y column; `None` where the value is missing.
    pub values: Vec<Vec<Option<f64>>>,
    /// Row labels (heat maps only).
    pub rows: Vec<String>,
}

/// Pick the chart's columns out of `df` (applying the spec's row filter).
pub fn series(spec: &ChartSpec, df: &DataFrame) -> Result<Series> {
    let err = |e: PolarsError| Error::Usage(format!("chart: {e}"));
    let mut df = df.clone();
    if let (Some(c), Some(v)) = (&spec.filter_column, &spec.filter_value) {
        let col = df
            .column(c)
            .map_err(err)?
            .cast(&DataType::String)
            .map_err(err)?;
        let mask = col.str().map_err(err)?.equal(v.as_str());
        df = df.filter(&mask).map_err(err)?;
    }
    let text = |name: &str| -> Result<Vec<String>> {
        let c = df
            .column(name)
            .map_err(err)?
            .cast(&DataType::String)
            .map_err(err)?;
        Ok(c.str()
            .map_err(err)?
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect())
    };
    let labels = text(&spec.x)?;
    let mut values = Vec::new();
    let mut rows = Vec::new();
    let value_cols: Vec<&String> = if spec.kind == "heatmap" {
        if let Some(r) = spec.y.first() {
            rows = text(r)?;
        }
        spec.y.iter().skip(1).collect()
    } else {
        spec.y.iter().collect()
    };
    for y in value_cols {
        let c = df
            .column(y)
            .map_err(err)?
            .cast(&DataType::Float64)
            .map_err(err)?;
        values.push(
            c.f64()
                .map_err(err)?
                .iter()
                .map(|v| v.filter(|f| f.is_finite()))
                .collect(),
        );
    }
    Ok(Series {
        labels,
        names: spec.y.clone(),
        values,
        rows,
    })
}

/// Render the chart of `spec` for `df` as SVG.
pub fn render(spec: &ChartSpec, df: &DataFrame, opts: &ChartOptions) -> Result<String> {
    register_fonts();
    let data = series(spec, df)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (opts.width, opts.height)).into_drawing_area();
        draw(spec, &data, opts, &root)
            .map_err(|e| Error::Usage(format!("drawing chart `{}`: {e}", spec.kind)))?;
        root.present()
            .map_err(|e| Error::Usage(format!("drawing chart: {e}")))?;
    }
    Ok(svg)
}

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn draw(
    spec: &ChartSpec,
    data: &Series,
    opts: &ChartOptions,
    root: &DrawingArea<SVGBackend, Shift>,
) -> DrawResult {
    root.fill(&WHITE)?;
    let title = spec.title.clone().unwrap_or_default();
    let (h, w) = (opts.height as i32, opts.width as i32);
    root.draw(&Text::new(
        title,
        (24, 18),
        (FAMILY, TITLE_SIZE)
            .into_font()
            .style(FontStyle::Bold)
            .color(&INK),
    ))?;
    if !opts.footnote.is_empty() {
        root.draw(&Text::new(
            opts.footnote.clone(),
            (24, h - 22),
            (FAMILY, NOTE_SIZE).into_font().color(&MUTED),
        ))?;
    }
    let body = root.margin(60, 36, 16, 48);
    let empty = data
        .values
        .iter()
        .all(|v| v.iter().all(|x| x.is_none_or(|x| x == 0.0)))
        || data.labels.is_empty();
    if empty && spec.kind != "kpi" {
        body.draw(&Text::new(
            "Nothing to chart: every value is zero or missing for this period".to_string(),
            (w / 2 - 300, h / 2 - 40),
            (FAMILY, LABEL_SIZE * 1.4).into_font().color(&MUTED),
        ))?;
        return Ok(());
    }
    match spec.kind.as_str() {
        "bar" => bar(spec, data, &body),
        "stacked_bar" => stacked_bar(spec, data, &body),
        "line" => line(spec, data, &body, false),
        "line_trend" => line(spec, data, &body, true),
        "kpi" => kpi(spec, data, &body),
        "heatmap" => heatmap(data, &body),
        other => Err(format!(
            "unknown chart kind `{other}` (bar, stacked_bar, line, line_trend, kpi, heatmap)"
        )
        .into()),
    }
}

/// A number as people read it: thousands separators, up to 2 decimals below 100.
pub fn human(v: f64) -> String {
    let text = if v.abs() >= 100.0 {
        format!("{:.0}", v)
    } else {
        format!("{:.2}", v)
    };
    let (sign, text) = match text.strip_prefix('-') {
        Some(t) => ("-", t.to_string()),
        None => ("", text),
    };
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i.to_string(), f.trim_end_matches('0').to_string()),
        None => (text, String::new()),
    };
    let out = crate::output::group_digits(&int);
    let sign = if out == "0" && frac.is_empty() {
        ""
    } else {
        sign
    };
    if frac.is_empty() {
        format!("{sign}{out}")
    } else {
        format!("{sign}{out}.{frac}")
    }
}

/// A column name as a label: `mttr_mean_min` → `MTTR mean (min)`, `availability_pct` →
/// `Availability (%)`.
pub fn pretty(name: &str) -> String {
    let mut words: Vec<String> = name.split('_').map(str::to_string).collect();
    let unit = match words.last().map(String::as_str) {
        Some("pct") => Some("(%)"),
        Some("min") => Some("(min)"),
        _ => None,
    };
    if unit.is_some() {
        words.pop();
    }
    let mut out: Vec<String> = words
        .iter()
        .map(|w| match w.as_str() {
            "arr" | "mrr" | "nrr" | "mttr" | "mtta" | "sla" | "id" | "p90" | "cfr" => {
                w.to_uppercase()
            }
            _ => w.clone(),
        })
        .collect();
    if let Some(first) = out.first_mut() {
        let mut c = first.chars();
        *first = c
            .next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default();
    }
    if let Some(u) = unit {
        out.push(u.to_string());
    }
    out.join(" ")
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

fn bar(spec: &ChartSpec, data: &Series, area: &DrawingArea<SVGBackend, Shift>) -> DrawResult {
    // Combine rows with the same label (sum, or max for ratios), keep the largest.
    let max_of = spec.aggregate.as_deref() == Some("max");
    // (Labels found through a map: a linear search per row was quadratic, and blast-radius at
    // 10 M incidents charts millions of customers.)
    let mut rows: Vec<(String, f64)> = Vec::new();
    let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (l, v) in data.labels.iter().zip(&data.values[0]) {
        let v = v.unwrap_or(0.0);
        match at.get(l.as_str()).map(|&i| &mut rows[i].1) {
            Some(acc) if max_of => *acc = acc.max(v),
            Some(acc) => *acc += v,
            None => {
                at.insert(l, rows.len());
                rows.push((l.clone(), v));
            }
        }
    }
    rows.retain(|(_, v)| *v != 0.0);
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    rows.truncate(spec.limit.unwrap_or(12));
    let n = rows.len();
    if n == 0 {
        return Ok(());
    }
    // Plotters' discrete range a..b holds a..=b: 0..n-1 gives exactly the n slots drawn
    // (a single bar needs 0..1: a zero-width range draws nothing).
    let max = rows.iter().map(|r| r.1).fold(0.0, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .x_label_area_size(48)
        .y_label_area_size(230)
        .build_cartesian_2d(0f64..max.max(1e-9), (0..(n - 1).max(1)).into_segmented())?;
    let labels: Vec<String> = rows.iter().map(|r| truncate(&r.0, 28)).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_desc(spec.y_desc.clone().unwrap_or_else(|| pretty(&spec.y[0])))
        .x_labels(6)
        .x_label_formatter(&|v| human(*v))
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if *i < n => {
                labels.get(n - 1 - *i).cloned().unwrap_or_default()
            }
            _ => String::new(),
        })
        .label_style((FAMILY, TICK_SIZE).into_font().color(&INK))
        .axis_desc_style((FAMILY, LABEL_SIZE).into_font().color(&INK))
        .draw()?;
    let color = PALETTE[0];
    // Largest at the top: row i is drawn in slot n - 1 - i.
    chart.draw_series(rows.iter().enumerate().map(|(i, (_, v))| {
        let slot = n - 1 - i;
        let mut r = Rectangle::new(
            [
                (0.0, SegmentValue::Exact(slot)),
                (*v, SegmentValue::Exact(slot + 1)),
            ],
            color.filled(),
        );
        r.set_margin(5, 5, 0, 0);
        r
    }))?;
    chart.draw_series(rows.iter().enumerate().map(|(i, (_, v))| {
        let slot = n - 1 - i;
        Text::new(
            format!(" {}", human(*v)),
            (*v, SegmentValue::CenterOf(slot)),
            (FAMILY, TICK_SIZE)
                .into_font()
                .color(&INK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        )
    }))?;
    Ok(())
}

fn stacked_bar(
    spec: &ChartSpec,
    data: &Series,
    area: &DrawingArea<SVGBackend, Shift>,
) -> DrawResult {
    let n = data.labels.len();
    let totals: Vec<f64> = (0..n)
        .map(|i| data.values.iter().map(|s| s[i].unwrap_or(0.0)).sum())
        .collect();
    let max = totals.iter().copied().fold(0.0, f64::max) * 1.12;
    let labels = data.labels.clone();
    let step = n.div_ceil(12).max(1);
    let mut chart = ChartBuilder::on(area)
        .x_label_area_size(56)
        .y_label_area_size(80)
        .build_cartesian_2d((0..(n - 1).max(1)).into_segmented(), 0f64..max.max(1e-9))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .y_desc(spec.y_desc.clone().unwrap_or_else(|| "Count".into()))
        .y_label_formatter(&|v| human(*v))
        .x_labels(n)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if i % step == 0 => {
                labels.get(*i).cloned().unwrap_or_default()
            }
            _ => String::new(),
        })
        .label_style((FAMILY, TICK_SIZE).into_font().color(&INK))
        .axis_desc_style((FAMILY, LABEL_SIZE).into_font().color(&INK))
        .draw()?;
    let mut base = vec![0.0; n];
    for (s, name) in data.values.iter().zip(&data.names) {
        let color = PALETTE[data.names.iter().position(|x| x == name).unwrap_or(0) % PALETTE.len()];
        let bars: Vec<_> = (0..n)
            .map(|i| {
                let v = s[i].unwrap_or(0.0);
                let mut r = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), base[i]),
                        (SegmentValue::Exact(i + 1), base[i] + v),
                    ],
                    color.filled(),
                );
                r.set_margin(0, 0, 6, 6);
                base[i] += v;
                r
            })
            .collect();
        chart
            .draw_series(bars)?
            .label(pretty(name))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
    }
    legend(&mut chart)
}

fn line(
    spec: &ChartSpec,
    data: &Series,
    area: &DrawingArea<SVGBackend, Shift>,
    trend: bool,
) -> DrawResult {
    let n = data.labels.len();
    let all: Vec<f64> = data.values.iter().flatten().flatten().copied().collect();
    let (lo, hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let pad = ((hi - lo) * 0.12).max(hi.abs() * 0.0005).max(1e-6);
    let (lo, hi) = (
        if spec.zero_based.unwrap_or(false) {
            lo.min(0.0)
        } else {
            lo - pad
        },
        hi + pad,
    );
    let labels = data.labels.clone();
    let step = n.div_ceil(12).max(1);
    let mut chart = ChartBuilder::on(area)
        .x_label_area_size(56)
        .y_label_area_size(90)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), lo..hi)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .y_desc(
            spec.y_desc
                .clone()
                .unwrap_or_else(|| pretty(&data.names[0])),
        )
        .y_label_formatter(&|v| human(*v))
        .x_labels(n.min(13))
        .x_label_formatter(&|v| {
            let i = v.round();
            if (v - i).abs() < 1e-6
                && i >= 0.0
                && (i as usize) < labels.len()
                && (i as usize) % step == 0
            {
                labels[i as usize].clone()
            } else {
                String::new()
            }
        })
        .label_style((FAMILY, TICK_SIZE).into_font().color(&INK))
        .axis_desc_style((FAMILY, LABEL_SIZE).into_font().color(&INK))
        .draw()?;
    for (k, (s, name)) in data.values.iter().zip(&data.names).enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let style = ShapeStyle {
            color: color.to_rgba(),
            filled: false,
            stroke_width: 3,
        };
        let pts: Vec<(f64, f64)> = s
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i as f64, v)))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), style))?
            .label(pretty(name))
            .legend(move |(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 20, y)],
                    ShapeStyle {
                        color: color.to_rgba(),
                        filled: false,
                        stroke_width: 3,
                    },
                )
            });
        chart.draw_series(pts.iter().map(|p| Circle::new(*p, 4, color.filled())))?;
        if trend && k == 0 && pts.len() >= 2 {
            let (a, b) = least_squares(&pts);
            let (x0, x1) = (pts[0].0, pts[pts.len() - 1].0);
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x0, a + b * x0), (x1, a + b * x1)],
                    10,
                    6,
                    ShapeStyle {
                        color: MUTED.to_rgba(),
                        filled: false,
                        stroke_width: 2,
                    },
                ))?
                .label("Trend (least squares)")
                .legend(|(x, y)| {
                    PathElement::new(
                        vec![(x, y), (x + 20, y)],
                        ShapeStyle {
                            color: MUTED.to_rgba(),
                            filled: false,
                            stroke_width: 2,
                        },
                    )
                });
        }
    }
    legend(&mut chart)
}

/// Heat map: one row per distinct row label, one column per distinct x label (in first-seen
/// order), shaded from white to navy by value (lightness alone carries it, so it prints in grey).
fn heatmap(data: &Series, area: &DrawingArea<SVGBackend, Shift>) -> DrawResult {
    let mut cols: Vec<&str> = Vec::new();
    let mut rows: Vec<&str> = Vec::new();
    for (c, r) in data.labels.iter().zip(&data.rows) {
        if !cols.contains(&c.as_str()) {
            cols.push(c);
        }
        if !rows.contains(&r.as_str()) {
            rows.push(r);
        }
    }
    rows.truncate(18);
    let max = data.values[0]
        .iter()
        .flatten()
        .copied()
        .fold(0.0, f64::max)
        .max(1e-9);
    let (w, h) = area.dim_in_pixel();
    let (left, bottom, legend) = (220i32, 40i32, 46i32);
    let cw = (w as i32 - left - legend) / cols.len().max(1) as i32;
    let ch = ((h as i32 - bottom) / rows.len().max(1) as i32).min(40);
    let shade = |v: f64| {
        let t = (v / max).clamp(0.0, 1.0);
        let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
        RGBColor(
            mix(0xf4, PALETTE[0].0),
            mix(0xf6, PALETTE[0].1),
            mix(0xfa, PALETTE[0].2),
        )
    };
    for ((c, r), v) in data.labels.iter().zip(&data.rows).zip(&data.values[0]) {
        let (Some(ci), Some(ri)) = (
            cols.iter().position(|x| x == c),
            rows.iter().position(|x| x == r),
        ) else {
            continue;
        };
        let (x0, y0) = (left + ci as i32 * cw, ri as i32 * ch);
        let v = v.unwrap_or(0.0);
        area.draw(&Rectangle::new(
            [(x0, y0), (x0 + cw - 2, y0 + ch - 2)],
            shade(v).filled(),
        ))?;
        if v > 0.0 && cw >= 40 {
            let ink = if v / max > 0.5 { WHITE } else { INK };
            area.draw(&Text::new(
                human(v),
                (x0 + cw / 2, y0 + ch / 2),
                (FAMILY, TICK_SIZE - 2.0)
                    .into_font()
                    .color(&ink)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            ))?;
        }
    }
    for (ri, r) in rows.iter().enumerate() {
        area.draw(&Text::new(
            truncate(r, 26),
            (left - 8, ri as i32 * ch + ch / 2),
            (FAMILY, TICK_SIZE)
                .into_font()
                .color(&INK)
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    let step = cols.len().div_ceil(12).max(1);
    for (ci, c) in cols.iter().enumerate().filter(|(i, _)| i % step == 0) {
        area.draw(&Text::new(
            c.to_string(),
            (left + ci as i32 * cw + cw / 2, rows.len() as i32 * ch + 14),
            (FAMILY, TICK_SIZE)
                .into_font()
                .color(&INK)
                .pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
    }
    // Legend: the scale from 0 to the maximum.
    let lx = w as i32 - legend + 12;
    for k in 0..10 {
        let y0 = k * ch.max(12) * rows.len().min(10) as i32 / 10;
        area.draw(&Rectangle::new(
            [
                (lx, y0),
                (lx + 14, y0 + ch.max(12) * rows.len().min(10) as i32 / 10),
            ],
            shade(max * (9 - k) as f64 / 9.0).filled(),
        ))?;
    }
    area.draw(&Text::new(
        human(max),
        (lx + 18, 0),
        (FAMILY, NOTE_SIZE).into_font().color(&MUTED),
    ))?;
    Ok(())
}

/// The series legend, in the theme's style.
fn legend<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(GRID)
        .label_font((FAMILY, TICK_SIZE).into_font().color(&INK))
        .draw()?;
    Ok(())
}

/// Intercept and slope of the least-squares line through `pts`.
pub fn least_squares(pts: &[(f64, f64)]) -> (f64, f64) {
    let n = pts.len() as f64;
    let (sx, sy) = pts.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (sxy, sxx) = pts.iter().fold((0.0, 0.0), |(a, b), (x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    let slope = if sxx == 0.0 { 0.0 } else { sxy / sxx };
    (my - slope * mx, slope)
}

fn kpi(spec: &ChartSpec, data: &Series, area: &DrawingArea<SVGBackend, Shift>) -> DrawResult {
    let n = data.labels.len().min(spec.limit.unwrap_or(6));
    if n == 0 {
        area.draw(&Text::new(
            "No data for this period".to_string(),
            (40, 80),
            (FAMILY, LABEL_SIZE * 1.4).into_font().color(&MUTED),
        ))?;
        return Ok(());
    }
    let (w, h) = area.dim_in_pixel();
    let cols = n.min(3) as u32;
    let rows = n.div_ceil(3) as u32;
    let (tw, th) = (w / cols, h / rows);
    let unit = spec.unit.clone().unwrap_or_default();
    for i in 0..n {
        let (c, r) = ((i as u32 % cols) as i32, (i as u32 / cols) as i32);
        let (x0, y0) = (c * tw as i32 + 8, r * th as i32 + 8);
        let (x1, y1) = (x0 + tw as i32 - 16, y0 + th as i32 - 16);
        area.draw(&Rectangle::new([(x0, y0), (x1, y1)], TILE.filled()))?;
        area.draw(&Rectangle::new(
            [(x0, y0), (x0 + 6, y1)],
            PALETTE[0].filled(),
        ))?;
        let value = data.values[0][i]
            .map(|v| format!("{}{unit}", human(v)))
            .unwrap_or_else(|| "–".into());
        let big = if i == 0 { 58.0 } else { 44.0 };
        area.draw(&Text::new(
            value,
            (x0 + 24, y0 + 22),
            (FAMILY, big)
                .into_font()
                .style(FontStyle::Bold)
                .color(&PALETTE[0]),
        ))?;
        area.draw(&Text::new(
            truncate(&data.labels[i], 34),
            (x0 + 24, y1 - 36),
            (FAMILY, LABEL_SIZE).into_font().color(&INK),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(human(1234567.4), "1,234,567");
        assert_eq!(human(99.925), "99.92");
        assert_eq!(human(14.5), "14.5");
        assert_eq!(human(3.0), "3");
        assert_eq!(human(-2500.0), "-2,500");
        assert_eq!(human(0.0), "0");
        assert_eq!(human(99.996), "100");
        assert_eq!(human(99.995_5), "100");
        assert_eq!(human(99.984), "99.98");
        assert_eq!(human(-0.001), "0");
        assert_eq!(pretty("downtime_minutes"), "Downtime minutes");
        assert_eq!(pretty("availability_pct"), "Availability (%)");
        assert_eq!(pretty("mttr_mean_min"), "MTTR mean (min)");
        assert_eq!(pretty("year_ago_nrr_pct"), "Year ago NRR (%)");
        assert_eq!(pretty("arr"), "ARR");
    }

    #[test]
    fn least_squares_fits_a_line() {
        let (a, b) = least_squares(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]);
        assert!((a - 1.0).abs() < 1e-12 && (b - 2.0).abs() < 1e-12);
    }
}

/// The footnote of a chart: which query, which parameters, as of when, in which zone.
pub fn footnote(answer: &crate::query::Answer, ctx: &crate::context::Context) -> String {
    let params: Vec<String> = answer
        .params
        .values
        .iter()
        .map(|(k, v)| match v {
            crate::query::params::Value::Period(p) => format!("{k}={}", p.label()),
            crate::query::params::Value::Int(n) => format!("{k}={n}"),
            crate::query::params::Value::Text(t) => format!("{k}={t}"),
            crate::query::params::Value::Policy(p) => format!("{k}={}", p.name()),
        })
        .collect();
    format!(
        "Source: opsintel query {}{} · as of {} · {}",
        answer.query.name,
        if params.is_empty() {
            String::new()
        } else {
            format!(" ({})", params.join(", "))
        },
        ctx.as_of.format("%Y-%m-%d %H:%M UTC"),
        ctx.tz.name()
    )
}
