//! Connectors: mapping files that turn the exports of real tools (ServiceNow, PagerDuty,
//! Opsgenie, Statuspage, GitHub, GitLab, CRMs) into canonical datasets, and the presets shipped
//! with the binary. See `docs/mappings.md`.

pub mod apply;
pub mod spec;

use crate::error::{Error, Result};
pub use apply::{Mapped, apply};
pub use spec::Mapping;
use std::path::Path;

macro_rules! presets {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../presets/", $name, ".toml")))),*]
    };
}

/// The presets: (name, mapping TOML).
pub static PRESETS: &[(&str, &str)] = presets!(
    "servicenow-incident",
    "servicenow-change",
    "servicenow-outage",
    "pagerduty-incidents",
    "opsgenie-alerts",
    "statuspage-incidents",
    "statuspage-maintenances",
    "github-deployments",
    "gitlab-deployments",
    "churn-csv",
);

/// Parse a mapping file's text.
pub fn parse(text: &str, origin: &Path) -> Result<Mapping> {
    toml::from_str(text).map_err(|e| {
        Error::input(
            origin,
            format!("invalid mapping: {e}"),
            Some("see docs/mappings.md for the keys"),
        )
    })
}

/// Load a mapping file.
pub fn load(path: &Path) -> Result<Mapping> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text, path)
}

/// A preset by name, suggesting the nearest on a typo.
pub fn preset(name: &str) -> Result<Mapping> {
    match PRESETS.iter().find(|(n, _)| *n == name) {
        Some((n, text)) => parse(text, Path::new(&format!("presets/{n}.toml"))),
        None => {
            let near = crate::schema::nearest(name, PRESETS.iter().map(|(n, _)| *n));
            Err(Error::Usage(format!(
                "no preset `{name}`{}; `opsintel mapping list` shows them",
                near.map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::DatasetKind;

    /// Every mapping shown in docs/mappings.md parses and names real datasets and columns.
    #[test]
    fn the_documented_mappings_are_valid() {
        let doc = include_str!("../../docs/mappings.md");
        let mut checked = 0;
        for block in doc.split("```toml").skip(1) {
            let text = block.split("```").next().unwrap_or("");
            // Whole mappings only (the walkthrough shows fragments).
            if !text.trim_start().starts_with("dataset") || !text.contains("[columns.") {
                continue;
            }
            let m = parse(text, Path::new("docs/mappings.md"))
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            let spec = m.dataset.parse::<DatasetKind>().unwrap().spec();
            for c in m.columns.keys() {
                assert!(spec.column(c).is_some(), "{}: no column {c}", spec.name());
            }
            checked += 1;
        }
        assert!(checked >= 9, "{checked}");
    }

    #[test]
    fn every_preset_parses_and_fills_its_required_columns() {
        for (name, _) in PRESETS {
            let m = preset(name).unwrap();
            let spec = m.dataset.parse::<DatasetKind>().unwrap().spec();
            for c in spec.columns.iter().filter(|c| c.required) {
                assert!(m.columns.contains_key(c.name), "{name}: no {}", c.name);
            }
        }
        assert!(preset("nope").is_err());
    }
}
