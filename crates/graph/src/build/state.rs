//! Variables and their initializers, assign ops, identity / stop_gradient / check_numerics, group.

use crate::dtype::DType;
use crate::error::Result;
use crate::graph::Graph;
use crate::init::Initializer;
use crate::op::{AssignMode, Op};
use crate::tensor::{ok, Tensor};
use std::panic::Location;

impl Graph {
    /// A variable named `name` whose initial value is `initial` (any tensor: a constant, a
    /// random op). Its shape and dtype are `initial`'s. It holds no value until its initializer
    /// (`name/Assign`, part of `global_variables_initializer`) runs.
    #[track_caller]
    pub fn try_variable<'g>(&'g self, initial: Tensor<'g>, name: &str) -> Result<Tensor<'g>> {
        let meta = (initial.dtype(), initial.shape());
        self.new_variable(meta, name, Location::caller(), || Ok(initial))
    }

    #[track_caller]
    pub fn variable<'g>(&'g self, initial: Tensor<'g>, name: &str) -> Tensor<'g> {
        ok(self.try_variable(initial, name))
    }

    /// A variable of `shape` and `dtype` initialised by one of Keras's initializers, whose ops
    /// are built in the variable's scope (`name/RandomUniform`).
    #[track_caller]
    pub fn try_variable_init(
        &self,
        shape: &[usize],
        dtype: DType,
        init: Initializer,
        name: &str,
    ) -> Result<Tensor<'_>> {
        let meta = (dtype, crate::shape::Shape::known(shape));
        self.new_variable(meta, name, Location::caller(), || {
            init.build(self, shape, dtype)
        })
    }

    #[track_caller]
    pub fn variable_init(
        &self,
        shape: &[usize],
        dtype: DType,
        init: Initializer,
        name: &str,
    ) -> Tensor<'_> {
        ok(self.try_variable_init(shape, dtype, init, name))
    }

    /// Adds the variable node, registers it, then builds its initial value and initializer in
    /// the variable's own scope.
    fn new_variable<'g>(
        &'g self,
        meta: (DType, crate::shape::Shape),
        name: &str,
        location: crate::error::BuildLocation,
        initial: impl FnOnce() -> Result<Tensor<'g>>,
    ) -> Result<Tensor<'g>> {
        let var = {
            let slot = self.read().variables.len();
            let var =
                self.add_node(Op::Variable { slot }, &[], Some(name), Some(meta), location)?;
            let mut s = self.write();
            s.variables.push(var.node_id());
            s.trainable.push(true);
            s.initializers.push(None);
            var
        };
        let Op::Variable { slot } = var.op() else {
            unreachable!("just built")
        };
        let assign = self.in_exact_scope(&var.op_name(), || {
            let value = initial()?;
            let op = Op::Assign {
                var: var.node_id(),
                mode: AssignMode::Set,
            };
            self.add_node(op, &[value], None, None, location)
        })?;
        self.write().initializers[slot] = Some(assign.node_id());
        Ok(var)
    }

    /// A no-op that runs after `ops` (TF's `group`): run it as a target to run them all.
    #[track_caller]
    pub fn try_group<'g>(&'g self, ops: &[Tensor<'g>], name: &str) -> Result<Tensor<'g>> {
        let op = self.add_node(Op::NoOp, &[], Some(name), None, Location::caller())?;
        let deps: Vec<_> = ops.iter().map(|t| t.node_id()).collect();
        self.add_control_inputs(op.node_id(), &deps);
        Ok(op)
    }

    #[track_caller]
    pub fn group<'g>(&'g self, ops: &[Tensor<'g>], name: &str) -> Tensor<'g> {
        ok(self.try_group(ops, name))
    }

    /// An op that does nothing (a target for control dependencies).
    #[track_caller]
    pub fn no_op(&self) -> Tensor<'_> {
        ok(self.try_group(&[], "NoOp"))
    }

    /// The op that runs every variable's initializer: `init`.
    #[track_caller]
    pub fn global_variables_initializer(&self) -> Tensor<'_> {
        let inits = self.read().initializers.clone();
        let ops: Vec<Tensor<'_>> = inits
            .into_iter()
            .flatten()
            .map(|id| Tensor::new(self, id))
            .collect();
        self.group(&ops, "init")
    }

    /// The op that runs the initializers of the given variables.
    #[track_caller]
    pub fn variables_initializer<'g>(&'g self, vars: &[Tensor<'g>]) -> Tensor<'g> {
        let s = self.read();
        let ops: Vec<Tensor<'g>> = vars
            .iter()
            .filter_map(|v| match s.nodes[v.node_id().index()].op {
                Op::Variable { slot } => s.initializers[slot].map(|id| Tensor::new(self, id)),
                _ => None,
            })
            .collect();
        drop(s);
        self.group(&ops, "init")
    }
}

impl<'g> Tensor<'g> {
    #[track_caller]
    fn assign_with(self, value: Tensor<'g>, mode: AssignMode) -> Result<Tensor<'g>> {
        let op = Op::Assign {
            var: self.node_id(),
            mode,
        };
        if !matches!(self.op(), Op::Variable { .. }) {
            let message = format!(
                "'{}' is not a variable; only variables can be assigned",
                self.op_name()
            );
            return Err(self.graph().invalid_op(
                &op,
                None,
                &[self, value],
                message,
                Location::caller(),
            ));
        }
        value.apply(op, &[])
    }

    /// Stores `value` in this variable when run; the op's output is the new value.
    #[track_caller]
    pub fn try_assign(self, value: Tensor<'g>) -> Result<Tensor<'g>> {
        self.assign_with(value, AssignMode::Set)
    }

    #[track_caller]
    pub fn assign(self, value: Tensor<'g>) -> Tensor<'g> {
        ok(self.try_assign(value))
    }

    /// Adds `value` to this variable when run; the op's output is the new value.
    #[track_caller]
    pub fn try_assign_add(self, value: Tensor<'g>) -> Result<Tensor<'g>> {
        self.assign_with(value, AssignMode::Add)
    }

    #[track_caller]
    pub fn assign_add(self, value: Tensor<'g>) -> Tensor<'g> {
        ok(self.try_assign_add(value))
    }

    /// Subtracts `value` from this variable when run; the op's output is the new value.
    #[track_caller]
    pub fn try_assign_sub(self, value: Tensor<'g>) -> Result<Tensor<'g>> {
        self.assign_with(value, AssignMode::Sub)
    }

    #[track_caller]
    pub fn assign_sub(self, value: Tensor<'g>) -> Tensor<'g> {
        ok(self.try_assign_sub(value))
    }

    #[track_caller]
    pub fn try_identity(self) -> Result<Tensor<'g>> {
        self.apply(Op::Identity, &[])
    }

    /// The same value under a new node (useful as a named fetch point).
    #[track_caller]
    pub fn identity(self) -> Tensor<'g> {
        ok(self.try_identity())
    }

    #[track_caller]
    pub fn try_stop_gradient(self) -> Result<Tensor<'g>> {
        self.apply(Op::StopGradient, &[])
    }

    /// The same value, through which no gradient flows.
    #[track_caller]
    pub fn stop_gradient(self) -> Tensor<'g> {
        ok(self.try_stop_gradient())
    }

    #[track_caller]
    pub fn try_check_numerics(self, message: &str) -> Result<Tensor<'g>> {
        self.apply(
            Op::CheckNumerics {
                message: message.to_string(),
            },
            &[],
        )
    }

    /// The same value; the run fails with `message` if it holds a NaN or an infinity.
    #[track_caller]
    pub fn check_numerics(self, message: &str) -> Tensor<'g> {
        ok(self.try_check_numerics(message))
    }
}
