//! What the host CPU offers the intrinsics beyond the target's baseline, detected once at
//! run time by `cpufeatures` (CPUID, kept after the first read; a constant when the build
//! already enables the feature): on x86-64, SSE4.1's rounding instructions.

#[cfg(target_arch = "x86_64")]
cpufeatures::new!(sse41, "sse4.1");

/// Whether this x86-64 host has SSE4.1: the rounding intrinsics then use `roundss`/`roundsd`
/// instead of their bit-level versions.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_sse41() -> bool {
    sse41::get()
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    extern crate std;

    #[test]
    fn sse41_detection_agrees_with_std() {
        assert_eq!(super::has_sse41(), std::is_x86_feature_detected!("sse4.1"));
        // Read again: the answer kept after the first read.
        assert_eq!(super::has_sse41(), std::is_x86_feature_detected!("sse4.1"));
    }
}
