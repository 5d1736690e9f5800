//! The logistic function (sigmoid) with TensorFlow's bits: Eigen's `scalar_logistic_op` as the
//! x86-64 TF 2.21 wheel computes it (built for AVX without FMA, threads in FTZ mode).
//!
//! Eigen evaluates a tensor in packets (8 f32 or 4 f64 lanes) and its last `len % lanes`
//! elements with the scalar form, which calls the C library's `exp` and rounds differently in
//! a few cases; `packet_*` and `tail_*` are the two forms (`Real::PACKET` gives the lanes). Checked against TF on all 2^32 f32 inputs (packet form) and on
//! millions of sampled f32 tails and f64 inputs; `tests/fixtures/tf_sigmoid_bits.txt` keeps a sample.
//!
//! The scalar form calls the C library's `exp`, as TF's does: on a tail element the bits are
//! TF's where both use the same library (glibc here; `expf` is not correctly rounded, so
//! another library may differ by an ulp there, for TF as for rill).
//!
//! Every multiply-add below is a multiply and an add, each rounded (no FMA), as in TF's build.
//! `floor` is written with the rounding constant so it vectorises without SSE4.1.

/// `floor(v)` for `|v| < 2^22` (and NaN for NaN): round to nearest with 1.5 * 2^23, then step
/// down where that rounded up.
#[inline(always)]
fn floor_f32(v: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0;
    let t = (v + ROUND) - ROUND;
    if t > v {
        t - 1.0
    } else {
        t
    }
}

/// `floor(v)` for `|v| < 2^51`, as `floor_f32`.
#[inline(always)]
fn floor_f64(v: f64) -> f64 {
    const ROUND: f64 = 6_755_399_441_055_744.0;
    let t = (v + ROUND) - ROUND;
    if t > v {
        t - 1.0
    } else {
        t
    }
}

/// TF's sigmoid on an f32 in a packet: `e / (1 + e)` with `e = exp(x/2)^2`, exp by Cephes'
/// range reduction and a degree-5 polynomial (Eigen's `scalar_logistic_op<float>::packetOp`).
#[inline(always)]
pub fn packet_f32(x: f32) -> f32 {
    const EXP_HI: f32 = 16.635_532;
    const EXP_LO: f32 = -104.0;
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const C1: f32 = -0.693_359_4;
    const C2: f32 = 2.121_944_4e-4;
    const P2: f32 = 0.499_991_42;
    const P3: f32 = 0.166_668_77;
    const P4: f32 = 4.189_866_8e-2;
    const P5: f32 = 8.334_713e-3;
    const ROUND: f32 = 12_582_912.0;
    let zero = x < EXP_LO;
    // Eigen's pmin(x, hi) is `_mm256_min_ps(hi, x)`, which gives x when x is NaN.
    let x = if EXP_HI < x { EXP_HI } else { x };
    let half = x * 0.5;
    // For x < -104 (masked below) m is still in floor's range: |half * log2 e| < 2^22 unless x
    // is below -5.8e6, where m is garbage but masked too.
    let m = floor_f32(half * LOG2E + 0.5);
    let r = m * C1 + half;
    let r = m * C2 + r;
    let r2 = r * r;
    let even = r2 * P4 + P2;
    let odd = r2 * P5 + P3;
    let p = r * odd + even;
    let p = r2 * p + (r + 1.0);
    // p * 2^m (m in [-75, 12] wherever the result is used), m read off the bits of
    // m + 1.5 * 2^23 so it vectorises.
    let mi = ((m + ROUND).to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let e = p * f32::from_bits((mi.wrapping_add(127) << 23) as u32);
    let e = e * e;
    // TF's threads flush subnormal results to zero.
    let e = if e < f32::MIN_POSITIVE { 0.0 } else { e };
    let s = e / (1.0 + e);
    if zero {
        0.0
    } else {
        s
    }
}

/// TF's sigmoid on one of the last `len % 8` f32 elements of a tensor (the scalar form).
#[inline(always)]
pub fn tail_f32(x: f32) -> f32 {
    const EXP_HI: f32 = 16.635_532;
    let x = if EXP_HI < x { EXP_HI } else { x };
    let e = x.exp();
    let e = if e < f32::MIN_POSITIVE { 0.0 } else { e };
    e / (1.0 + e)
}

/// TF's sigmoid on an f64 in a packet: Eigen's generic `e / (1 + e)` with `e = pexp(x)`
/// (Cephes' rational form, `pexp_double`), and 1 where e overflows.
#[inline(always)]
pub fn packet_f64(x: f64) -> f64 {
    const EXP_HI: f64 = 709.784;
    const EXP_LO: f64 = -745.519;
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const P0: f64 = 1.261_771_930_748_105_9e-4;
    const P1: f64 = 3.029_944_077_074_419_6e-2;
    const P2: f64 = 1.0;
    const Q0: f64 = 3.001_985_051_386_644_6e-6;
    const Q1: f64 = 2.524_483_403_496_841e-3;
    const Q2: f64 = 2.272_655_482_081_550_3e-1;
    const Q3: f64 = 2.0;
    const C1: f64 = 0.693_145_751_953_125;
    const C2: f64 = 1.428_606_820_309_417_2e-6;
    const ROUND: f64 = 6_755_399_441_055_744.0;
    let zero = x < EXP_LO;
    let xc = if EXP_HI < x { EXP_HI } else { x };
    let fx = floor_f64(LOG2E * xc + 0.5);
    let r = xc - fx * C1;
    let r = r - fx * C2;
    let r2 = r * r;
    let px = (P0 * r2 + P1) * r2 + P2;
    let px = px * r;
    let qx = ((Q0 * r2 + Q1) * r2 + Q2) * r2 + Q3;
    let y = px / (qx - px);
    let y = 2.0 * y + 1.0;
    // y * 2^fx as two exact powers of two (Eigen's pldexp), fx read off its rounding sum.
    let n = ((fx + ROUND).to_bits() as i64).wrapping_sub(ROUND.to_bits() as i64);
    let h = n >> 1;
    let s1 = f64::from_bits((h.wrapping_add(1023) << 52) as u64);
    let s2 = f64::from_bits((n.wrapping_sub(h).wrapping_add(1023) << 52) as u64);
    let e = y * s1 * s2;
    let e = if e < f64::MIN_POSITIVE { 0.0 } else { e };
    // pexp ends with pmax(result, x) (`_mm256_max_pd(x, e)`).
    let e = if x > e { x } else { e };
    let e = if zero { 0.0 } else { e };
    if e == f64::INFINITY {
        1.0
    } else {
        e / (1.0 + e)
    }
}

/// TF's sigmoid on one of the last `len % 4` f64 elements of a tensor (the scalar form).
#[inline(always)]
pub fn tail_f64(x: f64) -> f64 {
    let e = x.exp();
    let e = if e < f64::MIN_POSITIVE { 0.0 } else { e };
    if e == f64::INFINITY {
        1.0
    } else {
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors_match_the_library_floor() {
        let mut v = -70_000.0f32;
        while v < 70_000.0 {
            assert_eq!(floor_f32(v).to_bits(), v.floor().to_bits(), "{v}");
            assert_eq!(floor_f64(v as f64), (v as f64).floor(), "{v}");
            v += 0.123;
        }
        for v in [
            -0.5f32,
            0.5,
            1.0,
            -1.0,
            2.5,
            -2.5,
            4_194_303.5,
            -4_194_303.5,
        ] {
            assert_eq!(floor_f32(v), v.floor(), "{v}");
        }
        assert!(floor_f32(f32::NAN).is_nan());
    }

    #[test]
    fn limits_and_specials() {
        for (packet, tail) in [(packet_f32 as fn(f32) -> f32, tail_f32 as fn(f32) -> f32)] {
            for f in [packet, tail] {
                assert_eq!(f(0.0), 0.5);
                assert_eq!(f(f32::INFINITY), 1.0);
                assert_eq!(f(f32::NEG_INFINITY), 0.0);
                assert_eq!(f(40.0), 1.0);
                assert_eq!(f(-200.0), 0.0);
                assert!(f(f32::NAN).is_nan());
            }
        }
        for f in [packet_f64, tail_f64] {
            assert_eq!(f(0.0), 0.5);
            assert_eq!(f(f64::INFINITY), 1.0);
            assert_eq!(f(f64::NEG_INFINITY), 0.0);
            assert_eq!(f(800.0), 1.0);
            assert_eq!(f(-800.0), 0.0);
            assert!(f(f64::NAN).is_nan());
        }
    }

    #[test]
    fn packet_and_tail_forms_agree_with_the_exact_value_closely() {
        // Both forms are within a few ulp of the logistic computed in f64 wherever the result
        // is normal (TF flushes subnormals to zero).
        let ulps = |a: f32, b: f32| (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs();
        let mut x = -87.0f32;
        while x < 17.0 {
            let exact = (1.0 / (1.0 + (-(x as f64)).exp())) as f32;
            assert!(ulps(packet_f32(x), exact) <= 8, "packet at {x}");
            assert!(ulps(tail_f32(x), exact) <= 8, "tail at {x}");
            let exact = 1.0 / (1.0 + (-(x as f64)).exp());
            assert!((packet_f64(x as f64) - exact).abs() <= 4.0 * f64::EPSILON * exact);
            x += 0.0093;
        }
    }
}
