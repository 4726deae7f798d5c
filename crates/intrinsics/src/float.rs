//! Float rounding intrinsics: `ceil`, `floor`, `trunc` and `nearest` for f32 and f64.
//!
//! None of them trap. A NaN input yields a quiet NaN (wasm's arithmetic NaN); signed zeros are
//! preserved (`ceil(-0.5) == -0.0`).

macro_rules! rounding {
    ($( $(#[$attr:meta])* $name:ident($ty:ty) = $body:expr; )*) => {$(
        $(#[$attr])*
        pub extern "C" fn $name(x: $ty) -> $ty {
            if x.is_nan() {
                // Quieten signalling NaNs, keep the payload and sign (an arithmetic NaN).
                return x + x;
            }
            let f: fn($ty) -> $ty = $body;
            f(x)
        }
    )*};
}

rounding! {
    /// `f32.ceil`.
    f32_ceil(f32) = libm::ceilf;
    /// `f32.floor`.
    f32_floor(f32) = libm::floorf;
    /// `f32.trunc`.
    f32_trunc(f32) = libm::truncf;
    /// `f32.nearest`: round to nearest, ties to even.
    f32_nearest(f32) = libm::rintf;
    /// `f64.ceil`.
    f64_ceil(f64) = libm::ceil;
    /// `f64.floor`.
    f64_floor(f64) = libm::floor;
    /// `f64.trunc`.
    f64_trunc(f64) = libm::trunc;
    /// `f64.nearest`: round to nearest, ties to even.
    f64_nearest(f64) = libm::rint;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_edge_cases() {
        assert_eq!(f32_nearest(2.5), 2.0);
        assert_eq!(f32_nearest(3.5), 4.0);
        assert_eq!(f64_nearest(-0.5).to_bits(), (-0.0f64).to_bits());
        assert_eq!(f64_ceil(-0.5).to_bits(), (-0.0f64).to_bits());
        assert_eq!(f32_floor(-0.5), -1.0);
        assert_eq!(f64_trunc(-1.7), -1.0);
        assert!(f32_ceil(f32::NAN).is_nan());
        let snan = f64::from_bits(0x7ff0_0000_0000_0001);
        assert!(f64_floor(snan).is_nan());
        assert_eq!(
            f64_floor(snan).to_bits() & (1 << 51),
            1 << 51,
            "quiet bit set"
        );
        assert_eq!(f64_trunc(f64::INFINITY), f64::INFINITY);
        assert_eq!(f32_nearest(16_777_215.0), 16_777_215.0);
    }
}
