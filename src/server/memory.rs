//! The server's allocator (mimalloc, see Cargo.toml) and the memory it keeps.

use mimalloc::MiMalloc;
use std::alloc::{GlobalAlloc, Layout};

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_t` (libmimalloc-sys builds mimalloc 3
/// and names no constant for it); the test below checks the index against its defaults.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed pages go back to the system at once instead of a second later. The delayed purge
/// runs only when mimalloc is called again on that heap, so an idle thread (a runtime worker
/// between bursts, a database connection's thread) kept its freed pages resident: 6 MB of
/// the idle server's 46, and of its peak under load. A default only: `MIMALLOC_PURGE_DELAY`
/// in the environment still wins. Called before any other thread starts (the option is a
/// plain value that mimalloc's threads read).
pub fn purge_freed_memory_at_once() {
    // SAFETY: no other thread runs yet; setting a default has no other precondition.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, 0) }
}

/// `mi_option_allow_thp` in mimalloc 3's `mi_option_t` (the test below checks it as above).
const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

/// mimalloc's heap is made of ordinary 4 KiB pages, not the kernel's transparent huge pages.
/// It reserves its arena as one aligned gigabyte and advises huge pages on it, so a few live
/// objects pinned whole 2 MiB pages its purge could not give back: 12 of the idle server's
/// 19 MB of heap, and 63 MB instead of 41 at the peak under the benchmark's hot paths.
/// mimalloc has reserved that arena before `main` runs, so its own switch
/// (`MIMALLOC_ALLOW_THP=0`) comes too late to be set here, and would turn huge pages off for
/// the whole process, Argon2's memory too (see `ServerAllocator`). So the mapping that holds
/// the heap is found and advised against huge pages, and later arenas are not advised for
/// them. Called first thing in `main`, before any other thread starts.
pub fn no_huge_pages_in_the_heap() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: no other thread runs yet; setting an option has no other precondition.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0) }
        let probe = Box::new(0u8);
        let Some((start, end)) = mapping_holding(&*probe as *const u8 as usize) else {
            return;
        };
        // SAFETY: the range is a whole mapping of this process; advice changes no contents.
        let _ = unsafe {
            libc::madvise(
                start as *mut libc::c_void,
                end - start,
                libc::MADV_NOHUGEPAGE,
            )
        };
    }
}

/// The start and end of the mapping of this process that holds `address`.
#[cfg(target_os = "linux")]
fn mapping_holding(address: usize) -> Option<(usize, usize)> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|line| {
        let range = line.split_whitespace().next()?;
        let (start, end) = range.split_once('-')?;
        let start = usize::from_str_radix(start, 16).ok()?;
        let end = usize::from_str_radix(end, 16).ok()?;
        (start..end).contains(&address).then_some((start, end))
    })
}

/// From this size on, a block is a mapping of its own, outside mimalloc's arena.
const OWN_MAPPING_FROM: usize = 4 << 20;

/// The server's allocator: mimalloc for everything but the few large blocks (Argon2's 19 MiB
/// per hash, above all), which get a mapping of their own with huge pages advised and go
/// back to the system the moment they are freed. Argon2 reads its memory at random: with
/// the whole process on 4 KiB pages a login took twice the CPU (p50 54 ms against 28 at two
/// connections), most likely in TLB misses.
pub struct ServerAllocator;

fn own_mapping(layout: Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= OWN_MAPPING_FROM && layout.align() <= 4096
}

#[cfg(target_os = "linux")]
fn map(size: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping touches no existing memory; failure is checked.
    let block = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if block == libc::MAP_FAILED {
        return std::ptr::null_mut();
    }
    // SAFETY: the range is the mapping just made. Advice only: refused, the block still works.
    let _ = unsafe { libc::madvise(block, size, libc::MADV_HUGEPAGE) };
    block.cast()
}

#[cfg(not(target_os = "linux"))]
fn map(_size: usize) -> *mut u8 {
    unreachable!("own mappings are Linux only (own_mapping)")
}

// SAFETY: every block comes from exactly one of the two sources, chosen by its layout, which
// the caller passes back unchanged on free and realloc; both honour size and alignment (a
// mapping is page-aligned; larger alignments go to mimalloc), and a fresh anonymous mapping
// reads as zeros.
unsafe impl GlobalAlloc for ServerAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if own_mapping(layout) {
            return map(layout.size());
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { MiMalloc.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if own_mapping(layout) {
            return map(layout.size());
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { MiMalloc.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if own_mapping(layout) {
            #[cfg(target_os = "linux")]
            // SAFETY: the block is the whole mapping `map` made for this layout.
            let _ = unsafe { libc::munmap(block.cast(), layout.size()) };
            return;
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { MiMalloc.dealloc(block, layout) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size`, rounded up to the alignment, fits isize.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !own_mapping(layout) && !own_mapping(new_layout) {
            // SAFETY: both blocks are mimalloc's; forwarded with the caller's guarantees.
            return unsafe { MiMalloc.realloc(block, layout, new_size) };
        }
        // SAFETY: a new block as `alloc` makes it, a copy of what both hold, the old freed.
        unsafe {
            let moved = self.alloc(new_layout);
            if !moved.is_null() {
                std::ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                self.dealloc(block, layout);
            }
            moved
        }
    }
}

/// Returns this thread's freed pages to the system now, for a thread that freed a lot and may
/// not call the allocator again for a long time (see `auth::password`).
pub fn give_back_this_threads_free_memory() {
    // SAFETY: `mi_collect` has no preconditions; it frees this thread's empty pages. When
    // mimalloc is not the global allocator (unit tests) its heap here is empty.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags the kernel shows for the mapping that holds `address` (`hg`: huge pages
    /// advised; `nh`: advised against).
    #[cfg(target_os = "linux")]
    fn vm_flags_at(address: usize) -> String {
        let (start, end) = mapping_holding(address).expect("a mapping holds the address");
        // smaps heads each mapping with the line maps has for it (addresses padded to 8).
        let head = format!("{start:08x}-{end:08x} ");
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        smaps
            .lines()
            .skip_while(|line| !line.starts_with(&head))
            .find_map(|line| line.strip_prefix("VmFlags:"))
            .map(|flags| flags.trim().to_owned())
            .expect("smaps shows the mapping's flags")
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn argon2s_memory_gets_a_mapping_of_its_own_with_huge_pages_advised() {
        let argon2 = Layout::from_size_align(19 << 20, 8).unwrap();
        let small = Layout::from_size_align(64, 8).unwrap();
        // SAFETY: non-zero sizes; each block is freed with its own layout below.
        unsafe {
            let block = ServerAllocator.alloc_zeroed(argon2);
            assert!(!block.is_null());
            let flags = vm_flags_at(block as usize);
            assert!(flags.split(' ').any(|f| f == "hg"), "{flags}");
            assert_eq!(*block.add((19 << 20) - 1), 0, "reads as zeros");
            *block.add(12345) = 7;
            // Shrunk below the threshold it moves into the heap, contents and all.
            let moved = ServerAllocator.realloc(block, argon2, 1 << 20);
            assert_eq!(*moved.add(12345), 7);
            ServerAllocator.dealloc(moved, Layout::from_size_align(1 << 20, 8).unwrap());

            let heap = ServerAllocator.alloc(small);
            assert!(!heap.is_null());
            ServerAllocator.dealloc(heap, small);
        }
    }

    #[test]
    fn the_allow_thp_option_is_the_one_set() {
        // SAFETY: reading options has no preconditions.
        let (before, at, after) = unsafe {
            (
                libmimalloc_sys::mi_option_get(MI_OPTION_ALLOW_THP - 1),
                libmimalloc_sys::mi_option_get(MI_OPTION_ALLOW_THP),
                libmimalloc_sys::mi_option_get(MI_OPTION_ALLOW_THP + 1),
            )
        };
        // mimalloc 3's defaults: `page_cross_thread_max_reclaim` 32, `allow_thp` 1 (unless
        // the environment says 0), `minimal_purge_size` 0.
        assert_eq!(before, 32);
        assert!(at == 1 || std::env::var_os("MIMALLOC_ALLOW_THP").is_some());
        assert_eq!(after, 0);
    }

    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reading an option has no preconditions.
        let default = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        // mimalloc 3's defaults: `purge_delay` 1000 between the deprecated
        // `eager_commit_delay` (1) and `use_numa_nodes` (0); another index shows another
        // pattern. (Unless the environment sets them.)
        let from_env = |name: &str, default: std::ffi::c_long| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        assert_eq!(default, from_env("MIMALLOC_PURGE_DELAY", 1000));
        // SAFETY: as above.
        let neighbours = unsafe {
            (
                libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY - 1),
                libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY + 1),
            )
        };
        assert_eq!(neighbours, (1, from_env("MIMALLOC_USE_NUMA_NODES", 0)));
    }
}
