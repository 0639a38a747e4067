/* int32 tile results to float32, and the LM head's arg-max without dequantizing the vocabulary. */
#include <math.h>
#include "zynpu_native.h"

/* y = (acc * x_scale) * w_scale (+ bias), in that order (w8a8.dequantize_output). */
void zn_dequantize(const int32_t *acc, int n, float x_scale, const float *w_scale, const float *bias, float *y) {
    if (bias)
        for (int i = 0; i < n; i++) y[i] = ((float)acc[i] * x_scale) * w_scale[i] + bias[i];
    else
        for (int i = 0; i < n; i++) y[i] = ((float)acc[i] * x_scale) * w_scale[i];
}

/* argmax(acc * w_scale): the activation scale is one positive number, so it cannot change the winner
 * (transformer.Linear.argmax); the first of equal maxima wins, as np.argmax picks it. */
int zn_argmax_scaled(const int32_t *acc, int n, const float *w_scale) {
    /* Two passes the compiler can vectorize: the largest value (8 running maxima), then its first index.
     * NaN scores never win here, where np.argmax would pick the first NaN: no finite scale makes one. */
    float lane[8];
    for (int j = 0; j < 8; j++) lane[j] = -INFINITY;
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            float v = (float)acc[i + j] * w_scale[i + j];
            lane[j] = v > lane[j] ? v : lane[j];
        }
    float top = -INFINITY;
    for (int j = 0; j < 8; j++) top = lane[j] > top ? lane[j] : top;
    for (; i < n; i++) {
        float v = (float)acc[i] * w_scale[i];
        top = v > top ? v : top;
    }
    for (i = 0; i < n; i++)
        if ((float)acc[i] * w_scale[i] == top) return i;
    return 0;
}
