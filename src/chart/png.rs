//! SVG to PNG with resvg: shaped text in the embedded DejaVu Sans, at 2x for HiDPI slides.
//! Pure: SVG in, PNG bytes out.

use crate::error::{Error, Result};
use resvg::{tiny_skia, usvg};
use std::sync::{Arc, OnceLock};

fn fontdb() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(dejavu::sans::regular().to_vec());
        db.load_font_data(dejavu::sans::bold().to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        Arc::new(db)
    })
    .clone()
}

/// Rasterise `svg` at `scale` (2.0 for HiDPI) on white.
pub fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>> {
    let opts = usvg::Options {
        fontdb: fontdb(),
        ..Default::default()
    };
    let tree =
        usvg::Tree::from_str(svg, &opts).map_err(|e| Error::Usage(format!("chart SVG: {e}")))?;
    let size = tree.size();
    let (w, h) = (
        (size.width() * scale).ceil() as u32,
        (size.height() * scale).ceil() as u32,
    );
    let mut pixmap = tiny_skia::Pixmap::new(w, h)
        .ok_or_else(|| Error::Usage(format!("chart size {w}x{h} is not drawable")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| Error::Usage(format!("encoding PNG: {e}")))
}
