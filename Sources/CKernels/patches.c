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
