/* The token's embedding row, read from the table as stored: float32, float16 or GGUF Q8_0 blocks
 * (a float16 scale and 32 int8 per block; value = (float)q * (float)d, as gguf.quants computes it). */
#include <string.h>
#include "zynpu_native.h"

/* IEEE half to float, exact (subnormals and inf/NaN included). */
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (man << 13);
    } else if (exp) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man) { /* subnormal half: normalize */
        int e = -1;
        do {
            man <<= 1;
            e++;
        } while (!(man & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3FF) << 13);
    } else {
        bits = sign;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

void zn_embed_row(const uint8_t *table, int format, long row_bytes, int cols, int token, float *out) {
    const uint8_t *row = table + (long)token * row_bytes;
    if (format == ZN_EMBED_F32) {
        memcpy(out, row, sizeof(float) * (size_t)cols);
    } else if (format == ZN_EMBED_F16) {
        for (int i = 0; i < cols; i++) {
            uint16_t h;
            memcpy(&h, row + 2 * i, 2);
            out[i] = half_to_float(h);
        }
    } else { /* Q8_0 */
        for (int b = 0; b < cols / 32; b++) {
            const uint8_t *block = row + 34 * b;
            uint16_t h;
            memcpy(&h, block, 2);
            float d = half_to_float(h);
            for (int i = 0; i < 32; i++) out[32 * b + i] = (float)(int8_t)block[2 + i] * d;
        }
    }
}
