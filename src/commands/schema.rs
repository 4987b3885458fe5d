//! `opsintel schema`: print the canonical data model (as a table, or as the Markdown of
//! `docs/data-model.md`).

use crate::cli::SchemaArgs;
use crate::error::{Error, Result};
use crate::output::table;
use crate::schema::{self, DatasetKind};

pub fn run(args: SchemaArgs) -> Result<()> {
    if args.markdown {
        print!("{}", schema::render_markdown());
        return Ok(());
    }
    let kinds: Vec<DatasetKind> = match &args.dataset {
        Some(d) => vec![
            d.parse()
                .map_err(|e: schema::UnknownDataset| Error::Usage(e.to_string()))?,
        ],
        None => DatasetKind::ALL.to_vec(),
    };
    for kind in kinds {
        let spec = kind.spec();
        println!(
            "{} (key: {}) — {}",
            spec.name(),
            spec.key.join(" + "),
            spec.doc
        );
        let rows = spec
            .columns
            .iter()
            .map(|c| {
                vec![
                    c.name.to_string(),
                    if c.required {
                        "yes".into()
                    } else {
                        String::new()
                    },
                    c.ty.describe(),
                    c.doc.to_string(),
                ]
            })
            .collect();
        println!(
            "{}\n",
            table(&["column", "required", "type", "meaning"], rows, &[])
        );
    }
    Ok(())
}
