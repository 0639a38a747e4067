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
    /* One pass in blocks of 256: each block's maximum (8 running maxima, vectorized), the first block
     * whose maximum beats all before it kept; then the first index in that block holding the value.
     * Ties go to the first index, as np.argmax; NaN scores never win (no finite scale makes one). */
    enum { BLOCK = 256 };
    float top = -INFINITY;
    int best_block = 0;
    for (int b0 = 0; b0 < n; b0 += BLOCK) {
        int b1 = b0 + BLOCK < n ? b0 + BLOCK : n;
        float lane[8];
        for (int j = 0; j < 8; j++) lane[j] = -INFINITY;
        int i = b0;
        for (; i + 8 <= b1; i += 8)
            for (int j = 0; j < 8; j++) {
                float v = (float)acc[i + j] * w_scale[i + j];
                lane[j] = v > lane[j] ? v : lane[j];
            }
        float m = -INFINITY;
        for (int j = 0; j < 8; j++) m = lane[j] > m ? lane[j] : m;
        for (; i < b1; i++) {
            float v = (float)acc[i] * w_scale[i];
            m = v > m ? v : m;
        }
        if (m > top) {
            top = m;
            best_block = b0;
        }
    }
    int end = best_block + BLOCK < n ? best_block + BLOCK : n;
    for (int i = best_block; i < end; i++)
        if ((float)acc[i] * w_scale[i] == top) return i;
    return 0;
}
