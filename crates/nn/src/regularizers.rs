//! Weight regularizers (Keras's L1, L2, L1L2): a penalty added to the loss.

use crate::error::Result;
use rill_graph::{Tensor, ALL};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Regularizer {
    L1(f64),
    L2(f64),
    L1L2 { l1: f64, l2: f64 },
}

impl Regularizer {
    /// The penalty for weight `w`: `l1 * sum|w| + l2 * sum(w^2)`.
    #[track_caller]
    pub fn penalty<'g>(&self, w: Tensor<'g>) -> Result<Tensor<'g>> {
        let (l1, l2) = match *self {
            Regularizer::L1(l) => (l, 0.0),
            Regularizer::L2(l) => (0.0, l),
            Regularizer::L1L2 { l1, l2 } => (l1, l2),
        };
        let mut terms = Vec::new();
        if l1 != 0.0 {
            terms.push(w.try_abs()?.try_sum(ALL, false)?.try_mul(l1)?);
        }
        if l2 != 0.0 {
            terms.push(w.try_square()?.try_sum(ALL, false)?.try_mul(l2)?);
        }
        let mut acc = match terms.first() {
            Some(t) => *t,
            None => w.graph().try_constant_with(0.0, w.dtype(), None)?,
        };
        for t in terms.iter().skip(1) {
            acc = acc.try_add(*t)?;
        }
        Ok(acc)
    }
}
