//! How the process asks the C allocator for memory. The model's runs allocate and free
//! buffers of hundreds of megabytes one after another; glibc serves each from fresh pages
//! (`mmap`) and gives them back on free, so the kernel zeroes every new buffer's pages again.
//! On this project's machine, a virtual machine where the first touch of a page is dear, that
//! was a quarter to a third of the executive report's CPU time (docs/benchmarks.md).

/// Keep freed memory in the process for the next allocation: no `mmap` for large blocks, no
/// trimming of the heap's top, and at most two arenas (glibc's documented `mallopt` settings;
/// the same as `GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=...:
/// glibc.malloc.arena_max=2`). glibc otherwise gives each new thread an arena of its own, up
/// to eight per core, and memory freed in one arena serves only that arena's threads: the
/// model's threads (polars' pool, the worker building tables ahead, pieces built side by side)
/// each drew fresh pages for what another had just freed. Two arenas, the main heap and one
/// more, shared by every thread: the executive report at 10 M 32.4 → 30.0 s (medians of three)
/// and its peak 8.4 → 7.6 GiB, level at 1 M and 100 k (docs/benchmarks.md). One arena went
/// as fast at 10 M but was 8 % slower at 100 k, its one lock taken by every thread. One
/// exception glibc keeps: a block asked for from the second arena that does not fit that
/// arena's heap (64 MiB on 64-bit) is still mapped. Call it before the process starts a
/// thread: a thread keeps the arena it first allocated from (tests/allocator.rs). For commands
/// that build the model and then exit; not for ingest, whose peak the first two settings raised
/// (1 M changes: 1.0 GiB → 1.1 GiB) for no gain in time. Whether the allocator took all three
/// settings; off glibc, nothing is done and the answer is `false`.
pub fn keep_freed() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only sets allocator parameters, under the allocator's own locks;
        // a refused setting leaves the default behaviour.
        unsafe {
            libc::mallopt(libc::M_MMAP_MAX, 0) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, -1) == 1
                && libc::mallopt(libc::M_ARENA_MAX, 2) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

/// Fault in, ahead and cheaply, the memory polars' shared zeroes will be written into.
///
/// polars keeps one static of 8 MiB of zeroes (`polars_buffer`'s `GLOBAL_ZEROES`) for every
/// zero-filled buffer up to that size, and fills it with a `memset` the first time any buffer of
/// zeroes is asked for: 2,048 page faults, each a trap into the kernel that costs about 1.7 µs
/// on this project's virtual machine, 3.5 ms of the 7 ms of `opsintel sql "SELECT 1"` (a
/// profile; docs/benchmarks.md). Here the main thread reserves a block of the heap larger than
/// that static, asks the kernel for transparent huge pages over it and to populate it writable
/// in one call (`MADV_POPULATE_WRITE`, Linux 5.14), gives it back to the allocator (which, after
/// [`keep_freed`], keeps it), and then makes polars allocate its zeroes, which land in that
/// block, already mapped. Only after [`keep_freed`]: with glibc's defaults the block would be
/// its own mapping, returned to the kernel on free. Call it before anything else asks polars for
/// zeroes. Whether polars' zeroes lie in the populated block; a kernel without the advice, or a
/// system that is not glibc on Linux, gets `false` and the usual faults. Populating costs
/// about 1.5 ms (at 12 MiB), so commands that never ask for zeroes (`query list`) do not call it.
pub fn warm_zeroes() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use polars::prelude::{BooleanChunked, ChunkFull, PlSmallStr};
        const ZEROES: usize = 8 << 20;
        const HUGE: usize = 2 << 20;
        const PAGE: usize = 4096;
        // polars asks for its zeroes aligned to a page: they start at most a page past where
        // this block starts, so a block two pages larger holds them.
        let block: Vec<u8> = Vec::with_capacity(ZEROES + 2 * PAGE);
        let (p, len) = (block.as_ptr() as usize, block.capacity());
        let (start, end) = ((p + PAGE - 1) & !(PAGE - 1), (p + len) & !(PAGE - 1));
        let (huge_start, huge_end) = ((p + HUGE - 1) & !(HUGE - 1), (p + len) & !(HUGE - 1));
        // SAFETY: both ranges lie inside `block`'s allocation, which nothing else uses until it
        // is dropped; the advice changes how pages are backed, never their contents.
        let populated = unsafe {
            if huge_end > huge_start {
                libc::madvise(
                    huge_start as *mut libc::c_void,
                    huge_end - huge_start,
                    libc::MADV_HUGEPAGE,
                );
            }
            libc::madvise(
                start as *mut libc::c_void,
                end - start,
                libc::MADV_POPULATE_WRITE,
            ) == 0
        };
        drop(block);
        // The first buffer of zeroes: polars allocates its static now, in this thread.
        let zeroes = BooleanChunked::full(PlSmallStr::EMPTY, false, 8);
        let at = zeroes
            .downcast_iter()
            .next()
            .map(|a| a.values().as_slice().0.as_ptr() as usize);
        populated && at.is_some_and(|a| (start..end).contains(&a))
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
    fn glibc_takes_the_settings_and_a_large_block_no_longer_comes_from_mmap() {
        assert!(super::keep_freed());
        // `hblks`: blocks the allocator holds through `mmap`. With the settings no new one is
        // made for a block that fits this (test) thread's arena heap, so the count cannot grow
        // (other tests running meanwhile can only free theirs); with glibc's defaults a 16 MiB
        // block is one of them, and the count grows by one. (A 64 MiB block, larger than a
        // thread arena's heap, is mapped even with the settings.)
        // SAFETY: `mallinfo` only reads the allocator's statistics.
        let before = unsafe { libc::mallinfo() }.hblks;
        let block = std::hint::black_box(vec![1u8; 16 << 20]);
        let during = unsafe { libc::mallinfo() }.hblks;
        assert_eq!(block.len(), 16 << 20);
        assert!(during <= before, "mmap'd blocks {before} -> {during}");
    }
}
