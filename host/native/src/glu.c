/* SwiGLU / GeGLU (tanh approximation) of the fused gate+up output (layers.glu). */
#include <math.h>
#include "zynpu_native.h"

void zn_glu(const float *gate, const float *up, int n, int gelu, float *out) {
    for (int i = 0; i < n; i++) {
        float g = gate[i], act;
        if (gelu) {
            /* 0.5 g (1 + tanh(u)) = g / (1 + exp(-2u)): one expf instead of libm's tanhf, several times
             * slower per call; the two differ in the last bits only (numpy's own SIMD tanh differs too). */
            float u = 0.7978845608028654f * (g + 0.044715f * (g * g * g));
            act = g / (1.0f + expf(-2.0f * u));
        } else {
            act = g / (1.0f + expf(-g));
        }
        out[i] = act * up[i];
    }
}
