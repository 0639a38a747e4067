/* Causal (sliding-window) grouped-query attention of one query position over the KV cache. */
#include <math.h>
#include "zynpu_native.h"

/* q (h, hd); keys/values (pos+1, hkv, hd); out (h, hd). Key s is visible when s <= pos and, with a
 * window, pos - s < window (layers.visible_keys). scores holds pos+1 floats. Dot products accumulate in
 * float64 (BLAS sums float32 in its own order: the last bits differ from numpy's either way). */
void zn_attention(const float *q, const float *keys, const float *values, int h, int hkv, int hd, int pos,
                  int window, float scale, float *scores, float *out) {
    int g = h / hkv, len = pos + 1;
    int first = (window > 0 && pos - window + 1 > 0) ? pos - window + 1 : 0;
    for (int head = 0; head < h; head++) {
        int kv = head / g;
        const float *qh = q + (long)head * hd;
        float top = -INFINITY;
        for (int s = 0; s < len; s++) {
            if (s < first) {
                scores[s] = -INFINITY;
                continue;
            }
            const float *k = keys + ((long)s * hkv + kv) * hd;
            double dot = 0.0;
            for (int i = 0; i < hd; i++) dot += (double)qh[i] * k[i];
            float v = (float)dot * scale;
            scores[s] = v;
            if (v > top) top = v;
        }
        for (int s = 0; s < len; s++) scores[s] = expf(scores[s] - top);
        float sum = zn_pairwise_sum(scores, len);
        for (int s = 0; s < len; s++) scores[s] /= sum;
        float *o = out + (long)head * hd;
        for (int i = 0; i < hd; i++) {
            double acc = 0.0;
            for (int s = first; s < len; s++) acc += (double)scores[s] * values[((long)s * hkv + kv) * hd + i];
            o[i] = (float)acc;
        }
    }
}
