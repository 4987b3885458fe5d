//! How the process asks the C allocator for memory. The model's runs allocate and free
//! buffers of hundreds of megabytes one after another; glibc serves each from fresh pages
//! (`mmap`) and gives them back on free, so the kernel zeroes every new buffer's pages again.
//! On this project's machine, a virtual machine where the first touch of a page is dear, that
//! was a quarter to a third of the executive report's CPU time (docs/benchmarks.md).

/// Keep freed memory in the process for the next allocation: no `mmap` for large blocks and
/// no trimming of the heap's top (glibc's documented `mallopt` settings; the same as
/// `GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=...`). One exception
/// glibc keeps: a block requested by a thread other than the main one that does not fit that
/// thread's arena heap (64 MiB on 64-bit) is still mapped (the test below found it). For commands
/// that build the model and then exit; not for ingest, whose peak it raised (1 M changes:
/// 1.0 GiB → 1.1 GiB) for no gain in time. Whether the allocator took both settings; off
/// glibc, nothing is done and the answer is `false`.
pub fn keep_freed() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only sets allocator parameters, under the allocator's own locks;
        // a refused setting leaves the default behaviour.
        unsafe {
            libc::mallopt(libc::M_MMAP_MAX, 0) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, -1) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(deprecated)] // `mallinfo`: its `int` fields suffice here, and unlike `mallinfo2`
    // it links against every glibc.
    fn glibc_takes_both_settings_and_a_large_block_no_longer_comes_from_mmap() {
        assert!(super::keep_freed());
        // `hblks`: blocks the allocator holds through `mmap`. With the settings no new one is
        // made for a block that fits this (test) thread's arena heap, so the count cannot grow
        // (other tests running meanwhile can only free theirs); with glibc's defaults a 16 MiB
        // block is one of them, and the count grows by one. (A 64 MiB block, larger than a
        // thread's arena heap, is mapped even with the settings.)
        // SAFETY: `mallinfo` only reads the allocator's statistics.
        let before = unsafe { libc::mallinfo() }.hblks;
        let block = std::hint::black_box(vec![1u8; 16 << 20]);
        let during = unsafe { libc::mallinfo() }.hblks;
        assert_eq!(block.len(), 16 << 20);
        assert!(during <= before, "mmap'd blocks {before} -> {during}");
    }
}
