//! polars' shared buffer of zeroes lands in memory populated ahead (`memory::warm_zeroes`).
//! Its own test binary: the buffer is allocated once per process, by whichever code first asks
//! for zeroes, so no other test may run before this one.

#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn polars_zeroes_land_in_the_block_populated_ahead() {
    assert!(opsintel::memory::keep_freed());
    assert!(opsintel::memory::warm_zeroes());
}
