// Temporary scalar version of the API, replaced by the vectorised kernels.
#include "CKernels.h"
#include <math.h>
#define DELTA 1e-6f
static const float PI_F = 3.14159265358979f;
int sl_kernels_isa(void) { return 0; }
void sl_acos(const float *x, float *y, long n) { for (long i = 0; i < n; i++) y[i] = acosf(x[i]); }
void sl_exp(const float *x, float *y, long n) { for (long i = 0; i < n; i++) y[i] = expf(x[i]); }
void sl_tanh(const float *x, float *y, long n) { for (long i = 0; i < n; i++) y[i] = tanhf(x[i]); }
void sl_column_sumsq(const float *a, int k, int ld, int m0, int m1, float *out) {
  for (int m = m0; m < m1; m++) out[m] = 0;
  for (int r = 0; r < k; r++) for (int m = m0; m < m1; m++) { float v = a[(long)r*ld+m]; out[m] += v*v; }
}
void sl_sphere_forward(int variant, const float *u, const float *inv_w, const float *inv_x, const float *k,
                       int oc, int ld, int m0, int m1, float *out, float *cos_out) {
  for (int r = 0; r < oc; r++) for (int m = m0; m < m1; m++) {
    long i = (long)r*ld+m; float c = u[i]*inv_w[r]*inv_x[m];
    if (c > 1-DELTA) c = 1-DELTA; if (c < -1+DELTA) c = -1+DELTA;
    float g;
    if (variant == 0) g = c;
    else if (variant == 1) g = 1 - 2*acosf(c)/PI_F;
    else { float kk = k[r]; g = tanhf((PI_F/2 - acosf(c))/(2*kk)) / tanhf(PI_F/(4*kk)); }
    cos_out[i] = c; out[i] = g;
  }
}
void sl_sphere_backward(int variant, const float *dout, const float *cos_saved, const float *inv_w, const float *inv_x,
                        const float *k, int oc, int ld, int m0, int m1,
                        float *du, float *row_acc, float *col_acc, float *dk) {
  for (int r = 0; r < oc; r++) for (int m = m0; m < m1; m++) {
    long i = (long)r*ld+m; float c = cos_saved[i]; float d = dout[i]; float dc;
    int clamped = fabsf(c) >= 1-DELTA;
    float s = sqrtf(1-c*c);
    if (variant == 0) dc = d;
    else if (variant == 1) dc = d*(2/PI_F)/s;
    else { float kk = k[r]; float th = acosf(c); float z = (PI_F/2-th)/(2*kk); float T = tanhf(PI_F/(4*kk));
      float sech2 = 1 - tanhf(z)*tanhf(z); float dgdth = -sech2/(2*kk*T); dc = d*dgdth*(-1/s);
      if (dk) { float t = tanhf(PI_F/(4*kk)); float sp = 1 - t*t;
        dk[r] += d*(-(z/kk)*sech2/T + tanhf(z)*sp*PI_F/(4*kk*kk*T*T)); } }
    if (clamped) dc = 0;
    du[i] = dc*inv_w[r]*inv_x[m];
    row_acc[r] += dc*c; col_acc[m] += dc*c;
  }
}
