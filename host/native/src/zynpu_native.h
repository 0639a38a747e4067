/* zynpu native host: one decode token in one call, tile jobs behind a port interface.
 * Mirrors zynpu.model.transformer (float32 everywhere, numpy's operation order where it is defined). */
#ifndef ZYNPU_NATIVE_H
#define ZYNPU_NATIVE_H
#include <stdint.h>

enum { ZN_INT8 = 0, ZN_INT4 = 1 };

/* A weight tensor W (N, K) as the host packed it: int8 values (int4 values -8..7 in int8 storage),
 * row-major, and for int4 uint8 group scales (N, ceil(K/group)). */
typedef struct {
    int n, k, fmt, group;
    const int8_t *q;
    const uint8_t *scales;
    void *const *port_data; /* per port, what a port other than ref needs (its packed copy); may be NULL */
} zn_weights;

/* A weight port: one DMA and tile. `run` computes y[n0..n1) = x . W[n0..n1).T exactly in int32
 * (what the tile returns for that column slice) and adds the seconds its device spent to device_s. */
typedef struct zn_port {
    void *ctx;
    int (*run)(struct zn_port *port, const int8_t *x, const zn_weights *w, int n0, int n1, int32_t *y);
    double device_s;
    long jobs;
    int index; /* which port of its set */
} zn_port;

double zn_now(void);

/* axi_dma.c */
void zn_port_axi_init(zn_port *port, void *dma);

/* ports.c */
void zn_port_ref_init(zn_port *port);
void zn_port_columns(int n, int lanes, int ports, int *starts, int *stops, int *used);
/* A host's weight ports (all of one kind) and the time its matmul calls took. */
typedef struct {
    zn_port *port;
    int n, lanes;
    double matmul_s;
    long matmuls;
    /* A tape of results: ZN_RECORD appends every job's results, ZN_REPLAY serves them back in order
     * instead of computing (a token replayed does the same host work while the tile's arithmetic stays
     * out of the CPU's caches, as it does on a board where the PL computes). */
    int mode;
    int32_t *tape;
    long tape_len, tape_cap, tape_pos;
} zn_ports;
enum { ZN_COMPUTE = 0, ZN_RECORD = 1, ZN_REPLAY = 2 };
int zn_matmul(zn_port *ports, int n_ports, int lanes, const int8_t *x, const zn_weights *w, int32_t *y);
int zn_ports_run(zn_ports *ports, const int8_t *x, const zn_weights *w, int32_t *y);
void zn_tile_ref(const int8_t *x, const zn_weights *w, int n0, int n1, int32_t *y);

/* norm.c */
float zn_pairwise_sum(const float *a, long n);
void zn_rms_norm(const float *x, const float *w, int n, float eps, float offset, float *y, float *tmp);
void zn_quantize_row(const float *a, int n, int8_t *q, float *scale);

/* dequant.c */
void zn_dequantize(const int32_t *acc, int n, float x_scale, const float *w_scale, const float *bias, float *y);
int zn_argmax_scaled(const int32_t *acc, int n, const float *w_scale);

/* rope.c */
void zn_rope(float *x, int heads, int hd, const float *cos, const float *sin, int gptj, float *tmp);

/* attention.c */
void zn_attention(const float *q, const float *keys, const float *values, int h, int hkv, int hd, int pos,
                  int window, float scale, float *scores, float *out);

/* embed.c */
enum { ZN_EMBED_F32 = 0, ZN_EMBED_F16 = 1, ZN_EMBED_Q8_0 = 2 };
void zn_embed_row(const uint8_t *table, int format, long row_bytes, int cols, int token, float *out);

/* glu.c */
void zn_glu(const float *gate, const float *up, int n, int gelu, float *out);
#endif
