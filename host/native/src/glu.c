/* SwiGLU / GeGLU (tanh approximation) of the fused gate+up output (layers.glu). */
#include <math.h>
#include "zynpu_native.h"

/* out = act(gate) * up. Three loops so the arithmetic vectorizes around libm's scalar expf: the
 * exponent's argument, expf, then the rest. GeGLU's 0.5 g (1 + tanh(u)) is computed as
 * g / (1 + exp(-2u)): one expf instead of libm's tanhf, several times slower per call; the two differ in
 * the last bits only (numpy's own SIMD tanh differs from both). out holds the exponentials meanwhile. */
void zn_glu(const float *gate, const float *up, int n, int gelu, float *out) {
    if (gelu)
        for (int i = 0; i < n; i++) {
            float g = gate[i];
            out[i] = -2.0f * (0.7978845608028654f * (g + 0.044715f * (g * g * g)));
        }
    else
        for (int i = 0; i < n; i++) out[i] = -gate[i];
    for (int i = 0; i < n; i++) out[i] = expf(out[i]);
    for (int i = 0; i < n; i++) out[i] = (gate[i] / (1.0f + out[i])) * up[i];
}
