//! `Op`: the closed set of operations a node can perform, with typed attributes.
//!
//! Adding a variant makes the compiler list every place that must handle it: shape inference
//! (`infer.rs`), the gradient rule (rill-compiler) and the kernel (rill-runtime).

use crate::dtype::DType;
use crate::graph::NodeId;
use crate::shape::Shape;
use crate::value::Value;
use std::sync::Arc;

/// Elementwise functions of one argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    Neg,
    Abs,
    Sign,
    Square,
    Exp,
    Log,
    Sqrt,
    Rsqrt,
    Sin,
    Cos,
    Tanh,
    Sigmoid,
    Relu,
    LeakyRelu { alpha: f64 },
    Elu { alpha: f64 },
    Softplus,
    Log1p,
}

impl UnaryOp {
    /// Every unary op, with the usual attribute values (for tests that walk the op set).
    pub const ALL: [UnaryOp; 17] = [
        UnaryOp::Neg,
        UnaryOp::Abs,
        UnaryOp::Sign,
        UnaryOp::Square,
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Sqrt,
        UnaryOp::Rsqrt,
        UnaryOp::Sin,
        UnaryOp::Cos,
        UnaryOp::Tanh,
        UnaryOp::Sigmoid,
        UnaryOp::Relu,
        UnaryOp::LeakyRelu { alpha: 0.2 },
        UnaryOp::Elu { alpha: 1.0 },
        UnaryOp::Softplus,
        UnaryOp::Log1p,
    ];

    pub fn type_name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "Neg",
            UnaryOp::Abs => "Abs",
            UnaryOp::Sign => "Sign",
            UnaryOp::Square => "Square",
            UnaryOp::Exp => "Exp",
            UnaryOp::Log => "Log",
            UnaryOp::Sqrt => "Sqrt",
            UnaryOp::Rsqrt => "Rsqrt",
            UnaryOp::Sin => "Sin",
            UnaryOp::Cos => "Cos",
            UnaryOp::Tanh => "Tanh",
            UnaryOp::Sigmoid => "Sigmoid",
            UnaryOp::Relu => "Relu",
            UnaryOp::LeakyRelu { .. } => "LeakyRelu",
            UnaryOp::Elu { .. } => "Elu",
            UnaryOp::Softplus => "Softplus",
            UnaryOp::Log1p => "Log1p",
        }
    }

    /// Ops whose result depends on the element's position in its tensor: TF's Eigen kernels
    /// compute a tensor's last `len % lanes` elements in another (scalar) form for sigmoid,
    /// tanh, exp, log, log1p, sin and cos (sin and cos in f32 only: TF computes their f64
    /// forms in the scalar form throughout), and for softplus and elu over them. Fusion keeps
    /// such an op at its own shape.
    pub fn takes_tail_form(self) -> bool {
        matches!(
            self,
            UnaryOp::Sigmoid
                | UnaryOp::Tanh
                | UnaryOp::Exp
                | UnaryOp::Log
                | UnaryOp::Log1p
                | UnaryOp::Sin
                | UnaryOp::Cos
                | UnaryOp::Softplus
                | UnaryOp::Elu { .. }
        )
    }

    /// Ops defined on integers as well as floats.
    pub fn accepts_integers(self) -> bool {
        matches!(
            self,
            UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Sign | UnaryOp::Square
        )
    }
}

/// Elementwise functions of two arguments, with NumPy broadcasting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// True division on floats; floor division on integers (TF's `//`).
    Div,
    Pow,
    Maximum,
    Minimum,
}

impl BinaryOp {
    pub const ALL: [BinaryOp; 7] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Pow,
        BinaryOp::Maximum,
        BinaryOp::Minimum,
    ];

    pub fn type_name(self) -> &'static str {
        match self {
            BinaryOp::Add => "Add",
            BinaryOp::Sub => "Sub",
            BinaryOp::Mul => "Mul",
            BinaryOp::Div => "RealDiv",
            BinaryOp::Pow => "Pow",
            BinaryOp::Maximum => "Maximum",
            BinaryOp::Minimum => "Minimum",
        }
    }
}

/// Elementwise comparisons; the result is bool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
}

impl CompareOp {
    pub const ALL: [CompareOp; 6] = [
        CompareOp::Equal,
        CompareOp::NotEqual,
        CompareOp::Less,
        CompareOp::LessEqual,
        CompareOp::Greater,
        CompareOp::GreaterEqual,
    ];

    pub fn type_name(self) -> &'static str {
        match self {
            CompareOp::Equal => "Equal",
            CompareOp::NotEqual => "NotEqual",
            CompareOp::Less => "Less",
            CompareOp::LessEqual => "LessEqual",
            CompareOp::Greater => "Greater",
            CompareOp::GreaterEqual => "GreaterEqual",
        }
    }
}

/// Reductions over a set of axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    Sum,
    Mean,
    Max,
    Min,
}

impl ReduceOp {
    pub fn type_name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "Sum",
            ReduceOp::Mean => "Mean",
            ReduceOp::Max => "Max",
            ReduceOp::Min => "Min",
        }
    }
}

/// Distributions of the random ops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    Normal {
        mean: f64,
        stddev: f64,
    },
    /// Normal, with values beyond two standard deviations drawn again (TF's `truncated_normal`).
    TruncatedNormal {
        mean: f64,
        stddev: f64,
    },
    /// Uniform on `[min, max)`.
    Uniform {
        min: f64,
        max: f64,
    },
}

/// How an assign op combines the new value with the old.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssignMode {
    Set,
    Add,
    Sub,
}

/// An operation: what a node computes from its inputs.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A value fed at run time.
    Placeholder,
    /// A constant value, stored in the graph.
    Const(Arc<Value>),
    /// A variable's current value; the state lives in the session, at `slot`.
    Variable {
        slot: usize,
    },
    /// Writes its input into the variable `var` (a `Variable` node) and returns the new value.
    Assign {
        var: NodeId,
        mode: AssignMode,
    },
    /// Does nothing; runs its control inputs (`group`, the init op).
    NoOp,
    /// `num` evenly spaced values from `start` to `stop`, both included.
    LinSpace {
        start: f64,
        stop: f64,
        num: usize,
    },
    /// `start, start + delta, ...` up to but excluding `limit`.
    Range {
        start: f64,
        limit: f64,
        delta: f64,
    },
    /// Random values drawn anew at every run from a seeded stream: of the node's static shape,
    /// or, given an input, of the run-time shape that i64 vector holds.
    Random {
        distribution: Distribution,
        seed: u64,
    },
    Unary(UnaryOp),
    Binary(BinaryOp),
    Compare(CompareOp),
    /// `where(cond, x, y)`, broadcasting all three.
    Select,
    Cast {
        to: DType,
    },
    Identity,
    /// Identity forwards; no gradient flows back.
    StopGradient,
    /// Identity that fails the run if its input has a NaN or an infinity.
    CheckNumerics {
        message: String,
    },
    /// Matrix product of the last two axes; leading axes are batch axes and broadcast.
    MatMul {
        transpose_a: bool,
        transpose_b: bool,
    },
    /// Reduction over `axes` (sorted, distinct, non-negative).
    Reduce {
        op: ReduceOp,
        axes: Vec<usize>,
        keep_dims: bool,
    },
    /// Index of the largest element along `axis` (i64).
    ArgMax {
        axis: usize,
    },
    /// Index of the smallest element along `axis` (i64).
    ArgMin {
        axis: usize,
    },
    Softmax {
        axis: usize,
    },
    LogSoftmax {
        axis: usize,
    },
    /// Reshape to `shape`; at most one `-1`, inferred from the element count.
    Reshape {
        shape: Vec<i64>,
    },
    Transpose {
        perm: Vec<usize>,
    },
    ExpandDims {
        axis: usize,
    },
    /// Removes the given axes, each of size 1.
    Squeeze {
        axes: Vec<usize>,
    },
    Concat {
        axis: usize,
    },
    Stack {
        axis: usize,
    },
    /// `size[i] = None` takes the rest of axis `i`.
    Slice {
        begin: Vec<usize>,
        size: Vec<Option<usize>>,
    },
    /// Takes the slices of `params` at `indices` along `axis`: inputs `[params, indices]`.
    Gather {
        axis: usize,
    },
    /// One-hot encoding of integer indices along a new last axis.
    OneHot {
        depth: usize,
        on_value: f64,
        off_value: f64,
        dtype: DType,
    },
    /// The run-time shape of the input, as an i64 vector.
    ShapeOf,
    // The ops below take a run-time shape (an i64 vector, usually from `ShapeOf`) as their last
    // input, so gradients work when the batch size is known only at run time. `shape` is what
    // is known of it statically.
    /// Inputs `[x, shape]`: `x` broadcast to `shape`.
    BroadcastTo {
        shape: Shape,
    },
    /// Inputs `[x, shape]`: `x` summed down to `shape`, which it broadcasts from (undoes broadcasting).
    SumTo {
        shape: Shape,
    },
    /// Inputs `[x, shape]`: `x` reshaped to `shape`.
    ReshapeTo {
        shape: Shape,
    },
    /// Inputs `[grad, shape]`: `grad` placed at `begin` inside zeros of `shape` (gradient of Slice).
    SliceGrad {
        begin: Vec<usize>,
        shape: Shape,
    },
    /// Inputs `[grad, indices, shape]`: slices of `grad` added into zeros of `shape` at `indices`
    /// along `axis` (gradient of Gather).
    GatherGrad {
        axis: usize,
        shape: Shape,
    },
}

impl Op {
    /// The op's type name as TensorFlow spells it; the default node name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Op::Placeholder => "Placeholder",
            Op::Const(_) => "Const",
            Op::Variable { .. } => "Variable",
            Op::Assign { mode, .. } => match mode {
                AssignMode::Set => "Assign",
                AssignMode::Add => "AssignAdd",
                AssignMode::Sub => "AssignSub",
            },
            Op::NoOp => "NoOp",
            Op::LinSpace { .. } => "LinSpace",
            Op::Range { .. } => "Range",
            Op::Random { distribution, .. } => match distribution {
                Distribution::Normal { .. } => "RandomNormal",
                Distribution::TruncatedNormal { .. } => "TruncatedNormal",
                Distribution::Uniform { .. } => "RandomUniform",
            },
            Op::Unary(u) => u.type_name(),
            Op::Binary(b) => b.type_name(),
            Op::Compare(c) => c.type_name(),
            Op::Select => "Select",
            Op::Cast { .. } => "Cast",
            Op::Identity => "Identity",
            Op::StopGradient => "StopGradient",
            Op::CheckNumerics { .. } => "CheckNumerics",
            Op::MatMul { .. } => "MatMul",
            Op::Reduce { op, .. } => op.type_name(),
            Op::ArgMax { .. } => "ArgMax",
            Op::ArgMin { .. } => "ArgMin",
            Op::Softmax { .. } => "Softmax",
            Op::LogSoftmax { .. } => "LogSoftmax",
            Op::Reshape { .. } => "Reshape",
            Op::Transpose { .. } => "Transpose",
            Op::ExpandDims { .. } => "ExpandDims",
            Op::Squeeze { .. } => "Squeeze",
            Op::Concat { .. } => "ConcatV2",
            Op::Stack { .. } => "Pack",
            Op::Slice { .. } => "Slice",
            Op::Gather { .. } => "GatherV2",
            Op::OneHot { .. } => "OneHot",
            Op::ShapeOf => "Shape",
            Op::BroadcastTo { .. } => "BroadcastTo",
            Op::SumTo { .. } => "SumTo",
            Op::ReshapeTo { .. } => "ReshapeTo",
            Op::SliceGrad { .. } => "SliceGrad",
            Op::GatherGrad { .. } => "GatherGrad",
        }
    }

    /// Ops whose output depends on more than their inputs: never folded, merged or pruned as
    /// duplicates.
    pub fn is_stateful(&self) -> bool {
        matches!(
            self,
            Op::Placeholder
                | Op::Variable { .. }
                | Op::Assign { .. }
                | Op::Random { .. }
                | Op::NoOp
                | Op::CheckNumerics { .. }
        )
    }

    /// Ops that produce no value to fetch (only run for their effects).
    pub fn has_output(&self) -> bool {
        !matches!(self, Op::NoOp)
    }

    /// Elementwise ops: each output element depends on the same-index elements of the
    /// (broadcast) inputs only. These are the ops the fusion pass may merge.
    pub fn is_elementwise(&self) -> bool {
        matches!(
            self,
            Op::Unary(_)
                | Op::Binary(_)
                | Op::Compare(_)
                | Op::Select
                | Op::Cast { .. }
                | Op::Identity
        )
    }
}

/// Every name `Op::type_name` can return, once each. The registry test in `tests/ops` fails for
/// a name here without a forward test; the test below fails (or stops compiling) for an op
/// whose name is missing here.
pub const TYPE_NAMES: &[&str] = &[
    "Placeholder",
    "Const",
    "Variable",
    "Assign",
    "AssignAdd",
    "AssignSub",
    "NoOp",
    "LinSpace",
    "Range",
    "RandomNormal",
    "TruncatedNormal",
    "RandomUniform",
    // UnaryOp::ALL, in order.
    "Neg",
    "Abs",
    "Sign",
    "Square",
    "Exp",
    "Log",
    "Sqrt",
    "Rsqrt",
    "Sin",
    "Cos",
    "Tanh",
    "Sigmoid",
    "Relu",
    "LeakyRelu",
    "Elu",
    "Softplus",
    "Log1p",
    // BinaryOp::ALL, in order.
    "Add",
    "Sub",
    "Mul",
    "RealDiv",
    "Pow",
    "Maximum",
    "Minimum",
    // CompareOp::ALL, in order.
    "Equal",
    "NotEqual",
    "Less",
    "LessEqual",
    "Greater",
    "GreaterEqual",
    "Select",
    "Cast",
    "Identity",
    "StopGradient",
    "CheckNumerics",
    "MatMul",
    "Sum",
    "Mean",
    "Max",
    "Min",
    "ArgMax",
    "ArgMin",
    "Softmax",
    "LogSoftmax",
    "Reshape",
    "Transpose",
    "ExpandDims",
    "Squeeze",
    "ConcatV2",
    "Pack",
    "Slice",
    "GatherV2",
    "OneHot",
    "Shape",
    "BroadcastTo",
    "SumTo",
    "ReshapeTo",
    "SliceGrad",
    "GatherGrad",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The position of `op`'s type name in `TYPE_NAMES`. The matches have no wildcard arm, so a
    /// new variant (of `Op` or of any enum inside it that changes the type name) does not
    /// compile until it gets a position here; `type_names_cover_every_op` then fails until the
    /// name is in `TYPE_NAMES` and `examples` builds the variant.
    fn type_index(op: &Op) -> usize {
        let unary = |u: &UnaryOp| match u {
            UnaryOp::Neg => 0,
            UnaryOp::Abs => 1,
            UnaryOp::Sign => 2,
            UnaryOp::Square => 3,
            UnaryOp::Exp => 4,
            UnaryOp::Log => 5,
            UnaryOp::Sqrt => 6,
            UnaryOp::Rsqrt => 7,
            UnaryOp::Sin => 8,
            UnaryOp::Cos => 9,
            UnaryOp::Tanh => 10,
            UnaryOp::Sigmoid => 11,
            UnaryOp::Relu => 12,
            UnaryOp::LeakyRelu { .. } => 13,
            UnaryOp::Elu { .. } => 14,
            UnaryOp::Softplus => 15,
            UnaryOp::Log1p => 16,
        };
        let binary = |b: &BinaryOp| match b {
            BinaryOp::Add => 0,
            BinaryOp::Sub => 1,
            BinaryOp::Mul => 2,
            BinaryOp::Div => 3,
            BinaryOp::Pow => 4,
            BinaryOp::Maximum => 5,
            BinaryOp::Minimum => 6,
        };
        let compare = |c: &CompareOp| match c {
            CompareOp::Equal => 0,
            CompareOp::NotEqual => 1,
            CompareOp::Less => 2,
            CompareOp::LessEqual => 3,
            CompareOp::Greater => 4,
            CompareOp::GreaterEqual => 5,
        };
        match op {
            Op::Placeholder => 0,
            Op::Const(_) => 1,
            Op::Variable { .. } => 2,
            Op::Assign { mode, .. } => match mode {
                AssignMode::Set => 3,
                AssignMode::Add => 4,
                AssignMode::Sub => 5,
            },
            Op::NoOp => 6,
            Op::LinSpace { .. } => 7,
            Op::Range { .. } => 8,
            Op::Random { distribution, .. } => match distribution {
                Distribution::Normal { .. } => 9,
                Distribution::TruncatedNormal { .. } => 10,
                Distribution::Uniform { .. } => 11,
            },
            Op::Unary(u) => 12 + unary(u),
            Op::Binary(b) => 29 + binary(b),
            Op::Compare(c) => 36 + compare(c),
            Op::Select => 42,
            Op::Cast { .. } => 43,
            Op::Identity => 44,
            Op::StopGradient => 45,
            Op::CheckNumerics { .. } => 46,
            Op::MatMul { .. } => 47,
            Op::Reduce { op, .. } => match op {
                ReduceOp::Sum => 48,
                ReduceOp::Mean => 49,
                ReduceOp::Max => 50,
                ReduceOp::Min => 51,
            },
            Op::ArgMax { .. } => 52,
            Op::ArgMin { .. } => 53,
            Op::Softmax { .. } => 54,
            Op::LogSoftmax { .. } => 55,
            Op::Reshape { .. } => 56,
            Op::Transpose { .. } => 57,
            Op::ExpandDims { .. } => 58,
            Op::Squeeze { .. } => 59,
            Op::Concat { .. } => 60,
            Op::Stack { .. } => 61,
            Op::Slice { .. } => 62,
            Op::Gather { .. } => 63,
            Op::OneHot { .. } => 64,
            Op::ShapeOf => 65,
            Op::BroadcastTo { .. } => 66,
            Op::SumTo { .. } => 67,
            Op::ReshapeTo { .. } => 68,
            Op::SliceGrad { .. } => 69,
            Op::GatherGrad { .. } => 70,
        }
    }

    /// One op of every kind (every variant, every sub-kind with its own type name).
    fn examples() -> Vec<Op> {
        let shape = Shape::known(&[2]);
        let mut ops = vec![
            Op::Placeholder,
            Op::Const(Arc::new(Value::scalar(1.0f32))),
            Op::Variable { slot: 0 },
            Op::Assign {
                var: NodeId(0),
                mode: AssignMode::Set,
            },
            Op::Assign {
                var: NodeId(0),
                mode: AssignMode::Add,
            },
            Op::Assign {
                var: NodeId(0),
                mode: AssignMode::Sub,
            },
            Op::NoOp,
            Op::LinSpace {
                start: 0.0,
                stop: 1.0,
                num: 2,
            },
            Op::Range {
                start: 0.0,
                limit: 1.0,
                delta: 1.0,
            },
            Op::Random {
                distribution: Distribution::Normal {
                    mean: 0.0,
                    stddev: 1.0,
                },
                seed: 0,
            },
            Op::Random {
                distribution: Distribution::TruncatedNormal {
                    mean: 0.0,
                    stddev: 1.0,
                },
                seed: 0,
            },
            Op::Random {
                distribution: Distribution::Uniform { min: 0.0, max: 1.0 },
                seed: 0,
            },
        ];
        ops.extend(UnaryOp::ALL.iter().map(|&u| Op::Unary(u)));
        ops.extend(BinaryOp::ALL.iter().map(|&b| Op::Binary(b)));
        ops.extend(CompareOp::ALL.iter().map(|&c| Op::Compare(c)));
        ops.extend([
            Op::Select,
            Op::Cast { to: DType::F32 },
            Op::Identity,
            Op::StopGradient,
            Op::CheckNumerics {
                message: String::new(),
            },
            Op::MatMul {
                transpose_a: false,
                transpose_b: false,
            },
        ]);
        for op in [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min] {
            ops.push(Op::Reduce {
                op,
                axes: vec![0],
                keep_dims: false,
            });
        }
        ops.extend([
            Op::ArgMax { axis: 0 },
            Op::ArgMin { axis: 0 },
            Op::Softmax { axis: 0 },
            Op::LogSoftmax { axis: 0 },
            Op::Reshape { shape: vec![-1] },
            Op::Transpose { perm: vec![0] },
            Op::ExpandDims { axis: 0 },
            Op::Squeeze { axes: vec![0] },
            Op::Concat { axis: 0 },
            Op::Stack { axis: 0 },
            Op::Slice {
                begin: vec![0],
                size: vec![None],
            },
            Op::Gather { axis: 0 },
            Op::OneHot {
                depth: 2,
                on_value: 1.0,
                off_value: 0.0,
                dtype: DType::F32,
            },
            Op::ShapeOf,
            Op::BroadcastTo {
                shape: shape.clone(),
            },
            Op::SumTo {
                shape: shape.clone(),
            },
            Op::ReshapeTo {
                shape: shape.clone(),
            },
            Op::SliceGrad {
                begin: vec![0],
                shape: shape.clone(),
            },
            Op::GatherGrad { axis: 0, shape },
        ]);
        ops
    }

    #[test]
    fn type_names_cover_every_op() {
        let mut hit = vec![false; TYPE_NAMES.len()];
        for op in examples() {
            let i = type_index(&op);
            assert!(
                i < TYPE_NAMES.len(),
                "{op:?} has position {i}, past the end of TYPE_NAMES"
            );
            assert_eq!(
                TYPE_NAMES[i],
                op.type_name(),
                "TYPE_NAMES[{i}] should be {op:?}'s name"
            );
            hit[i] = true;
        }
        let missing: Vec<_> = TYPE_NAMES
            .iter()
            .zip(&hit)
            .filter(|(_, &h)| !h)
            .map(|(n, _)| *n)
            .collect();
        assert!(
            missing.is_empty(),
            "no example op builds {missing:?}: add one to `examples`"
        );
        let mut sorted = TYPE_NAMES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            TYPE_NAMES.len(),
            "TYPE_NAMES lists a name twice"
        );
    }

    #[test]
    fn sub_enum_lists_are_complete() {
        // `ALL` arrays are what tests walk; each must list distinct kinds.
        let names = |it: &mut dyn Iterator<Item = &'static str>| {
            let mut v: Vec<_> = it.collect();
            v.sort_unstable();
            v.dedup();
            v.len()
        };
        assert_eq!(
            names(&mut UnaryOp::ALL.iter().map(|u| u.type_name())),
            UnaryOp::ALL.len()
        );
        assert_eq!(
            names(&mut BinaryOp::ALL.iter().map(|b| b.type_name())),
            BinaryOp::ALL.len()
        );
        assert_eq!(
            names(&mut CompareOp::ALL.iter().map(|c| c.type_name())),
            CompareOp::ALL.len()
        );
    }
}
