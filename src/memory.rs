//! Giving freed memory back after a crowd leaves.
//!
//! glibc's allocator keeps the pages of freed sessions for reuse: after 40,000 polling
//! sessions came and went, the process stayed ~70 MB above where it started (benches/README.md,
//! churn rows). `malloc_trim` hands free pages back to the kernel. It walks the heap, so it is
//! called only when the number of live sessions has fallen well below its recent peak: a
//! [`Trimmer`] decides, a background task in `server::run` asks it every second.

/// Sessions that must have gone since the peak before a trim is worth it.
pub const MIN_DROP: usize = 1_000;

/// Decides when to trim: after live sessions fall by at least [`MIN_DROP`] and by a quarter
/// of their peak since the last trim.
#[derive(Debug, Default, Clone)]
pub struct Trimmer {
    peak: usize,
}

impl Trimmer {
    /// Notes the live session count; true when memory should be trimmed now.
    pub fn observe(&mut self, live: usize) -> bool {
        self.peak = self.peak.max(live);
        let gone = self.peak - live;
        if gone >= MIN_DROP && gone >= self.peak / 4 {
            self.peak = live;
            true
        } else {
            false
        }
    }
}

/// Returns the allocator's free pages to the kernel (glibc `malloc_trim`); a no-op with other
/// C libraries.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            /// glibc, malloc.h: releases free memory from the heap; returns 1 if any was.
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim takes no pointers and only works on the allocator's own state,
        // under its own locks; glibc allows calling it from any thread at any time.
        let released = unsafe { malloc_trim(0) };
        log::debug!(
            "malloc_trim: {}",
            if released == 1 {
                "released memory"
            } else {
                "nothing to release"
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_once_a_crowd_has_left() {
        let mut t = Trimmer::default();
        assert!(!t.observe(10_000));
        assert!(!t.observe(9_000), "a tenth gone is not enough");
        assert!(t.observe(5_000));
        assert!(!t.observe(5_000), "once per drop");
        assert!(!t.observe(4_500));
        assert!(t.observe(3_000), "the peak restarts at the last trim");
    }

    #[test]
    fn small_servers_never_trim() {
        let mut t = Trimmer::default();
        for live in [500, 0, 900, 0, 999, 0] {
            assert!(!t.observe(live));
        }
    }

    proptest! {
        #[test]
        fn trims_after_a_real_drop_and_once_per_drop(
            counts in proptest::collection::vec(0usize..50_000, 1..60),
        ) {
            let mut t = Trimmer::default();
            let mut peak = 0;
            for live in counts {
                peak = peak.max(live);
                let trimmed = t.observe(live);
                // Trims exactly when a thousand sessions and a quarter of the peak are gone.
                prop_assert_eq!(trimmed, peak - live >= MIN_DROP.max(peak / 4));
                if trimmed {
                    peak = live;
                }
                // The same count seen again right after never trims.
                prop_assert!(!t.observe(live));
            }
        }
    }
}
