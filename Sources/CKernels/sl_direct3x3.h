// Direct 3×3, stride-1, padding-1 convolution for inputs with few channels (the first layer: one
// channel for Fashion-MNIST, three for CIFAR), where Winograd does not apply and im2col + GEMM
// spent longer writing the patch matrix and clearing its output than multiplying (K = 9 or 27).
// Included by sl_kernels_body.h after sl_wino_fused.h (its vector type), once per instruction set.
//
// The input arrives padded (sl_direct_pad): xp (ic, batch, h + 2, w + 2), one pixel of zeros
// around each image, so every tap is an unconditional load. Every output is one chain of
// multiply-adds over c, then kh, then kw, the same chain whichever vector computes it.

// Forward, images [n0, n1): four output channels share each input vector (one load for four
// multiply-adds); a row runs in vectors of eight from the left, the last one overlapping its
// neighbour (it rewrites the same values); rows narrower than eight run scalar. `post` as for the
// Winograd output transforms.
static void sl_direct3x3_forward_impl(const float *xp, int batch, int h, int w, int ic, int oc, const float *wt,
                                      int n0, int n1, const sl_output_epilogue *post, float *y) {
    const int pw = w + 2;
    const long image = (long)h * w, plane = (long)batch * image;
    const long pimage = (long)(h + 2) * pw, pplane = (long)batch * pimage;
    const int taps = 9 * ic;
    for (int n = n0; n < n1; n++) {
        for (int oy = 0; oy < h; oy++) {
            const float *top = xp + n * pimage + (long)oy * pw;   // padded row oy = image row oy − 1
            int o = 0;
            for (; o + 4 <= oc && w >= 8; o += 4) {
                const float *k0 = wt + (long)o * taps, *k1 = k0 + taps, *k2 = k1 + taps, *k3 = k2 + taps;
                float *y0 = y + (long)o * plane + n * image + (long)oy * w;
                float *y1 = y0 + plane, *y2 = y1 + plane, *y3 = y2 + plane;
                for (int x0 = 0;; x0 += 8) {
                    if (x0 > w - 8) x0 = w - 8;
                    sl_v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
                    for (int c = 0; c < ic; c++) {
                        for (int kh = 0; kh < 3; kh++) {
                            const float *r = top + c * pplane + (long)kh * pw + x0;
                            for (int kw = 0; kw < 3; kw++) {
                                const int t = (c * 3 + kh) * 3 + kw;
                                const sl_v8 v = sl_v8_load(r + kw);
                                a0 += sl_v8_splat(k0[t]) * v;
                                a1 += sl_v8_splat(k1[t]) * v;
                                a2 += sl_v8_splat(k2[t]) * v;
                                a3 += sl_v8_splat(k3[t]) * v;
                            }
                        }
                    }
                    sl_v8_store(y0 + x0, a0); sl_v8_store(y1 + x0, a1);
                    sl_v8_store(y2 + x0, a2); sl_v8_store(y3 + x0, a3);
                    if (x0 == w - 8) break;
                }
            }
            for (; o < oc; o++) {   // channels left over, or every channel of a narrow row
                const float *k = wt + (long)o * taps;
                float *yr = y + (long)o * plane + n * image + (long)oy * w;
                for (int x = 0; x < w; x++) {
                    float s = 0.0f;
                    for (int c = 0; c < ic; c++) {
                        for (int kh = 0; kh < 3; kh++) {
                            const float *r = top + c * pplane + (long)kh * pw + x;
                            for (int kw = 0; kw < 3; kw++) s += k[(c * 3 + kh) * 3 + kw] * r[kw];
                        }
                    }
                    yr[x] = s;
                }
            }
            if (post != NULL && post->scale != NULL) {   // (a pooled epilogue is not taken here)
                for (int q = 0; q < oc; q++) sl_affine_row(y + (long)q * plane + n * image + (long)oy * w, w, post, q);
            }
        }
    }
}

// Weight gradient over images [n0, n1), written (not added) to dw (oc, ic, 3, 3): per (o, c) nine
// vector accumulators over every row of those images, then each summed across its lanes in order.
// A row runs in vectors of eight, the last one overlapping its neighbour with the lanes already
// counted masked out; rows narrower than eight run scalar.
static void sl_direct3x3_weight_grad_impl(const float *xp, const float *dy, int batch, int h, int w, int ic, int oc,
                                          int n0, int n1, float *dw) {
    typedef int sl_v8i __attribute__((vector_size(32)));
    const int pw = w + 2;
    const long image = (long)h * w, plane = (long)batch * image;
    const long pimage = (long)(h + 2) * pw, pplane = (long)batch * pimage;
    const int last = w >= 8 ? w - 8 : 0;
    sl_v8i tail_mask;
    for (int l = 0; l < 8; l++) tail_mask[l] = w % 8 == 0 || l >= 8 - (w % 8) ? -1 : 0;
    for (int o = 0; o < oc; o++) {
        for (int c = 0; c < ic; c++) {
            sl_v8 acc[9];
            float sacc[9];
            for (int t = 0; t < 9; t++) { acc[t] = (sl_v8){0}; sacc[t] = 0.0f; }
            for (int n = n0; n < n1; n++) {
                for (int oy = 0; oy < h; oy++) {
                    const float *g = dy + (long)o * plane + n * image + (long)oy * w;
                    const float *top = xp + c * pplane + n * pimage + (long)oy * pw;
                    if (w >= 8) {
                        for (int x0 = 0; x0 < last; x0 += 8) {
                            const sl_v8 d = sl_v8_load(g + x0);
                            for (int kh = 0; kh < 3; kh++) {
                                for (int kw = 0; kw < 3; kw++) acc[kh * 3 + kw] += d * sl_v8_load(top + (long)kh * pw + x0 + kw);
                            }
                        }
                        // The last vector at w − 8: a full one when w is a multiple of eight.
                        const sl_v8 d = (sl_v8)((sl_v8i)sl_v8_load(g + last) & tail_mask);
                        for (int kh = 0; kh < 3; kh++) {
                            for (int kw = 0; kw < 3; kw++) acc[kh * 3 + kw] += d * sl_v8_load(top + (long)kh * pw + last + kw);
                        }
                    } else {
                        for (int x = 0; x < w; x++) {
                            for (int kh = 0; kh < 3; kh++) {
                                for (int kw = 0; kw < 3; kw++) sacc[kh * 3 + kw] += g[x] * top[(long)kh * pw + x + kw];
                            }
                        }
                    }
                }
            }
            for (int t = 0; t < 9; t++) {
                float s = sacc[t];
                for (int l = 0; l < 8; l++) s += acc[t][l];
                dw[((long)o * ic + c) * 9 + t] = s;
            }
        }
    }
}
