//! The plan format: what the host's spec runner wrote for one `.wast` file in one mode (the
//! compiled modules are files beside it), its types, its writer ([`fmt::Display`]) and its
//! parser ([`Plan::parse`]). Documented in `docs/spec-plan.md`; the writer and the parser are
//! each other's inverse (tested below).

use std::fmt::{self, Write as _};

use aotc_loader::Val;

/// First line of every plan: the format and its version.
pub const MAGIC: &str = "aotc-spec-plan 1";

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

/// An expected result.
#[derive(Clone, Debug, PartialEq)]
pub enum Expected {
    /// Exactly this value (floats bit for bit, `funcref:null`, `externref:N`).
    Exact(Val),
    /// An f32 NaN of this kind.
    F32Nan(NanKind),
    /// An f64 NaN of this kind.
    F64Nan(NanKind),
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

impl Expected {
    /// Whether `actual` is what this expects.
    pub fn matches(&self, actual: &Val) -> bool {
        match (self, actual) {
            (Expected::Exact(e), a) => e == a,
            (Expected::F32Nan(kind), Val::F32(bits)) => {
                kind.accepts(u64::from(*bits), 0x8000_0000, 0x7fc0_0000, 0x7fc0_0000)
            }
            (Expected::F64Nan(kind), Val::F64(bits)) => kind.accepts(
                *bits,
                0x8000_0000_0000_0000,
                0x7ff8_0000_0000_0000,
                0x7ff8_0000_0000_0000,
            ),
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
        Val::V128(bits) => write!(out, "v128:{bits:#034x}"),
        Val::FuncRef(None) => out.write_str("funcref:null"),
        Val::FuncRef(Some(_)) => out.write_str("funcref"),
        Val::ExternRef(None) => out.write_str("externref:null"),
        Val::ExternRef(Some(n)) => write!(out, "externref:{n}"),
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Exact(value) => write_value(out, value),
            Expected::F32Nan(kind) => write!(out, "f32:nan:{}", kind.name()),
            Expected::F64Nan(kind) => write!(out, "f64:nan:{}", kind.name()),
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
        ("v128", v) => Val::V128(
            hex(v)
                .and_then(|h| u128::from_str_radix(h, 16).ok())
                .ok_or_else(bad)?,
        ),
        ("funcref", "null") => Val::FuncRef(None),
        ("externref", "null") => Val::ExternRef(None),
        ("externref", v) => Val::ExternRef(Some(v.parse().map_err(|_| bad())?)),
        _ => return Err(bad()),
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
        assert!(text.starts_with("aotc-spec-plan 1\nsource \"names.wast\"\nmode \"xip\"\n"));
        assert!(text.contains("4 action invoke \"M 1\" \"\\00\\0a \\c3\\a9\" i32:-1\n"));
        assert_eq!(Plan::parse(&text).unwrap(), plan);
    }

    #[test]
    fn damaged_plans_are_errors_naming_the_line() {
        assert!(
            Plan::parse("aotc-spec-plan 2\n")
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
}
