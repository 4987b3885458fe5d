//! Build script: links the `opsintel` binary as a position-dependent executable on Linux.
//!
//! Rust links executables as PIE by default, so the dynamic loader must apply every relative
//! relocation of the image before `main`: about 235,000 of them in this 160 MB binary (polars'
//! vtables and tables of string slices), which writes to, and copies, each page that holds one.
//! That was 2–4 ms of every run (`query list` 4.2 ms → 1.9 ms, incident-trends at 100 k
//! 28.7 → 24.2 ms, docs/benchmarks.md), the largest part of a short command. Linked with
//! `-no-pie` the linker resolves them once and 214 relocations (those against the C library)
//! are left. The objects stay position-independent (the default relocation model), so no crate
//! is recompiled; only the final link of the binaries changes, not the library or its tests.
//! The cost is that the executable's own image loads at a fixed address (shared libraries,
//! heap and stack are still randomised), as Go's default Linux builds do.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" && std::env::var_os("OPSINTEL_PIE").is_none() {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=OPSINTEL_PIE");
}
