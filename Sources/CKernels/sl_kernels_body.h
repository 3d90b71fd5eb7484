// The kernels, written once and compiled once per instruction set: each file that includes this
// defines SL_KERNEL_TABLE (the name of the exported function table) and, for a non-baseline ISA,
// wraps the include in a target attribute. Everything else here and in the headers it includes
// is static, so the two compiled copies never clash.
#include "sl_sphere_backward.h"
#include "sl_sphere_forward.h"
#include "sl_wino_fused.h"
#include "sl_wino4_fused.h"
#include "sl_direct3x3.h"
#include "sl_pool_backward.h"
#include "sl_wino_passes.h"

// A call with an unknown variant (or the sigmoid without k) is a programming error; NaN outputs
// make it impossible to mistake for a result.
static void sl_fill_nan(float *base, int rows, int ld, int m0, int m1) {
    for (int r = 0; r < rows; r++) {
        for (int m = m0; m < m1; m++) base[(long)r * ld + m] = __builtin_nanf("");
    }
}

static void sl_sphere_forward_folded_impl(int variant, const float *u, const float *inv_w, const float *inv_x,
                                          const float *k, int oc, int ld, int m0, int m1, float *out, float *cos_out,
                                          const sl_output_epilogue *post) {
    if (oc <= 0 || m1 <= m0) return;
    switch (variant) {
    case SL_VARIANT_COSINE:
        sl_forward_impl(SL_VARIANT_COSINE, u, inv_w, inv_x, k, oc, ld, m0, m1, out, cos_out, post);
        return;
    case SL_VARIANT_LINEAR:
        sl_forward_impl(SL_VARIANT_LINEAR, u, inv_w, inv_x, k, oc, ld, m0, m1, out, cos_out, post);
        return;
    case SL_VARIANT_SIGMOID:
        if (k != NULL) {
            sl_forward_impl(SL_VARIANT_SIGMOID, u, inv_w, inv_x, k, oc, ld, m0, m1, out, cos_out, post);
            return;
        }
        break;
    default:
        break;
    }
    sl_fill_nan(out, oc, ld, m0, m1);
    sl_fill_nan(cos_out, oc, ld, m0, m1);
}

static void sl_sphere_forward_impl(int variant, const float *u, const float *inv_w, const float *inv_x,
                                   const float *k, int oc, int ld, int m0, int m1, float *out, float *cos_out) {
    sl_sphere_forward_folded_impl(variant, u, inv_w, inv_x, k, oc, ld, m0, m1, out, cos_out, NULL);
}

static void sl_sphere_backward_impl(int variant, const float *dout, const float *cos_saved, const float *inv_w,
                                    const float *inv_x, const float *k, int oc, int ld, int m0, int m1, float *du,
                                    float *row_acc, float *col_acc, float *dk) {
    if (oc <= 0 || m1 <= m0) return;
    switch (variant) {
    case SL_VARIANT_COSINE:
        sl_backward_impl(SL_VARIANT_COSINE, 0, dout, cos_saved, inv_w, inv_x, k, oc, ld, m0, m1, du, row_acc,
                         col_acc, dk);
        return;
    case SL_VARIANT_LINEAR:
        sl_backward_impl(SL_VARIANT_LINEAR, 0, dout, cos_saved, inv_w, inv_x, k, oc, ld, m0, m1, du, row_acc,
                         col_acc, dk);
        return;
    case SL_VARIANT_SIGMOID:
        if (k == NULL) break;
        if (dk != NULL) {
            sl_backward_impl(SL_VARIANT_SIGMOID, 1, dout, cos_saved, inv_w, inv_x, k, oc, ld, m0, m1, du,
                             row_acc, col_acc, dk);
        } else {
            sl_backward_impl(SL_VARIANT_SIGMOID, 0, dout, cos_saved, inv_w, inv_x, k, oc, ld, m0, m1, du,
                             row_acc, col_acc, dk);
        }
        return;
    default:
        break;
    }
    sl_fill_nan(du, oc, ld, m0, m1);
    for (int r = 0; r < oc; r++) row_acc[r] = __builtin_nanf("");
    for (int m = m0; m < m1; m++) col_acc[m] = __builtin_nanf("");
}

static void sl_column_sumsq_impl(const float *a, int k, int ld, int m0, int m1, float *out) {
    for (int p0 = m0; p0 < m1; p0 += SL_PANEL) {
        const int p1 = sl_min_int(m1, p0 + SL_PANEL);
        for (int m = p0; m < p1; m++) out[m] = 0.0f;
        for (int r = 0; r < k; r++) {
            const float *row = a + (long)r * ld;
            SL_ELEMENTWISE_LOOP
            for (int m = p0; m < p1; m++) out[m] += row[m] * row[m];
        }
    }
}

#define SL_DEFINE_MAP(name, element)                     \
    static void name(const float *x, float *y, long n) { \
        SL_ELEMENTWISE_LOOP                              \
        for (long i = 0; i < n; i++) y[i] = element(x[i]); \
    }

SL_DEFINE_MAP(sl_acos_impl, sl_acos_el)
SL_DEFINE_MAP(sl_exp_impl, sl_exp_el)
SL_DEFINE_MAP(sl_tanh_impl, sl_tanh_el)

const sl_kernel_table SL_KERNEL_TABLE = {
    .sphere_forward = sl_sphere_forward_impl,
    .sphere_forward_folded = sl_sphere_forward_folded_impl,
    .sphere_backward = sl_sphere_backward_impl,
    .column_sumsq = sl_column_sumsq_impl,
    .acos = sl_acos_impl,
    .exp = sl_exp_impl,
    .tanh = sl_tanh_impl,
    .wino_fused_rows = sl_wino_fused_rows_impl,
    .wino_fused_scratch = sl_wino_fused_scratch_impl,
    .wino_fused_weight_grad_rows = sl_wino_fused_weight_grad_rows_impl,
    .wino4_fused_rows = sl_wino4_fused_rows_impl,
    .wino4_fused_scratch = sl_wino4_fused_scratch_impl,
    .wino4_fused_weight_grad_rows = sl_wino4_fused_weight_grad_rows_impl,
    .direct3x3_forward = sl_direct3x3_forward_impl,
    .direct3x3_weight_grad = sl_direct3x3_weight_grad_impl,
    .maxpool2x2_backward = sl_maxpool2x2_backward_impl,
    .wino_input = sl_wino_input_impl,
    .wino_output = sl_wino_output_impl,
    .wino_output_grad = sl_wino_output_grad_impl,
    .wino4_input = sl_wino4_input_impl,
    .wino4_output = sl_wino4_output_impl,
    .wino4_output_grad = sl_wino4_output_grad_impl,
    .wino_pass_gemm = sl_wino_pass_gemm_impl,
    .wino_pass_weight_grad = sl_wino_pass_weight_grad_impl,
};
