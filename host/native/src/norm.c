/* RMSNorm and the per-row int8 quantizer, in numpy's float32 operation order (bit-identical results). */
#include <math.h>
#include "zynpu_native.h"

/* numpy's pairwise summation of float32 (8 partial sums in blocks of up to 128, halves above). */
float zn_pairwise_sum(const float *a, long n) {
    if (n < 8) {
        float r = 0.0f;
        for (long i = 0; i < n; i++) r += a[i];
        return r;
    }
    if (n <= 128) {
        float r[8];
        long i;
        for (int j = 0; j < 8; j++) r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    long n2 = n / 2;
    n2 -= n2 % 8;
    return zn_pairwise_sum(a, n2) + zn_pairwise_sum(a + n2, n - n2);
}

/* y = x / sqrt(mean(x*x) + eps) * (w + offset); tmp holds n floats. y may alias x. */
void zn_rms_norm(const float *x, const float *w, int n, float eps, float offset, float *y, float *tmp) {
    for (int i = 0; i < n; i++) tmp[i] = x[i] * x[i];
    float ms = (float)((double)zn_pairwise_sum(tmp, n) / (double)n); /* mean: float64 divide, cast back */
    ms += eps;
    float r = 1.0f / sqrtf(ms);
    for (int i = 0; i < n; i++) y[i] = (x[i] * r) * (w[i] + offset);
}

/* scale = max|a| / 127 (1 for an all-zero row), q = clip(rint(a / scale), -127, 127): w8a8.quantize_rows. */
void zn_quantize_row(const float *a, int n, int8_t *q, float *scale) {
    float amax = 0.0f;
    for (int i = 0; i < n; i++) { /* vectorized; a NaN is skipped (numpy's row would get scale 1) */
        float v = fabsf(a[i]);
        amax = v > amax ? v : amax;
    }
    float s = amax / 127.0f;
    if (!(s > 0.0f)) s = 1.0f;
    /* Clip, then round half to even by adding and subtracting 1.5 * 2^23 (exact in float32 for
     * |v| < 2^22): within -127..127 the same as np.rint then clip. NaN goes to -127. */
    const float magic = 12582912.0f;
    for (int i = 0; i < n; i++) {
        float v = a[i] / s;
        float r = v > -127.0f ? v : -127.0f;
        r = r < 127.0f ? r : 127.0f;
        q[i] = (int8_t)(int32_t)((r + magic) - magic);
    }
    *scale = s;
}
