//! `opsintel generate`
use crate::cli::GenerateArgs;
use crate::error::Result;
pub fn run(_args: GenerateArgs) -> Result<()> {
    Ok(())
}
