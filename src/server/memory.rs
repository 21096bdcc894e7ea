//! The server's allocator (mimalloc, see Cargo.toml) and the memory it keeps.

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

/// The heap is made of ordinary 4 KiB pages, not the kernel's transparent huge pages.
/// mimalloc reserves its arena as one aligned gigabyte, so with THP in `madvise` mode (Debian's
/// default) or `always` a few live objects pinned whole 2 MiB pages, which its purge could
/// not give back: 12 of the idle server's 19 MB of heap, and 63 MB instead of 41 at the peak
/// under the benchmark's hot paths, with their throughput unchanged. The price: a login
/// takes twice the CPU (p50 54 ms against 28; Argon2 walks its 19 MiB at random, and on
/// small pages most of those reads likely miss the TLB; README, "Speed"). Giving Argon2 a
/// mapping of its own with `MADV_HUGEPAGE` would win that back. mimalloc's own
/// `MIMALLOC_ALLOW_THP=0` does the same as this call but is read before `main`, so it cannot
/// be a default set here; the flag applies to every page the process touches from now on.
pub fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_THP_DISABLE takes plain integers and changes only this process's
        // paging policy; a kernel without it returns an error, which leaves THP as it was.
        let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
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
