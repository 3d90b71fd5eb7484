// SphereConv backward: dc, du and the norm / k gradient sums (sl_kernels_body.h includes this).
#pragma once

#include "sl_sigmoid_row.h"

// dc for one element; for the sigmoid with want_dk, also dout·∂g/∂k in *dk_term.
SL_INLINE float sl_backward_dc(const int variant, const int want_dk, float dout, float c, sl_sigmoid_row row,
                               float *dk_term) {
    // 1 − c² as (1 − c)(1 + c): exact factors, no cancellation as |c| → 1.
    const float one_minus_c2 = (1.0f - c) * (1.0f + c);
    float dc;
    if (variant == SL_VARIANT_COSINE) {
        dc = dout;
    } else if (variant == SL_VARIANT_LINEAR) {
        dc = dout * SL_TWO_OVER_PI / SL_SQRT(one_minus_c2);
    } else {
        float e, em;
        const float x = sl_sigmoid_exp(sl_abs(c), row, &e, &em);
        const float d = 2.0f + em;  // 1 + e, without losing e's digits when e is tiny
        const float s = SL_SQRT(one_minus_c2);
        const float q = 1.0f / (d * d * s);  // the one division: 1/d² = q·s and 1/d = q·s·d
        dc = dout * row.dc_scale * e * q;
        if (want_dk) {
            // (b_dk·tanh z·d² − a_dk·x·e) is odd in φ: work with |φ|, then apply the sign of c
            // (= the sign of φ) once.
            const float dk_d2 = sl_mulsign(row.b_dk * (-em * d) - row.a_dk * x * e, c);
            *dk_term = dout * (q * s) * dk_d2;
        }
    }
    // Clamped cosines are constants with respect to u: no gradient flows back through them.
    return sl_abs(c) >= SL_COS_MAX ? 0.0f : dc;
}

SL_INLINE void sl_backward_impl(const int variant, const int want_dk, const float *dout, const float *cos_saved,
                                const float *inv_w, const float *inv_x, const float *k, int oc, int ld, int m0,
                                int m1, float *du, float *row_acc, float *col_acc, float *dk) {
    sl_sigmoid_row rows[SL_ROW_GROUP];
    for (int r0 = 0; r0 < oc; r0 += SL_ROW_GROUP) {
        const int rn = sl_min_int(SL_ROW_GROUP, oc - r0);
        sl_sigmoid_rows_for_group(variant, k, r0, rn, rows);
        for (int p0 = m0; p0 < m1; p0 += SL_PANEL) {
            const int p1 = sl_min_int(m1, p0 + SL_PANEL);
            for (int r = r0; r < r0 + rn; r++) {
                const sl_sigmoid_row row = rows[r - r0];
                const float iw = inv_w[r];
                const float *dout_row = dout + (long)r * ld;
                const float *cos_row = cos_saved + (long)r * ld;
                float *du_row = du + (long)r * ld;
                float row_sum = 0.0f, dk_sum = 0.0f;
                SL_ELEMENTWISE_LOOP
                for (int m = p0; m < p1; m++) {
                    const float c = cos_row[m];
                    float dk_term = 0.0f;
                    const float dc = sl_backward_dc(variant, want_dk, dout_row[m], c, row, &dk_term);
                    const float dcc = dc * c;
                    du_row[m] = dc * iw * inv_x[m];
                    col_acc[m] += dcc;
                    row_sum += dcc;
                    dk_sum += dk_term;
                }
                row_acc[r] += row_sum;
                if (want_dk) dk[r] += dk_sum;
            }
        }
    }
}
