//! Kernels: the computation of each pure op on concrete values, dtype dispatched once per op.

mod accumulate;
pub mod array;
mod eigen;
pub mod elementwise;
pub mod fused;
pub mod matmul;
mod narrow;
pub mod random;
pub mod reduce;
pub mod scalar;
mod sgemm;
pub mod slices;

use ndarray::{ArrayD, Dimension, IxDyn};
use rill_graph::{Element, Op, Value};

/// A kernel's result; the message is wrapped with the node's name, op, shapes and line.
pub type KResult = Result<Value, String>;

/// Storage a kernel may write its output into: the value its step's buffer last held (memory
/// planning gives steps buffers; the executor hands the dead occupant over), or nothing.
#[derive(Default)]
pub struct OutBuf(Option<Value>);

impl OutBuf {
    pub fn new(old: Option<Value>) -> OutBuf {
        OutBuf(old)
    }

    /// An empty vector with room for `n` elements: the old storage when it held `T`s and is
    /// big enough or can grow, else a new allocation.
    pub fn vec<T: Element>(&mut self, n: usize) -> Vec<T> {
        let mut v = match self.0.take().map(T::unwrap) {
            Some(Ok(a)) => {
                let (mut v, _) = a.into_raw_vec_and_offset();
                v.clear();
                v
            }
            _ => Vec::new(),
        };
        v.reserve_exact(n);
        v
    }

    /// `n` copies of `fill` in the old storage (for kernels that accumulate into their output).
    pub fn filled<T: Element>(&mut self, n: usize, fill: T) -> Vec<T> {
        let mut v = self.vec(n);
        v.resize(n, fill);
        v
    }
}

/// Whether any step of `plan` is big enough to split over a thread pool (as the kernels decide
/// at run time; unknown sizes count as big). Such plans run inside the pool, so the pool's
/// threads never spin beside the thread that runs the small steps.
pub fn uses_pool(plan: &rill_compiler::Plan) -> bool {
    use rill_compiler::passes::{fusion::Head, memory::work};
    let shapes = plan.slot_shapes();
    plan.steps.iter().any(|step| {
        let matmul = matches!(step.op, Op::MatMul { .. })
            || matches!(
                step.fused.as_ref().and_then(|p| p.head),
                Some(Head::MatMul { .. })
            );
        let limit = if matmul {
            matmul::PARALLEL_FLOPS
        } else if step.fused.is_some() {
            fused::PARALLEL_ELEMENTS
        } else {
            return false;
        };
        work(step, &shapes).is_none_or(|w| w >= limit)
    })
}

/// Whether the CPU has AVX2 and FMA (asked once): kernels then run loops built for them.
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx2() -> bool {
    use std::sync::OnceLock;
    static AVX2: OnceLock<bool> = OnceLock::new();
    *AVX2.get_or_init(|| {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    })
}

/// Whether the CPU has AVX-512F (asked once): the f32 product then runs its wider kernel.
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx512() -> bool {
    use std::sync::OnceLock;
    static AVX512: OnceLock<bool> = OnceLock::new();
    *AVX512.get_or_init(|| has_avx2() && std::arch::is_x86_feature_detected!("avx512f"))
}

/// A thread's kept storage for kernels (`with_room`): buffers not in use right now.
pub(crate) type Rooms<T> = std::cell::RefCell<Vec<Vec<T>>>;

/// Runs `f` with `len` elements of a buffer from `rooms`, a thread's storage kept between calls
/// (and grown as needed), so a kernel that needs room allocates nothing once warm. A nested call
/// (a thread that steals a second product's task while it waits inside the first) takes another
/// buffer, kept too: the first nesting allocates, the ones after it do not.
pub(crate) fn with_room<T: Copy + Default, R>(
    rooms: &'static std::thread::LocalKey<Rooms<T>>,
    len: usize,
    f: impl FnOnce(&mut [T]) -> R,
) -> R {
    let mut room = rooms
        .with(|free| free.borrow_mut().pop())
        .unwrap_or_default();
    if room.len() < len {
        room.resize(len, T::default());
    }
    let result = f(&mut room[..len]);
    rooms.with(|free| free.borrow_mut().push(room));
    result
}

/// An array of `shape` over `data` in standard order. Kernels size their outputs to their
/// shapes; a mismatch is a bug and panics.
pub(crate) fn array<T>(shape: &[usize], data: Vec<T>) -> ArrayD<T> {
    array_of(IxDyn(shape), data)
}

/// `array` with the dimension already built (an input's `raw_dim()`), skipping ndarray's
/// general layout checks, which dominate the cost of small kernels.
pub(crate) fn array_of<T>(dim: IxDyn, data: Vec<T>) -> ArrayD<T> {
    // The product without overflow, and (as ndarray requires) at most isize::MAX.
    let size = dim
        .slice()
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize);
    assert_eq!(
        size,
        Some(data.len()),
        "a kernel's output has the element count of its shape"
    );
    // SAFETY: default (standard-order) strides over exactly `data.len()` elements, the shape's
    // product (checked without overflow just above, and within isize::MAX), always index
    // inside `data`.
    unsafe { ArrayD::from_shape_vec_unchecked(dim, data) }
}

/// The element count of a shape, or the error a kernel reports when it overflows.
pub(crate) fn element_count(shape: &[usize]) -> Result<usize, String> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(|| format!("a tensor of shape {shape:?} has too many elements"))
}

/// Computes a pure op (no state, no effects) from its inputs.
/// `static_dims` are the node's static dimensions where the op needs them (random, sequences).
pub fn compute(
    op: &Op,
    inputs: &[&Value],
    node_shape: &rill_graph::Shape,
    dtype: rill_graph::DType,
    parallel: &crate::parallel::Parallel,
    out: &mut OutBuf,
) -> KResult {
    let x = || inputs[0];
    match op {
        Op::Unary(u) => elementwise::unary(*u, x(), out),
        Op::Binary(b) => elementwise::binary(*b, inputs[0], inputs[1], out),
        Op::Compare(c) => elementwise::compare(*c, inputs[0], inputs[1], out),
        Op::Select => elementwise::select(inputs[0], inputs[1], inputs[2]),
        Op::Cast { to } => elementwise::cast(x(), *to, out),
        Op::MatMul {
            transpose_a,
            transpose_b,
        } => matmul::matmul(
            inputs[0],
            inputs[1],
            *transpose_a,
            *transpose_b,
            parallel,
            out,
        ),
        Op::Reduce {
            op,
            axes,
            keep_dims,
        } => reduce::reduce(*op, x(), axes, *keep_dims, out),
        Op::ArgMax { axis } => reduce::arg_extreme(x(), *axis, true),
        Op::ArgMin { axis } => reduce::arg_extreme(x(), *axis, false),
        Op::Softmax { axis } => reduce::softmax(x(), *axis, false),
        Op::LogSoftmax { axis } => reduce::softmax(x(), *axis, true),
        Op::Reshape { shape } => array::reshape(x(), shape, out),
        Op::Transpose { perm } => array::transpose(x(), perm),
        Op::ExpandDims { axis } => array::expand_dims(x(), *axis, out),
        Op::Squeeze { axes } => array::squeeze(x(), axes, out),
        Op::Concat { axis } => array::concat(inputs, *axis),
        Op::Stack { axis } => array::stack(inputs, *axis),
        Op::Slice { begin, size } => array::slice(x(), begin, size),
        Op::Gather { axis } => array::gather(inputs[0], inputs[1], *axis),
        Op::OneHot {
            depth,
            on_value,
            off_value,
            dtype,
        } => array::one_hot(x(), *depth, *on_value, *off_value, *dtype),
        Op::ShapeOf => Ok(array::shape_of(x(), out)),
        Op::BroadcastTo { .. } => {
            array::broadcast_to(inputs[0], &array::shape_arg(inputs[1])?, out)
        }
        Op::SumTo { .. } => reduce::sum_to(inputs[0], &array::shape_arg(inputs[1])?, out),
        Op::ReshapeTo { .. } => array::reshape_exact(inputs[0], &array::shape_arg(inputs[1])?, out),
        Op::SliceGrad { begin, .. } => {
            array::slice_grad(inputs[0], &array::shape_arg(inputs[1])?, begin)
        }
        Op::GatherGrad { axis, .. } => {
            array::gather_grad(inputs[0], inputs[1], &array::shape_arg(inputs[2])?, *axis)
        }
        Op::LinSpace { start, stop, num } => Ok(array::linspace(*start, *stop, *num, dtype)),
        Op::Range { start, delta, .. } => {
            let n = node_shape.to_known().map_or(0, |d| d[0]);
            Ok(array::range(*start, *delta, n, dtype))
        }
        Op::Placeholder
        | Op::Const(_)
        | Op::Variable { .. }
        | Op::Assign { .. }
        | Op::NoOp
        | Op::Random { .. }
        | Op::Identity
        | Op::StopGradient
        | Op::CheckNumerics { .. } => Err(format!(
            "{} is executed by the executor, not a kernel",
            op.type_name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{with_room, Rooms};
    use std::cell::RefCell;

    thread_local! {
        static ROOMS: Rooms<u8> = const { RefCell::new(Vec::new()) };
    }

    /// Kept buffers come back: calls one after another get the same storage, and a call nested
    /// inside another gets a second buffer, which the next nesting gets again (so a warm
    /// nesting allocates nothing).
    #[test]
    fn rooms_are_kept_for_calls_in_turn_and_nested() {
        let outer = |len| with_room(&ROOMS, len, |r| r.as_ptr() as usize);
        let nested = || {
            with_room(&ROOMS, 64, |r| {
                let inner = with_room(&ROOMS, 64, |i| i.as_ptr() as usize);
                (r.as_ptr() as usize, inner)
            })
        };
        let first = outer(64);
        assert_eq!(outer(64), first);
        let (a, b) = nested();
        assert_ne!(a, b);
        assert_eq!(nested(), (a, b));
        assert!([a, b].contains(&first));
        // Room is grown to the length asked for.
        assert_eq!(with_room(&ROOMS, 1000, |r| r.len()), 1000);
    }
}
