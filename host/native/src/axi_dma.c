/* One tile job through a Xilinx AXI DMA in direct-register (simple) mode, as PG021 documents it.
 *
 * The register offsets and bits are not written here: the caller fills `zn_axi_regs` from the
 * project's one definition (zynpu.device.axi_dma_regs). Register access goes through two function
 * pointers: on a board, loads and stores to the mmap'd register window; in the tests, the project's AXI
 * DMA register model (zynpu.device.axi_dma_model). `zn_port_axi_init` makes it a port. */
#include <stdint.h>
#include <string.h>
#include "zynpu_native.h"

typedef struct {
    uint32_t mm2s, s2mm, dmacr, dmasr, addr, addr_msb, length;
    uint32_t cr_rs, cr_reset, sr_halted, sr_idle, sr_errors, sr_ioc;
} zn_axi_regs;

typedef struct {
    void *bus;
    uint32_t (*rd)(void *bus, uint32_t offset);
    void (*wr)(void *bus, uint32_t offset, uint32_t value);
    zn_axi_regs r;
    long max_polls; /* a wait gives up after this many status reads */
} zn_axi_dma;

static void start(zn_axi_dma *d, uint32_t channel, uint64_t address, uint32_t bytes) {
    const zn_axi_regs *r = &d->r;
    d->wr(d->bus, channel + r->dmacr, r->cr_rs); /* run: DMASR.Halted clears */
    d->wr(d->bus, channel + r->dmasr, r->sr_ioc); /* a previous completion's IOC, write 1 to clear */
    d->wr(d->bus, channel + r->addr, (uint32_t)address);
    d->wr(d->bus, channel + r->addr_msb, (uint32_t)(address >> 32));
    d->wr(d->bus, channel + r->length, bytes); /* starts the transfer */
}

/* Poll until the channel is idle; returns 0, or -(DMASR) on an error or a halt, or -1 on timeout. */
static long wait_idle(zn_axi_dma *d, uint32_t channel) {
    const zn_axi_regs *r = &d->r;
    for (long i = 0; i < d->max_polls; i++) {
        uint32_t sr = d->rd(d->bus, channel + r->dmasr);
        if (sr & (r->sr_errors | r->sr_halted)) return -(long)sr;
        if (sr & r->sr_idle) return 0;
    }
    return -1;
}

/* The packet [in_addr, +in_bytes) to the tile, its answer into [out_addr, +out_capacity): the receive
 * channel armed first, both launched before either is waited on. Returns the bytes received (S2MM
 * LENGTH reads them back), or a negative code: -1 timeout, -(DMASR) of the failing channel otherwise
 * (bit 30 set for the receive side). */
long zn_axi_dma_job(zn_axi_dma *d, uint64_t in_addr, uint32_t in_bytes, uint64_t out_addr, uint32_t out_capacity) {
    const zn_axi_regs *r = &d->r;
    start(d, r->s2mm, out_addr, out_capacity);
    start(d, r->mm2s, in_addr, in_bytes);
    long rc = wait_idle(d, r->mm2s);
    if (rc) return rc;
    rc = wait_idle(d, r->s2mm);
    if (rc) return rc == -1 ? -1 : rc - (1L << 30);
    return (long)d->rd(d->bus, r->s2mm + r->length);
}

/* DMACR.Reset (both channels, every register to its reset value); 0 once the bit reads 0 again. */
long zn_axi_dma_reset(zn_axi_dma *d) {
    const zn_axi_regs *r = &d->r;
    d->wr(d->bus, r->mm2s + r->dmacr, r->cr_reset);
    for (long i = 0; i < d->max_polls; i++)
        if (!(d->rd(d->bus, r->mm2s + r->dmacr) & r->cr_reset)) return 0;
    return -1;
}

/* One weight tensor's slice on one port, as the host packed it for the tile (M = 1 jobs): `buf` holds
 * the header beat, the activation row (zero-padded to whole beats) and the packed weights, `out` the
 * results packet. Addresses are physical (what the DMA reads), pointers virtual (what the CPU writes). */
typedef struct {
    uint8_t *buf;
    uint64_t phys;
    uint8_t *out;
    uint64_t out_phys;
    const uint8_t *header;
    uint32_t lanes, k, n, input_bytes, output_bytes;
} zn_axi_part;

static int axi_run(zn_port *port, const int8_t *x, const zn_weights *w, int n0, int n1, int32_t *y) {
    if (!w->port_data || !w->port_data[port->index]) return -4; /* weights not packed for this port */
    const zn_axi_part *part = w->port_data[port->index];
    if ((int)part->n != n1 - n0 || (int)part->k != w->k) return -5;
    memcpy(part->buf, part->header, part->lanes);
    memcpy(part->buf + part->lanes, x, part->k); /* the padding lanes stay zero from packing */
    double t0 = zn_now();
    long received = zn_axi_dma_job(port->ctx, part->phys, part->input_bytes, part->out_phys,
                                   part->output_bytes + part->lanes);
    port->device_s += zn_now() - t0;
    port->jobs++;
    if (received != (long)part->output_bytes) return -6; /* a DMA error or the tile's error beat */
    memcpy(y, part->out, sizeof(int32_t) * (size_t)part->n); /* M = 1: the results are the columns in order */
    return 0;
}

void zn_port_axi_init(zn_port *port, void *dma) {
    port->ctx = dma;
    port->run = axi_run;
}
