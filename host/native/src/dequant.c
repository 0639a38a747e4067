/* int32 tile results to float32, and the LM head's arg-max without dequantizing the vocabulary. */
#include "zynpu_native.h"

/* y = (acc * x_scale) * w_scale (+ bias), in that order (w8a8.dequantize_output). */
void zn_dequantize(const int32_t *acc, int n, float x_scale, const float *w_scale, const float *bias, float *y) {
    for (int i = 0; i < n; i++) {
        float v = ((float)acc[i] * x_scale) * w_scale[i];
        y[i] = bias ? v + bias[i] : v;
    }
}

/* argmax(acc * w_scale): the activation scale is one positive number, so it cannot change the winner
 * (transformer.Linear.argmax); the first of equal maxima wins, as np.argmax picks it. */
int zn_argmax_scaled(const int32_t *acc, int n, const float *w_scale) {
    int best = 0;
    float top = (float)acc[0] * w_scale[0];
    for (int i = 1; i < n; i++) {
        float v = (float)acc[i] * w_scale[i];
        if (v > top) {
            top = v;
            best = i;
        }
    }
    return best;
}
