//! The `aotc` command line: argument parsing and dispatch to the subcommands.
//!
//! Besides `aotc <subcommand> ...`, aotc accepts wamrc's calling convention
//! (`aotc [OPTIONS] -o OUT IN`, no subcommand), so WAMR users can switch by renaming the binary.

mod compile_cmd;
mod inspect_cmd;
mod intrinsics_cmd;
mod run_cmd;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// WebAssembly ahead-of-time compiler and loader with execute-in-place (XIP) support.
#[derive(Parser, Debug)]
#[command(name = "aotc", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compile a .wasm or .wat file to an AOT file (also the default: `aotc [OPTIONS] -o OUT IN`).
    Compile(compile_cmd::CompileArgs),
    /// Run an .aot, .wasm or .wat file, optionally invoking one exported function.
    Run(run_cmd::RunArgs),
    /// Describe an AOT file: header, target, XIP, sections, relocations, functions, exports.
    Inspect(inspect_cmd::InspectArgs),
    /// Check an AOT file's integrity, including the text checksum that loading skips.
    Verify(inspect_cmd::VerifyArgs),
    /// Print the intrinsics an XIP compilation for a target uses, one per line.
    Intrinsics(intrinsics_cmd::IntrinsicsArgs),
    /// Print this runtime's builtin addresses in this process, for `compile --runtime-symbols`.
    RuntimeSymbols,
}

const SUBCOMMANDS: &[&str] = &[
    "compile",
    "run",
    "inspect",
    "verify",
    "intrinsics",
    "help",
    "runtime-symbols",
];

/// Inserts `compile` when the arguments use wamrc's form (no subcommand).
fn with_subcommand(mut args: Vec<OsString>) -> Vec<OsString> {
    let first = args.get(1).and_then(|a| a.to_str());
    let is_global_flag = matches!(first, Some("-h" | "--help" | "-V" | "--version"));
    if first.is_some() && !is_global_flag && !first.is_some_and(|a| SUBCOMMANDS.contains(&a)) {
        args.insert(1, OsString::from("compile"));
    }
    args
}

fn main() -> ExitCode {
    // SAFETY: restoring the default action of SIGPIPE before any thread or output exists, so
    // that `aotc inspect FILE | head` ends quietly when the pipe closes, as other tools do,
    // instead of panicking in `println!`.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse_from(with_subcommand(std::env::args_os().collect()));
    let result = match cli.command {
        Command::Compile(args) => compile_cmd::run(&args),
        Command::Run(args) => match run_cmd::run(&args) {
            Ok(status) => return status,
            Err(err) => Err(err),
        },
        Command::Inspect(args) => inspect_cmd::inspect(&args),
        Command::Verify(args) => inspect_cmd::verify(&args),
        Command::Intrinsics(args) => intrinsics_cmd::run(&args),
        Command::RuntimeSymbols => compile_cmd::print_runtime_symbols(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", name_unsupported_proposal(format_chain(&err)));
            ExitCode::FAILURE
        }
    }
}

/// One line: the context, then each cause, each once (a cause whose message already contains
/// its own source's is not followed by that source again).
fn format_chain(err: &anyhow::Error) -> String {
    let mut out = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        out.push_str(": ");
        out.push_str(&text);
    }
    out
}

/// Proposals by the word wasmparser uses for them, where the proposal's name differs.
const PROPOSAL_NAMES: &[(&str, &str)] = &[("exceptions", "exception handling (try_table)")];

/// wasmparser calls a module using a proposal it was not asked to accept invalid ("invalid wasm
/// at offset O: X support is not enabled"); aotc says what it is: "at offset O: X is not
/// supported".
fn name_unsupported_proposal(message: String) -> String {
    const NOT_ENABLED: &str = " support is not enabled";
    let Some(end) = message.find(NOT_ENABLED) else {
        return message;
    };
    let start = message[..end].rfind(": ").map_or(0, |i| i + 2);
    let feature = &message[start..end];
    let name = PROPOSAL_NAMES
        .iter()
        .find(|(word, _)| *word == feature)
        .map_or(feature, |(_, name)| name);
    format!(
        "{}{name} is not supported{}",
        message[..start].replace("invalid wasm at offset", "at offset"),
        &message[end + NOT_ENABLED.len()..]
    )
}
