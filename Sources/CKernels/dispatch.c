// Run-time choice between the compiled copies of the kernels, made once per process.
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sl_tables.h"
#include "sl_wino_rows.h"

static int sl_cpu_has_avx2_fma(void) {
#if defined(__x86_64__)
    // The checks include the OS enabling the YMM register state, not just the CPUID bits.
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int sl_cpu_has_avx512(void) {
#if defined(__x86_64__) && defined(SL_HAS_AVX512_TABLE)
    // As above, including the OS saving the ZMM and mask registers.
    __builtin_cpu_init();
    return sl_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
#else
    return 0;
#endif
}

int sl_kernels_choose_isa(const char *setting) {
    if (setting != NULL && strcmp(setting, "portable") == 0) return SL_ISA_PORTABLE;
    const int at_most_avx2 = setting != NULL && strcmp(setting, "avx2") == 0;
    if (!at_most_avx2 && sl_cpu_has_avx512()) return SL_ISA_AVX512;
    return sl_cpu_has_avx2_fma() ? SL_ISA_AVX2_FMA : SL_ISA_PORTABLE;
}

#if defined(__x86_64__) && defined(SL_HAS_AVX512_TABLE)
// The AVX-512 table: the AVX2 table with the Winograd entries of the AVX-512 copy (see
// kernels_avx512.c), put together once.
static sl_kernel_table sl_kernel_table_avx512;
static pthread_once_t sl_avx512_once = PTHREAD_ONCE_INIT;

static void sl_avx512_compose(void) {
    const sl_kernel_table *w = &sl_kernel_table_avx512_compiled;
    sl_kernel_table t = sl_kernel_table_avx2;
    t.wino_fused_rows = w->wino_fused_rows;
    t.wino_fused_scratch = w->wino_fused_scratch;
    t.wino_fused_weight_grad_rows = w->wino_fused_weight_grad_rows;
    t.wino4_fused_rows = w->wino4_fused_rows;
    t.wino4_fused_scratch = w->wino4_fused_scratch;
    t.wino4_fused_weight_grad_rows = w->wino4_fused_weight_grad_rows;
    t.wino_input = w->wino_input;
    t.wino_output = w->wino_output;
    t.wino_output_grad = w->wino_output_grad;
    t.wino4_input = w->wino4_input;
    t.wino4_output = w->wino4_output;
    t.wino4_output_grad = w->wino4_output_grad;
    t.wino_pass_gemm = w->wino_pass_gemm;
    t.wino_pass_weight_grad = w->wino_pass_weight_grad;
    sl_kernel_table_avx512 = t;
}

static const sl_kernel_table *sl_avx512_table(void) {
    pthread_once(&sl_avx512_once, sl_avx512_compose);
    return &sl_kernel_table_avx512;
}
#endif

const sl_kernel_table *sl_kernels_table(int isa) {
    switch (isa) {
    case SL_ISA_PORTABLE:
        return &sl_kernel_table_portable;
#if defined(__x86_64__)
    case SL_ISA_AVX2_FMA:
        return sl_cpu_has_avx2_fma() ? &sl_kernel_table_avx2 : NULL;
#if defined(SL_HAS_AVX512_TABLE)
    case SL_ISA_AVX512:
        return sl_cpu_has_avx512() ? sl_avx512_table() : NULL;
#endif
#endif
    default:
        return NULL;
    }
}

// Threads racing on the first call all compute the same answer, so a relaxed cache suffices.
static _Atomic int sl_active_isa = -1;

int sl_kernels_isa(void) {
    int isa = atomic_load_explicit(&sl_active_isa, memory_order_relaxed);
    if (isa < 0) {
        isa = sl_kernels_choose_isa(getenv("SPHERELAB_ISA"));
        atomic_store_explicit(&sl_active_isa, isa, memory_order_relaxed);
    }
    return isa;
}

static const sl_kernel_table *sl_active(void) {
    // sl_kernels_choose_isa only picks a table this CPU runs.
#if defined(__x86_64__)
    const int isa = sl_kernels_isa();
#if defined(SL_HAS_AVX512_TABLE)
    if (isa == SL_ISA_AVX512) return sl_avx512_table();
#endif
    if (isa == SL_ISA_AVX2_FMA) return &sl_kernel_table_avx2;
#endif
    return &sl_kernel_table_portable;
}

void sl_sphere_forward(int variant, const float *u, const float *inv_w, const float *inv_x, const float *k,
                       int oc, int ld, int m0, int m1, float *out, float *cos_out) {
    sl_active()->sphere_forward(variant, u, inv_w, inv_x, k, oc, ld, m0, m1, out, cos_out);
}

void sl_sphere_forward_folded(int variant, const float *u, const float *inv_w, const float *inv_x, const float *k,
                              int oc, int ld, int m0, int m1, float *out, float *cos_out,
                              const struct sl_output_epilogue *post) {
    sl_active()->sphere_forward_folded(variant, u, inv_w, inv_x, k, oc, ld, m0, m1, out, cos_out, post);
}

void sl_sphere_backward(int variant, const float *dout, const float *cos_saved, const float *inv_w,
                        const float *inv_x, const float *k, int oc, int ld, int m0, int m1, float *du,
                        float *row_acc, float *col_acc, float *dk) {
    sl_active()->sphere_backward(variant, dout, cos_saved, inv_w, inv_x, k, oc, ld, m0, m1, du, row_acc, col_acc,
                                 dk);
}

void sl_column_sumsq(const float *a, int k, int ld, int m0, int m1, float *out) {
    sl_active()->column_sumsq(a, k, ld, m0, m1, out);
}

void sl_acos(const float *x, float *y, long n) { sl_active()->acos(x, y, n); }
void sl_exp(const float *x, float *y, long n) { sl_active()->exp(x, y, n); }
void sl_tanh(const float *x, float *y, long n) { sl_active()->tanh(x, y, n); }

void sl_wino_fused_rows(const float *x, int batch, int h, int w, int ic, int oc, const float *u, int r0, int r1,
                        const sl_output_epilogue *post,
                        float *scratch, float *y) {
    sl_active()->wino_fused_rows(x, batch, h, w, ic, oc, u, r0, r1, post, scratch, y);
}
long sl_wino_fused_scratch(int ic, int oc, int w) { return sl_active()->wino_fused_scratch(ic, oc, w); }
void sl_wino_fused_weight_grad_rows(const float *x, const float *dy, int batch, int h, int w, int ic, int oc,
                                    int r0, int r1, int accumulate, float *scratch, float *du) {
    sl_active()->wino_fused_weight_grad_rows(x, dy, batch, h, w, ic, oc, r0, r1, accumulate, scratch, du);
}

void sl_wino4_fused_rows(const float *x, int batch, int h, int w, int ic, int oc, const float *u, int r0, int r1,
                        const sl_output_epilogue *post,
                         float *scratch, float *y) {
    sl_active()->wino4_fused_rows(x, batch, h, w, ic, oc, u, r0, r1, post, scratch, y);
}
long sl_wino4_fused_scratch(int ic, int oc, int w) { return sl_active()->wino4_fused_scratch(ic, oc, w); }
void sl_wino4_fused_weight_grad_rows(const float *x, const float *dy, int batch, int h, int w, int ic, int oc,
                                     int r0, int r1, int accumulate, float *scratch, float *du) {
    sl_active()->wino4_fused_weight_grad_rows(x, dy, batch, h, w, ic, oc, r0, r1, accumulate, scratch, du);
}

void sl_direct3x3_forward(const float *xp, int batch, int h, int w, int ic, int oc, const float *weights, int n0,
                          int n1, const sl_output_epilogue *post, float *y) {
    sl_active()->direct3x3_forward(xp, batch, h, w, ic, oc, weights, n0, n1, post, y);
}
void sl_direct3x3_weight_grad(const float *xp, const float *dy, int batch, int h, int w, int ic, int oc, int n0,
                              int n1, float *dw) {
    sl_active()->direct3x3_weight_grad(xp, dy, batch, h, w, ic, oc, n0, n1, dw);
}

void sl_maxpool2x2_backward(const float *x, int h, int w, long p0, long p1, long batch, const float *scale,
                            const float *shift, int relu, const float *dy, float *dx) {
    sl_active()->maxpool2x2_backward(x, h, w, p0, p1, batch, scale, shift, relu, dy, dx);
}

void sl_wino_input(const float *x, int batch, int h, int w, int first, int count, int c0, int c1, int channels, float *v) {
    sl_active()->wino_input(x, batch, h, w, first, count, c0, c1, channels, v);
}

void sl_wino_output(const float *m, int batch, int h, int w, int first, int count, int o0, int o1, int outc, const sl_output_epilogue *post, float *y) {
    sl_active()->wino_output(m, batch, h, w, first, count, o0, o1, outc, post, y);
}

void sl_wino_output_grad(const float *dy, int batch, int h, int w, int first, int count, int o0, int o1, int outc, float *dm) {
    sl_active()->wino_output_grad(dy, batch, h, w, first, count, o0, o1, outc, dm);
}

void sl_wino4_input(const float *x, int batch, int h, int w, int first, int count, int c0, int c1, int channels, float *v) {
    sl_active()->wino4_input(x, batch, h, w, first, count, c0, c1, channels, v);
}

void sl_wino4_output(const float *m, int batch, int h, int w, int first, int count, int o0, int o1, int outc, const sl_output_epilogue *post, float *y) {
    sl_active()->wino4_output(m, batch, h, w, first, count, o0, o1, outc, post, y);
}

void sl_wino4_output_grad(const float *dy, int batch, int h, int w, int first, int count, int o0, int o1, int outc, float *dm) {
    sl_active()->wino4_output_grad(dy, batch, h, w, first, count, o0, o1, outc, dm);
}

long sl_wino_transform_stride(long n) { return sl_wino_spread(n); }

void sl_wino_pass_gemm(const float *u, int rows, int k, const float *v, int ld, int cols, float *m) {
    sl_active()->wino_pass_gemm(u, rows, k, v, ld, cols, m);
}

long sl_wino_pass_weight_grad_scratch(int ic) { return (long)SL_PASS_PANEL * ic; }

void sl_wino_pass_weight_grad(const float *d, int oc, int tiles, const float *v, int ic, int ld, int accumulate,
                              float *vt, float *du) {
    sl_active()->wino_pass_weight_grad(d, oc, tiles, v, ic, ld, accumulate, vt, du);
}
