//! Placeholder
use crate::error::Result;
pub struct GenerateOptions;
pub fn generate(_o: &GenerateOptions) -> Result<()> {
    Ok(())
}
