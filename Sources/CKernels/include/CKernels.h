#pragma once
void sl_sphere_forward(int variant, const float *u, const float *inv_w, const float *inv_x, const float *k,
                       int oc, int ld, int m0, int m1, float *out, float *cos_out);
void sl_sphere_backward(int variant, const float *dout, const float *cos_saved, const float *inv_w, const float *inv_x,
                        const float *k, int oc, int ld, int m0, int m1,
                        float *du, float *row_acc, float *col_acc, float *dk);
void sl_column_sumsq(const float *a, int k, int ld, int m0, int m1, float *out);
void sl_acos(const float *x, float *y, long n);
void sl_exp(const float *x, float *y, long n);
void sl_tanh(const float *x, float *y, long n);
int sl_kernels_isa(void);
