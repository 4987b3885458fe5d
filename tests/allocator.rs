//! `memory::keep_freed` caps glibc's arenas at two: threads started after the call share the
//! main heap and one more arena instead of taking one each. Its own test binary without
//! libtest's harness (`harness = false` in Cargo.toml): the harness starts a thread per test,
//! and a thread keeps the arena it first allocated from, so the setting must come before any
//! thread exists, which only a plain `main` guarantees.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn main() {
    use std::sync::{Arc, Barrier};
    assert!(opsintel::memory::keep_freed());
    // Four threads alive at once, each allocating: with glibc's defaults (eight arenas per
    // core) each takes an arena of its own, five with the main one.
    const THREADS: usize = 4;
    let allocated = Arc::new(Barrier::new(THREADS + 1));
    let counted = Arc::new(Barrier::new(THREADS + 1));
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let (allocated, counted) = (allocated.clone(), counted.clone());
            std::thread::spawn(move || {
                let block = std::hint::black_box(vec![i as u8; 1 << 20]);
                allocated.wait();
                counted.wait();
                block[i]
            })
        })
        .collect();
    allocated.wait();
    let arenas = arenas();
    counted.wait();
    for (i, t) in threads.into_iter().enumerate() {
        assert_eq!(t.join().expect("an allocating thread"), i as u8);
    }
    assert_eq!(
        arenas, 2,
        "arenas in use by the main thread and {THREADS} others"
    );
    println!("test threads share two arenas ... ok");
}

/// The allocator's arenas, counted in its own report (`malloc_info`: one `<heap nr=...>`
/// element per arena).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn arenas() -> usize {
    let mut buf: *mut libc::c_char = std::ptr::null_mut();
    let mut len: libc::size_t = 0;
    // SAFETY: `open_memstream` gives a stream writing into a buffer it allocates and updates
    // through the two pointers; after `fclose` the buffer holds `len` bytes and is ours to free.
    let xml = unsafe {
        let stream = libc::open_memstream(&mut buf, &mut len);
        assert!(!stream.is_null(), "open_memstream");
        assert_eq!(libc::malloc_info(0, stream), 0, "malloc_info");
        assert_eq!(libc::fclose(stream), 0, "fclose");
        let xml = std::slice::from_raw_parts(buf as *const u8, len).to_vec();
        libc::free(buf.cast());
        xml
    };
    String::from_utf8_lossy(&xml).matches("<heap nr=").count()
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn main() {}
