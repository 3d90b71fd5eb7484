// Per-row constants of the sigmoid operator and its exponential (sl_kernels_body.h includes this).
#pragma once

#include <math.h>

#include "sl_loops.h"

// Per-row constants of the sigmoid operator with z = (π/2 − θ)/(2k) = φ/(2k), T = tanh(π/(4k)):
//   g     = tanh z / T
//   dg/dc = sech²z / (2k·T·sqrt(1 − c²))          = dc_scale · e / (d²·sqrt(1 − c²))
//   ∂g/∂k = −(z/k)·sech²z/T + tanh z·sech²(π/(4k))·π/(4k²T²)
//         = −a_dk · x · e/d² + b_dk · tanh z
// where x = −log2(e)·|φ|/k is the exponent of e = exp(−2|z|) = 2^x, d = 1 + e, so that
// sech²z = 4e/d² and |tanh z| = (1 − e)/d, and the signs of φ and c agree.
typedef struct sl_sigmoid_row {
    float exp_scale;       // −log2(e)/k: x = exp_scale·|φ|
    float exp_scale_pio2;  // exp_scale·π/2
    float inv_t;           // 1/T
    float dc_scale;        // 2/(k·T)
    float a_dk;            // 2/(k²·T) / exp_scale, so that a_dk·x = 2|φ|/(k²·T)
    float b_dk;            // sech²(π/(4k))·π/(4k²T²)
} sl_sigmoid_row;

static sl_sigmoid_row sl_sigmoid_row_constants(float k_float) {
    const double pi = 3.14159265358979323846;
    const double log2e = 1.44269504088896340736;
    const double k = k_float;
    const double w = pi / (4.0 * k);
    const double t = tanh(w);
    const double ch = cosh(w);  // inf for tiny k: sech² is then 0, which is its limit
    const double exp_scale = -log2e / k;
    sl_sigmoid_row row;
    row.exp_scale = (float)exp_scale;
    row.exp_scale_pio2 = (float)(exp_scale * pi / 2.0);
    row.inv_t = (float)(1.0 / t);
    row.dc_scale = (float)(2.0 / (k * t));
    row.a_dk = (float)(2.0 / (k * k * t) / exp_scale);
    row.b_dk = (float)(1.0 / (ch * ch) * pi / (4.0 * k * k * t * t));
    return row;
}

// Per-row constants for one group of rows r0 … r0+rn−1 (zeros unless the variant is sigmoid);
// forward and backward walk the same row groups.
static void sl_sigmoid_rows_for_group(int variant, const float *k, int r0, int rn, sl_sigmoid_row *rows) {
    for (int i = 0; i < rn; i++) {
        rows[i] = variant == SL_VARIANT_SIGMOID ? sl_sigmoid_row_constants(k[r0 + i]) : (sl_sigmoid_row){0};
    }
}

// The exponent x = −2|z|·log2(e) for a = |c| (|φ| = asin a), and e = 2^x, em = 2^x − 1. The clamp
// only acts for k < 0.018, where |z| > 43 and tanh z is ±1 in float anyway; it keeps 2^x normal.
SL_INLINE float sl_sigmoid_exp(float a, sl_sigmoid_row row, float *e, float *em) {
    float x = sl_scaled_asin_nonnegative(a, row.exp_scale_pio2, row.exp_scale);
    x = x < -126.0f ? -126.0f : x;
    sl_exp2_exp2m1_nonpositive(x, e, em);
    return x;
}
