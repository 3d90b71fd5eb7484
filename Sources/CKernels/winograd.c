// Winograd F(2×2, 3×3) transforms for 3×3, stride-1, padding-1 convolutions in SphereLab's
// channel-major layout. A 2×2 block of outputs ("tile") comes from a 4×4 block of input:
//     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
// so each tile costs 16 multiply-adds per input channel instead of 36 (2.25× fewer): the 16
// element-wise products over channels become 16 independent GEMMs done by the caller.
//     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
//     G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
//     Aᵀ = [1 1 1 0; 0 1 −1 −1]
// Transformed arrays are [16][rows][tiles] (index i = 4·row-transform + column-transform), so
// that matrix i of each is an ordinary row-major GEMM operand.
#include <stddef.h>

#include "CKernels.h"
#include "sl_wino_rows.h"
#include "sl_wino4_rows.h"

// ---- weights ----

// (G g Gᵀ) for one 3×3 kernel g (row-major), written to out[i·stride].
static void sl_wino_kernel(const float g[9], float *out, long stride) {
    float t[4][3];
    for (int j = 0; j < 3; j++) {
        const float a = g[j], b = g[3 + j], c = g[6 + j];
        t[0][j] = a;
        t[1][j] = 0.5f * (a + b + c);
        t[2][j] = 0.5f * (a - b + c);
        t[3][j] = c;
    }
    for (int r = 0; r < 4; r++) {
        const float a = t[r][0], b = t[r][1], c = t[r][2];
        out[(4 * r + 0) * stride] = a;
        out[(4 * r + 1) * stride] = 0.5f * (a + b + c);
        out[(4 * r + 2) * stride] = 0.5f * (a - b + c);
        out[(4 * r + 3) * stride] = c;
    }
}

// Applies `kernel` (one 3×3 kernel → its T transformed values at out[i·stride]) to every kernel
// of w (oc, ic, 3, 3): u [T][oc][ic], or rotated by 180° and transposed, u [T][ic][oc]. One
// kernel at a time: the slow twin of sl_wino_weights_part (WinogradWeightTransformTests).
static void sl_wino_each_kernel(const float *w, int oc, int ic, int flip_transpose, float *u,
                                void (*kernel)(const float g[9], float *out, long stride)) {
    const long plane = (long)oc * ic;
    for (int o = 0; o < oc; o++) {
        for (int c = 0; c < ic; c++) {
            const float *g = w + ((long)o * ic + c) * 9;
            if (flip_transpose) {
                float f[9];
                for (int k = 0; k < 9; k++) f[k] = g[8 - k];   // rotate by 180°
                kernel(f, u + (long)c * oc + o, plane);
            } else {
                kernel(g, u + (long)o * ic + c, plane);
            }
        }
    }
}

void sl_wino_weights_reference(const float *w, int oc, int ic, int flip_transpose, float *u) {
    sl_wino_each_kernel(w, oc, ic, flip_transpose, u, sl_wino_kernel);
}

// ---- weights, eight kernels at a time ----
// A layer's kernels used to be transformed one by one on the calling thread, scalar code with
// 36 stores a megabyte apart per kernel (4×4 tiles: 0.9 ms for 64 × 64 kernels, a tenth of an
// fmnist-w0.5 inference batch for the whole net, with the other core idle). Here lane n of a
// vector is the kernel whose transform goes to u[i·plane + d + n] (d counts along u's rows), so
// every store is a whole vector; each lane gets the scalar code's operations in its order.
typedef float sl_kv __attribute__((vector_size(32)));
enum { SL_KLANES = 8 };

// The nine values of the kernels of lanes d .. d + n − 1 (n ≤ 8; missing lanes read 0) as g[k].
static void sl_wino_gather_kernels(const float *w, int oc, int ic, int flip_transpose, long d, int n, sl_kv g[9]) {
    float t[9][SL_KLANES] = {{0}};
    for (int l = 0; l < n; l++) {
        const long e = d + l;
        // u's row-major index e is (o, c) = (e / ic, e % ic), or flipped (c, o) = (e / oc, e % oc).
        const long kernel = flip_transpose ? (e % oc) * ic + e / oc : e;
        const float *src = w + kernel * 9;
        for (int k = 0; k < 9; k++) t[k][l] = flip_transpose ? src[8 - k] : src[k];
    }
    for (int k = 0; k < 9; k++) __builtin_memcpy(&g[k], t[k], sizeof g[k]);
}

// The first n lanes of v to dst (a pointer: a 32-byte vector by value changes the baseline ABI).
static inline void sl_wino_store_lanes(float *dst, const sl_kv *v, int n) {
    if (n == SL_KLANES) {
        __builtin_memcpy(dst, v, sizeof *v);
    } else {
        for (int l = 0; l < n; l++) dst[l] = (*v)[l];
    }
}
#define SL_STORE_LANES(dst, value, n) do { const sl_kv v_ = (value); sl_wino_store_lanes((dst), &v_, (n)); } while (0)

// G g Gᵀ for 2×2 tiles on eight lanes (sl_wino_kernel's operations).
static void sl_wino_kernel_lanes(const sl_kv g[9], float *u, long plane, int n) {
    sl_kv t[4][3];
    for (int j = 0; j < 3; j++) {
        const sl_kv a = g[j], b = g[3 + j], c = g[6 + j];
        t[0][j] = a;
        t[1][j] = 0.5f * (a + b + c);
        t[2][j] = 0.5f * (a - b + c);
        t[3][j] = c;
    }
    for (int r = 0; r < 4; r++) {
        const sl_kv a = t[r][0], b = t[r][1], c = t[r][2];
        SL_STORE_LANES(u + (4 * r + 0) * plane, a, n);
        SL_STORE_LANES(u + (4 * r + 1) * plane, 0.5f * (a + b + c), n);
        SL_STORE_LANES(u + (4 * r + 2) * plane, 0.5f * (a - b + c), n);
        SL_STORE_LANES(u + (4 * r + 3) * plane, c, n);
    }
}

// G g Gᵀ for 4×4 tiles on eight lanes (sl_wino4_kernel's operations).
static void sl_wino4_kernel_lanes(const sl_kv g[9], float *u, long plane, int n) {
    sl_kv t[6][3];
    for (int j = 0; j < 3; j++) {
        const sl_kv a = g[j], b = g[3 + j], c = g[6 + j];
        t[0][j] = 0.25f * a;
        t[1][j] = -(a + b + c) / 6.0f;
        t[2][j] = -(a - b + c) / 6.0f;
        t[3][j] = a / 24.0f + b / 12.0f + c / 6.0f;
        t[4][j] = a / 24.0f - b / 12.0f + c / 6.0f;
        t[5][j] = c;
    }
    for (int r = 0; r < 6; r++) {
        const sl_kv a = t[r][0], b = t[r][1], c = t[r][2];
        SL_STORE_LANES(u + (6 * r + 0) * plane, 0.25f * a, n);
        SL_STORE_LANES(u + (6 * r + 1) * plane, -(a + b + c) / 6.0f, n);
        SL_STORE_LANES(u + (6 * r + 2) * plane, -(a - b + c) / 6.0f, n);
        SL_STORE_LANES(u + (6 * r + 3) * plane, a / 24.0f + b / 12.0f + c / 6.0f, n);
        SL_STORE_LANES(u + (6 * r + 4) * plane, a / 24.0f - b / 12.0f + c / 6.0f, n);
        SL_STORE_LANES(u + (6 * r + 5) * plane, c, n);
    }
}

void sl_wino_weights_part(const float *w, int oc, int ic, int flip_transpose, int tile, long d0, long d1, float *u) {
    const long plane = (long)oc * ic;
    if (d0 < 0) d0 = 0;
    if (d1 > plane) d1 = plane;
    for (long d = d0; d < d1; d += SL_KLANES) {
        const int n = d1 - d < SL_KLANES ? (int)(d1 - d) : SL_KLANES;
        sl_kv g[9];
        sl_wino_gather_kernels(w, oc, ic, flip_transpose, d, n, g);
        if (tile == 4) {
            sl_wino4_kernel_lanes(g, u + d, plane, n);
        } else {
            sl_wino_kernel_lanes(g, u + d, plane, n);
        }
    }
}

void sl_wino_weights(const float *w, int oc, int ic, int flip_transpose, float *u) {
    sl_wino_weights_part(w, oc, ic, flip_transpose, 2, 0, (long)oc * ic, u);
}

void sl_wino_weight_grad(const float *du, int oc, int ic, float *dw) {
    // dg = Gᵀ dU G, Gᵀ u = (u0 + ½u1 + ½u2, ½u1 − ½u2, ½u1 + ½u2 + u3).
    const long plane = (long)oc * ic;
    for (int o = 0; o < oc; o++) {
        for (int c = 0; c < ic; c++) {
            const float *s = du + (long)o * ic + c;
            float t[3][4];
            for (int j = 0; j < 4; j++) {
                const float u0 = s[(0 + j) * plane], u1 = s[(4 + j) * plane];
                const float u2 = s[(8 + j) * plane], u3 = s[(12 + j) * plane];
                t[0][j] = u0 + 0.5f * (u1 + u2);
                t[1][j] = 0.5f * (u1 - u2);
                t[2][j] = 0.5f * (u1 + u2) + u3;
            }
            float *g = dw + ((long)o * ic + c) * 9;
            for (int r = 0; r < 3; r++) {
                const float u0 = t[r][0], u1 = t[r][1], u2 = t[r][2], u3 = t[r][3];
                g[3 * r + 0] += u0 + 0.5f * (u1 + u2);
                g[3 * r + 1] += 0.5f * (u1 - u2);
                g[3 * r + 2] += 0.5f * (u1 + u2) + u3;
            }
        }
    }
}

// ---- F(4×4, 3×3) (sl_wino4_rows.h for the matrices) ----

// (G g Gᵀ) 6×6 for one 3×3 kernel g, written to out[i·stride].
static void sl_wino4_kernel(const float g[9], float *out, long stride) {
    float t[6][3];   // G g: the six rows of G over each kernel column
    for (int j = 0; j < 3; j++) {
        const float a = g[j], b = g[3 + j], c = g[6 + j];
        t[0][j] = 0.25f * a;
        t[1][j] = -(a + b + c) / 6.0f;
        t[2][j] = -(a - b + c) / 6.0f;
        t[3][j] = a / 24.0f + b / 12.0f + c / 6.0f;
        t[4][j] = a / 24.0f - b / 12.0f + c / 6.0f;
        t[5][j] = c;
    }
    for (int r = 0; r < 6; r++) {
        const float a = t[r][0], b = t[r][1], c = t[r][2];
        out[(6 * r + 0) * stride] = 0.25f * a;
        out[(6 * r + 1) * stride] = -(a + b + c) / 6.0f;
        out[(6 * r + 2) * stride] = -(a - b + c) / 6.0f;
        out[(6 * r + 3) * stride] = a / 24.0f + b / 12.0f + c / 6.0f;
        out[(6 * r + 4) * stride] = a / 24.0f - b / 12.0f + c / 6.0f;
        out[(6 * r + 5) * stride] = c;
    }
}

void sl_wino4_weights_reference(const float *w, int oc, int ic, int flip_transpose, float *u) {
    sl_wino_each_kernel(w, oc, ic, flip_transpose, u, sl_wino4_kernel);
}

void sl_wino4_weights(const float *w, int oc, int ic, int flip_transpose, float *u) {
    sl_wino_weights_part(w, oc, ic, flip_transpose, 4, 0, (long)oc * ic, u);
}

// Gᵀ applied to six values (the adjoint of the rows of G above).
#define SL_W4_GT(u0, u1, u2, u3, u4, u5, v)                                     \
    do {                                                                        \
        (v)[0] = 0.25f * (u0) - ((u1) + (u2)) / 6.0f + ((u3) + (u4)) / 24.0f;   \
        (v)[1] = ((u2) - (u1)) / 6.0f + ((u3) - (u4)) / 12.0f;                  \
        (v)[2] = ((u3) + (u4) - (u1) - (u2)) / 6.0f + (u5);                     \
    } while (0)

void sl_wino4_weight_grad(const float *du, int oc, int ic, float *dw) {
    // dg = Gᵀ dU G.
    const long plane = (long)oc * ic;
    for (int o = 0; o < oc; o++) {
        for (int c = 0; c < ic; c++) {
            const float *s = du + (long)o * ic + c;
            float t[3][6];
            for (int j = 0; j < 6; j++) {
                float v[3];
                SL_W4_GT(s[(0 + j) * plane], s[(6 + j) * plane], s[(12 + j) * plane], s[(18 + j) * plane],
                         s[(24 + j) * plane], s[(30 + j) * plane], v);
                for (int r = 0; r < 3; r++) t[r][j] = v[r];
            }
            float *g = dw + ((long)o * ic + c) * 9;
            for (int r = 0; r < 3; r++) {
                float v[3];
                SL_W4_GT(t[r][0], t[r][1], t[r][2], t[r][3], t[r][4], t[r][5], v);
                for (int k = 0; k < 3; k++) g[3 * r + k] += v[k];
            }
        }
    }
}






