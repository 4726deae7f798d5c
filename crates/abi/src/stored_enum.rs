//! [`stored_enum!`]: the one definition of an enumeration whose discriminants are stored in AOT
//! files or passed to compiled code, with its decoder and its names.

/// Defines a field-less enum with explicit discriminants stored as `$repr`, and generates:
/// `ALL` (every value, in declaration order), the decoder `$decoder($repr) -> Option<Self>`
/// (`None` for a value this version does not define) and `name(self) -> &'static str`.
///
/// ```
/// aotc_abi::stored_enum! {
///     /// A colour.
///     pub enum Colour: u8, from_u8 {
///         /// Red.
///         Red = 1 => "red",
///         /// Green.
///         Green = 2 => "green",
///     }
/// }
/// assert_eq!(Colour::from_u8(2), Some(Colour::Green));
/// assert_eq!(Colour::from_u8(3), None);
/// assert_eq!(Colour::ALL.map(Colour::name), ["red", "green"]);
/// ```
#[macro_export]
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $repr:ident, $decoder:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $value:literal => $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[repr($repr)]
        $vis enum $name {
            $( $(#[$variant_meta])* $variant = $value, )*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$( $value ),*].len()] = [$( $name::$variant ),*];

            /// Decodes a stored value; `None` for a value this version does not define.
            pub const fn $decoder(value: $repr) -> Option<$name> {
                match value {
                    $( $value => Some($name::$variant), )*
                    _ => None,
                }
            }

            /// The name.
            pub const fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )*
                }
            }
        }
    };
}
