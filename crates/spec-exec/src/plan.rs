//! The plan format: what the host's spec runner wrote for one `.wast` file in one mode (the
//! compiled modules are files beside it), its types, its writer ([`fmt::Display`]) and its
//! parser ([`Plan::parse`]). Documented in `docs/spec-plan.md`; the writer and the parser are
//! each other's inverse (tested below).

use std::fmt::{self, Write as _};

use aotc_loader::Val;

/// First line of every plan: the format and its version.
pub const MAGIC: &str = "aotc-spec-plan 2";

/// The file-name extension of plans.
pub const EXTENSION: &str = "plan";

/// The directives of one `.wast` file, compiled in one mode.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The `.wast` file's name (for messages).
    pub source: String,
    /// The mode's name (`normal`, `xip`): what the totals are grouped by.
    pub mode: String,
    /// One step per directive of the file, in order.
    pub steps: Vec<Step>,
}

/// One directive of the `.wast` file.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Its line in the `.wast` file (1-based).
    pub line: u32,
    /// What to do.
    pub kind: StepKind,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// Load and instantiate `file`; it becomes the current instance, and is named `name` if
    /// given. Failing to instantiate is a failure.
    Module {
        /// The AOT file, relative to the plan's folder.
        file: String,
        /// The module's `$id` (without `$`).
        name: Option<String>,
    },
    /// Make an instance's exports importable under module name `as_name`.
    Register {
        /// The import module name.
        as_name: String,
        /// The instance (`None`: the current one).
        instance: Option<String>,
    },
    /// Run an action; a trap is a failure, results are ignored.
    Action(Action),
    /// The action returns `results`.
    AssertReturn {
        /// What to run.
        action: Action,
        /// The expected results, in order.
        results: Vec<Expected>,
    },
    /// The action traps with a trap whose message matches `message`.
    AssertTrap {
        /// What to run.
        action: Action,
        /// The spec's expected message.
        message: String,
    },
    /// The action exhausts the call stack.
    AssertExhaustion {
        /// What to run.
        action: Action,
        /// The spec's expected message.
        message: String,
    },
    /// Instantiating `file` fails to link.
    AssertUnlinkable {
        /// The AOT file, relative to the plan's folder.
        file: String,
        /// The spec's expected message.
        message: String,
    },
    /// An assertion the host checked while compiling (`assert_invalid`, `assert_malformed`, or
    /// one whose module did not compile): `failure` says why it failed, if it did.
    Checked {
        /// Why the assertion failed on the host.
        failure: Option<String>,
    },
    /// A directive that is not an assertion and failed on the host (a module that did not
    /// compile, an unsupported directive).
    Failed {
        /// Why.
        message: String,
    },
}

/// Something run against the instances.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Call an exported function.
    Invoke {
        /// The instance (`None`: the current one).
        instance: Option<String>,
        /// The export's name.
        func: String,
        /// The arguments.
        args: Vec<Val>,
    },
    /// Read an exported global.
    Get {
        /// The instance (`None`: the current one).
        instance: Option<String>,
        /// The export's name.
        global: String,
    },
    /// Load and instantiate `file` (its result is no value; a trap of its start function or
    /// segments is the action's trap).
    Instantiate {
        /// The AOT file, relative to the plan's folder.
        file: String,
    },
}

/// Which NaNs a NaN pattern accepts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NanKind {
    /// The canonical NaN of either sign.
    Canonical,
    /// Any NaN with the quiet bit set.
    Arithmetic,
}

/// The pattern of one float lane of a `v128` result.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FloatLane {
    /// Exactly these bits (an f32 lane's in the low 32).
    Bits(u64),
    /// A NaN of this kind.
    Nan(NanKind),
}

/// An expected `v128` result, lane by lane (lane 0 first, each lane's bits as the lane's
/// integer or float bits): integer lanes are matched exactly, float lanes by their pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum V128Lanes {
    /// Sixteen 8-bit lanes.
    I8x16([u8; 16]),
    /// Eight 16-bit lanes.
    I16x8([u16; 8]),
    /// Four 32-bit lanes.
    I32x4([u32; 4]),
    /// Two 64-bit lanes.
    I64x2([u64; 2]),
    /// Four f32 lanes.
    F32x4([FloatLane; 4]),
    /// Two f64 lanes.
    F64x2([FloatLane; 2]),
}

/// An expected result.
#[derive(Clone, Debug, PartialEq)]
pub enum Expected {
    /// Exactly this value (floats bit for bit, `funcref:null`, `externref:N`).
    Exact(Val),
    /// An f32 NaN of this kind.
    F32Nan(NanKind),
    /// An f64 NaN of this kind.
    F64Nan(NanKind),
    /// A `v128` whose lanes match these.
    V128(V128Lanes),
    /// A null reference of either type.
    RefNull,
    /// Any non-null function reference.
    AnyFuncRef,
    /// Any non-null external reference.
    AnyExternRef,
    /// Any of these.
    Either(Vec<Expected>),
}

impl NanKind {
    fn name(self) -> &'static str {
        match self {
            NanKind::Canonical => "canonical",
            NanKind::Arithmetic => "arithmetic",
        }
    }

    /// Whether a NaN pattern of this kind accepts `bits`, an IEEE value with `exponent_and_quiet`
    /// its exponent bits and quiet bit, and `canonical` the canonical NaN without sign.
    fn accepts(self, bits: u64, sign: u64, exponent_and_quiet: u64, canonical: u64) -> bool {
        match self {
            NanKind::Canonical => bits & !sign == canonical,
            NanKind::Arithmetic => bits & exponent_and_quiet == exponent_and_quiet,
        }
    }
}

fn f32_matches(lane: FloatLane, bits: u32) -> bool {
    match lane {
        FloatLane::Bits(b) => b == u64::from(bits),
        FloatLane::Nan(kind) => {
            kind.accepts(u64::from(bits), 0x8000_0000, 0x7fc0_0000, 0x7fc0_0000)
        }
    }
}

fn f64_matches(lane: FloatLane, bits: u64) -> bool {
    match lane {
        FloatLane::Bits(b) => b == bits,
        FloatLane::Nan(kind) => kind.accepts(
            bits,
            0x8000_0000_0000_0000,
            0x7ff8_0000_0000_0000,
            0x7ff8_0000_0000_0000,
        ),
    }
}

impl V128Lanes {
    /// Whether `v` (lane 0 in the low bits, as [`Val::V128`]) matches these lanes.
    pub fn matches(&self, v: u128) -> bool {
        let bytes = v.to_le_bytes();
        let lane32 = |c: &[u8]| u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        let lane64 =
            |c: &[u8]| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        match self {
            V128Lanes::I8x16(e) => e.iter().copied().eq(bytes),
            V128Lanes::I16x8(e) => e.iter().flat_map(|x| x.to_le_bytes()).eq(bytes),
            V128Lanes::I32x4(e) => e.iter().flat_map(|x| x.to_le_bytes()).eq(bytes),
            V128Lanes::I64x2(e) => e.iter().flat_map(|x| x.to_le_bytes()).eq(bytes),
            V128Lanes::F32x4(e) => {
                (e.iter().zip(bytes.chunks_exact(4))).all(|(p, c)| f32_matches(*p, lane32(c)))
            }
            V128Lanes::F64x2(e) => {
                (e.iter().zip(bytes.chunks_exact(8))).all(|(p, c)| f64_matches(*p, lane64(c)))
            }
        }
    }

    fn shape(&self) -> &'static str {
        match self {
            V128Lanes::I8x16(_) => "i8x16",
            V128Lanes::I16x8(_) => "i16x8",
            V128Lanes::I32x4(_) => "i32x4",
            V128Lanes::I64x2(_) => "i64x2",
            V128Lanes::F32x4(_) => "f32x4",
            V128Lanes::F64x2(_) => "f64x2",
        }
    }
}

impl Expected {
    /// Whether `actual` is what this expects.
    pub fn matches(&self, actual: &Val) -> bool {
        match (self, actual) {
            (Expected::Exact(e), a) => e == a,
            (Expected::F32Nan(kind), Val::F32(bits)) => f32_matches(FloatLane::Nan(*kind), *bits),
            (Expected::F64Nan(kind), Val::F64(bits)) => f64_matches(FloatLane::Nan(*kind), *bits),
            (Expected::V128(lanes), Val::V128(v)) => lanes.matches(*v),
            (Expected::RefNull, Val::FuncRef(None) | Val::ExternRef(None)) => true,
            (Expected::AnyFuncRef, Val::FuncRef(Some(_))) => true,
            (Expected::AnyExternRef, Val::ExternRef(Some(_))) => true,
            (Expected::Either(options), a) => options.iter().any(|o| o.matches(a)),
            _ => false,
        }
    }
}

/// A readable form of a value (floats with their bits).
pub fn show(value: &Val) -> String {
    match value {
        Val::F32(b) => format!("f32 {} ({b:#010x})", f32::from_bits(*b)),
        Val::F64(b) => format!("f64 {} ({b:#018x})", f64::from_bits(*b)),
        Val::V128(v) => format!("v128 {v:#034x} (lane 0 lowest)"),
        other => format!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Writing.

/// Writes `s` as a quoted string: bytes outside printable ASCII, `"` and `\` as `\hh`.
fn write_str(out: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for &byte in s.as_bytes() {
        if (0x20..0x7f).contains(&byte) && byte != b'"' && byte != b'\\' {
            out.write_char(char::from(byte))?;
        } else {
            write!(out, "\\{byte:02x}")?;
        }
    }
    out.write_char('"')
}

fn write_instance(out: &mut fmt::Formatter<'_>, instance: &Option<String>) -> fmt::Result {
    match instance {
        Some(name) => write_str(out, name),
        None => out.write_char('-'),
    }
}

/// Writes a value as a plan token. A non-null funcref (which no spec argument or result is)
/// is written `funcref`, which the parser refuses as a value.
fn write_value(out: &mut fmt::Formatter<'_>, value: &Val) -> fmt::Result {
    match value {
        Val::I32(v) => write!(out, "i32:{v}"),
        Val::I64(v) => write!(out, "i64:{v}"),
        Val::F32(bits) => write!(out, "f32:{bits:#010x}"),
        Val::F64(bits) => write!(out, "f64:{bits:#018x}"),
        Val::V128(bits) => {
            // The 16 bytes in memory order (byte 0, lane 0's lowest, first): little-endian
            // lanes whatever the host's byte order.
            out.write_str("v128:")?;
            bits.to_le_bytes()
                .iter()
                .try_for_each(|b| write!(out, "{b:02x}"))
        }
        Val::FuncRef(None) => out.write_str("funcref:null"),
        Val::FuncRef(Some(_)) => out.write_str("funcref"),
        Val::ExternRef(None) => out.write_str("externref:null"),
        Val::ExternRef(Some(n)) => write!(out, "externref:{n}"),
    }
}

fn write_float_lane(out: &mut fmt::Formatter<'_>, lane: FloatLane, digits: usize) -> fmt::Result {
    match lane {
        FloatLane::Bits(b) => write!(out, "{b:#0width$x}", width = digits + 2),
        FloatLane::Nan(kind) => write!(out, "nan:{}", kind.name()),
    }
}

impl fmt::Display for V128Lanes {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(out, "v128:{}:", self.shape())?;
        let mut sep = "";
        let mut lane = |out: &mut fmt::Formatter<'_>,
                        f: &dyn Fn(&mut fmt::Formatter<'_>) -> fmt::Result| {
            out.write_str(sep)?;
            sep = ",";
            f(out)
        };
        match self {
            V128Lanes::I8x16(e) => e
                .iter()
                .try_for_each(|x| lane(out, &|o| write!(o, "{x:#04x}"))),
            V128Lanes::I16x8(e) => e
                .iter()
                .try_for_each(|x| lane(out, &|o| write!(o, "{x:#06x}"))),
            V128Lanes::I32x4(e) => e
                .iter()
                .try_for_each(|x| lane(out, &|o| write!(o, "{x:#010x}"))),
            V128Lanes::I64x2(e) => e
                .iter()
                .try_for_each(|x| lane(out, &|o| write!(o, "{x:#018x}"))),
            V128Lanes::F32x4(e) => e
                .iter()
                .try_for_each(|x| lane(out, &|o| write_float_lane(o, *x, 8))),
            V128Lanes::F64x2(e) => e
                .iter()
                .try_for_each(|x| lane(out, &|o| write_float_lane(o, *x, 16))),
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Exact(value) => write_value(out, value),
            Expected::F32Nan(kind) => write!(out, "f32:nan:{}", kind.name()),
            Expected::F64Nan(kind) => write!(out, "f64:nan:{}", kind.name()),
            Expected::V128(lanes) => write!(out, "{lanes}"),
            Expected::RefNull => out.write_str("ref:null"),
            Expected::AnyFuncRef => out.write_str("funcref"),
            Expected::AnyExternRef => out.write_str("externref"),
            Expected::Either(options) => {
                out.write_str("either(")?;
                for (i, option) in options.iter().enumerate() {
                    if i > 0 {
                        out.write_char('|')?;
                    }
                    write!(out, "{option}")?;
                }
                out.write_char(')')
            }
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Invoke {
                instance,
                func,
                args,
            } => {
                out.write_str("invoke ")?;
                write_instance(out, instance)?;
                out.write_char(' ')?;
                write_str(out, func)?;
                for arg in args {
                    out.write_char(' ')?;
                    write_value(out, arg)?;
                }
                Ok(())
            }
            Action::Get { instance, global } => {
                out.write_str("get ")?;
                write_instance(out, instance)?;
                out.write_char(' ')?;
                write_str(out, global)
            }
            Action::Instantiate { file } => {
                out.write_str("instantiate ")?;
                write_str(out, file)
            }
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(out, "{} ", self.line)?;
        match &self.kind {
            StepKind::Module { file, name } => {
                out.write_str("module ")?;
                write_str(out, file)?;
                if let Some(name) = name {
                    out.write_char(' ')?;
                    write_str(out, name)?;
                }
                Ok(())
            }
            StepKind::Register { as_name, instance } => {
                out.write_str("register ")?;
                write_str(out, as_name)?;
                out.write_char(' ')?;
                write_instance(out, instance)
            }
            StepKind::Action(action) => write!(out, "action {action}"),
            StepKind::AssertReturn { action, results } => {
                write!(out, "assert_return {action} =>")?;
                for result in results {
                    write!(out, " {result}")?;
                }
                Ok(())
            }
            StepKind::AssertTrap { action, message } => {
                out.write_str("assert_trap ")?;
                write_str(out, message)?;
                write!(out, " {action}")
            }
            StepKind::AssertExhaustion { action, message } => {
                out.write_str("assert_exhaustion ")?;
                write_str(out, message)?;
                write!(out, " {action}")
            }
            StepKind::AssertUnlinkable { file, message } => {
                out.write_str("assert_unlinkable ")?;
                write_str(out, message)?;
                out.write_char(' ')?;
                write_str(out, file)
            }
            StepKind::Checked { failure: None } => out.write_str("checked"),
            StepKind::Checked {
                failure: Some(message),
            } => {
                out.write_str("checked_failed ")?;
                write_str(out, message)
            }
            StepKind::Failed { message } => {
                out.write_str("failed ")?;
                write_str(out, message)
            }
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(out, "{MAGIC}")?;
        out.write_str("source ")?;
        write_str(out, &self.source)?;
        out.write_str("\nmode ")?;
        write_str(out, &self.mode)?;
        out.write_char('\n')?;
        for step in &self.steps {
            writeln!(out, "{step}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing.

/// A token of a plan line.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    /// A quoted string, unescaped.
    Str(String),
    /// Anything else, up to the next space.
    Word(String),
}

fn tokenize(line: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut rest = line.as_bytes();
    loop {
        while let [b' ', tail @ ..] = rest {
            rest = tail;
        }
        match rest {
            [] => return Ok(tokens),
            [b'"', tail @ ..] => {
                let mut bytes = Vec::new();
                let mut tail = tail;
                loop {
                    match tail {
                        [] => return Err("unterminated string".to_owned()),
                        [b'"', after @ ..] => {
                            tail = after;
                            break;
                        }
                        [b'\\', h, l, after @ ..] => {
                            let hex = [*h, *l];
                            let hex = std::str::from_utf8(&hex)
                                .ok()
                                .and_then(|h| u8::from_str_radix(h, 16).ok())
                                .ok_or_else(|| "bad escape in string".to_owned())?;
                            bytes.push(hex);
                            tail = after;
                        }
                        [b'\\', ..] => return Err("bad escape in string".to_owned()),
                        [byte, after @ ..] => {
                            bytes.push(*byte);
                            tail = after;
                        }
                    }
                }
                let text =
                    String::from_utf8(bytes).map_err(|_| "string is not UTF-8".to_owned())?;
                tokens.push(Token::Str(text));
                rest = tail;
            }
            _ => {
                let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
                let word = std::str::from_utf8(&rest[..end])
                    .map_err(|_| "line is not UTF-8".to_owned())?;
                tokens.push(Token::Word(word.to_owned()));
                rest = &rest[end..];
            }
        }
    }
}

/// The tokens of one line, consumed front to back.
struct Tokens {
    tokens: std::vec::IntoIter<Token>,
}

impl Tokens {
    fn next(&mut self, what: &str) -> Result<Token, String> {
        self.tokens
            .next()
            .ok_or_else(|| format!("expected {what}, found the end of the line"))
    }

    fn string(&mut self, what: &str) -> Result<String, String> {
        match self.next(what)? {
            Token::Str(s) => Ok(s),
            Token::Word(w) => Err(format!("expected {what} (a quoted string), found `{w}`")),
        }
    }

    fn word(&mut self, what: &str) -> Result<String, String> {
        match self.next(what)? {
            Token::Word(w) => Ok(w),
            Token::Str(s) => Err(format!("expected {what}, found the string {s:?}")),
        }
    }

    fn instance(&mut self) -> Result<Option<String>, String> {
        match self.next("an instance (`-` or a quoted name)")? {
            Token::Str(s) => Ok(Some(s)),
            Token::Word(w) if w == "-" => Ok(None),
            Token::Word(w) => Err(format!("expected an instance, found `{w}`")),
        }
    }

    fn optional_string(&mut self, what: &str) -> Result<Option<String>, String> {
        match self.tokens.next() {
            None => Ok(None),
            Some(Token::Str(s)) => Ok(Some(s)),
            Some(Token::Word(w)) => Err(format!("expected {what}, found `{w}`")),
        }
    }

    fn end(&mut self) -> Result<(), String> {
        match self.tokens.next() {
            None => Ok(()),
            Some(t) => Err(format!("unexpected {t:?} at the end of the line")),
        }
    }

    fn action(&mut self) -> Result<Action, String> {
        let kind = self.word("an action (invoke, get, instantiate)")?;
        match kind.as_str() {
            "invoke" => {
                let instance = self.instance()?;
                let func = self.string("a function name")?;
                let mut args = Vec::new();
                while let Some(Token::Word(w)) = self.tokens.as_slice().first() {
                    if w == "=>" {
                        break;
                    }
                    let w = w.clone();
                    self.tokens.next();
                    args.push(parse_value(&w)?);
                }
                Ok(Action::Invoke {
                    instance,
                    func,
                    args,
                })
            }
            "get" => Ok(Action::Get {
                instance: self.instance()?,
                global: self.string("a global name")?,
            }),
            "instantiate" => Ok(Action::Instantiate {
                file: self.string("a file name")?,
            }),
            other => Err(format!("unknown action `{other}`")),
        }
    }
}

fn parse_value(token: &str) -> Result<Val, String> {
    let bad = || format!("bad value `{token}`");
    let (ty, value) = token.split_once(':').ok_or_else(bad)?;
    fn hex(v: &str) -> Option<&str> {
        v.strip_prefix("0x")
    }
    Ok(match (ty, value) {
        ("i32", v) => Val::I32(v.parse().map_err(|_| bad())?),
        ("i64", v) => Val::I64(v.parse().map_err(|_| bad())?),
        ("f32", v) => Val::F32(
            hex(v)
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .ok_or_else(bad)?,
        ),
        ("f64", v) => Val::F64(
            hex(v)
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .ok_or_else(bad)?,
        ),
        ("v128", v) => Val::V128(parse_v128_bytes(v).ok_or_else(bad)?),
        ("funcref", "null") => Val::FuncRef(None),
        ("externref", "null") => Val::ExternRef(None),
        ("externref", v) => Val::ExternRef(Some(v.parse().map_err(|_| bad())?)),
        _ => return Err(bad()),
    })
}

/// A `v128` written as its 16 bytes in memory order (32 hex digits, byte 0 first).
fn parse_v128_bytes(v: &str) -> Option<u128> {
    if v.len() != 32 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(v.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(u128::from_le_bytes(bytes))
}

/// `N` comma-separated lanes, each parsed by `lane`.
fn parse_lanes<T: Copy + Default, const N: usize>(
    text: &str,
    lane: impl Fn(&str) -> Option<T>,
) -> Option<[T; N]> {
    let mut lanes = [T::default(); N];
    let mut parts = text.split(',');
    for slot in &mut lanes {
        *slot = lane(parts.next()?)?;
    }
    parts.next().is_none().then_some(lanes)
}

/// A lane's bits, `0x` and at most `bits` bits of hex.
fn parse_lane_bits(text: &str, bits: u32) -> Option<u64> {
    let value = u64::from_str_radix(text.strip_prefix("0x")?, 16).ok()?;
    (bits == 64 || value >> bits == 0).then_some(value)
}

fn parse_float_lane(text: &str, bits: u32) -> Option<FloatLane> {
    match text.strip_prefix("nan:") {
        Some(kind) => parse_nan_kind(kind).map(FloatLane::Nan),
        None => parse_lane_bits(text, bits).map(FloatLane::Bits),
    }
}

impl Default for FloatLane {
    fn default() -> Self {
        FloatLane::Bits(0)
    }
}

/// A `v128:SHAPE:LANES` pattern (the part after `v128:`).
fn parse_v128_lanes(text: &str) -> Option<V128Lanes> {
    let (shape, lanes) = text.split_once(':')?;
    let int = |bits| move |l: &str| parse_lane_bits(l, bits);
    Some(match shape {
        "i8x16" => V128Lanes::I8x16(parse_lanes(lanes, int(8))?.map(|x: u64| x as u8)),
        "i16x8" => V128Lanes::I16x8(parse_lanes(lanes, int(16))?.map(|x: u64| x as u16)),
        "i32x4" => V128Lanes::I32x4(parse_lanes(lanes, int(32))?.map(|x: u64| x as u32)),
        "i64x2" => V128Lanes::I64x2(parse_lanes(lanes, int(64))?),
        "f32x4" => V128Lanes::F32x4(parse_lanes(lanes, |l| parse_float_lane(l, 32))?),
        "f64x2" => V128Lanes::F64x2(parse_lanes(lanes, |l| parse_float_lane(l, 64))?),
        _ => return None,
    })
}

fn parse_nan_kind(name: &str) -> Option<NanKind> {
    [NanKind::Canonical, NanKind::Arithmetic]
        .into_iter()
        .find(|kind| kind.name() == name)
}

fn parse_expected(token: &str) -> Result<Expected, String> {
    if let Some(inner) = token
        .strip_prefix("either(")
        .and_then(|t| t.strip_suffix(')'))
    {
        return Ok(Expected::Either(
            inner
                .split('|')
                .map(parse_expected)
                .collect::<Result<_, _>>()?,
        ));
    }
    if let Some(kind) = token.strip_prefix("f32:nan:") {
        return parse_nan_kind(kind)
            .map(Expected::F32Nan)
            .ok_or_else(|| format!("bad NaN kind `{token}`"));
    }
    if let Some(kind) = token.strip_prefix("f64:nan:") {
        return parse_nan_kind(kind)
            .map(Expected::F64Nan)
            .ok_or_else(|| format!("bad NaN kind `{token}`"));
    }
    if let Some(lanes) = token
        .strip_prefix("v128:")
        .filter(|rest| rest.contains(':'))
    {
        return parse_v128_lanes(lanes)
            .map(Expected::V128)
            .ok_or_else(|| format!("bad v128 pattern `{token}`"));
    }
    Ok(match token {
        "ref:null" => Expected::RefNull,
        "funcref" => Expected::AnyFuncRef,
        "externref" => Expected::AnyExternRef,
        value => Expected::Exact(parse_value(value)?),
    })
}

fn parse_step(line: &str) -> Result<Step, String> {
    let mut tokens = Tokens {
        tokens: tokenize(line)?.into_iter(),
    };
    let number = tokens.word("a line number")?;
    let number = number
        .parse()
        .map_err(|_| format!("bad line number `{number}`"))?;
    let directive = tokens.word("a directive")?;
    let kind = match directive.as_str() {
        "module" => StepKind::Module {
            file: tokens.string("a file name")?,
            name: tokens.optional_string("a module name")?,
        },
        "register" => StepKind::Register {
            as_name: tokens.string("a module name")?,
            instance: tokens.instance()?,
        },
        "action" => StepKind::Action(tokens.action()?),
        "assert_return" => {
            let action = tokens.action()?;
            if tokens.word("`=>`")? != "=>" {
                return Err("expected `=>` before the results".to_owned());
            }
            let mut results = Vec::new();
            for token in tokens.tokens.by_ref() {
                match token {
                    Token::Word(w) => results.push(parse_expected(&w)?),
                    Token::Str(s) => return Err(format!("expected a result, found {s:?}")),
                }
            }
            StepKind::AssertReturn { action, results }
        }
        "assert_trap" => StepKind::AssertTrap {
            message: tokens.string("a message")?,
            action: tokens.action()?,
        },
        "assert_exhaustion" => StepKind::AssertExhaustion {
            message: tokens.string("a message")?,
            action: tokens.action()?,
        },
        "assert_unlinkable" => StepKind::AssertUnlinkable {
            message: tokens.string("a message")?,
            file: tokens.string("a file name")?,
        },
        "checked" => StepKind::Checked { failure: None },
        "checked_failed" => StepKind::Checked {
            failure: Some(tokens.string("a message")?),
        },
        "failed" => StepKind::Failed {
            message: tokens.string("a message")?,
        },
        other => return Err(format!("unknown directive `{other}`")),
    };
    tokens.end()?;
    Ok(Step { line: number, kind })
}

impl Plan {
    /// Parses a plan's text; errors name the line.
    pub fn parse(text: &str) -> Result<Plan, String> {
        let mut lines = text.lines().enumerate();
        let mut header = |key: &str| -> Result<String, String> {
            let (i, line) = lines
                .next()
                .ok_or_else(|| format!("expected a `{key}` line, found the end"))?;
            let at = |e: String| format!("line {}: {e}", i + 1);
            if key == "magic" {
                return if line == MAGIC {
                    Ok(String::new())
                } else {
                    Err(at(format!("expected `{MAGIC}`, found `{line}`")))
                };
            }
            let mut tokens = Tokens {
                tokens: tokenize(line).map_err(at)?.into_iter(),
            };
            if tokens.word(key).map_err(at)? != key {
                return Err(at(format!("expected `{key} \"...\"`")));
            }
            let value = tokens.string(key).map_err(at)?;
            tokens.end().map_err(at)?;
            Ok(value)
        };
        header("magic")?;
        let source = header("source")?;
        let mode = header("mode")?;
        let steps = lines
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| parse_step(line).map_err(|e| format!("line {}: {e}", i + 1)))
            .collect::<Result<_, _>>()?;
        Ok(Plan {
            source,
            mode,
            steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoke(instance: Option<&str>, func: &str, args: Vec<Val>) -> Action {
        Action::Invoke {
            instance: instance.map(str::to_owned),
            func: func.to_owned(),
            args,
        }
    }

    fn step(line: u32, kind: StepKind) -> Step {
        Step { line, kind }
    }

    fn every_kind_of_step() -> Plan {
        Plan {
            source: "names.wast".to_owned(),
            mode: "xip".to_owned(),
            steps: vec![
                step(
                    1,
                    StepKind::Module {
                        file: "names/0.aot".to_owned(),
                        name: Some("M 1".to_owned()),
                    },
                ),
                step(
                    2,
                    StepKind::Module {
                        file: "names/1.aot".to_owned(),
                        name: None,
                    },
                ),
                step(
                    3,
                    StepKind::Register {
                        as_name: "reg\"\\".to_owned(),
                        instance: None,
                    },
                ),
                step(
                    4,
                    StepKind::Action(invoke(Some("M 1"), "\0\n é", vec![Val::I32(-1)])),
                ),
                step(
                    5,
                    StepKind::AssertReturn {
                        action: invoke(
                            None,
                            "f",
                            vec![
                                Val::I64(i64::MIN),
                                Val::F32(0x7fc0_0001),
                                Val::F64(0x8000_0000_0000_0000),
                                Val::V128(u128::MAX),
                                Val::FuncRef(None),
                                Val::ExternRef(None),
                                Val::ExternRef(Some(7)),
                            ],
                        ),
                        results: vec![
                            Expected::Exact(Val::I32(3)),
                            Expected::F32Nan(NanKind::Canonical),
                            Expected::F64Nan(NanKind::Arithmetic),
                            Expected::RefNull,
                            Expected::AnyFuncRef,
                            Expected::AnyExternRef,
                            Expected::Exact(Val::V128(0x0102)),
                            Expected::V128(V128Lanes::I8x16([0xff; 16])),
                            Expected::V128(V128Lanes::I16x8([1, 2, 3, 4, 5, 6, 7, 0xffff])),
                            Expected::V128(V128Lanes::I32x4([1, 2, 3, u32::MAX])),
                            Expected::V128(V128Lanes::I64x2([1, u64::MAX])),
                            Expected::V128(V128Lanes::F32x4([
                                FloatLane::Bits(0x3f80_0000),
                                FloatLane::Nan(NanKind::Canonical),
                                FloatLane::Nan(NanKind::Arithmetic),
                                FloatLane::Bits(0),
                            ])),
                            Expected::V128(V128Lanes::F64x2([
                                FloatLane::Nan(NanKind::Arithmetic),
                                FloatLane::Bits(0x7ff0_0000_0000_0000),
                            ])),
                            Expected::Either(vec![
                                Expected::Exact(Val::F32(1)),
                                Expected::F32Nan(NanKind::Arithmetic),
                            ]),
                        ],
                    },
                ),
                step(
                    6,
                    StepKind::AssertReturn {
                        action: Action::Get {
                            instance: None,
                            global: "g".to_owned(),
                        },
                        results: vec![],
                    },
                ),
                step(
                    7,
                    StepKind::AssertTrap {
                        action: Action::Instantiate {
                            file: "names/2.aot".to_owned(),
                        },
                        message: "out of bounds memory access".to_owned(),
                    },
                ),
                step(
                    8,
                    StepKind::AssertExhaustion {
                        action: invoke(None, "run", vec![]),
                        message: "call stack exhausted".to_owned(),
                    },
                ),
                step(
                    9,
                    StepKind::AssertUnlinkable {
                        file: "names/3.aot".to_owned(),
                        message: "unknown import".to_owned(),
                    },
                ),
                step(10, StepKind::Checked { failure: None }),
                step(
                    11,
                    StepKind::Checked {
                        failure: Some("compiled".to_owned()),
                    },
                ),
                step(
                    12,
                    StepKind::Failed {
                        message: "did not compile".to_owned(),
                    },
                ),
            ],
        }
    }

    #[test]
    fn parsing_what_was_written_gives_the_plan_back() {
        let plan = every_kind_of_step();
        let text = plan.to_string();
        assert!(text.starts_with("aotc-spec-plan 2\nsource \"names.wast\"\nmode \"xip\"\n"));
        assert!(text.contains("4 action invoke \"M 1\" \"\\00\\0a \\c3\\a9\" i32:-1\n"));
        assert_eq!(Plan::parse(&text).unwrap(), plan);
    }

    #[test]
    fn damaged_plans_are_errors_naming_the_line() {
        assert!(
            Plan::parse("aotc-spec-plan 1\n")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(Plan::parse(MAGIC).unwrap_err().contains("`source`"));
        for (damage, expected) in [
            ("5 assert_return", "expected an action"),
            ("5 assert_return invoke - \"f\" i32:x =>", "bad value"),
            ("5 assert_return invoke - \"f\" => f32:nan:odd", "NaN kind"),
            ("5 module \"unterminated", "unterminated"),
            ("5 module \"a\\zz\"", "escape"),
            ("5 jump", "unknown directive"),
            ("5 checked extra", "unexpected"),
        ] {
            let text = format!("{MAGIC}\nsource \"a.wast\"\nmode \"normal\"\n{damage}\n");
            let err = Plan::parse(&text).unwrap_err();
            assert!(
                err.starts_with("line 4: ") && err.contains(expected),
                "{damage}: {err}"
            );
        }
    }

    #[test]
    fn nan_patterns_accept_exactly_their_nans() {
        let canonical = Expected::F32Nan(NanKind::Canonical);
        let arithmetic = Expected::F64Nan(NanKind::Arithmetic);
        assert!(canonical.matches(&Val::F32(0x7fc0_0000)));
        assert!(canonical.matches(&Val::F32(0xffc0_0000)));
        assert!(!canonical.matches(&Val::F32(0x7fc0_0001)));
        assert!(!canonical.matches(&Val::F64(0x7ff8_0000_0000_0000)));
        assert!(arithmetic.matches(&Val::F64(0xfff8_0000_0000_0001)));
        assert!(!arithmetic.matches(&Val::F64(0x7ff0_0000_0000_0001)));
        assert!(Expected::RefNull.matches(&Val::ExternRef(None)));
        assert!(!Expected::AnyExternRef.matches(&Val::ExternRef(None)));
    }

    #[test]
    fn v128_values_are_written_in_memory_order() {
        let plan = Plan {
            source: "v.wast".to_owned(),
            mode: "normal".to_owned(),
            steps: vec![step(
                1,
                StepKind::Action(invoke(
                    None,
                    "f",
                    vec![Val::V128(0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100)],
                )),
            )],
        };
        let text = plan.to_string();
        assert!(
            text.contains("v128:000102030405060708090a0b0c0d0e0f"),
            "{text}"
        );
        assert_eq!(Plan::parse(&text).unwrap(), plan);
        assert!(parse_value("v128:00").is_err());
        assert!(parse_expected("v128:i8x16:0x100,0,0").is_err());
        assert!(parse_expected("v128:i32x4:0x1,0x2,0x3").is_err());
        assert!(parse_expected("v128:f32x4:0x0,0x0,0x0,nan:odd").is_err());
    }

    #[test]
    fn v128_lanes_match_integers_exactly_and_floats_by_pattern() {
        // f32x4 lanes: 1.0, a canonical NaN, an arithmetic NaN, -0.0 (lane 0 lowest).
        let v = 0x8000_0000_7fc0_0001_ffc0_0000_3f80_0000_u128;
        let f32s = |lanes| Expected::V128(V128Lanes::F32x4(lanes));
        let canonical = FloatLane::Nan(NanKind::Canonical);
        let arithmetic = FloatLane::Nan(NanKind::Arithmetic);
        let one = FloatLane::Bits(0x3f80_0000);
        let minus_zero = FloatLane::Bits(0x8000_0000);
        assert!(f32s([one, canonical, arithmetic, minus_zero]).matches(&Val::V128(v)));
        assert!(!f32s([one, canonical, canonical, minus_zero]).matches(&Val::V128(v)));
        assert!(!f32s([one, canonical, arithmetic, FloatLane::Bits(0)]).matches(&Val::V128(v)));
        let i16s = Expected::V128(V128Lanes::I16x8([
            0, 0x3f80, 0, 0xffc0, 1, 0x7fc0, 0, 0x8000,
        ]));
        assert!(i16s.matches(&Val::V128(v)));
        assert!(!i16s.matches(&Val::V128(v ^ 1)));
        assert!(!i16s.matches(&Val::I32(0)));
        let f64s = Expected::V128(V128Lanes::F64x2([arithmetic, FloatLane::Bits(0)]));
        assert!(f64s.matches(&Val::V128(0x7ff8_0000_0000_0001)));
        assert!(!f64s.matches(&Val::V128(0x7ff0_0000_0000_0001)));
    }
}
