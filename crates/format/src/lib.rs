//! The aotc AOT file: its on-disk layout ([`layout`]), a zero-copy reader ([`read`]) and, with
//! the `write` feature, a writer ([`write`](mod@write)).
//!
//! The reader is `no_std` and never allocates: it hands out typed `&'data` views into the bytes
//! it was given (a mapped file, or flash that is already memory-mapped), after checking every
//! offset, length and enumeration it will ever use. Every error names the file offset and what
//! was expected. Enumerations stored in the file are defined with [`aotc_abi::stored_enum!`],
//! the metadata checksum by [`checksum::metadata_checksum`].
//!
//! The layout is documented in `docs/format.md`; [`layout`] is its code.
//!
//! This crate does not know how code is generated or how it is loaded and executed.

#![no_std]

#[cfg(feature = "write")]
extern crate alloc;

pub mod checksum;
pub mod layout;
pub mod pod;
pub mod read;
#[cfg(feature = "write")]
pub mod write;

pub use read::{AotFile, ReadError};
