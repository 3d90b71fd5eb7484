// SphereConv forward: clamped cosine and g(θ) for one column range (sl_kernels_body.h includes this).
#pragma once

#include "sl_sigmoid_row.h"
#include "sl_wino_rows.h"

// g for one clamped cosine. `variant` is a constant at every call site, so the branches fold.
SL_INLINE float sl_forward_g(const int variant, float c, sl_sigmoid_row row) {
    if (variant == SL_VARIANT_COSINE) return c;
    // g is odd in c for both remaining variants: work on |c|, restore the sign at the end.
    if (variant == SL_VARIANT_LINEAR) {
        // g = 1 − 2θ/π = (2/π)·asin c
        return sl_copysign(sl_scaled_asin_nonnegative(sl_abs(c), 1.0f, SL_TWO_OVER_PI), c);
    }
    float e, em;
    (void)sl_sigmoid_exp(sl_abs(c), row, &e, &em);
    return sl_copysign((em * -row.inv_t) / (2.0f + em), c);
}

// `post` (or NULL): the evaluation fold of each row's panel while it is in L1 (sl_affine_row).
SL_INLINE void sl_forward_impl(const int variant, const float *u, const float *inv_w, const float *inv_x,
                               const float *k, int oc, int ld, int m0, int m1, float *out, float *cos_out,
                               const sl_output_epilogue *post) {
    sl_sigmoid_row rows[SL_ROW_GROUP];
    for (int r0 = 0; r0 < oc; r0 += SL_ROW_GROUP) {
        const int rn = sl_min_int(SL_ROW_GROUP, oc - r0);
        sl_sigmoid_rows_for_group(variant, k, r0, rn, rows);
        for (int p0 = m0; p0 < m1; p0 += SL_PANEL) {
            const int p1 = sl_min_int(m1, p0 + SL_PANEL);
            for (int r = r0; r < r0 + rn; r++) {
                const sl_sigmoid_row row = rows[r - r0];
                const float iw = inv_w[r];
                const float *u_row = u + (long)r * ld;
                float *out_row = out + (long)r * ld;
                float *cos_row = cos_out + (long)r * ld;
                if (variant == SL_VARIANT_COSINE && out_row == cos_row) {
                    // Fully in place: one store per element instead of two to the same address.
                    SL_ELEMENTWISE_LOOP
                    for (int m = p0; m < p1; m++) out_row[m] = sl_clamp_cos(u_row[m] * iw * inv_x[m]);
                    if (post != NULL) sl_affine_row(out_row + p0, p1 - p0, post, r);
                    continue;
                }
                SL_ELEMENTWISE_LOOP
                for (int m = p0; m < p1; m++) {
                    // c is (u·inv_w)·inv_x in float, the order the reference twin uses.
                    const float c = sl_clamp_cos(u_row[m] * iw * inv_x[m]);
                    const float g = sl_forward_g(variant, c, row);
                    cos_row[m] = c;
                    out_row[m] = g;
                }
                if (post != NULL) sl_affine_row(out_row + p0, p1 - p0, post, r);
            }
        }
    }
}
