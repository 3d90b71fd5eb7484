// The patch matrix (im2col) for SphereLab's channel-major layout, in C so that the short image
// rows (28, 14, 7 floats) are copied with inline vector moves instead of one library memmove
// call per row. Memory-bound: the baseline instruction set is enough.
#include <stddef.h>
#include <string.h>

#include "CKernels.h"

// First and one-past-last output index o whose input index o·stride + offset lies in [0, size).
static void sl_valid_range(int out_size, int in_size, int offset, int stride, int *lo, int *hi) {
    int l = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    int last = in_size - 1 - offset;   // o·stride <= last
    int h = last < 0 ? 0 : last / stride + 1;
    if (l > out_size) l = out_size;
    if (h > out_size) h = out_size;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

// Copies and zero-fills written as loops the compiler vectorises in place (no library calls:
// the rows are too short for a call to pay off).
__attribute__((no_builtin("memcpy", "memset", "memmove")))
static inline void sl_zero(float *dst, int n) {
    for (int i = 0; i < n; i++) dst[i] = 0.0f;
}

__attribute__((no_builtin("memcpy", "memset", "memmove")))
static inline void sl_copy(float *restrict dst, const float *restrict src, int n) {
    for (int i = 0; i < n; i++) dst[i] = src[i];
}

__attribute__((no_builtin("memcpy", "memset", "memmove")))
void sl_im2col(const float *x, int batch, int h, int w, int k, int stride, int pad,
               int first, int count, int c0, int c1, float *col) {
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const long columns = (long)count * oh * ow;
    for (int c = c0; c < c1; c++) {
        for (int kh = 0; kh < k; kh++) {
            int y_lo, y_hi;
            sl_valid_range(oh, h, kh - pad, stride, &y_lo, &y_hi);
            for (int kw = 0; kw < k; kw++) {
                int x_lo, x_hi;
                sl_valid_range(ow, w, kw - pad, stride, &x_lo, &x_hi);
                float *row = col + ((long)(c * k + kh) * k + kw) * columns;
                for (int n = 0; n < count; n++) {
                    const float *plane = x + ((long)c * batch + first + n) * h * w;
                    float *dst = row + (long)n * oh * ow;
                    sl_zero(dst, y_lo * ow);
                    for (int y = y_lo; y < y_hi; y++) {
                        float *line = dst + (long)y * ow;
                        const float *src = plane + (long)(y * stride - pad + kh) * w - pad + kw;
                        sl_zero(line, x_lo);
                        if (stride == 1) {
                            sl_copy(line + x_lo, src + x_lo, x_hi - x_lo);
                        } else {
                            for (int xo = x_lo; xo < x_hi; xo++) line[xo] = src[(long)xo * stride];
                        }
                        sl_zero(line + x_hi, ow - x_hi);
                    }
                    sl_zero(dst + (long)y_hi * ow, (oh - y_hi) * ow);
                }
            }
        }
    }
}

// 2×2 max pooling, stride 2, 'same' windows (⌈h/2⌉ × ⌈w/2⌉; an edge window repeats its last
// row/column, which cannot change the maximum) over planes [p0, p1) of (planes, h, w).
// Branch-free selects: activations' signs are random, so compare-and-jump code mispredicts.
// Ties keep the first tap in reading order (sl_maxpool2x2_backward finds the same winner).
void sl_maxpool2x2(const float *x, int h, int w, long p0, long p1, float *y) {
    const int oh = (h + 1) / 2, ow = (w + 1) / 2;
    for (long p = p0; p < p1; p++) {
        const long in_base = p * h * w, out_base = p * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            const int y0 = 2 * oy, y1 = y0 + 1 < h ? y0 + 1 : h - 1;
            const long r0 = in_base + (long)y0 * w, r1 = in_base + (long)y1 * w;
            float *out = y + out_base + (long)oy * ow;
            for (int ox = 0; ox < ow; ox++) {
                const int x0 = 2 * ox, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
                const long ia = r0 + x0, ib = r0 + x1, ic = r1 + x0, id = r1 + x1;
                const float va = x[ia], vb = x[ib], vc = x[ic], vd = x[id];
                const int b_wins = vb > va, d_wins = vd > vc;
                const float v1 = b_wins ? vb : va, v2 = d_wins ? vd : vc;
                out[ox] = v2 > v1 ? v2 : v1;
            }
        }
    }
}

void sl_direct_pad(const float *x, int batch, int h, int w, int c0, int c1, float *xp) {
    const long image = (long)h * w, pw = w + 2, pimage = (long)(h + 2) * pw;
    for (int c = c0; c < c1; c++) {
        for (int n = 0; n < batch; n++) {
            const float *src = x + ((long)c * batch + n) * image;
            float *dst = xp + ((long)c * batch + n) * pimage;
            for (long q = 0; q < pw; q++) dst[q] = 0.0f;   // top border row
            for (int y = 0; y < h; y++) {
                float *row = dst + (long)(y + 1) * pw;
                row[0] = 0.0f;
                for (int q = 0; q < w; q++) row[q + 1] = src[(long)y * w + q];
                row[w + 1] = 0.0f;
            }
            for (long q = 0; q < pw; q++) dst[(long)(h + 1) * pw + q] = 0.0f;   // bottom border row
        }
    }
}
