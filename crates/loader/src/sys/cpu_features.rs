//! Host CPU feature detection: whether this machine has a feature bit an AOT file needs,
//! generated from the ABI's one feature table ([`aotc_abi::foreach_cpu_feature!`]) and `std`'s
//! runtime detection.

use aotc_abi::Arch;
use aotc_abi::target::cpu_features::*;

/// `std`'s runtime detection of one feature of architecture `$arch` (named as `std` knows it),
/// `false` on another host or where `std` has no detection (`_`). The name is matched as a
/// token tree: `std`'s macros accept only literal tokens, not `literal` fragments.
#[cfg(target_arch = "x86_64")]
macro_rules! detected {
    ($arch:ident, _) => {
        false
    };
    (X86_64, $name:tt) => {
        std::is_x86_feature_detected!($name)
    };
    ($arch:ident, $name:tt) => {
        false
    };
}

#[cfg(target_arch = "aarch64")]
macro_rules! detected {
    ($arch:ident, _) => {
        false
    };
    (Aarch64, $name:tt) => {
        std::arch::is_aarch64_feature_detected!($name)
    };
    ($arch:ident, $name:tt) => {
        false
    };
}

#[cfg(target_arch = "s390x")]
macro_rules! detected {
    ($arch:ident, _) => {
        false
    };
    (S390x, $name:tt) => {
        std::arch::is_s390x_feature_detected!($name)
    };
    ($arch:ident, $name:tt) => {
        false
    };
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "s390x")))]
macro_rules! detected {
    ($arch:ident, $name:tt) => {
        false
    };
}

macro_rules! define_host_has_feature {
    ($( $arch:ident {
        $( $(#[$doc:meta])* $konst:ident = $bit:literal, $name:literal,
           [$($flag:literal),*], $detect:tt; )*
    } )*) => {
        /// Whether this host has CPU feature `bit` of [`aotc_abi::target::cpu_features`] of
        /// the host architecture (`false` for a feature `std` cannot detect here: only files
        /// needing nothing undetectable load).
        pub(crate) fn host_has_feature(bit: u64) -> bool {
            $( $(
                (Arch::host() == Some(Arch::$arch) && bit == $konst && detected!($arch, $detect))
            )||* )||*
        }
    };
}

aotc_abi::foreach_cpu_feature!(define_host_has_feature);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_bits_are_not_detected() {
        assert!(!host_has_feature(1 << 63));
        assert!(!host_has_feature(0));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn detection_agrees_with_std() {
        assert_eq!(
            host_has_feature(X86_SSE41),
            std::is_x86_feature_detected!("sse4.1")
        );
    }
}
