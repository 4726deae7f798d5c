//! Structured control flow: the control stack's frames, `block`, `loop`, `if`/`else`/`end`,
//! branches (`br`, `br_if`, `br_table`, `return`) and the skipping of unreachable code.

use aotc_abi::ValType;
use cranelift_codegen::entity::packed_option::ReservedValue;
use cranelift_codegen::ir::{Block, BlockArg, InstBuilder, JumpTableData, Type, Value};
use wasmparser::{BlockType, BrTable, Operator};

use super::{Translator, internal};
use crate::CompileError;
use crate::module_env;

/// A control construct being translated.
pub(super) struct Frame {
    pub(super) kind: FrameKind,
    /// The block following the construct (its results are the block's parameters).
    pub(super) dest: Block,
    pub(super) num_params: usize,
    pub(super) num_results: usize,
    /// Operand stack height below the construct's parameters.
    pub(super) stack_base: usize,
    /// Whether any branch or fallthrough reaches `dest`.
    pub(super) dest_reached: bool,
}

impl Frame {
    /// A frame for a construct none of whose branches has been seen yet.
    pub(super) fn new(
        kind: FrameKind,
        dest: Block,
        num_params: usize,
        num_results: usize,
        stack_base: usize,
    ) -> Frame {
        Frame {
            kind,
            dest,
            num_params,
            num_results,
            stack_base,
            dest_reached: false,
        }
    }
}

/// What kind of construct a [`Frame`] is.
pub(super) enum FrameKind {
    Block,
    Loop {
        header: Block,
    },
    If {
        else_block: Block,
        /// The parameters, passed again to the `else` arm (and through, when there is none).
        params: Vec<Value>,
        else_seen: bool,
    },
    /// A construct inside unreachable code: nothing is emitted for it.
    Dummy,
}

impl Translator<'_, '_> {
    /// `block`: a construct whose end is the branch target.
    pub(super) fn block(&mut self, blockty: BlockType) -> Result<(), CompileError> {
        let (params, results) = self.block_type(blockty)?;
        let dest = self.new_block(&results);
        let stack_base = self.stack_base(params.len())?;
        self.control.push(Frame::new(
            FrameKind::Block,
            dest,
            params.len(),
            results.len(),
            stack_base,
        ));
        Ok(())
    }

    /// `loop`: a construct whose header is the branch target.
    pub(super) fn loop_(&mut self, blockty: BlockType) -> Result<(), CompileError> {
        let (params, results) = self.block_type(blockty)?;
        let header = self.new_block(&params);
        let dest = self.new_block(&results);
        let args = self.popn(params.len())?;
        self.jump(header, &args);
        self.b.switch_to_block(header);
        let stack_base = self.stack.len();
        let header_params = self.b.block_params(header).to_vec();
        self.stack.extend(header_params);
        self.control.push(Frame::new(
            FrameKind::Loop { header },
            dest,
            params.len(),
            results.len(),
            stack_base,
        ));
        Ok(())
    }

    /// `if`: branches to the `then` arm or the `else` block on the popped condition.
    pub(super) fn if_(&mut self, blockty: BlockType) -> Result<(), CompileError> {
        let cond = self.pop()?;
        let (params, results) = self.block_type(blockty)?;
        let then_block = self.b.create_block();
        let else_block = self.b.create_block();
        let dest = self.new_block(&results);
        self.b.ins().brif(cond, then_block, &[], else_block, &[]);
        self.b.seal_block(then_block);
        self.b.seal_block(else_block);
        self.b.switch_to_block(then_block);
        let saved = self.peekn(params.len())?;
        let stack_base = self.stack_base(params.len())?;
        let kind = FrameKind::If {
            else_block,
            params: saved,
            else_seen: false,
        };
        self.control.push(Frame::new(
            kind,
            dest,
            params.len(),
            results.len(),
            stack_base,
        ));
        Ok(())
    }

    /// `br`.
    pub(super) fn br(&mut self, relative_depth: u32) -> Result<(), CompileError> {
        let (block, n) = self.branch_target(relative_depth)?;
        let args = self.popn(n)?;
        self.jump(block, &args);
        self.reachable = false;
        Ok(())
    }

    /// `br_if`: branches when the popped condition holds, else continues in a new block.
    pub(super) fn br_if(&mut self, relative_depth: u32) -> Result<(), CompileError> {
        let cond = self.pop()?;
        let (block, n) = self.branch_target(relative_depth)?;
        let args: Vec<BlockArg> = self.peekn(n)?.into_iter().map(BlockArg::Value).collect();
        let next = self.b.create_block();
        self.b.ins().brif(cond, block, &args, next, &[]);
        self.b.seal_block(next);
        self.b.switch_to_block(next);
        Ok(())
    }

    /// `br_table`: one jump table over the target depths.
    pub(super) fn br_table(&mut self, targets: BrTable<'_>) -> Result<(), CompileError> {
        let index = self.pop()?;
        let mut depths = Vec::with_capacity(targets.len() as usize);
        for depth in targets.targets() {
            depths.push(depth?);
        }
        let (default, n) = self.branch_target(targets.default())?;
        let args: Vec<BlockArg> = self.peekn(n)?.into_iter().map(BlockArg::Value).collect();
        let mut calls = Vec::with_capacity(depths.len());
        for depth in depths {
            let (block, _) = self.branch_target(depth)?;
            calls.push(self.b.func.dfg.block_call(block, &args));
        }
        let default = self.b.func.dfg.block_call(default, &args);
        let jt = self
            .b
            .create_jump_table(JumpTableData::new(default, &calls));
        self.b.ins().br_table(index, jt);
        self.popn(n)?;
        self.reachable = false;
        Ok(())
    }

    /// `return`.
    pub(super) fn return_(&mut self) -> Result<(), CompileError> {
        let rets = self.popn(self.num_results)?;
        self.b.ins().return_(&rets);
        self.reachable = false;
        Ok(())
    }

    /// A new block with parameters of types `params`.
    pub(super) fn new_block(&mut self, params: &[Type]) -> Block {
        let block = self.b.create_block();
        for &ty in params {
            self.b.append_block_param(block, ty);
        }
        block
    }

    /// Jumps to `block` with `args`.
    pub(super) fn jump(&mut self, block: Block, args: &[Value]) {
        let args: Vec<BlockArg> = args.iter().map(|&v| BlockArg::Value(v)).collect();
        self.b.ins().jump(block, &args);
    }

    /// Jumps to `dest` with `value` when `cond` holds; continues in a new block otherwise.
    pub(super) fn branch_out(&mut self, cond: Value, dest: Block, value: Value) {
        let next = self.b.create_block();
        self.b
            .ins()
            .brif(cond, dest, &[BlockArg::Value(value)], next, &[]);
        self.b.seal_block(next);
        self.b.switch_to_block(next);
    }

    /// The parameter and result types of a block type.
    fn block_type(&self, bt: BlockType) -> Result<(Vec<Type>, Vec<Type>), CompileError> {
        let conv = |ts: &[ValType]| -> Result<Vec<Type>, CompileError> {
            ts.iter().map(|t| self.value_type(*t)).collect()
        };
        match bt {
            BlockType::Empty => Ok((Vec::new(), Vec::new())),
            BlockType::Type(vt) => {
                let vt = module_env::val_type(vt, self.offset)?;
                Ok((Vec::new(), conv(&[vt])?))
            }
            BlockType::FuncType(index) => {
                let ty = self.func_type(index)?;
                Ok((conv(&ty.params)?, conv(&ty.results)?))
            }
        }
    }

    /// The block a branch to `depth` jumps to, and how many values it passes.
    fn branch_target(&mut self, depth: u32) -> Result<(Block, usize), CompileError> {
        let i = self
            .control
            .len()
            .checked_sub(1 + depth as usize)
            .ok_or_else(|| self.internal("branch depth out of range"))?;
        let frame = &mut self.control[i];
        match frame.kind {
            FrameKind::Loop { header } => Ok((header, frame.num_params)),
            FrameKind::Dummy => Err(internal("branch into unreachable code", self.offset)),
            FrameKind::Block | FrameKind::If { .. } => {
                frame.dest_reached = true;
                Ok((frame.dest, frame.num_results))
            }
        }
    }

    /// An operator in unreachable code: only the nesting of constructs is tracked, so the
    /// `end` (or `else`) that makes code reachable again is found.
    pub(super) fn unreachable_operator(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                let base = self.stack.len();
                let frame = Frame::new(FrameKind::Dummy, Block::reserved_value(), 0, 0, base);
                self.control.push(frame);
                Ok(())
            }
            Operator::Else => self.else_(),
            Operator::End => self.end(),
            _ => Ok(()),
        }
    }

    /// `else`: ends the `then` arm and starts the `else` block with the saved parameters.
    pub(super) fn else_(&mut self) -> Result<(), CompileError> {
        let reachable = self.reachable;
        let offset = self.offset;
        let frame = self
            .control
            .last_mut()
            .ok_or_else(|| internal("else outside a block", offset))?;
        let (else_block, params) = match &mut frame.kind {
            FrameKind::Dummy => return Ok(()),
            FrameKind::If {
                else_block,
                params,
                else_seen,
            } => {
                *else_seen = true;
                (*else_block, std::mem::take(params))
            }
            _ => return Err(internal("else without if", offset)),
        };
        if reachable {
            frame.dest_reached = true;
        }
        let (dest, num_results, base) = (frame.dest, frame.num_results, frame.stack_base);
        if reachable {
            let args = self.peekn(num_results)?;
            self.jump(dest, &args);
        }
        self.stack.truncate(base);
        self.stack.extend(params);
        self.b.switch_to_block(else_block);
        self.reachable = true;
        Ok(())
    }

    /// `end`: closes the innermost construct and continues after it (if anything reaches it).
    pub(super) fn end(&mut self) -> Result<(), CompileError> {
        let frame = self
            .control
            .pop()
            .ok_or_else(|| self.internal("end outside a block"))?;
        if let FrameKind::Dummy = frame.kind {
            return Ok(());
        }
        let mut reached = frame.dest_reached;
        if self.reachable {
            let args = self.peekn(frame.num_results)?;
            self.jump(frame.dest, &args);
            reached = true;
        }
        match frame.kind {
            FrameKind::If {
                else_block,
                params,
                else_seen: false,
            } => {
                // No else arm: the parameters pass through (validation makes them the results).
                self.b.switch_to_block(else_block);
                self.jump(frame.dest, &params);
                reached = true;
            }
            FrameKind::Loop { header } => self.b.seal_block(header),
            _ => {}
        }
        self.stack.truncate(frame.stack_base);
        if reached {
            self.b.switch_to_block(frame.dest);
            self.b.seal_block(frame.dest);
            let params = self.b.block_params(frame.dest).to_vec();
            self.stack.extend(params);
            self.reachable = true;
        } else {
            self.reachable = false;
        }
        if self.control.is_empty() && self.reachable {
            // The end of the function body returns.
            self.return_()?;
        }
        Ok(())
    }
}
