/* The layer/token loop: one whole decode token in one call (zynpu.model.transformer.decoder_layer). */
#include <stdlib.h>
#include <string.h>
#include "zynpu_native.h"

typedef struct {
    zn_weights w;
    const float *w_scale, *bias;
} zn_linear;

enum { SITE_QKV, SITE_O, SITE_GATE_UP, SITE_DOWN, SITES };
enum { N_ATTN, N_FFN, N_Q, N_K, N_POST_ATTN, N_POST_FFN, NORMS };

typedef struct {
    zn_linear site[SITES];
    const float *norm[NORMS];
    const float *cos, *sin; /* (max_pos, hd/2) */
    int window;             /* 0: global */
    float *k_cache, *v_cache; /* (max_ctx, hkv, hd) */
} zn_layer;

typedef struct {
    int d, layers, h, hkv, hd, inter, vocab, max_ctx, qk_norm, sandwich, gelu, gptj, n_ports;
    float eps, offset, attn_scale, embed_scale; /* embed_scale 0: none */
    zn_layer *layer;
    zn_linear head;
    const float *final_norm;
    zn_ports *ports;
    const uint8_t *embed; /* the embedding table as stored (NULL: rows come from the caller) */
    int embed_format;
    long embed_row_bytes;
    /* scratch */
    float *x, *h_, *tmp, *qkv, *att, *a, *gu, *mlp, *scores;
    int8_t *xq;
    int32_t *acc;
    /* wall seconds per host stage (enum below), summed over calls */
    double stage_s[8];
} zn_model;

/* Host stages timed in zn_decode: the per-stage profile `zynpu bench decode --host native` reports. */
enum { ST_NORM, ST_QUANT, ST_DEQUANT, ST_ROPE, ST_ATTN, ST_GLU, ST_RESID, ST_ARGMAX, STAGES };
#define TIMED(m, stage, call) do { double t_ = zn_now(); call; (m)->stage_s[stage] += zn_now() - t_; } while (0)

zn_model *zn_model_new(const int *ints, const float *floats, zn_ports *ports) {
    zn_model *m = calloc(1, sizeof *m);
    if (!m) return 0;
    m->d = ints[0]; m->layers = ints[1]; m->h = ints[2]; m->hkv = ints[3]; m->hd = ints[4];
    m->inter = ints[5]; m->vocab = ints[6]; m->max_ctx = ints[7]; m->qk_norm = ints[9];
    m->sandwich = ints[10]; m->gelu = ints[11]; m->gptj = ints[12];
    m->ports = ports;
    m->eps = floats[0]; m->offset = floats[1]; m->attn_scale = floats[2]; m->embed_scale = floats[3];
    m->layer = calloc((size_t)m->layers, sizeof *m->layer);
    int qkv = (m->h + 2 * m->hkv) * m->hd, wide = m->d;
    if (qkv > wide) wide = qkv;
    if (2 * m->inter > wide) wide = 2 * m->inter;
    if (m->vocab > wide) wide = m->vocab;
    m->x = malloc(sizeof(float) * m->d);
    m->h_ = malloc(sizeof(float) * wide);
    m->tmp = malloc(sizeof(float) * wide);
    m->qkv = malloc(sizeof(float) * qkv);
    m->att = malloc(sizeof(float) * m->h * m->hd);
    m->a = malloc(sizeof(float) * m->d);
    m->gu = malloc(sizeof(float) * 2 * m->inter);
    m->mlp = malloc(sizeof(float) * wide);
    m->scores = malloc(sizeof(float) * (m->max_ctx + 1));
    m->xq = malloc((size_t)wide);
    m->acc = malloc(sizeof(int32_t) * wide);
    return m;
}

void zn_model_free(zn_model *m) {
    if (!m) return;
    free(m->x); free(m->h_); free(m->tmp); free(m->qkv); free(m->att); free(m->a); free(m->gu);
    free(m->mlp); free(m->scores); free(m->xq); free(m->acc); free(m->layer); free(m);
}

static void set_linear(zn_linear *l, int n, int k, int fmt, int group, const int8_t *q, const uint8_t *scales,
                       void *const *port_data, const float *w_scale, const float *bias) {
    l->w.n = n; l->w.k = k; l->w.fmt = fmt; l->w.group = group; l->w.q = q; l->w.scales = scales;
    l->w.port_data = port_data;
    l->w_scale = w_scale; l->bias = bias;
}

/* site: 0..3 a layer's qkv/o/gate_up/down; layer -1: the LM head. */
void zn_model_set_linear(zn_model *m, int layer, int site, int n, int k, int fmt, int group, const int8_t *q,
                         const uint8_t *scales, void *const *port_data, const float *w_scale, const float *bias) {
    zn_linear *l = layer < 0 ? &m->head : &m->layer[layer].site[site];
    set_linear(l, n, k, fmt, group, q, scales, port_data, w_scale, bias);
}

/* layer -1: the final norm (index ignored). */
void zn_model_set_norm(zn_model *m, int layer, int index, const float *w) {
    if (layer < 0) m->final_norm = w;
    else m->layer[layer].norm[index] = w;
}

void zn_model_set_layer(zn_model *m, int layer, const float *cos, const float *sin, int window, float *k_cache,
                        float *v_cache) {
    zn_layer *l = &m->layer[layer];
    l->cos = cos; l->sin = sin; l->window = window; l->k_cache = k_cache; l->v_cache = v_cache;
}

void zn_model_set_embed(zn_model *m, const uint8_t *table, int format, long row_bytes) {
    m->embed = table; m->embed_format = format; m->embed_row_bytes = row_bytes;
}

/* Quantize `in` (k floats) to int8, run the job on the ports, dequantize into `out`. */
static int linear(zn_model *m, const zn_linear *l, const float *in, float *out) {
    float xs;
    TIMED(m, ST_QUANT, zn_quantize_row(in, l->w.k, m->xq, &xs));
    int rc = zn_ports_run(m->ports, m->xq, &l->w, m->acc);
    if (rc) return rc;
    TIMED(m, ST_DEQUANT, zn_dequantize(m->acc, l->w.n, xs, l->w_scale, l->bias, out));
    return 0;
}

static void norm(zn_model *m, const float *x, const float *w, int n, float *y) {
    TIMED(m, ST_NORM, zn_rms_norm(x, w, n, m->eps, m->offset, y, m->tmp));
}

static int layer_step(zn_model *m, int i, int pos) {
    zn_layer *l = &m->layer[i];
    int d = m->d, hd = m->hd, nq = m->h * hd, nkv = m->hkv * hd;
    norm(m, m->x, l->norm[N_ATTN], d, m->h_);
    int rc = linear(m, &l->site[SITE_QKV], m->h_, m->qkv);
    if (rc) return rc;
    float *q = m->qkv, *k = m->qkv + nq, *v = m->qkv + nq + nkv;
    if (m->qk_norm) {
        for (int h = 0; h < m->h; h++) norm(m, q + h * hd, l->norm[N_Q], hd, q + h * hd);
        for (int h = 0; h < m->hkv; h++) norm(m, k + h * hd, l->norm[N_K], hd, k + h * hd);
    }
    const float *cos = l->cos + (long)pos * (hd / 2), *sin = l->sin + (long)pos * (hd / 2);
    TIMED(m, ST_ROPE, zn_rope(q, m->h, hd, cos, sin, m->gptj, m->tmp); zn_rope(k, m->hkv, hd, cos, sin, m->gptj, m->tmp));
    TIMED(m, ST_ATTN, {
        memcpy(l->k_cache + (long)pos * nkv, k, sizeof(float) * nkv);
        memcpy(l->v_cache + (long)pos * nkv, v, sizeof(float) * nkv);
        zn_attention(q, l->k_cache, l->v_cache, m->h, m->hkv, hd, pos, l->window, m->attn_scale, m->scores, m->att);
    });
    if ((rc = linear(m, &l->site[SITE_O], m->att, m->a))) return rc;
    if (m->sandwich) norm(m, m->a, l->norm[N_POST_ATTN], d, m->a);
    TIMED(m, ST_RESID, for (int j = 0; j < d; j++) m->x[j] = m->x[j] + m->a[j]);
    norm(m, m->x, l->norm[N_FFN], d, m->h_);
    if ((rc = linear(m, &l->site[SITE_GATE_UP], m->h_, m->gu))) return rc;
    TIMED(m, ST_GLU, zn_glu(m->gu, m->gu + m->inter, m->inter, m->gelu, m->mlp));
    if ((rc = linear(m, &l->site[SITE_DOWN], m->mlp, m->a))) return rc;
    if (m->sandwich) norm(m, m->a, l->norm[N_POST_FFN], d, m->a);
    TIMED(m, ST_RESID, for (int j = 0; j < d; j++) m->x[j] = m->x[j] + m->a[j]);
    return 0;
}

/* Layers [0, upto) on the embedding row `embed` at position pos; upto == layers also runs the final norm
 * and the LM head and returns the arg-max token (>= 0); negative: a port failed. `hidden` (d floats, may
 * be NULL) receives the final-normed hidden state (or the residual stream after `upto` layers). */
int zn_decode(zn_model *m, const float *embed, int pos, int upto, float *hidden) {
    int d = m->d;
    for (int j = 0; j < d; j++) m->x[j] = m->embed_scale != 0.0f ? embed[j] * m->embed_scale : embed[j];
    for (int i = 0; i < upto; i++) {
        int rc = layer_step(m, i, pos);
        if (rc) return -1;
    }
    if (upto < m->layers) {
        if (hidden) memcpy(hidden, m->x, sizeof(float) * d);
        return 0;
    }
    norm(m, m->x, m->final_norm, d, m->h_);
    if (hidden) memcpy(hidden, m->h_, sizeof(float) * d);
    float xs;
    TIMED(m, ST_QUANT, zn_quantize_row(m->h_, d, m->xq, &xs));
    if (zn_ports_run(m->ports, m->xq, &m->head.w, m->acc)) return -1;
    int best;
    TIMED(m, ST_ARGMAX, best = zn_argmax_scaled(m->acc, m->head.w.n, m->head.w_scale));
    return best;
}

/* zn_decode from the token id: its row read from the stored table (zn_model_set_embed) in C. */
int zn_decode_token(zn_model *m, int token, int pos, int upto, float *hidden) {
    if (!m->embed || token < 0 || token >= m->vocab) return -2;
    zn_embed_row(m->embed, m->embed_format, m->embed_row_bytes, m->d, token, m->a);
    return zn_decode(m, m->a, pos, upto, hidden);
}

/* The LM head's int32 results of the last zn_decode (vocab values): for logits in tests. */
const int32_t *zn_model_last_acc(zn_model *m) { return m->acc; }


/* Seconds per host stage so far: norm, quantize, dequantize, rope, attention (with the KV append), glu,
 * residual adds, LM-head arg-max. */
void zn_model_stages(const zn_model *m, double *out) {
    for (int i = 0; i < STAGES; i++) out[i] = m->stage_s[i];
}
