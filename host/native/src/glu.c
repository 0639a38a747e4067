/* SwiGLU / GeGLU (tanh approximation) of the fused gate+up output (layers.glu). */
#include <math.h>
#include "zynpu_native.h"

void zn_glu(const float *gate, const float *up, int n, int gelu, float *out) {
    for (int i = 0; i < n; i++) {
        float g = gate[i], act;
        if (gelu) {
            float inner = 0.7978845608028654f * (g + 0.044715f * powf(g, 3.0f));
            act = (0.5f * g) * (1.0f + tanhf(inner));
        } else {
            act = g / (1.0f + expf(-g));
        }
        out[i] = act * up[i];
    }
}
