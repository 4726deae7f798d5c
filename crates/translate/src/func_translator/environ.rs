//! The function's environment, reached through the vmctx: the flags of vmctx, heap and table
//! accesses, linear memory (addressing, guard-page or explicit bounds checks, loads and stores,
//! size, growth and bulk operations), globals and tables.

use aotc_abi::{Builtin, TrapCode};
use aotc_format::layout::ConstValue;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{self, Endianness, InstBuilder, MemFlagsData, Type, Value};
use wasmparser::MemArg;

use super::Translator;
use crate::CompileError;
use crate::cl_abi::{cl_trap, v128_flags};

/// Extension of a narrow memory access.
#[derive(Copy, Clone)]
pub(super) enum Ext {
    None,
    S8,
    U8,
    S16,
    U16,
    S32,
    U32,
}

impl Translator<'_, '_> {
    // ---- vmctx access --------------------------------------------------------------------

    /// Flags for loads of values that never change during the instance's life.
    pub(super) fn pure_flags() -> MemFlagsData {
        MemFlagsData::trusted().with_readonly().with_can_move()
    }

    /// Flags for runtime-maintained fields (memory and table sizes and bases).
    fn vm_flags(&self) -> MemFlagsData {
        MemFlagsData::trusted().with_alias_region(Some(self.regions.vmctx))
    }

    /// Flags for linear-memory accesses (little-endian). With guard pages the access itself
    /// faults out of bounds, so it is a trap site; with explicit bounds checks the check traps
    /// first and the access cannot fault, so it records no trap site.
    fn heap_flags(&self) -> MemFlagsData {
        let faults = !self.env.explicit_bounds_checks;
        MemFlagsData::new()
            .with_endianness(Endianness::Little)
            .with_trap_code(faults.then_some(ir::TrapCode::HEAP_OUT_OF_BOUNDS))
            .with_alias_region(Some(self.regions.heap))
    }

    /// Flags for table element accesses.
    pub(super) fn table_flags(&self) -> MemFlagsData {
        MemFlagsData::trusted().with_alias_region(Some(self.regions.table))
    }

    /// `base + index * scale`, as a load/store offset.
    pub(super) fn field_offset(
        &self,
        base: u32,
        index: u32,
        scale: u32,
    ) -> Result<i32, CompileError> {
        let off = u64::from(base) + u64::from(index) * u64::from(scale);
        i32::try_from(off).map_err(|_| self.unsupported("index too large for the vmctx layout"))
    }

    /// Loads a pointer-sized, never-changing field of the vmctx.
    pub(super) fn vmctx_ptr(&mut self, offset: u32) -> Value {
        self.b
            .ins()
            .load(self.pointer, Self::pure_flags(), self.vmctx, offset as i32)
    }

    // ---- memory --------------------------------------------------------------------------

    /// The definition (base and length) of memory `memory`; only memory 0 exists.
    fn memory_def(&mut self, memory: u32) -> Result<Value, CompileError> {
        if memory != 0 {
            return Err(self.unsupported("multiple memories"));
        }
        Ok(self.vmctx_ptr(self.offsets.memory()))
    }

    /// The current length in bytes of the memory at `memdef`.
    fn memory_length(&mut self, memdef: Value) -> Value {
        let flags = self.vm_flags();
        self.b.ins().load(
            self.pointer,
            flags,
            memdef,
            self.offsets.memory_def_length() as i32,
        )
    }

    /// Pops the address operand of an access of `size` bytes; returns the native address and
    /// the offset to put in the load/store.
    fn heap_addr(&mut self, memarg: &MemArg, size: u32) -> Result<(Value, i32), CompileError> {
        let memory = match memarg.target {
            wasmparser::MemArgTarget::Memory(m) => m,
            wasmparser::MemArgTarget::Array(_) => {
                return Err(self.unsupported("GC array accesses"));
            }
        };
        let memdef = self.memory_def(memory)?;
        let index = self.pop()?;
        let index = self.b.ins().uextend(I64, index);
        let base_flags = if self.env.explicit_bounds_checks {
            self.vm_flags()
        } else {
            // With the guard-page reservation the memory never moves.
            self.vm_flags().with_readonly().with_can_move()
        };
        let base = self.b.ins().load(
            self.pointer,
            base_flags,
            memdef,
            self.offsets.memory_def_base() as i32,
        );
        let offset = memarg.offset;
        if offset > u64::from(u32::MAX) {
            return Err(self.unsupported("memory offsets beyond 4 GiB (memory64)"));
        }
        if self.env.explicit_bounds_checks {
            let len = self.memory_length(memdef);
            let end = self
                .b
                .ins()
                .iadd_imm_u(index, (offset + u64::from(size)) as i64);
            let oob = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
            self.b.ins().trapnz(oob, ir::TrapCode::HEAP_OUT_OF_BOUNDS);
        }
        let mut addr = self.b.ins().iadd(base, index);
        let imm = match i32::try_from(offset) {
            Ok(imm) => imm,
            Err(_) => {
                addr = self.b.ins().iadd_imm_u(addr, offset as i64);
                0
            }
        };
        Ok((addr, imm))
    }

    /// A load of `ty`, extended from a narrower access by `ext`, pushed.
    pub(super) fn load(&mut self, memarg: &MemArg, ty: Type, ext: Ext) -> Result<(), CompileError> {
        let v = self.load_value(memarg, ty, ext)?;
        self.stack.push(v);
        Ok(())
    }

    /// A load of `ty` (a scalar or a vector, lanes little-endian), extended from a narrower
    /// access by `ext`, at the popped address.
    pub(super) fn load_value(
        &mut self,
        memarg: &MemArg,
        ty: Type,
        ext: Ext,
    ) -> Result<Value, CompileError> {
        let size = match ext {
            Ext::None => ty.bytes(),
            Ext::S8 | Ext::U8 => 1,
            Ext::S16 | Ext::U16 => 2,
            Ext::S32 | Ext::U32 => 4,
        };
        let (addr, off) = self.heap_addr(memarg, size)?;
        let f = self.heap_flags();
        let ins = self.b.ins();
        let v = match ext {
            Ext::None => ins.load(ty, f, addr, off),
            Ext::S8 => ins.sload8(ty, f, addr, off),
            Ext::U8 => ins.uload8(ty, f, addr, off),
            Ext::S16 => ins.sload16(ty, f, addr, off),
            Ext::U16 => ins.uload16(ty, f, addr, off),
            Ext::S32 => ins.sload32(f, addr, off),
            Ext::U32 => ins.uload32(f, addr, off),
        };
        Ok(v)
    }

    /// A store of the popped value, truncated to `narrow` bits if given.
    pub(super) fn store(
        &mut self,
        memarg: &MemArg,
        narrow: Option<u8>,
    ) -> Result<(), CompileError> {
        let value = self.pop()?;
        self.store_value(memarg, value, narrow)
    }

    /// A store of `value` (truncated to `narrow` bits if given) at the popped address.
    pub(super) fn store_value(
        &mut self,
        memarg: &MemArg,
        value: Value,
        narrow: Option<u8>,
    ) -> Result<(), CompileError> {
        let size = match narrow {
            Some(bits) => u32::from(bits) / 8,
            None => self.b.func.dfg.value_type(value).bytes(),
        };
        let (addr, off) = self.heap_addr(memarg, size)?;
        let f = self.heap_flags();
        let ins = self.b.ins();
        match narrow {
            None => ins.store(f, value, addr, off),
            Some(8) => ins.istore8(f, value, addr, off),
            Some(16) => ins.istore16(f, value, addr, off),
            Some(_) => ins.istore32(f, value, addr, off),
        };
        Ok(())
    }

    /// `memory.size`: the length in 64 KiB pages.
    pub(super) fn memory_size(&mut self, mem: u32) -> Result<(), CompileError> {
        self.memory_ops.size = true;
        let memdef = self.memory_def(mem)?;
        let len = self.memory_length(memdef);
        let pages = self.b.ins().ushr_imm_u(len, 16);
        let v = self.b.ins().ireduce(I32, pages);
        self.stack.push(v);
        Ok(())
    }

    /// `memory.grow`, by the builtin.
    pub(super) fn memory_grow(&mut self, mem: u32) -> Result<(), CompileError> {
        self.memory_ops.grow = true;
        self.memory_def(mem)?;
        let delta = self.pop()?;
        let index = self.iconst32(0);
        let v = self.call_value(Builtin::memory_grow, &[self.vmctx, delta, index])?;
        self.stack.push(v);
        Ok(())
    }

    /// `memory.init`, by the builtin.
    pub(super) fn memory_init(&mut self, data_index: u32, mem: u32) -> Result<(), CompileError> {
        self.memory_def(mem)?;
        let (dst, src, len) = self.pop3()?;
        let m = self.iconst32(mem as i32);
        let seg = self.iconst32(data_index as i32);
        self.call_builtin(Builtin::memory_init, &[self.vmctx, m, seg, dst, src, len]);
        Ok(())
    }

    /// `data.drop`, by the builtin.
    pub(super) fn data_drop(&mut self, data_index: u32) -> Result<(), CompileError> {
        let seg = self.iconst32(data_index as i32);
        self.call_builtin(Builtin::data_drop, &[self.vmctx, seg]);
        Ok(())
    }

    /// `memory.copy`, by the builtin.
    pub(super) fn memory_copy(&mut self, dst_mem: u32, src_mem: u32) -> Result<(), CompileError> {
        self.memory_def(dst_mem)?;
        self.memory_def(src_mem)?;
        let (dst, src, len) = self.pop3()?;
        let dm = self.iconst32(dst_mem as i32);
        let sm = self.iconst32(src_mem as i32);
        self.call_builtin(Builtin::memory_copy, &[self.vmctx, dm, sm, dst, src, len]);
        Ok(())
    }

    /// `memory.fill`, by the builtin.
    pub(super) fn memory_fill(&mut self, mem: u32) -> Result<(), CompileError> {
        self.memory_def(mem)?;
        let (dst, value, len) = self.pop3()?;
        let m = self.iconst32(mem as i32);
        self.call_builtin(Builtin::memory_fill, &[self.vmctx, m, dst, value, len]);
        Ok(())
    }

    // ---- globals -------------------------------------------------------------------------

    /// The IR type, mutability and (constant) initialiser of global `index`.
    fn global(&self, index: u32) -> Result<(Type, bool, Option<ConstValue>), CompileError> {
        let g = self
            .env
            .module
            .globals
            .get(index as usize)
            .ok_or_else(|| self.internal("global index out of range"))?;
        let ty = self.value_type(g.val_type)?;
        Ok((ty, g.mutable, g.init))
    }

    /// The address of global `index`'s value.
    fn global_addr(&mut self, index: u32) -> Result<Value, CompileError> {
        let globals = self.vmctx_ptr(self.offsets.globals());
        let off = self.field_offset(0, index, self.offsets.pointer_size())?;
        Ok(self
            .b
            .ins()
            .load(self.pointer, Self::pure_flags(), globals, off))
    }

    /// `global.get`: an immutable global with a constant initialiser is the constant.
    pub(super) fn global_get(&mut self, index: u32) -> Result<(), CompileError> {
        let (ty, mutable, init) = self.global(index)?;
        let v = match (mutable, init) {
            (false, Some(ConstValue::I32(v))) => self.iconst32(v),
            (false, Some(ConstValue::I64(v))) => self.b.ins().iconst(I64, v),
            (false, Some(ConstValue::F32(v))) => self.b.ins().f32const(Ieee32::with_bits(v)),
            (false, Some(ConstValue::F64(v))) => self.b.ins().f64const(Ieee64::with_bits(v)),
            (false, Some(ConstValue::V128(v))) => self.v128_const(v),
            _ => {
                let addr = self.global_addr(index)?;
                let flags = if mutable {
                    MemFlagsData::trusted().with_alias_region(Some(self.regions.globals))
                } else {
                    Self::pure_flags()
                };
                let flags = if ty.is_vector() {
                    v128_flags(flags)
                } else {
                    flags
                };
                self.b.ins().load(ty, flags, addr, 0)
            }
        };
        self.stack.push(v);
        Ok(())
    }

    /// `global.set`.
    pub(super) fn global_set(&mut self, index: u32) -> Result<(), CompileError> {
        let value = self.pop()?;
        let addr = self.global_addr(index)?;
        let flags = MemFlagsData::trusted().with_alias_region(Some(self.regions.globals));
        let flags = if self.b.func.dfg.value_type(value).is_vector() {
            v128_flags(flags)
        } else {
            flags
        };
        self.b.ins().store(flags, value, addr, 0);
        Ok(())
    }

    // ---- tables --------------------------------------------------------------------------

    /// The definition (base and length) of table `table`.
    fn table_def(&mut self, table: u32) -> Result<Value, CompileError> {
        if table as usize >= self.env.module.tables.len() {
            return Err(self.internal("table index out of range"));
        }
        let tables = self.vmctx_ptr(self.offsets.tables());
        let off = self.field_offset(0, table, self.offsets.pointer_size())?;
        Ok(self
            .b
            .ins()
            .load(self.pointer, Self::pure_flags(), tables, off))
    }

    /// The current length in elements of the table at `def`.
    fn table_length(&mut self, def: Value) -> Value {
        let flags = self.vm_flags();
        self.b
            .ins()
            .load(I32, flags, def, self.offsets.table_def_length() as i32)
    }

    /// Address of element `index` of a table, trapping with `trap` when out of bounds.
    pub(super) fn table_elem_addr(
        &mut self,
        table: u32,
        index: Value,
        trap: TrapCode,
    ) -> Result<Value, CompileError> {
        let def = self.table_def(table)?;
        // A defined table whose maximum is its minimum never changes size, and the loader
        // never moves its elements (`Table::grow` cannot reallocate them): its length is a
        // constant and its base a never-changing field, so the optimizer keeps both out of
        // loops and across calls instead of reloading them at every access.
        let fixed_len = self
            .env
            .module
            .tables
            .get(table as usize)
            .filter(|t| !t.imported && t.max == Some(t.min))
            .map(|t| t.min);
        let len = match fixed_len {
            Some(len) => {
                let len = u32::try_from(len).map_err(|_| self.internal("table size over u32"))?;
                self.b.ins().iconst(I32, i64::from(len))
            }
            None => self.table_length(def),
        };
        let oob = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.b.ins().trapnz(oob, cl_trap(trap));
        let flags = if fixed_len.is_some() {
            Self::pure_flags()
        } else {
            self.vm_flags()
        };
        let base = self.b.ins().load(
            self.pointer,
            flags,
            def,
            self.offsets.table_def_base() as i32,
        );
        let index = self.b.ins().uextend(I64, index);
        let shift = self.offsets.pointer_size().trailing_zeros();
        let scaled = self.b.ins().ishl_imm_u(index, i64::from(shift));
        Ok(self.b.ins().iadd(base, scaled))
    }

    /// `ref.func`: an imported function's `vmctx.functions` entry; a defined function's
    /// `FuncRef` from the `ref_func` builtin (built on first use, not at instantiation).
    pub(super) fn ref_func(&mut self, function_index: u32) -> Result<(), CompileError> {
        let v = if self.env.module.is_imported_func(function_index) {
            let functions = self.vmctx_ptr(self.offsets.functions());
            let off = self.field_offset(0, function_index, self.offsets.func_ref_size())?;
            self.b.ins().iadd_imm_u(functions, i64::from(off))
        } else {
            let index = self.b.ins().iconst(I32, i64::from(function_index));
            self.call_value(Builtin::ref_func, &[self.vmctx, index])?
        };
        self.stack.push(v);
        Ok(())
    }

    /// `table.get`.
    pub(super) fn table_get(&mut self, table: u32) -> Result<(), CompileError> {
        let index = self.pop()?;
        let addr = self.table_elem_addr(table, index, TrapCode::TableOutOfBounds)?;
        let flags = self.table_flags();
        let v = self.b.ins().load(self.pointer, flags, addr, 0);
        self.stack.push(v);
        Ok(())
    }

    /// `table.set`.
    pub(super) fn table_set(&mut self, table: u32) -> Result<(), CompileError> {
        let value = self.pop()?;
        let index = self.pop()?;
        let addr = self.table_elem_addr(table, index, TrapCode::TableOutOfBounds)?;
        let flags = self.table_flags();
        self.b.ins().store(flags, value, addr, 0);
        Ok(())
    }

    /// `table.size`.
    pub(super) fn table_size(&mut self, table: u32) -> Result<(), CompileError> {
        let def = self.table_def(table)?;
        let v = self.table_length(def);
        self.stack.push(v);
        Ok(())
    }

    /// `table.grow`, by the builtin.
    pub(super) fn table_grow(&mut self, table: u32) -> Result<(), CompileError> {
        let delta = self.pop()?;
        let init = self.pop()?;
        let table = self.iconst32(table as i32);
        let v = self.call_value(Builtin::table_grow, &[self.vmctx, table, init, delta])?;
        self.stack.push(v);
        Ok(())
    }

    /// `table.fill`, by the builtin.
    pub(super) fn table_fill(&mut self, table: u32) -> Result<(), CompileError> {
        let len = self.pop()?;
        let value = self.pop()?;
        let dst = self.pop()?;
        let table = self.iconst32(table as i32);
        self.call_builtin(Builtin::table_fill, &[self.vmctx, table, dst, value, len]);
        Ok(())
    }

    /// `table.copy`, by the builtin.
    pub(super) fn table_copy(
        &mut self,
        dst_table: u32,
        src_table: u32,
    ) -> Result<(), CompileError> {
        let (dst, src, len) = self.pop3()?;
        let dt = self.iconst32(dst_table as i32);
        let st = self.iconst32(src_table as i32);
        self.call_builtin(Builtin::table_copy, &[self.vmctx, dt, st, dst, src, len]);
        Ok(())
    }

    /// `table.init`, by the builtin.
    pub(super) fn table_init(&mut self, elem_index: u32, table: u32) -> Result<(), CompileError> {
        let (dst, src, len) = self.pop3()?;
        let t = self.iconst32(table as i32);
        let seg = self.iconst32(elem_index as i32);
        self.call_builtin(Builtin::table_init, &[self.vmctx, t, seg, dst, src, len]);
        Ok(())
    }

    /// `elem.drop`, by the builtin.
    pub(super) fn elem_drop(&mut self, elem_index: u32) -> Result<(), CompileError> {
        let seg = self.iconst32(elem_index as i32);
        self.call_builtin(Builtin::elem_drop, &[self.vmctx, seg]);
        Ok(())
    }
}
