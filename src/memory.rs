//! How the process asks the C allocator for memory. The model's runs allocate and free
//! buffers of hundreds of megabytes one after another; glibc serves each from fresh pages
//! (`mmap`) and gives them back on free, so the kernel zeroes every new buffer's pages again.
//! On this project's machine, a virtual machine where the first touch of a page is dear, that
//! was a quarter to a third of the executive report's CPU time (docs/benchmarks.md).

/// Keep freed memory in the process for the next allocation: no `mmap` for large blocks and
/// no trimming of the heap's top (glibc's documented `mallopt` settings; the same as
/// `GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=...`). For commands
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
    fn glibc_takes_both_settings_and_memory_still_works() {
        assert!(super::keep_freed());
        // A large block (above glibc's default mmap threshold) now comes from the heap, and
        // freeing and asking again works.
        for n in [1usize << 26, 1 << 25, 1 << 26] {
            let v = vec![7u8; n];
            assert_eq!(v.iter().map(|&b| b as usize).sum::<usize>(), 7 * n);
        }
    }
}
