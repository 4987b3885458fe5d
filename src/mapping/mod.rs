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
