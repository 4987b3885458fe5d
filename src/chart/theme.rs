//! The one visual theme of every chart and report: palette, fonts and sizes. The palette keeps
//! distinct lightness steps so series stay apart when printed in greyscale. Fonts are embedded
//! (DejaVu Sans from the `dejavu` crate); no system font is ever loaded.

use plotters::style::{FontStyle, RGBColor};
use std::sync::Once;

/// Series colours, darkest first (greyscale-safe order).
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(0x1f, 0x3b, 0x73), // navy
    RGBColor(0xe0, 0x7b, 0x39), // orange
    RGBColor(0x7f, 0xb3, 0xd5), // light blue
    RGBColor(0x4d, 0x4d, 0x4d), // dark grey
    RGBColor(0xc9, 0xa2, 0x27), // mustard
    RGBColor(0xb8, 0xb8, 0xb8), // light grey
];
pub const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub const MUTED: RGBColor = RGBColor(0x6b, 0x6b, 0x6b);
pub const GRID: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
pub const TILE: RGBColor = RGBColor(0xf2, 0xf4, 0xf8);

/// The font family plotters and usvg both resolve.
pub const FAMILY: &str = "sans-serif";
pub const TITLE_SIZE: f64 = 26.0;
pub const LABEL_SIZE: f64 = 17.0;
pub const TICK_SIZE: f64 = 15.0;
pub const NOTE_SIZE: f64 = 15.0;

static FONTS: Once = Once::new();

/// Register the embedded fonts with plotters (once per process).
pub fn register_fonts() {
    FONTS.call_once(|| {
        // Registration only fails for unparsable font bytes, which these are not.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FAMILY, FontStyle::Bold, dejavu::sans::bold());
    });
}
