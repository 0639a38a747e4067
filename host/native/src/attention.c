/* Causal (sliding-window) grouped-query attention of one query position over the KV cache. */
#include <math.h>
#include "zynpu_native.h"

/* q.k in float32 with 8 running partial sums (vectorizable; BLAS, which numpy calls, sums float32 in
 * its own blocked order, so the last bits differ from numpy's either way). */
static float dot(const float *a, const float *b, int n) {
    float part[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) part[j] += a[i + j] * b[i + j];
    float r = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}

/* q (h, hd); keys/values (pos+1, hkv, hd); out (h, hd). Key s is visible when s <= pos and, with a
 * window, pos - s < window (layers.visible_keys). scores holds pos+1 floats. */
void zn_attention(const float *q, const float *keys, const float *values, int h, int hkv, int hd, int pos,
                  int window, float scale, float *scores, float *out) {
    int g = h / hkv, len = pos + 1;
    int first = (window > 0 && pos - window + 1 > 0) ? pos - window + 1 : 0;
    for (int head = 0; head < h; head++) {
        int kv = head / g;
        const float *qh = q + (long)head * hd;
        float top = -INFINITY;
        for (int s = 0; s < first; s++) scores[s] = 0.0f; /* masked: exp(-inf) */
        for (int s = first; s < len; s++) {
            float v = dot(qh, keys + ((long)s * hkv + kv) * hd, hd) * scale;
            scores[s] = v;
            top = v > top ? v : top;
        }
        for (int s = first; s < len; s++) scores[s] = expf(scores[s] - top);
        float sum = zn_pairwise_sum(scores, len);
        for (int s = first; s < len; s++) scores[s] /= sum;
        float *o = out + (long)head * hd;
        for (int i = 0; i < hd; i++) o[i] = 0.0f;
        for (int s = first; s < len; s++) {
            const float *v = values + ((long)s * hkv + kv) * hd;
            float p = scores[s];
            for (int i = 0; i < hd; i++) o[i] += p * v[i];
        }
    }
}
