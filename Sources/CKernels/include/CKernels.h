// CKernels — SphereLab's fused SphereConv element-wise kernels and vectorised maths.
//
// Each kernel exists once as portable C; on x86-64 it is compiled a second time for AVX2+FMA and
// the faster copy is picked at run time (see sl_kernels_isa). Matrices are row-major float32:
// row = output channel, column = output position across the batch, `ld` = row stride in floats.
// Every kernel touches only the column range [m0, m1), so callers can split columns across
// threads; all pointers are to the FULL matrices.
//
// Preconditions (programming errors, not data errors — the Swift engine checks them):
// 0 <= m0 <= m1 <= ld, oc >= 0, every inv_w / inv_x / k entry finite and k > 0, and no buffers
// overlap except the in-place pairs each function names (which must be the same pointer).
// An unknown `variant`, or the sigmoid with k == NULL, fills the outputs of the range with NaN,
// so the mistake cannot pass as data. NaN inputs give NaN outputs (never a clamped cosine).
//
// Threads: calls on disjoint column ranges of the same matrices may run concurrently, except that
// the backward's row_acc and dk are sums over the range — give each thread its own and add them.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/// SphereConv operator g(θ).
enum {
    SL_VARIANT_COSINE = 0,   ///< g = cos θ = c
    SL_VARIANT_LINEAR = 1,   ///< g = 1 − 2θ/π
    SL_VARIANT_SIGMOID = 2,  ///< g = tanh((π/2 − θ)/(2k)) / tanh(π/(4k)), one k per row
};

/// Instruction set of the active kernels: 0 portable, 1 AVX2+FMA, 2 AVX-512 (with AVX2+FMA).
enum {
    SL_ISA_PORTABLE = 0,
    SL_ISA_AVX2_FMA = 1,
    SL_ISA_AVX512 = 2,
};

/// The clamp margin δ: c is clamped to [−1+δ, 1−δ] (δ = 1e-6 in float32).
#define SL_COS_DELTA 1e-6f

struct sl_output_epilogue;   // below, with the Winograd kernels that take it too

/// Forward: c = clamp(u·inv_w[r]·inv_x[m], −1+δ, 1−δ), out = g(acos c), cos_out = c.
/// `k` (one effective k per row, > 0) is read for SL_VARIANT_SIGMOID only and may be NULL otherwise.
/// `out` and `cos_out` may alias `u`; `cos_out` may alias `out` (out then holds g: what an
/// evaluation, which keeps no cosine, asks for).
void sl_sphere_forward(int variant, const float *u, const float *inv_w, const float *inv_x, const float *k,
                       int oc, int ld, int m0, int m1, float *out, float *cos_out);
/// The same, then `post` (or NULL; not pooling) applied to each row's columns while they are in L1.
void sl_sphere_forward_folded(int variant, const float *u, const float *inv_w, const float *inv_x, const float *k,
                              int oc, int ld, int m0, int m1, float *out, float *cos_out,
                              const struct sl_output_epilogue *post);

/// Backward, given dout = dL/dg and the saved clamped cosine c:
///   dc         = dout · dg/dc                  (0 where |c| >= 1−δ)
///   du[r, m]   = dc · inv_w[r] · inv_x[m]      (`du` may alias `dout`)
///   row_acc[r] += Σ_{m in range} dc·c
///   col_acc[m] += Σ_r dc·c
///   dk[r]      += Σ_m dout · ∂g/∂k             (SL_VARIANT_SIGMOID with dk != NULL only)
void sl_sphere_backward(int variant, const float *dout, const float *cos_saved, const float *inv_w,
                        const float *inv_x, const float *k, int oc, int ld, int m0, int m1,
                        float *du, float *row_acc, float *col_acc, float *dk);

/// out[m] = Σ_{r < k} a[r·ld + m]² for m in [m0, m1): column sums of squares of a K × M matrix.
void sl_column_sumsq(const float *a, int k, int ld, int m0, int m1, float *out);

/// im2col for the channel-major layout, channels [c0, c1) only (callers split channels across
/// threads): x is (C, batch, h, w); col is the FULL (C·k·k) × (count·oh·ow) patch matrix of the
/// images [first, first + count), row (c·k + kh)·k + kw, column (n − first)·oh·ow + y·ow + xo.
/// Taps outside the image read as 0.
void sl_im2col(const float *x, int batch, int h, int w, int k, int stride, int pad,
               int first, int count, int c0, int c1, float *col);

/// 2×2 stride-2 max pooling with 'same' windows over planes [p0, p1) of x (planes, h, w) into
/// y (planes, ⌈h/2⌉, ⌈w/2⌉). Ties keep the first tap in reading order (top-left, top-right,
/// bottom-left, bottom-right).
void sl_maxpool2x2(const float *x, int h, int w, long p0, long p1, float *y);
/// dx (planes, h, w) from dy (planes, ⌈h/2⌉, ⌈w/2⌉) for sl_maxpool2x2 over planes [p0, p1),
/// finding each window's winner again in x (no stored indices); writes every dx value. With
/// `scale` (not NULL) the pooled input is BatchNorm's output rebuilt per tap from its input x:
/// x·scale[c] + shift[c], rounded apart, then max(·, 0) when `relu`; c = plane / batch.
void sl_maxpool2x2_backward(const float *x, int h, int w, long p0, long p1, long batch,
                            const float *scale, const float *shift, int relu, const float *dy, float *dx);

/// What an output transform does to each output channel o as it writes that channel's rows,
/// while they are still in L1 (evaluation only). With `scale` (not NULL): a BatchNorm in eval
/// mode folded to y = y·scale[o] + shift[o], then max(y, 0) when `relu`; the products are rounded
/// separately from the sums, and a non-positive or NaN result becomes +0, exactly as BatchNorm2D
/// computes them. With `pooled` (not NULL): the output itself is not written; its 2×2, stride-2
/// max pooling with 'same' windows goes to pooled (oc, batch, ⌈h/2⌉, ⌈w/2⌉) instead, compared as
/// sl_maxpool2x2 compares. With `minus_x` (not NULL; training, a SphereConv's input gradient):
/// each output row loses minus_x · spread element by element, minus_x laid out as the output
/// (channels, batch, h, w) and spread as one channel (batch, h, w) — the ‖x‖ term, product and
/// difference rounded apart as in Conv2D's Swift loop. Either way the bits are those of the
/// separate passes. With `inv_x` (not NULL; evaluation, a cosine SphereConv) each output row
/// first becomes clamp(u·inv_w[o]·inv_x[m]), m the output position (batch, h, w), as
/// sl_sphere_forward computes it; the fold and the pooling follow. A NULL epilogue leaves the
/// convolution's output as is.
typedef struct sl_output_epilogue {
    const float *scale;
    const float *shift;
    int relu;
    float *pooled;
    const float *minus_x;
    const float *spread;
    const float *inv_w;
    const float *inv_x;
} sl_output_epilogue;

/// The distance in floats between the transform indices i of the passes' [T][channels][tiles]
/// arrays (sl_wino_input, sl_wino_output, sl_wino_output_grad and their 4×4 forms): n =
/// channels·tiles or a little more, an odd number of 64-byte lines, so the T arrays a tile row
/// touches at once do not compete for the same cache sets.
long sl_wino_transform_stride(long n);

/// Winograd F(2×2, 3×3) for 3×3, stride-1, padding-1 convolutions (winograd.c). Transformed
/// arrays are [16][rows][tiles]; tiles of the images [first, first + count) are numbered
/// (n − first)·th·tw + ty·tw + tx with th = ⌈h/2⌉, tw = ⌈w/2⌉. Inputs and outputs never overlap.
/// Weights (oc, ic, 3, 3) → u [16][oc][ic] (G g Gᵀ), or with flip_transpose the kernels rotated
/// by 180° and transposed, u [16][ic][oc] (the input-gradient convolution).
void sl_wino_weights(const float *w, int oc, int ic, int flip_transpose, float *u);
/// Elements [d0, d1) of each of u's [oc][ic] (flipped: [ic][oc]) planes of sl_wino_weights (tile 2) or
/// sl_wino4_weights (tile 4), every transform index: disjoint ranges may run on separate threads.
void sl_wino_weights_part(const float *w, int oc, int ic, int flip_transpose, int tile, long d0, long d1, float *u);
/// Slow twins, one kernel at a time in scalar code: the same bits.
void sl_wino_weights_reference(const float *w, int oc, int ic, int flip_transpose, float *u);
void sl_wino4_weights_reference(const float *w, int oc, int ic, int flip_transpose, float *u);
/// Gradient of the weight transform: du [16][oc][ic] → dw (oc, ic, 3, 3) += Gᵀ du G (added in).
void sl_wino_weight_grad(const float *du, int oc, int ic, float *dw);
/// Input tiles Bᵀ d B of channels [c0, c1) of x (channels, batch, h, w) into v [16][channels][tiles].
void sl_wino_input(const float *x, int batch, int h, int w, int first, int count, int c0, int c1,
                   int channels, float *v);
/// Output tiles Aᵀ M A of rows [o0, o1) of m [16][outc][tiles] into y (outc, batch, h, w).
void sl_wino_output(const float *m, int batch, int h, int w, int first, int count, int o0, int o1,
                    int outc, const sl_output_epilogue *post, float *y);
/// The Winograd convolution y (oc, batch, h, w) = x (ic, batch, h, w) ⋆ g, with u = the transformed
/// kernels [16][oc][ic] (sl_wino_weights), fused per block of tile rows: only the tile rows
/// [r0, r1) are computed (row = n·⌈h/2⌉ + ty over the whole batch; callers split rows across
/// threads) and every output pixel of them is written. `scratch` holds sl_wino_fused_scratch(ic,
/// oc, w) floats and belongs to one caller at a time. Results do not depend on how rows are split.
/// `post` (or NULL) is applied to every output channel as it is written.
void sl_wino_fused_rows(const float *x, int batch, int h, int w, int ic, int oc, const float *u,
                        int r0, int r1, const sl_output_epilogue *post, float *scratch, float *y);
/// The weight gradient fused the same way: du [16][oc][ic] += (with `accumulate`; otherwise =) Σ over the tiles of rows [r0, r1) of
/// (A dY Aᵀ) ⊙ (Bᵀ d B), x (ic, batch, h, w) the forward's input and dy (oc, batch, h, w) the output
/// gradient (sl_wino_weight_grad takes du back to the kernels). ic must be a multiple of 8.
/// Scratch as for sl_wino_fused_rows. The sum runs block by block in row order, so a given row
/// range always gives the same bits.
void sl_wino_fused_weight_grad_rows(const float *x, const float *dy, int batch, int h, int w, int ic, int oc,
                                    int r0, int r1, int accumulate, float *scratch, float *du);
/// Floats of scratch one sl_wino_fused_rows or sl_wino_fused_weight_grad_rows call needs.
long sl_wino_fused_scratch(int ic, int oc, int w);
/// The adjoint of sl_wino_output: dm [16][outc][tiles] = A dY Aᵀ per tile, rows [o0, o1).
void sl_wino_output_grad(const float *dy, int batch, int h, int w, int first, int count, int o0, int o1,
                         int outc, float *dm);

/// Winograd F(4×4, 3×3) (sl_wino4_rows.h): the same functions for 4×4 output tiles from 6×6 input
/// tiles, transformed arrays [36][rows][tiles] with th = ⌈h/4⌉, tw = ⌈w/4⌉ and tile rows
/// n·⌈h/4⌉ + ty in the fused calls. 36 products per tile of 16 outputs (16 per 4 for F(2×2, 3×3)),
/// at the price of larger rounding (transform constants up to 8 and down to 1/24).
void sl_wino4_weights(const float *w, int oc, int ic, int flip_transpose, float *u);
void sl_wino4_weight_grad(const float *du, int oc, int ic, float *dw);
void sl_wino4_input(const float *x, int batch, int h, int w, int first, int count, int c0, int c1,
                    int channels, float *v);
void sl_wino4_output(const float *m, int batch, int h, int w, int first, int count, int o0, int o1,
                     int outc, const sl_output_epilogue *post, float *y);
void sl_wino4_output_grad(const float *dy, int batch, int h, int w, int first, int count, int o0, int o1,
                          int outc, float *dm);
void sl_wino4_fused_rows(const float *x, int batch, int h, int w, int ic, int oc, const float *u,
                         int r0, int r1, const sl_output_epilogue *post, float *scratch, float *y);
void sl_wino4_fused_weight_grad_rows(const float *x, const float *dy, int batch, int h, int w, int ic, int oc,
                                     int r0, int r1, int accumulate, float *scratch, float *du);
long sl_wino4_fused_scratch(int ic, int oc, int w);
/// The products of the Winograd passes: m (rows × cols) = u (rows × k, row stride k) · v (k × cols),
/// v and m with row stride ld (m is written, never read). The fused blocks' register-tiled kernel
/// over column panels; each element one chain of FMAs over k in order.
void sl_wino_pass_gemm(const float *u, int rows, int k, const float *v, int ld, int cols, float *m);
/// The weight gradient's products in the passes: du (oc × ic) (+)= d (oc × tiles) · vᵀ for
/// v (ic × tiles), d and v of row stride ld; ic a multiple of 8; `vt` holds
/// sl_wino_pass_weight_grad_scratch(ic) floats. Without `accumulate` du is written, not read.
void sl_wino_pass_weight_grad(const float *d, int oc, int tiles, const float *v, int ic, int ld, int accumulate,
                              float *vt, float *du);
/// Floats of `vt` one sl_wino_pass_weight_grad call needs.
long sl_wino_pass_weight_grad_scratch(int ic);

/// Direct 3×3, stride-1, padding-1 convolution for inputs with few channels (sl_direct3x3.h).
/// sl_direct_pad copies channels [c0, c1) of x (ic, batch, h, w) into xp (ic, batch, h + 2, w + 2)
/// with a border of zeros. The forward writes y (oc, batch, h, w) for images [n0, n1) from
/// weights (oc, ic, 3, 3), then applies `post` (or NULL) as the Winograd output transforms do;
/// the weight gradient writes (not adds) dw (oc, ic, 3, 3) = Σ over images [n0, n1) of dy ⊛ x.
void sl_direct_pad(const float *x, int batch, int h, int w, int c0, int c1, float *xp);
void sl_direct3x3_forward(const float *xp, int batch, int h, int w, int ic, int oc, const float *weights,
                          int n0, int n1, const sl_output_epilogue *post, float *y);
void sl_direct3x3_weight_grad(const float *xp, const float *dy, int batch, int h, int w, int ic, int oc,
                              int n0, int n1, float *dw);

/// y = acos(x), max abs error <= 5e-7 on [−1, 1]; NaN outside. `y` may alias `x`.
void sl_acos(const float *x, float *y, long n);
/// y = exp(x), rel error <= 3e-7 on [−80, 80]; +inf above ~88.72, 0 far below. `y` may alias `x`.
void sl_exp(const float *x, float *y, long n);
/// y = tanh(x), abs error <= 5e-7 (and relative accuracy near 0). `y` may alias `x`.
void sl_tanh(const float *x, float *y, long n);

/// The active instruction set (SL_ISA_…), chosen once: the best the CPU and OS support (AVX-512,
/// then AVX2+FMA), unless the environment variable SPHERELAB_ISA asks for less.
int sl_kernels_isa(void);

/// The choice sl_kernels_isa makes for a given SPHERELAB_ISA value (NULL = unset) on this CPU.
/// "portable" forces SL_ISA_PORTABLE, "avx2" AVX2+FMA at most; any other value means "best
/// available".
int sl_kernels_choose_isa(const char *setting);

/// One compiled copy of every kernel, for callers (tests, benchmarks) that pin an ISA.
typedef struct sl_kernel_table {
    void (*sphere_forward)(int variant, const float *u, const float *inv_w, const float *inv_x,
                           const float *k, int oc, int ld, int m0, int m1, float *out, float *cos_out);
    void (*sphere_backward)(int variant, const float *dout, const float *cos_saved, const float *inv_w,
                            const float *inv_x, const float *k, int oc, int ld, int m0, int m1,
                            float *du, float *row_acc, float *col_acc, float *dk);
    void (*sphere_forward_folded)(int variant, const float *u, const float *inv_w, const float *inv_x, const float *k,
                                  int oc, int ld, int m0, int m1, float *out, float *cos_out,
                                  const struct sl_output_epilogue *post);
    void (*column_sumsq)(const float *a, int k, int ld, int m0, int m1, float *out);
    void (*acos)(const float *x, float *y, long n);
    void (*exp)(const float *x, float *y, long n);
    void (*tanh)(const float *x, float *y, long n);
    void (*wino_fused_rows)(const float *x, int batch, int h, int w, int ic, int oc, const float *u,
                            int r0, int r1, const sl_output_epilogue *post, float *scratch, float *y);
    long (*wino_fused_scratch)(int ic, int oc, int w);
    void (*wino_fused_weight_grad_rows)(const float *x, const float *dy, int batch, int h, int w, int ic, int oc,
                                        int r0, int r1, int accumulate, float *scratch, float *du);
    void (*wino4_fused_rows)(const float *x, int batch, int h, int w, int ic, int oc, const float *u,
                             int r0, int r1, const sl_output_epilogue *post, float *scratch, float *y);
    long (*wino4_fused_scratch)(int ic, int oc, int w);
    void (*wino4_fused_weight_grad_rows)(const float *x, const float *dy, int batch, int h, int w, int ic, int oc,
                                         int r0, int r1, int accumulate, float *scratch, float *du);
    void (*direct3x3_forward)(const float *xp, int batch, int h, int w, int ic, int oc, const float *weights,
                              int n0, int n1, const sl_output_epilogue *post, float *y);
    void (*direct3x3_weight_grad)(const float *xp, const float *dy, int batch, int h, int w, int ic, int oc,
                                  int n0, int n1, float *dw);
    void (*wino_input)(const float *x, int batch, int h, int w, int first, int count, int c0, int c1, int channels, float *v);
    void (*wino_output)(const float *m, int batch, int h, int w, int first, int count, int o0, int o1, int outc, const sl_output_epilogue *post, float *y);
    void (*wino_output_grad)(const float *dy, int batch, int h, int w, int first, int count, int o0, int o1, int outc, float *dm);
    void (*wino4_input)(const float *x, int batch, int h, int w, int first, int count, int c0, int c1, int channels, float *v);
    void (*wino4_output)(const float *m, int batch, int h, int w, int first, int count, int o0, int o1, int outc, const sl_output_epilogue *post, float *y);
    void (*wino4_output_grad)(const float *dy, int batch, int h, int w, int first, int count, int o0, int o1, int outc, float *dm);
    void (*maxpool2x2_backward)(const float *x, int h, int w, long p0, long p1, long batch, const float *scale,
                                const float *shift, int relu, const float *dy, float *dx);
    void (*wino_pass_gemm)(const float *u, int rows, int k, const float *v, int ld, int cols, float *m);
    void (*wino_pass_weight_grad)(const float *d, int oc, int tiles, const float *v, int ic, int ld, int accumulate,
                                  float *vt, float *du);
} sl_kernel_table;

/// The kernels compiled for `isa`, or NULL when this build or CPU cannot run them.
const sl_kernel_table *sl_kernels_table(int isa);

// ---- Slow, obvious twins: scalar libm code in double precision, for tests. ----
// c is formed in float exactly as the fast kernels form it ((u·inv_w)·inv_x, then clamped), so a
// comparison measures the angle maths rather than the rounding of u; everything after c is double.

void sl_sphere_forward_reference(int variant, const float *u, const float *inv_w, const float *inv_x,
                                 const float *k, int oc, int ld, int m0, int m1,
                                 float *out, float *cos_out);
void sl_sphere_backward_reference(int variant, const float *dout, const float *cos_saved,
                                  const float *inv_w, const float *inv_x, const float *k, int oc, int ld,
                                  int m0, int m1, float *du, float *row_acc, float *col_acc, float *dk);

/// g(θ) for a variant (k used by SL_VARIANT_SIGMOID only), from the formulas of spherenet.md §1.
double sl_reference_g(int variant, double theta, double k);
/// dg/dθ.
double sl_reference_dg_dtheta(int variant, double theta, double k);
/// ∂g/∂k for SL_VARIANT_SIGMOID (0 for the other variants).
double sl_reference_dg_dk(int variant, double theta, double k);

#ifdef __cplusplus
}
#endif

/// Turns on flush-to-zero and denormals-are-zero for the calling thread (x86-64 MXCSR; a no-op
/// elsewhere) and returns the previous state for `sl_flush_to_zero_end`. Real images give tiny
/// activations and gradients whose denormal values make every floating-point operation, sgemm
/// included, several times slower. Scoped, so pool threads go back to their previous mode.
unsigned sl_flush_to_zero_begin(void);
void sl_flush_to_zero_end(unsigned previous);
