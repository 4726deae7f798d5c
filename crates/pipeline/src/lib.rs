//! The one pipeline from options and a module to what aotc produces: options → compile →
//! write → load, written once here and used by the CLI, the spec runner, the benchmarks and the
//! tests, so what ships is what is tested.
//!
//! The steps are [`compile`] (validate the options, wat to wasm, translate: a [`Compiled`]
//! module), [`Compiled::write`] (the bytes of an AOT file: a [`CompiledFile`]) and
//! [`CompiledFile::load`]. [`file_bytes`] and [`load`] chain them. The crate joins the compiler
//! and the loader, which know nothing of each other (the loader links no compiler).

use core::fmt;

use aotc_format::write::{AotModule, WriteError};
use aotc_loader::{LoadError, LoadOptions, Module};
use aotc_translate::{CompileError, CompileOptions};

/// What a compilation is written as (with feature `clap`, also the values of `aotc compile
/// --format`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OutputFormat {
    /// An aotc AOT file (loadable by `aotc run` and the loader library).
    Aot,
    /// An ELF relocatable object, one symbol per wasm function.
    Object,
}

/// Why a step of the pipeline failed.
#[derive(Debug)]
pub enum PipelineError {
    /// Invalid options, invalid wat or wasm, an unsupported feature or a code generation error.
    Compile(CompileError),
    /// The compiled module could not be serialised.
    Write(WriteError),
    /// The loader refused the compiled file.
    Load(LoadError),
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::Compile(err) => write!(f, "{err}"),
            PipelineError::Write(err) => write!(f, "cannot write the AOT file: {err}"),
            PipelineError::Load(err) => write!(f, "cannot load the compiled code: {err}"),
        }
    }
}

impl std::error::Error for PipelineError {}

impl From<CompileError> for PipelineError {
    fn from(err: CompileError) -> Self {
        PipelineError::Compile(err)
    }
}

/// A module compiled by this process's compiler (only [`compile`] makes one, which is why its
/// file may be loaded without `unsafe`).
#[derive(Debug)]
pub struct Compiled {
    module: AotModule,
}

impl Compiled {
    /// The compiled module: code, relocations, metadata.
    pub fn module(&self) -> &AotModule {
        &self.module
    }

    /// Serialises the module as an AOT file.
    pub fn write(&self) -> Result<CompiledFile, PipelineError> {
        let bytes = self.module.write().map_err(PipelineError::Write)?;
        Ok(CompiledFile { bytes })
    }
}

/// The bytes of an AOT file written from a [`Compiled`] module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompiledFile {
    bytes: Vec<u8>,
}

impl CompiledFile {
    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The file's bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Loads the file from memory.
    pub fn load(&self, options: &LoadOptions) -> Result<Module, PipelineError> {
        // SAFETY: a `CompiledFile` is only made by `Compiled::write` from a module this
        // process's compiler produced, which is the trust loading native code needs.
        unsafe { Module::from_bytes_with(&self.bytes, options) }.map_err(PipelineError::Load)
    }

    /// Writes the file to `path` (a new file in a private folder of the caller's) and loads it
    /// from there: mapped, as `aotc run` loads files (XIP and prelinked text in place).
    pub fn load_from(&self, path: &std::path::Path) -> Result<Module, PipelineError> {
        std::fs::write(path, &self.bytes).map_err(|source| {
            PipelineError::Load(LoadError::Io {
                file: path.display().to_string(),
                source,
            })
        })?;
        // SAFETY: the bytes are those of `load`, written by this process to a file the caller
        // keeps to itself and does not modify while the module lives.
        unsafe { Module::from_file(path) }.map_err(PipelineError::Load)
    }
}

/// Compiles `input` (a wasm binary or WebAssembly text) with `options`, after checking them
/// ([`CompileOptions::validate`]).
pub fn compile(options: &CompileOptions, input: &[u8]) -> Result<Compiled, PipelineError> {
    let wasm = aotc_translate::wat_to_wasm(input)?;
    let module = aotc_translate::compile(&wasm, options)?;
    Ok(Compiled { module })
}

/// Compiles `input` with `options` to the bytes of a file in `format`: what `aotc compile`
/// writes.
pub fn file_bytes(
    options: &CompileOptions,
    input: &[u8],
    format: OutputFormat,
) -> Result<Vec<u8>, PipelineError> {
    match format {
        OutputFormat::Aot => Ok(compile(options, input)?.write()?.into_bytes()),
        OutputFormat::Object => {
            let wasm = aotc_translate::wat_to_wasm(input)?;
            Ok(aotc_translate::compile_object(&wasm, options)?)
        }
    }
}

/// Compiles `input` with `options` and loads the AOT file from memory with `load_options`.
pub fn load(
    options: &CompileOptions,
    input: &[u8],
    load_options: &LoadOptions,
) -> Result<Module, PipelineError> {
    compile(options, input)?.write()?.load(load_options)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADD: &str = r#"(module (func (export "add") (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.add))"#;

    #[test]
    fn text_and_binary_input_give_the_same_file() {
        let options = CompileOptions::xip();
        let from_text = file_bytes(&options, ADD.as_bytes(), OutputFormat::Aot).unwrap();
        let wasm = aotc_translate::wat_to_wasm(ADD.as_bytes()).unwrap();
        let from_binary = file_bytes(&options, &wasm, OutputFormat::Aot).unwrap();
        assert_eq!(from_text, from_binary);
        assert!(from_text.starts_with(&aotc_format::layout::MAGIC));
        let object = file_bytes(&options, ADD.as_bytes(), OutputFormat::Object).unwrap();
        assert!(object.starts_with(b"\x7fELF"));
    }

    #[test]
    fn every_step_reports_its_error() {
        let normal_with_intrinsics = CompileOptions::default().with_intrinsics("all").unwrap();
        for format in [OutputFormat::Aot, OutputFormat::Object] {
            assert!(matches!(
                file_bytes(&normal_with_intrinsics, ADD.as_bytes(), format),
                Err(PipelineError::Compile(CompileError::Options(_)))
            ));
            assert!(matches!(
                file_bytes(
                    &CompileOptions::default(),
                    b"(module (func (oops)))",
                    format
                ),
                Err(PipelineError::Compile(CompileError::Wasm { .. }))
            ));
        }
    }

    #[test]
    fn compiled_code_loads_and_runs() {
        let module = load(
            &CompileOptions::default(),
            ADD.as_bytes(),
            &LoadOptions::default(),
        )
        .unwrap();
        let instance = aotc_loader::Instance::new(&module, &[]).unwrap();
        let add = instance.get_func("add").unwrap();
        let sum = add
            .call(&[aotc_loader::Val::I32(2), aotc_loader::Val::I32(40)])
            .unwrap();
        assert!(matches!(sum[..], [aotc_loader::Val::I32(42)]));
    }
}
