//! `cargo xtask wasi`: the official WASI preview 1 test suite (`wasi-testsuite`), run through
//! `aotc run` in normal and XIP modes, following the suite's `doc/specification.md`: each test
//! folder is copied to a temporary directory, `*.cleanup` artifacts are removed, each `NAME.wasm`
//! is compiled once per mode and run from its folder with the arguments, environment and root of
//! `NAME.json`, and its exit code, stdout and stderr are compared with the expected ones.
//! Known failures are listed, with a reason each, in `tests/wasi/known-failures.txt`; a listed
//! test that passes is an error, so the list stays exact. `--startup` is a benchmark instead:
//! whole-process start-up of a WASI program against an import-free one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{cargo, workspace_root};

/// The suite's preview 1 folders.
const FOLDERS: &[&str] = &[
    "tests/assemblyscript/testsuite/wasm32-wasip1",
    "tests/c/testsuite/wasm32-wasip1",
    "tests/rust/testsuite/wasm32-wasip1",
];

const KNOWN_FAILURES: &str = "tests/wasi/known-failures.txt";

/// One test's specification (the legacy fields, or the `run`/`wait`/`read` operations).
#[derive(Default)]
struct Spec {
    args: Vec<String>,
    env: Vec<(String, String)>,
    root: Option<String>,
    exit_code: i64,
    /// Expected output, when the specification gives one: the stream must start with it (the
    /// reference runner reads that many bytes and compares them).
    stdout: Option<String>,
    stderr: Option<String>,
}

/// The suite named by `$AOTC_WASI_SUITE`, else `../shared/wasi-testsuite` beside the workspace.
fn default_suite() -> PathBuf {
    std::env::var_os("AOTC_WASI_SUITE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/wasi-testsuite"))
}

/// The WASI suite as a step of `cargo xtask test`. The suite is not on a package registry, so a
/// fresh clone without it skips this step, saying so; under CI (`CI` set) it is required.
pub fn run_in_test() -> Result<(), String> {
    let suite = default_suite();
    if !suite.join("tests").is_dir() && std::env::var_os("CI").is_none() {
        eprintln!(
            "xtask: no WASI test suite at {} (set $AOTC_WASI_SUITE): WASI conformance skipped",
            suite.display()
        );
        return Ok(());
    }
    run(&[])
}

pub fn run(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("--startup") {
        return startup();
    }
    let mut suite = None;
    let mut modes = vec!["normal", "xip"];
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--suite" => suite = it.next().map(PathBuf::from),
            "--mode" => {
                modes = match it.next().map(String::as_str) {
                    Some("normal") => vec!["normal"],
                    Some("xip") => vec!["xip"],
                    Some("both") => vec!["normal", "xip"],
                    other => return Err(format!("--mode normal|xip|both, not {other:?}")),
                }
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let root = workspace_root();
    let suite = suite.unwrap_or_else(default_suite);
    if !suite.join("tests").is_dir() {
        return Err(format!(
            "no WASI test suite at {} (use --suite DIR or $AOTC_WASI_SUITE)",
            suite.display()
        ));
    }
    cargo(&["build", "--quiet", "--package", "aotc"])?;
    let aotc = crate::target_dir().join("debug/aotc");
    let known = known_failures(&root.join(KNOWN_FAILURES))?;
    let work = std::env::temp_dir().join(format!("aotc-wasi-{}", std::process::id()));
    let started = Instant::now();
    let (mut passed, mut failed, mut expected_failures) = (0, Vec::new(), 0);
    for mode in &modes {
        for folder in FOLDERS {
            let copy = work.join(mode).join(folder.replace('/', "_"));
            copy_dir(&suite.join(folder), &copy).map_err(|e| format!("copying {folder}: {e}"))?;
            remove_cleanup(&copy);
            let mut tests: Vec<PathBuf> = read_dir(&copy)
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
                .collect();
            tests.sort();
            for wasm in tests {
                let name = wasm.file_stem().unwrap_or_default().to_string_lossy();
                let id = format!("{}/{name}", folder.split('/').nth(1).unwrap_or(folder));
                let trial = format!("{mode}/{id}");
                let outcome = run_test(&aotc, &wasm, mode);
                let listed = known.contains_key(&trial) || known.contains_key(&id);
                match (outcome, listed) {
                    (Ok(()), false) => passed += 1,
                    (Ok(()), true) => {
                        failed.push(format!("{trial}: passes but is listed in {KNOWN_FAILURES}"))
                    }
                    (Err(_), true) => expected_failures += 1,
                    (Err(why), false) => failed.push(format!("{trial}: {why}")),
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    for f in &failed {
        eprintln!("FAILED {f}");
    }
    println!(
        "wasi: {passed} passed, {} failed, {expected_failures} known failures ({:.1} s)",
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("{} WASI test(s) failed", failed.len()))
    }
}

/// Compiles `wasm` for `mode` and runs it as the specification says; `Err` says what differed.
fn run_test(aotc: &Path, wasm: &Path, mode: &str) -> Result<(), String> {
    let dir = wasm.parent().unwrap_or(Path::new("."));
    let spec_path = wasm.with_extension("json");
    let spec = if spec_path.exists() {
        let text = std::fs::read_to_string(&spec_path).map_err(|e| e.to_string())?;
        parse_spec(&text)?
    } else {
        Spec::default()
    };
    let aot = wasm.with_extension(format!("{mode}.aot"));
    let mut compile = Command::new(aotc);
    compile.arg("compile");
    if mode == "xip" {
        compile.arg("--xip");
    }
    let out = compile
        .arg(wasm)
        .arg("-o")
        .arg(&aot)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "compile failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut cmd = Command::new(aotc);
    cmd.arg("run").current_dir(dir);
    for (k, v) in &spec.env {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    if let Some(root) = &spec.root {
        cmd.arg("--dir").arg(format!("{root}::/"));
    }
    cmd.arg(&aot).args(&spec.args);
    let out = cmd.output().map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&aot);
    let code = out.status.code().map(i64::from).unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if code != spec.exit_code {
        let first = stderr.lines().last().unwrap_or("");
        return Err(format!(
            "exit code {code}, expected {} ({first})",
            spec.exit_code
        ));
    }
    for (name, actual, expected) in [
        ("stdout", &stdout, &spec.stdout),
        ("stderr", &stderr, &spec.stderr),
    ] {
        if let Some(expected) = expected
            && !actual.starts_with(expected.as_str())
        {
            return Err(format!("{name} {actual:?}, expected {expected:?}"));
        }
    }
    Ok(())
}

/// `trial -> reason` from the known-failures file (`# comments`, one `TRIAL  reason` a line;
/// a trial is `SUITE/NAME` for both modes or `MODE/SUITE/NAME`).
fn known_failures(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (trial, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        if reason.trim().is_empty() {
            return Err(format!("{}: `{trial}` has no reason", path.display()));
        }
        map.insert(trial.to_string(), reason.trim().to_string());
    }
    Ok(map)
}

/// The paths in `dir` (none when it cannot be read).
pub(crate) fn read_dir(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect()
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let ty = entry.file_type()?;
        if ty.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
            // The shared suite is read-only; the copy must be writable for the tests.
            let mut perms = std::fs::metadata(&target)?.permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
            std::fs::set_permissions(&target, perms)?;
        }
    }
    let mut perms = std::fs::metadata(to)?.permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(to, perms)
}

fn remove_cleanup(dir: &Path) {
    for path in read_dir(dir) {
        if path.is_dir() {
            remove_cleanup(&path);
        } else if path.extension().is_some_and(|e| e == "cleanup") {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// A JSON value (the subset test specifications use).
#[derive(Debug)]
enum Json {
    Null,
    Bool,
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }
}

fn parse_spec(text: &str) -> Result<Spec, String> {
    let json = JsonParser {
        bytes: text.as_bytes(),
        pos: 0,
    }
    .parse()?;
    let mut spec = Spec::default();
    let mut apply = |obj: &Json| {
        if let Some(Json::Array(args)) = obj.get("args") {
            spec.args = args
                .iter()
                .filter_map(Json::str)
                .map(String::from)
                .collect();
        }
        if let Some(Json::Object(env)) = obj.get("env") {
            spec.env = env
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.str()?.to_string())))
                .collect();
        }
        if let Some(root) = obj.get("root").and_then(Json::str) {
            spec.root = Some(root.to_string());
        }
        if let Some(Json::Number(code)) = obj.get("exit_code") {
            spec.exit_code = *code as i64;
        }
        for (key, field) in [("stdout", &mut spec.stdout), ("stderr", &mut spec.stderr)] {
            if let Some(s) = obj.get(key).and_then(Json::str) {
                *field = Some(s.to_string());
            }
        }
        if obj.get("type").and_then(Json::str) == Some("read") {
            let payload = obj.get("payload").and_then(Json::str).unwrap_or("");
            let stream = match obj.get("id").and_then(Json::str).unwrap_or("stdout") {
                "stderr" => &mut spec.stderr,
                _ => &mut spec.stdout,
            };
            stream.get_or_insert_default().push_str(payload);
        }
    };
    match json.get("operations") {
        Some(Json::Array(ops)) => ops.iter().for_each(&mut apply),
        _ => apply(&json),
    }
    Ok(spec)
}

struct JsonParser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl JsonParser<'_> {
    fn parse(mut self) -> Result<Json, String> {
        let value = self.value()?;
        self.ws();
        if self.pos != self.bytes.len() {
            return Err(format!("trailing data at byte {}", self.pos));
        }
        Ok(value)
    }

    fn ws(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(u8::is_ascii_whitespace)
        {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.bytes.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        let rest = &self.bytes[self.pos..];
        for (word, value) in [
            ("null", Json::Null),
            ("true", Json::Bool),
            ("false", Json::Bool),
        ] {
            if rest.starts_with(word.as_bytes()) {
                self.pos += word.len();
                return Ok(value);
            }
        }
        match rest.first() {
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value()?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(format!("expected `,` or `]` at byte {}", self.pos));
                        }
                    }
                }
                Ok(Json::Array(items))
            }
            Some(b'{') => {
                self.pos += 1;
                let mut fields = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return Err(format!("expected `:` at byte {}", self.pos));
                        }
                        fields.push((key, self.value()?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(format!("expected `,` or `}}` at byte {}", self.pos));
                        }
                    }
                }
                Ok(Json::Object(fields))
            }
            _ => {
                let start = self.pos;
                while self
                    .bytes
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
                {
                    self.pos += 1;
                }
                std::str::from_utf8(&self.bytes[start..self.pos])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .map(Json::Number)
                    .ok_or_else(|| format!("bad JSON value at byte {start}"))
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        if self.bytes.get(self.pos) != Some(&b'"') {
            return Err(format!("expected a string at byte {}", self.pos));
        }
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let c = *self.bytes.get(self.pos).ok_or("unterminated JSON string")?;
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = *self.bytes.get(self.pos).ok_or("unterminated escape")?;
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'u' => {
                            let hex = std::str::from_utf8(
                                self.bytes.get(self.pos..self.pos + 4).ok_or("bad \\u")?,
                            )
                            .map_err(|e| e.to_string())?;
                            let code = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                            self.pos += 4;
                            let ch = char::from_u32(code).unwrap_or('\u{fffd}');
                            out.extend_from_slice(ch.to_string().as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
        String::from_utf8(out).map_err(|e| e.to_string())
    }
}

/// Runs of each program in the start-up benchmark.
const STARTUP_RUNS: usize = 200;

/// `cargo xtask wasi --startup`: whole-process start-up of a precompiled WASI "hello" (XIP)
/// beside `aotc run --invoke` of an import-free XIP module, interleaved in one run; prints the
/// medians and the cost of WASI set-up on top.
fn startup() -> Result<(), String> {
    let root = workspace_root();
    cargo(&["build", "--quiet", "--package", "aotc"])?;
    let aotc = crate::target_dir().join("debug/aotc");
    let work = std::env::temp_dir().join(format!("aotc-startup-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let hello_wasm = work.join("hello.wasm");
    let status = Command::new("clang-16")
        .args(["--target=wasm32-wasi", "--sysroot=/usr", "-O2"])
        .arg(root.join("tests/wasi/hello.c"))
        .arg("-o")
        .arg(&hello_wasm)
        .status()
        .map_err(|e| format!("clang-16 (run .ci/install-wasi-deps.sh): {e}"))?;
    if !status.success() {
        return Err("clang-16 failed on tests/wasi/hello.c".into());
    }
    let hello = work.join("hello.aot");
    let fib = work.join("fib.aot");
    for (input, output) in [
        (hello_wasm.as_path(), &hello),
        (&root.join("examples/fib.wat"), &fib),
    ] {
        let out = Command::new(&aotc)
            .args(["compile", "--xip"])
            .arg(input)
            .arg("-o")
            .arg(output)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
    }
    let time = |args: &[&std::ffi::OsStr]| -> Result<f64, String> {
        let start = Instant::now();
        let out = Command::new(&aotc)
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(start.elapsed().as_secs_f64() * 1e6)
    };
    let (mut wasi, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..STARTUP_RUNS {
        wasi.push(time(&["run".as_ref(), hello.as_os_str()])?);
        plain.push(time(&[
            "run".as_ref(),
            "--invoke".as_ref(),
            "fib".as_ref(),
            fib.as_os_str(),
            "1".as_ref(),
        ])?);
    }
    let _ = std::fs::remove_dir_all(&work);
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (w, p) = (median(&mut wasi), median(&mut plain));
    println!(
        "start-up, whole process, median of {STARTUP_RUNS}: WASI hello (XIP) {w:.0} us, \
         import-free --invoke (XIP) {p:.0} us: WASI set-up costs {:+.1}%",
        (w / p - 1.0) * 100.0
    );
    Ok(())
}
