// Slow, obvious twins of the SphereConv kernels: the formulas of spherenet.md §1 in double with
// libm, one element at a time. Tests hold the fast kernels to these.
#include <math.h>
#include <stddef.h>

#include "CKernels.h"
#include "sl_constants.h"

static const double sl_pi = 3.14159265358979323846;

double sl_reference_g(int variant, double theta, double k) {
    switch (variant) {
    case SL_VARIANT_COSINE:
        return cos(theta);
    case SL_VARIANT_LINEAR:
        return 1.0 - 2.0 * theta / sl_pi;
    case SL_VARIANT_SIGMOID:
        return tanh((sl_pi / 2.0 - theta) / (2.0 * k)) / tanh(sl_pi / (4.0 * k));
    default:
        return NAN;
    }
}

double sl_reference_dg_dtheta(int variant, double theta, double k) {
    switch (variant) {
    case SL_VARIANT_COSINE:
        return -sin(theta);
    case SL_VARIANT_LINEAR:
        return -2.0 / sl_pi;
    case SL_VARIANT_SIGMOID: {
        double sech = 1.0 / cosh((sl_pi / 2.0 - theta) / (2.0 * k));
        return -sech * sech / (2.0 * k * tanh(sl_pi / (4.0 * k)));
    }
    default:
        return NAN;
    }
}

double sl_reference_dg_dk(int variant, double theta, double k) {
    if (variant != SL_VARIANT_SIGMOID) return 0.0;
    double z = (sl_pi / 2.0 - theta) / (2.0 * k);
    double t = tanh(sl_pi / (4.0 * k));
    double sech_z = 1.0 / cosh(z);
    double sech_w = 1.0 / cosh(sl_pi / (4.0 * k));
    return -(z / k) * sech_z * sech_z / t + tanh(z) * sech_w * sech_w * sl_pi / (4.0 * k * k * t * t);
}

static float sl_reference_clamp(float c) {
    if (c > SL_COS_MAX) return SL_COS_MAX;
    if (c < -SL_COS_MAX) return -SL_COS_MAX;
    return c;
}

void sl_sphere_forward_reference(int variant, const float *u, const float *inv_w, const float *inv_x,
                                 const float *k, int oc, int ld, int m0, int m1, float *out, float *cos_out) {
    for (int r = 0; r < oc; r++) {
        double kr = (variant == SL_VARIANT_SIGMOID && k != NULL) ? k[r] : NAN;
        for (int m = m0; m < m1; m++) {
            long i = (long)r * ld + m;
            float c = sl_reference_clamp(u[i] * inv_w[r] * inv_x[m]);
            // The cosine operator is c itself (cos(acos(0)) would give 6e-17, not 0).
            double g = variant == SL_VARIANT_COSINE ? c : sl_reference_g(variant, acos((double)c), kr);
            cos_out[i] = c;
            out[i] = (float)g;
        }
    }
}

// dc = dout·dg/dc in double; *dk_term = dout·∂g/∂k.
static double sl_reference_dc(int variant, float dout, float c, double k, double *dk_term) {
    double theta = acos((double)c);
    double dg_dc = variant == SL_VARIANT_COSINE
                       ? 1.0
                       : sl_reference_dg_dtheta(variant, theta, k) * (-1.0 / sqrt(1.0 - (double)c * c));
    *dk_term = (double)dout * sl_reference_dg_dk(variant, theta, k);
    return fabsf(c) >= SL_COS_MAX ? 0.0 : (double)dout * dg_dc;
}

void sl_sphere_backward_reference(int variant, const float *dout, const float *cos_saved,
                                  const float *inv_w, const float *inv_x, const float *k, int oc, int ld,
                                  int m0, int m1, float *du, float *row_acc, float *col_acc, float *dk) {
    // Row sums first (reading dout only), then columns, writing du last: du may alias dout.
    for (int r = 0; r < oc; r++) {
        double kr = (variant == SL_VARIANT_SIGMOID && k != NULL) ? k[r] : NAN;
        double row_sum = 0.0, dk_sum = 0.0;
        for (int m = m0; m < m1; m++) {
            long i = (long)r * ld + m;
            double dk_term;
            double dc = sl_reference_dc(variant, dout[i], cos_saved[i], kr, &dk_term);
            row_sum += dc * cos_saved[i];
            dk_sum += dk_term;
        }
        row_acc[r] = (float)(row_acc[r] + row_sum);
        if (variant == SL_VARIANT_SIGMOID && dk != NULL) dk[r] = (float)(dk[r] + dk_sum);
    }
    for (int m = m0; m < m1; m++) {
        double col_sum = 0.0;
        for (int r = 0; r < oc; r++) {
            long i = (long)r * ld + m;
            double kr = (variant == SL_VARIANT_SIGMOID && k != NULL) ? k[r] : NAN;
            double dk_term;
            double dc = sl_reference_dc(variant, dout[i], cos_saved[i], kr, &dk_term);
            col_sum += dc * cos_saved[i];
            du[i] = (float)(dc * inv_w[r] * inv_x[m]);
        }
        col_acc[m] = (float)(col_acc[m] + col_sum);
    }
}
