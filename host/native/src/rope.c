/* Rotary position embedding of one position's heads (layers.apply_rope). */
#include "zynpu_native.h"

/* x (heads, hd) rotated in place by the position's cos/sin rows (hd/2 each); tmp holds hd floats.
 * neox pairs i with i + hd/2; gptj pairs 2i with 2i+1. */
void zn_rope(float *x, int heads, int hd, const float *cos, const float *sin, int gptj, float *tmp) {
    int half = hd / 2;
    for (int h = 0; h < heads; h++) {
        float *v = x + (long)h * hd;
        for (int i = 0; i < half; i++) {
            float a = gptj ? v[2 * i] : v[i], b = gptj ? v[2 * i + 1] : v[i + half];
            float c = cos[i], s = sin[i];
            float lo = a * c - b * s, hi = b * c + a * s;
            if (gptj) {
                tmp[2 * i] = lo;
                tmp[2 * i + 1] = hi;
            } else {
                tmp[i] = lo;
                tmp[i + half] = hi;
            }
        }
        for (int i = 0; i < hd; i++) v[i] = tmp[i];
    }
}
