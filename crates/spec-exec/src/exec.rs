//! Executes a [`Plan`] with the loader: instantiates its modules with their imports (the
//! `spectest` module and registered instances), runs its actions and checks its assertions. The
//! host's spec runner and the target-side runner both run plans through [`run`].

use std::collections::HashMap;

use aotc_loader::{
    Extern, Instance, InstantiationError, Memory, Module, Table, Trap, TrapCode, Val,
};

use crate::plan::{Action, Plan, StepKind, show};
use crate::spectest;

/// Most failures listed in one file's report.
const MAX_REPORTED: usize = 25;

/// What running a plan found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Assertions checked (those the host checked included).
    pub assertions: u64,
    /// Directives run.
    pub directives: u64,
    /// The failed directives, each `file:line: why`.
    pub failures: Vec<String>,
}

impl Outcome {
    /// `Ok` when nothing failed, else the failures (at most `MAX_REPORTED` of them listed).
    pub fn report(&self) -> Result<(), String> {
        if self.failures.is_empty() {
            return Ok(());
        }
        let mut msg = format!(
            "{} of {} directives failed:\n",
            self.failures.len(),
            self.directives
        );
        for f in self.failures.iter().take(MAX_REPORTED) {
            msg.push_str("  ");
            msg.push_str(f);
            msg.push('\n');
        }
        if self.failures.len() > MAX_REPORTED {
            msg.push_str(&format!(
                "  ... and {} more\n",
                self.failures.len() - MAX_REPORTED
            ));
        }
        Err(msg)
    }
}

/// Runs `plan`, loading its module files with `load` (given the file name the plan holds).
/// `Err` only when the run cannot start (the `spectest` objects cannot be made).
pub fn run(
    plan: &Plan,
    load: &mut dyn FnMut(&str) -> Result<Module, String>,
) -> Result<Outcome, String> {
    let mut runner = Runner {
        load,
        current: None,
        named: HashMap::new(),
        registered: HashMap::new(),
        spectest: spectest::shared_objects()?,
    };
    let mut outcome = Outcome::default();
    for step in &plan.steps {
        outcome.directives += 1;
        let assertion = matches!(
            step.kind,
            StepKind::AssertReturn { .. }
                | StepKind::AssertTrap { .. }
                | StepKind::AssertExhaustion { .. }
                | StepKind::AssertUnlinkable { .. }
                | StepKind::Checked { .. }
        );
        outcome.assertions += u64::from(assertion);
        if let Err(msg) = runner.step(&step.kind) {
            outcome
                .failures
                .push(format!("{}:{}: {msg}", plan.source, step.line));
        }
    }
    Ok(outcome)
}

/// Whether a trap matches the message a spec test expects. aotc's own files may end the
/// message with ` [backtrace N]`: the trap must then also have N wasm frames.
fn trap_matches(trap: &Trap, expected: &str) -> Result<(), String> {
    let (expected, frames) = match expected
        .strip_suffix(']')
        .and_then(|e| e.rsplit_once(" [backtrace "))
        .and_then(|(message, n)| Some((message, n.parse::<usize>().ok()?)))
    {
        Some((message, frames)) => (message, Some(frames)),
        None => (expected, None),
    };
    let ours = trap.code.message();
    if !(expected.contains(ours) || ours.contains(expected)) {
        return Err(format!("expected trap {expected:?}, got {trap}"));
    }
    match frames {
        Some(n) if trap.backtrace.len() != n => Err(format!(
            "expected a backtrace of {n} wasm frame(s), got {} ({}): {trap}",
            trap.backtrace.len(),
            trap.backtrace
                .iter()
                .map(|f| format!("{}@{:#x}", f.display_name(), f.text_offset))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => Ok(()),
    }
}

/// Why instantiating failed.
enum InstanceFailure {
    Link(String),
    Trap(Trap),
    Other(String),
}

impl InstanceFailure {
    fn message(self) -> String {
        match self {
            InstanceFailure::Link(m) | InstanceFailure::Other(m) => m,
            InstanceFailure::Trap(t) => format!("trap during instantiation: {t}"),
        }
    }
}

struct Runner<'l> {
    load: &'l mut dyn FnMut(&str) -> Result<Module, String>,
    current: Option<Instance>,
    named: HashMap<String, Instance>,
    registered: HashMap<String, Instance>,
    spectest: (Memory, Table),
}

impl Runner<'_> {
    fn imports(&self, module: &Module) -> Result<Vec<Extern>, String> {
        let mut out = Vec::new();
        for (m, name, _) in module.imports() {
            let found = if m == "spectest" {
                spectest::lookup(name, &self.spectest.0, &self.spectest.1)
            } else if m == spectest::AOTC_TEST {
                spectest::lookup_aotc_test(name)
            } else {
                self.registered.get(m).and_then(|i| i.get_export(name))
            };
            out.push(found.ok_or_else(|| format!("unknown import `{m}`.`{name}`"))?);
        }
        Ok(out)
    }

    fn instantiate(&mut self, file: &str) -> Result<Instance, InstanceFailure> {
        let module = (self.load)(file).map_err(InstanceFailure::Other)?;
        let imports = self.imports(&module).map_err(InstanceFailure::Link)?;
        Instance::new(&module, &imports).map_err(|e| match e {
            InstantiationError::Trap(t) => InstanceFailure::Trap(t),
            InstantiationError::Link { .. } => InstanceFailure::Link(e.to_string()),
            other => InstanceFailure::Other(other.to_string()),
        })
    }

    fn instance(&self, name: &Option<String>) -> Result<&Instance, String> {
        match name {
            Some(name) => self
                .named
                .get(name)
                .ok_or_else(|| format!("no module named ${name}")),
            None => self
                .current
                .as_ref()
                .ok_or_else(|| "no current module".to_string()),
        }
    }

    /// Runs an action; the outer error is a harness-level failure, the inner one a trap.
    fn execute(&mut self, action: &Action) -> Result<Result<Vec<Val>, Trap>, String> {
        match action {
            Action::Invoke {
                instance,
                func,
                args,
            } => {
                let func = self
                    .instance(instance)?
                    .get_func(func)
                    .ok_or_else(|| format!("no exported function {func:?}"))?;
                Ok(func.call(args))
            }
            Action::Get { instance, global } => {
                let global = self
                    .instance(instance)?
                    .get_global(global)
                    .ok_or_else(|| format!("no exported global {global:?}"))?;
                Ok(Ok(vec![global.get()]))
            }
            Action::Instantiate { file } => match self.instantiate(file) {
                Ok(_) => Ok(Ok(Vec::new())),
                Err(InstanceFailure::Trap(t)) => Ok(Err(t)),
                Err(InstanceFailure::Link(m) | InstanceFailure::Other(m)) => Err(m),
            },
        }
    }

    fn step(&mut self, kind: &StepKind) -> Result<(), String> {
        match kind {
            StepKind::Module { file, name } => {
                let instance = self.instantiate(file).map_err(InstanceFailure::message)?;
                if let Some(name) = name {
                    self.named.insert(name.clone(), instance.clone());
                }
                self.current = Some(instance);
                Ok(())
            }
            StepKind::Register { as_name, instance } => {
                let instance = self.instance(instance)?.clone();
                self.registered.insert(as_name.clone(), instance);
                Ok(())
            }
            StepKind::Action(action) => self
                .execute(action)?
                .map(|_| ())
                .map_err(|t| format!("unexpected trap: {t}")),
            StepKind::AssertReturn { action, results } => match self.execute(action)? {
                Ok(actual) => check_results(results, &actual),
                Err(t) => Err(format!("unexpected trap: {t}")),
            },
            StepKind::AssertTrap { action, message } => match self.execute(action)? {
                Ok(v) => Err(format!("expected trap {message:?}, got {v:?}")),
                Err(t) => trap_matches(&t, message),
            },
            StepKind::AssertExhaustion { action, message } => match self.execute(action)? {
                Ok(v) => Err(format!("expected exhaustion {message:?}, got {v:?}")),
                Err(t) if t.code == TrapCode::StackOverflow => Ok(()),
                Err(t) => Err(format!("expected exhaustion {message:?}, got {t}")),
            },
            StepKind::AssertUnlinkable { file, message } => match self.instantiate(file) {
                Err(InstanceFailure::Link(_)) => Ok(()),
                Err(e) => Err(format!(
                    "expected unlinkable ({message}), got: {}",
                    e.message()
                )),
                Ok(_) => Err(format!(
                    "expected unlinkable ({message}), but it instantiated"
                )),
            },
            StepKind::Checked { failure } => failure.clone().map_or(Ok(()), Err),
            StepKind::Failed { message } => Err(message.clone()),
        }
    }
}

/// Checks `actual` against the expected results.
fn check_results(expected: &[crate::plan::Expected], actual: &[Val]) -> Result<(), String> {
    if expected.len() != actual.len() {
        return Err(format!(
            "expected {} result(s), got {}: {actual:?}",
            expected.len(),
            actual.len()
        ));
    }
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        if !e.matches(a) {
            return Err(format!("result {i}: expected {e}, got {}", show(a)));
        }
    }
    Ok(())
}
