//! `Value`: a concrete tensor (an ndarray of one of the dtypes), and conversions into and out of it.

use crate::dtype::DType;
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use std::fmt;

/// A concrete tensor: what a `Session` takes as a feed and gives back as a fetch.
#[derive(Clone, PartialEq)]
pub enum Value {
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
    I32(ArrayD<i32>),
    I64(ArrayD<i64>),
    Bool(ArrayD<bool>),
}

/// Rust element types that a `Value` can hold.
pub trait Element: Copy + Send + Sync + fmt::Debug + PartialEq + 'static {
    const DTYPE: DType;
    fn wrap(array: ArrayD<Self>) -> Value;
    fn unwrap(value: Value) -> Result<ArrayD<Self>, Value>;
    fn view(value: &Value) -> Option<ArrayViewD<'_, Self>>;
    /// Converts from f64 (used for fills, linspace and scalar operands).
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
}

macro_rules! element {
    ($t:ty, $variant:ident, $from:expr, $to:expr) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn wrap(array: ArrayD<Self>) -> Value {
                Value::$variant(array)
            }
            fn unwrap(value: Value) -> Result<ArrayD<Self>, Value> {
                match value {
                    Value::$variant(a) => Ok(a),
                    other => Err(other),
                }
            }
            fn view(value: &Value) -> Option<ArrayViewD<'_, Self>> {
                match value {
                    Value::$variant(a) => Some(a.view()),
                    _ => None,
                }
            }
            fn from_f64(x: f64) -> Self {
                ($from)(x)
            }
            fn to_f64(self) -> f64 {
                ($to)(self)
            }
        }
    };
}

element!(f32, F32, |x: f64| x as f32, |x: f32| x as f64);
element!(f64, F64, |x: f64| x, |x: f64| x);
element!(i32, I32, |x: f64| x as i32, |x: i32| x as f64);
element!(i64, I64, |x: f64| x as i64, |x: i64| x as f64);
element!(bool, Bool, |x: f64| x != 0.0, |x: bool| if x {
    1.0
} else {
    0.0
});

/// Calls `$body` with `$a` bound to the array inside `$value`, whatever its dtype.
#[macro_export]
macro_rules! with_array {
    ($value:expr, $a:ident => $body:expr) => {
        match $value {
            $crate::Value::F32($a) => $body,
            $crate::Value::F64($a) => $body,
            $crate::Value::I32($a) => $body,
            $crate::Value::I64($a) => $body,
            $crate::Value::Bool($a) => $body,
        }
    };
}

impl Value {
    pub fn dtype(&self) -> DType {
        match self {
            Value::F32(_) => DType::F32,
            Value::F64(_) => DType::F64,
            Value::I32(_) => DType::I32,
            Value::I64(_) => DType::I64,
            Value::Bool(_) => DType::Bool,
        }
    }

    pub fn shape(&self) -> &[usize] {
        with_array!(self, a => a.shape())
    }

    pub fn len(&self) -> usize {
        with_array!(self, a => a.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    /// An f32 value with no elements and no heap storage: a placeholder for a value moved out.
    pub fn empty() -> Value {
        // A 1-D array converts to a dynamic one without ndarray's general shape checks.
        Value::F32(ndarray::Array1::from_vec(Vec::new()).into_dyn())
    }

    /// Gives the value a new shape with the same number of elements, keeping its storage when
    /// it is in standard order (else copying it into that order). Panics if the counts differ.
    pub fn reshape_in_place(&mut self, shape: &[usize]) {
        fn go<T: Element>(a: &mut ArrayD<T>, shape: &[usize]) {
            let old = std::mem::replace(
                a,
                ArrayD::from_shape_vec(IxDyn(&[0]), Vec::new()).expect("0 elements"),
            );
            let old = if old.is_standard_layout() {
                old
            } else {
                old.as_standard_layout().into_owned()
            };
            *a = old
                .into_shape_with_order(IxDyn(shape))
                .expect("reshape_in_place keeps the element count");
        }
        with_array!(self, a => go(a, shape))
    }

    /// A scalar (rank 0) value.
    pub fn scalar<T: Element>(x: T) -> Value {
        T::wrap(ArrayD::from_elem(IxDyn(&[]), x))
    }

    /// A value of the given dtype and shape with every element `x` (cast to the dtype).
    pub fn full(dtype: DType, shape: &[usize], x: f64) -> Value {
        fn fill<T: Element>(shape: &[usize], x: f64) -> Value {
            T::wrap(ArrayD::from_elem(IxDyn(shape), T::from_f64(x)))
        }
        match dtype {
            DType::F32 => fill::<f32>(shape, x),
            DType::F64 => fill::<f64>(shape, x),
            DType::I32 => fill::<i32>(shape, x),
            DType::I64 => fill::<i64>(shape, x),
            DType::Bool => fill::<bool>(shape, x),
        }
    }

    /// Builds a value from a flat vector and a shape; `None` if the lengths disagree.
    pub fn from_vec<T: Element>(shape: &[usize], data: Vec<T>) -> Option<Value> {
        ArrayD::from_shape_vec(IxDyn(shape), data).ok().map(T::wrap)
    }

    /// A matrix from nested rows (`&[&[1.0, 2.0], &[3.0, 4.0]]`, `vec![vec![..], ..]`); ragged
    /// rows are an error naming the first row of another length.
    pub fn from_rows<T: Element, R: AsRef<[T]>>(rows: &[R]) -> Result<Value, String> {
        let cols = rows.first().map_or(0, |r| r.as_ref().len());
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, r) in rows.iter().enumerate() {
            let r = r.as_ref();
            if r.len() != cols {
                return Err(format!(
                    "ragged rows: row 0 has {cols} elements but row {i} has {}",
                    r.len()
                ));
            }
            data.extend_from_slice(r);
        }
        Value::from_vec(&[rows.len(), cols], data)
            .ok_or_else(|| "rows do not fill the matrix".to_string())
    }

    /// The array inside, if the dtype is `T`.
    pub fn into_array<T: Element>(self) -> Result<ArrayD<T>, Value> {
        T::unwrap(self)
    }

    /// A view of the array inside, if the dtype is `T`.
    pub fn view<T: Element>(&self) -> Option<ArrayViewD<'_, T>> {
        T::view(self)
    }

    /// The elements as f64, in row-major order, whatever the dtype (for tests and printing).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        with_array!(self, a => a.iter().map(|x| x.to_f64()).collect())
    }

    /// The single element of a value with one element, as f64.
    pub fn to_scalar_f64(&self) -> Option<f64> {
        (self.len() == 1).then(|| self.to_f64_vec()[0])
    }

    /// The value converted to another dtype (`as` semantics; bool is 0/1, nonzero is true).
    pub fn cast(&self, dtype: DType) -> Value {
        fn to<T: Element>(v: &Value) -> Value {
            T::wrap(with_array!(v, a => a.mapv(|x| T::from_f64(x.to_f64()))))
        }
        if dtype == self.dtype() {
            return self.clone();
        }
        match dtype {
            DType::F32 => match self {
                // Direct conversions keep precision that a trip through f64 would not change anyway,
                // but avoid the double rounding of i64 -> f64 -> f32.
                Value::I64(a) => Value::F32(a.mapv(|x| x as f32)),
                _ => to::<f32>(self),
            },
            DType::F64 => to::<f64>(self),
            DType::I32 => to::<i32>(self),
            DType::I64 => match self {
                Value::I32(a) => Value::I64(a.mapv(|x| x as i64)),
                _ => to::<i64>(self),
            },
            DType::Bool => to::<bool>(self),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        with_array!(self, a => write!(f, "{}{:?}", self.dtype(), a))
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        with_array!(self, a => fmt::Display::fmt(a, f))
    }
}

impl<T: Element, D: ndarray::Dimension> From<ndarray::Array<T, D>> for Value {
    fn from(a: ndarray::Array<T, D>) -> Value {
        T::wrap(a.into_dyn())
    }
}

/// Anything that converts into a `Value`: scalars, arrays, nested fixed-size arrays, vectors.
pub trait IntoValue {
    fn into_value(self) -> Value;
}

impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}

impl IntoValue for &Value {
    fn into_value(self) -> Value {
        self.clone()
    }
}

impl<T: Element, D: ndarray::Dimension> IntoValue for ndarray::Array<T, D> {
    fn into_value(self) -> Value {
        T::wrap(self.into_dyn())
    }
}

impl<T: Element> IntoValue for T {
    fn into_value(self) -> Value {
        Value::scalar(self)
    }
}

impl<T: Element> IntoValue for Vec<T> {
    fn into_value(self) -> Value {
        let n = self.len();
        T::wrap(ArrayD::from_shape_vec(IxDyn(&[n]), self).expect("length matches"))
    }
}

impl<T: Element> IntoValue for &[T] {
    fn into_value(self) -> Value {
        self.to_vec().into_value()
    }
}

impl<T: Element, const N: usize> IntoValue for [T; N] {
    fn into_value(self) -> Value {
        self.to_vec().into_value()
    }
}

impl<T: Element, const N: usize, const M: usize> IntoValue for [[T; M]; N] {
    fn into_value(self) -> Value {
        let data: Vec<T> = self.iter().flatten().copied().collect();
        T::wrap(ArrayD::from_shape_vec(IxDyn(&[N, M]), data).expect("length matches"))
    }
}

impl<T: Element, const N: usize, const M: usize, const K: usize> IntoValue for [[[T; K]; M]; N] {
    fn into_value(self) -> Value {
        let data: Vec<T> = self.iter().flatten().flatten().copied().collect();
        T::wrap(ArrayD::from_shape_vec(IxDyn(&[N, M, K]), data).expect("length matches"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_rows_become_a_matrix_and_ragged_rows_are_an_error() {
        let v = Value::from_rows(&[&[1.0f32, 2.0][..], &[3.0, 4.0]]).unwrap();
        assert_eq!(v.shape(), &[2, 2]);
        assert_eq!(v.to_f64_vec(), vec![1.0, 2.0, 3.0, 4.0]);
        let w = Value::from_rows(&[vec![1i64, 2, 3], vec![4, 5, 6]]).unwrap();
        assert_eq!((w.dtype(), w.shape()), (DType::I64, &[2usize, 3][..]));
        let err = Value::from_rows(&[vec![1.0f64, 2.0], vec![3.0]]).unwrap_err();
        assert_eq!(err, "ragged rows: row 0 has 2 elements but row 1 has 1");
        let empty = Value::from_rows::<f32, Vec<f32>>(&[]).unwrap();
        assert_eq!(empty.shape(), &[0, 0]);
    }
}
