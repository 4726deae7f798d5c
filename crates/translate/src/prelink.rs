//! Prelinking (`--prelink ADDR --runtime-symbols FILE`): what a normal-mode text is relocated
//! for at compile time: [`Prelink`] (the text's address and the runtime's symbols) and
//! [`RuntimeSymbols`], the runtime's builtin addresses, read from an ELF file's symbol table
//! or a `symbol address` text list (what `aotc runtime-symbols` prints).

use core::fmt;

use aotc_abi::Builtin;
use aotc_abi::builtins::BUILTIN_COUNT;
use object::{Object, ObjectSymbol};

/// What a builtin's symbol is its name prefixed with.
const BUILTIN_SYMBOL_PREFIX: &str = "aotc_builtin_";

/// The symbol of builtin `b`: the name `--format object` imports it by, and the name runtime
/// symbol files give its address under.
pub fn builtin_symbol(b: Builtin) -> String {
    format!("{BUILTIN_SYMBOL_PREFIX}{}", b.name())
}

/// An address as runtime symbol lists and `--prelink` write it: hex after `0x` (`_` allowed
/// between digits) or decimal.
pub fn parse_address(text: &str) -> Result<u64, core::num::ParseIntError> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
        None => text.parse(),
    }
}

/// The address of each builtin in a runtime (a firmware image, a host program).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeSymbols {
    /// By builtin index.
    addresses: [Option<u64>; BUILTIN_COUNT],
}

/// A runtime symbol file that does not parse: where and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolsError {
    /// Where: `line N` of a text list, or the ELF part that failed.
    pub at: String,
    /// What was expected.
    pub message: String,
}

impl fmt::Display for SymbolsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

impl std::error::Error for SymbolsError {}

impl RuntimeSymbols {
    /// Symbols from `(builtin, address)` pairs.
    pub fn from_addresses(pairs: impl IntoIterator<Item = (Builtin, u64)>) -> RuntimeSymbols {
        let mut addresses = [None; BUILTIN_COUNT];
        for (b, address) in pairs {
            addresses[b.index() as usize] = Some(address);
        }
        RuntimeSymbols { addresses }
    }

    /// The address of `builtin`, if the runtime has it.
    pub fn address(&self, builtin: Builtin) -> Option<u64> {
        self.addresses[builtin.index() as usize]
    }

    /// Parses a runtime symbol file: an ELF file (its `aotc_builtin_*` symbols; others are
    /// ignored) or a text list of `symbol address` lines (address in hex with `0x` or decimal;
    /// blank lines and `#` comments ignored; an unknown symbol is an error).
    pub fn parse(bytes: &[u8]) -> Result<RuntimeSymbols, SymbolsError> {
        if bytes.starts_with(b"\x7fELF") {
            return Self::parse_elf(bytes);
        }
        let text = core::str::from_utf8(bytes).map_err(|e| SymbolsError {
            at: format!("byte {}", e.valid_up_to()),
            message: "expected UTF-8 text (a `symbol address` list) or an ELF file".into(),
        })?;
        let mut pairs = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let at = || format!("line {}", i + 1);
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(name), Some(address), None) = (words.next(), words.next(), words.next())
            else {
                return Err(SymbolsError {
                    at: at(),
                    message: format!("expected `symbol address`, found {line:?}"),
                });
            };
            let builtin = Self::builtin_named(name).ok_or_else(|| SymbolsError {
                at: at(),
                message: format!("{name:?} is not a builtin symbol (aotc_builtin_NAME)"),
            })?;
            let address = parse_address(address).map_err(|_| SymbolsError {
                at: at(),
                message: format!("expected an address (0x... or decimal), found {address:?}"),
            })?;
            pairs.push((builtin, address));
        }
        Ok(Self::from_addresses(pairs))
    }

    /// The builtin whose symbol is `symbol`.
    fn builtin_named(symbol: &str) -> Option<Builtin> {
        Builtin::from_name(symbol.strip_prefix(BUILTIN_SYMBOL_PREFIX)?)
    }

    fn parse_elf(bytes: &[u8]) -> Result<RuntimeSymbols, SymbolsError> {
        let file = object::File::parse(bytes).map_err(|e| SymbolsError {
            at: "ELF header".into(),
            message: format!("expected an ELF file: {e}"),
        })?;
        let pairs = file.symbols().filter_map(|s| {
            let builtin = Self::builtin_named(s.name().ok()?)?;
            (!s.is_undefined()).then(|| (builtin, s.address()))
        });
        Ok(Self::from_addresses(pairs))
    }

    /// The text list [`RuntimeSymbols::parse`] reads: one `symbol 0xaddress` line per builtin
    /// that has an address, in builtin index order.
    pub fn to_text(&self) -> String {
        Builtin::ALL
            .iter()
            .filter_map(|&b| {
                self.address(b)
                    .map(|a| format!("{} {a:#018x}\n", builtin_symbol(b)))
            })
            .collect()
    }
}

/// What a prelinked file's text is relocated for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prelink {
    /// The address the text executes at (a multiple of the text alignment).
    pub base: u64,
    /// The runtime's builtin addresses.
    pub symbols: RuntimeSymbols,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_list_round_trips_and_errors_name_the_line() {
        let symbols = RuntimeSymbols::from_addresses(
            Builtin::ALL
                .iter()
                .map(|&b| (b, 0x5555_0000 + u64::from(b.index()) * 8)),
        );
        assert_eq!(
            RuntimeSymbols::parse(symbols.to_text().as_bytes()),
            Ok(symbols)
        );
        let parsed = RuntimeSymbols::parse(
            b"# comment\n\naotc_builtin_memory_grow 4096 # decimal\naotc_builtin_f32_ceil 0x10_00\n",
        )
        .unwrap();
        assert_eq!(parsed.address(Builtin::memory_grow), Some(4096));
        assert_eq!(parsed.address(Builtin::f32_ceil), Some(0x1000));
        assert_eq!(parsed.address(Builtin::f32_floor), None);
        let error = |text: &str| {
            RuntimeSymbols::parse(text.as_bytes())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error("\nmemory_grow 0x10\n"),
            "line 2: \"memory_grow\" is not a builtin symbol (aotc_builtin_NAME)"
        );
        assert_eq!(
            error("aotc_builtin_memory_grow 0xzz"),
            "line 1: expected an address (0x... or decimal), found \"0xzz\""
        );
        assert_eq!(
            error("aotc_builtin_memory_grow"),
            "line 1: expected `symbol address`, found \"aotc_builtin_memory_grow\""
        );
        assert!(error("\x7fELF garbage").starts_with("ELF header: expected an ELF file"));
    }
}
