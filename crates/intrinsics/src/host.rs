//! What the host CPU offers the intrinsics beyond the target's baseline, detected once at
//! run time: on x86-64, SSE4.1's rounding instructions.

#[cfg(target_arch = "x86_64")]
use core::sync::atomic::{AtomicU8, Ordering};

/// Whether the host has SSE4.1: 0 not read yet, [`ABSENT`], [`PRESENT`].
#[cfg(target_arch = "x86_64")]
static SSE41: AtomicU8 = AtomicU8::new(0);
#[cfg(target_arch = "x86_64")]
const ABSENT: u8 = 1;
#[cfg(target_arch = "x86_64")]
const PRESENT: u8 = 2;

/// Whether this x86-64 host has SSE4.1 (CPUID leaf 1, ECX bit 19), read once and kept: the
/// rounding intrinsics then use `roundss`/`roundsd` instead of their bit-level versions.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_sse41() -> bool {
    match SSE41.load(Ordering::Relaxed) {
        PRESENT => true,
        ABSENT => false,
        _ => detect_sse41(),
    }
}

/// Reads CPUID for [`has_sse41`] and records the answer.
#[cfg(target_arch = "x86_64")]
#[cold]
#[inline(never)]
fn detect_sse41() -> bool {
    let present = core::arch::x86_64::__cpuid(1).ecx & (1 << 19) != 0;
    SSE41.store(if present { PRESENT } else { ABSENT }, Ordering::Relaxed);
    present
}
