//! Static shapes: `Dim` (known size or TF1's `None`), `Shape`, and NumPy broadcasting of shapes.

use std::fmt;

/// One dimension of a static shape: a known size, or unknown until run time (TF1's `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    Known(usize),
    Unknown,
}

impl Dim {
    pub fn known(self) -> Option<usize> {
        match self {
            Dim::Known(n) => Some(n),
            Dim::Unknown => None,
        }
    }

    /// Whether a concrete size fits this dimension.
    pub fn admits(self, n: usize) -> bool {
        self.known().is_none_or(|k| k == n)
    }
}

impl From<usize> for Dim {
    fn from(n: usize) -> Dim {
        Dim::Known(n)
    }
}

impl From<Option<usize>> for Dim {
    fn from(n: Option<usize>) -> Dim {
        n.map_or(Dim::Unknown, Dim::Known)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Known(n) => write!(f, "{n}"),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

/// A static shape: one `Dim` per axis. Printed as TF prints it: `[?,3]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Shape(pub Vec<Dim>);

impl Shape {
    pub fn scalar() -> Shape {
        Shape(Vec::new())
    }

    pub fn known(dims: &[usize]) -> Shape {
        Shape(dims.iter().map(|&n| Dim::Known(n)).collect())
    }

    pub fn rank(&self) -> usize {
        self.0.len()
    }

    pub fn dims(&self) -> &[Dim] {
        &self.0
    }

    /// The concrete sizes, if every dimension is known.
    pub fn to_known(&self) -> Option<Vec<usize>> {
        self.0.iter().map(|d| d.known()).collect()
    }

    /// The number of elements, if every dimension is known.
    pub fn num_elements(&self) -> Option<usize> {
        // None also when the count does not fit a usize.
        self.to_known()
            .and_then(|d| d.iter().try_fold(1usize, |a, &n| a.checked_mul(n)))
    }

    /// Whether a concrete shape fits this one (same rank, known dims equal).
    pub fn admits(&self, concrete: &[usize]) -> bool {
        self.rank() == concrete.len() && self.0.iter().zip(concrete).all(|(d, &n)| d.admits(n))
    }

    /// Whether `other` is this shape with some unknown dims made known (or the same): the same
    /// rank, and every known dim of this one known and equal in `other`.
    pub fn refined_by(&self, other: &Shape) -> bool {
        self.rank() == other.rank()
            && self.0.iter().zip(&other.0).all(|(a, b)| match a {
                Dim::Unknown => true,
                Dim::Known(n) => *b == Dim::Known(*n),
            })
    }

    /// Formats like NumPy / TF's Python side: `(None, 3)`.
    pub fn python_repr(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|d| d.known().map_or("None".to_string(), |n| n.to_string()))
            .collect();
        if parts.len() == 1 {
            format!("({},)", parts[0])
        } else {
            format!("({})", parts.join(", "))
        }
    }

    /// Normalises a possibly negative axis against this rank; `None` if out of range.
    pub fn axis(&self, axis: i64) -> Option<usize> {
        normalize_axis(axis, self.rank())
    }
}

/// Normalises a possibly negative axis (`-1` is the last) for a given rank.
pub fn normalize_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

impl From<&[usize]> for Shape {
    fn from(d: &[usize]) -> Shape {
        Shape::known(d)
    }
}

impl From<Vec<usize>> for Shape {
    fn from(d: Vec<usize>) -> Shape {
        Shape::known(&d)
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Shape {
        Shape::known(&d)
    }
}

impl<const N: usize> From<[Option<usize>; N]> for Shape {
    fn from(d: [Option<usize>; N]) -> Shape {
        Shape(d.iter().map(|&n| Dim::from(n)).collect())
    }
}

impl From<&[Option<usize>]> for Shape {
    fn from(d: &[Option<usize>]) -> Shape {
        Shape(d.iter().map(|&n| Dim::from(n)).collect())
    }
}

impl<const N: usize> From<[Dim; N]> for Shape {
    fn from(d: [Dim; N]) -> Shape {
        Shape(d.to_vec())
    }
}

impl From<Vec<Dim>> for Shape {
    fn from(d: Vec<Dim>) -> Shape {
        Shape(d)
    }
}

impl From<&Shape> for Shape {
    fn from(s: &Shape) -> Shape {
        s.clone()
    }
}

/// NumPy broadcasting of two static shapes; `None` if they cannot broadcast.
/// An unknown dimension against 1 stays unknown; against n > 1 it must be n at run time.
pub fn broadcast_shapes(a: &Shape, b: &Shape) -> Option<Shape> {
    let rank = a.rank().max(b.rank());
    let mut out = vec![Dim::Known(1); rank];
    for (i, slot) in out.iter_mut().enumerate() {
        let da = dim_from_end(a, rank - 1 - i);
        let db = dim_from_end(b, rank - 1 - i);
        *slot = match (da, db) {
            (Dim::Known(1), d) | (d, Dim::Known(1)) => d,
            (Dim::Known(x), Dim::Known(y)) if x == y => Dim::Known(x),
            (Dim::Known(_), Dim::Known(_)) => return None,
            (Dim::Known(x), Dim::Unknown) | (Dim::Unknown, Dim::Known(x)) => Dim::Known(x),
            (Dim::Unknown, Dim::Unknown) => Dim::Unknown,
        };
    }
    Some(Shape(out))
}

/// NumPy broadcasting of concrete shapes; `None` if they cannot broadcast.
pub fn broadcast_concrete(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![1; rank];
    for (i, slot) in out.iter_mut().enumerate() {
        let k = rank - 1 - i;
        let da = if k < a.len() { a[a.len() - 1 - k] } else { 1 };
        let db = if k < b.len() { b[b.len() - 1 - k] } else { 1 };
        *slot = match (da, db) {
            (1, d) | (d, 1) => d,
            (x, y) if x == y => x,
            _ => return None,
        };
    }
    Some(out)
}

/// The dimension `k` places from the end (0 = last), or 1 past the front.
fn dim_from_end(s: &Shape, k: usize) -> Dim {
    if k < s.rank() {
        s.0[s.rank() - 1 - k]
    } else {
        Dim::Known(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_tensorflow() {
        let s = Shape::from([None, Some(3)]);
        assert_eq!(s.to_string(), "[?,3]");
        assert_eq!(s.python_repr(), "(None, 3)");
        assert_eq!(Shape::known(&[4]).python_repr(), "(4,)");
        assert_eq!(Shape::scalar().to_string(), "[]");
    }

    #[test]
    fn broadcasting_follows_numpy() {
        let b = |x: &[usize], y: &[usize]| broadcast_shapes(&Shape::known(x), &Shape::known(y));
        assert_eq!(b(&[2, 3], &[3]), Some(Shape::known(&[2, 3])));
        assert_eq!(b(&[2, 1], &[1, 4]), Some(Shape::known(&[2, 4])));
        assert_eq!(b(&[], &[5, 0]), Some(Shape::known(&[5, 0])));
        assert_eq!(b(&[2, 3], &[2]), None);
        let u = broadcast_shapes(&Shape::from([None, Some(3)]), &Shape::known(&[1, 3])).unwrap();
        assert_eq!(u.to_string(), "[?,3]");
        assert_eq!(broadcast_concrete(&[4, 1, 3], &[2, 1]), Some(vec![4, 2, 3]));
        assert_eq!(broadcast_concrete(&[3], &[4]), None);
    }

    #[test]
    fn axes_normalise() {
        assert_eq!(normalize_axis(-1, 3), Some(2));
        assert_eq!(normalize_axis(3, 3), None);
        assert_eq!(normalize_axis(-4, 3), None);
    }
}
