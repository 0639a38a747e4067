/* Tile jobs through ports: the `ref` port (the tile's integer arithmetic) and the split of N over ports. */
#include <stdlib.h>
#include <string.h>
#include "zynpu_native.h"

/* The tile's arithmetic for columns n0..n1: int8 x int8 (or int4 x group scale) products summed exactly;
 * the int32 result wraps as the tile's adders do (no build's max_k reaches it). */
void zn_tile_ref(const int8_t *x, const zn_weights *w, int n0, int n1, int32_t *y) {
    int k = w->k;
    if (w->fmt == ZN_INT4) {
        int g = w->group, groups = (k + g - 1) / g;
        for (int n = n0; n < n1; n++) {
            const int8_t *row = w->q + (long)n * k;
            const uint8_t *s = w->scales + (long)n * groups;
            int64_t acc = 0;
            for (int gi = 0; gi < groups; gi++) {
                int a = gi * g, b = a + g < k ? a + g : k;
                int32_t part = 0;
                for (int i = a; i < b; i++) part += (int32_t)x[i] * row[i];
                acc += (int64_t)s[gi] * part;
            }
            y[n - n0] = (int32_t)(uint32_t)(uint64_t)acc;
        }
        return;
    }
    for (int n = n0; n < n1; n++) {
        const int8_t *row = w->q + (long)n * k;
        int32_t acc = 0; /* |sum| <= 127 * 128 * max_k (8192): fits */
        for (int i = 0; i < k; i++) acc += (int32_t)x[i] * row[i];
        y[n - n0] = acc;
    }
}

static int ref_run(zn_port *port, const int8_t *x, const zn_weights *w, int n0, int n1, int32_t *y) {
    double t0 = zn_now();
    zn_tile_ref(x, w, n0, n1, y);
    port->device_s += zn_now() - t0;
    port->jobs++;
    return 0;
}

void zn_port_ref_init(zn_port *port) {
    port->ctx = 0;
    port->run = ref_run;
    port->device_s = 0.0;
    port->jobs = 0;
}

/* N over `ports` in contiguous ranges of whole lane blocks, as even as blocks allow (zynpu.npu.port_columns). */
void zn_port_columns(int n, int lanes, int ports, int *starts, int *stops, int *used) {
    int blocks = (n + lanes - 1) / lanes;
    int u = ports < blocks ? ports : blocks;
    if (u < 1) u = 1;
    int base = blocks / u, extra = blocks % u, b0 = 0;
    for (int p = 0; p < u; p++) {
        int b1 = b0 + base + (p < extra ? 1 : 0);
        starts[p] = b0 * lanes;
        stops[p] = b1 * lanes < n ? b1 * lanes : n;
        b0 = b1;
    }
    *used = u;
}

/* y (N) = x (K) . W.T, one job per used port (all ports' jobs make one wave). */
int zn_matmul(zn_port *ports, int n_ports, int lanes, const int8_t *x, const zn_weights *w, int32_t *y) {
    int starts[64], stops[64], used;
    if (n_ports > 64) return -1;
    zn_port_columns(w->n, lanes, n_ports, starts, stops, &used);
    for (int p = 0; p < used; p++) {
        int rc = ports[p].run(&ports[p], x, w, starts[p], stops[p], y + starts[p]);
        if (rc) return rc;
    }
    return 0;
}

/* P `ref` ports with `lanes` int8 lanes each (tile columns per lane block). */
zn_ports *zn_ports_new_ref(int n, int lanes) {
    if (n < 1 || n > 64) return 0;
    zn_ports *p = calloc(1, sizeof *p);
    if (!p) return 0;
    p->port = calloc((size_t)n, sizeof *p->port);
    p->n = n;
    p->lanes = lanes;
    for (int i = 0; i < n; i++) {
        zn_port_ref_init(&p->port[i]);
        p->port[i].index = i;
    }
    return p;
}

/* P ports, each a tile behind its own AXI DMA (axi_dma.c): dmas[i] is port i's zn_axi_dma. */
zn_ports *zn_ports_new_axi(int n, int lanes, void **dmas) {
    zn_ports *p = zn_ports_new_ref(n, lanes);
    if (!p) return 0;
    for (int i = 0; i < n; i++) zn_port_axi_init(&p->port[i], dmas[i]);
    return p;
}

void zn_ports_free(zn_ports *p) {
    if (!p) return;
    free(p->tape);
    free(p->port);
    free(p);
}

static int replay(zn_ports *p, const zn_weights *w, int32_t *y) {
    int starts[64], stops[64], used;
    zn_port_columns(w->n, p->lanes, p->n, starts, stops, &used);
    if (p->tape_pos + w->n > p->tape_len) return -2; /* the tape ran out: not the recorded token */
    for (int i = 0; i < used; i++) {
        double t0 = zn_now();
        memcpy(y + starts[i], p->tape + p->tape_pos + starts[i], sizeof(int32_t) * (size_t)(stops[i] - starts[i]));
        p->port[i].device_s += zn_now() - t0;
        p->port[i].jobs++;
    }
    p->tape_pos += w->n;
    return 0;
}

static int record(zn_ports *p, const zn_weights *w, const int32_t *y) {
    if (p->tape_len + w->n > p->tape_cap) {
        long cap = 2 * (p->tape_len + w->n);
        int32_t *tape = realloc(p->tape, sizeof(int32_t) * (size_t)cap);
        if (!tape) return -3;
        p->tape = tape;
        p->tape_cap = cap;
    }
    memcpy(p->tape + p->tape_len, y, sizeof(int32_t) * (size_t)w->n);
    p->tape_len += w->n;
    return 0;
}

int zn_ports_run(zn_ports *p, const int8_t *x, const zn_weights *w, int32_t *y) {
    double t0 = zn_now();
    int rc = p->mode == ZN_REPLAY ? replay(p, w, y) : zn_matmul(p->port, p->n, p->lanes, x, w, y);
    p->matmul_s += zn_now() - t0;
    p->matmuls++;
    if (!rc && p->mode == ZN_RECORD) rc = record(p, w, y);
    return rc;
}

/* mode: ZN_COMPUTE, ZN_RECORD (clears the tape) or ZN_REPLAY (from the tape's start). */
void zn_ports_mode(zn_ports *p, int mode) {
    p->mode = mode;
    if (mode == ZN_RECORD) p->tape_len = 0;
    p->tape_pos = 0;
}

/* The matmul entry for callers outside the decode loop (prefill, tests): y (N) = x (K) . W.T. */
int zn_ports_matmul(zn_ports *p, const int8_t *x, int n, int k, int fmt, int group, const int8_t *q,
                    const uint8_t *scales, void *const *port_data, int32_t *y) {
    zn_weights w = {n, k, fmt, group, q, scales, port_data};
    return zn_ports_run(p, x, &w, y);
}

/* [0] seconds in matmul calls, [1] device seconds summed over ports, [2] matmul calls, [3] port jobs. */
void zn_ports_stats(const zn_ports *p, double *out) {
    double dev = 0.0;
    long jobs = 0;
    for (int i = 0; i < p->n; i++) {
        dev += p->port[i].device_s;
        jobs += p->port[i].jobs;
    }
    out[0] = p->matmul_s;
    out[1] = dev;
    out[2] = (double)p->matmuls;
    out[3] = (double)jobs;
}

/* Port i's own counters: [0] device seconds (its clock_gettime windows), [1] jobs. */
void zn_ports_port_stats(const zn_ports *p, int i, double *out) {
    out[0] = i >= 0 && i < p->n ? p->port[i].device_s : 0.0;
    out[1] = i >= 0 && i < p->n ? (double)p->port[i].jobs : 0.0;
}
