//! Checked, zero-copy casts from bytes to plain-old-data records, and explicit-endian integers.
//!
//! Every record type is `#[repr(C)]` and built only from byte arrays, so its alignment is 1 and
//! every bit pattern is valid: a cast needs only a length check, which [`from_bytes`] and
//! [`slice_from_bytes`] perform.

use core::mem::{align_of, size_of};

/// A type that can be viewed from any byte slice of its size.
///
/// # Safety
/// Implementors must be `#[repr(C)]` (or transparent), have alignment 1, contain no padding and
/// accept every bit pattern.
pub unsafe trait Pod: Copy + 'static {}

/// Views the start of `bytes` as a `T`, or `None` when `bytes` is too short.
pub fn from_bytes<T: Pod>(bytes: &[u8]) -> Option<&T> {
    const { assert!(align_of::<T>() == 1) };
    let bytes = bytes.get(..size_of::<T>())?;
    // SAFETY: `T: Pod` has alignment 1 (checked above at compile time) and accepts every bit
    // pattern, and `bytes` holds exactly `size_of::<T>()` initialised bytes borrowed for the
    // returned lifetime.
    Some(unsafe { &*bytes.as_ptr().cast::<T>() })
}

/// Views the start of `bytes` as `count` consecutive `T`s, or `None` when `bytes` is too short.
pub fn slice_from_bytes<T: Pod>(bytes: &[u8], count: usize) -> Option<&[T]> {
    const { assert!(align_of::<T>() == 1) };
    let len = count.checked_mul(size_of::<T>())?;
    let bytes = bytes.get(..len)?;
    // SAFETY: as in `from_bytes`; `bytes` holds exactly `count * size_of::<T>()` bytes.
    Some(unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), count) })
}

/// The bytes of a record (for the writer).
pub fn bytes_of<T: Pod>(value: &T) -> &[u8] {
    // SAFETY: `T: Pod` has no padding, so all `size_of::<T>()` bytes are initialised.
    unsafe { core::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
}

macro_rules! le_int {
    ($name:ident, $ty:ty, $n:literal) => {
        #[doc = concat!("A little-endian `", stringify!($ty), "` stored as bytes (alignment 1).")]
        #[derive(Copy, Clone, Default, PartialEq, Eq, Hash)]
        #[repr(transparent)]
        pub struct $name(pub [u8; $n]);

        impl $name {
            /// Encodes `v`.
            pub const fn new(v: $ty) -> Self {
                $name(v.to_le_bytes())
            }
            /// Decodes the value.
            pub const fn get(self) -> $ty {
                <$ty>::from_le_bytes(self.0)
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Debug::fmt(&self.get(), f)
            }
        }

        // SAFETY: a transparent byte array: alignment 1, no padding, any bit pattern.
        unsafe impl Pod for $name {}
    };
}

le_int!(U16, u16, 2);
le_int!(U32, u32, 4);
le_int!(U64, u64, 8);
le_int!(I64, i64, 8);

// SAFETY: byte arrays have alignment 1, no padding and accept any bit pattern.
unsafe impl<const N: usize> Pod for [u8; N] {}
// SAFETY: as above.
unsafe impl Pod for u8 {}
