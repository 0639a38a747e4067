/* Go-back-N ARQ over fixed-size full-duplex transactions, with epochs for resynchronisation.
 * The rules are documented in docs/radio.md and mirrored by the Python host (zynpu.radio.link). */
#include "zl_link.h"

#include <string.h>

#define RING_N ZL_ESP_TX_SLOTS

static uint32_t persist_check(const zl_persist *p)
{
    return p->magic ^ (p->delivered * 2654435761u) ^ ((uint32_t)p->rx_next << 8) ^ p->peer_epoch ^ 0xA5A5A5A5u;
}

static void persist_save(zl_link *l)
{
    zl_persist *p = l->persist;
    if (!p)
        return;
    p->magic = ZL_PERSIST_MAGIC;
    p->rx_next = l->rx_next;
    p->peer_epoch = l->peer_epoch;
    p->check = persist_check(p);
}

size_t zl_link_sizeof(void) { return sizeof(zl_link); }

const zl_stats *zl_link_stats(const zl_link *l) { return &l->stats; }

void zl_link_init(zl_link *l, const zl_platform *plat, zl_persist *persist, uint32_t boot_count,
                  uint8_t reset_reason)
{
    memset(l, 0, sizeof(*l));
    l->plat = plat;
    l->persist = persist;
    l->boot_count = boot_count;
    l->epoch = (uint8_t)(boot_count % 255u + 1u);
    if (persist && persist->magic == ZL_PERSIST_MAGIC && persist->check == persist_check(persist)) {
        l->rx_next = persist->rx_next;
        l->peer_epoch = persist->peer_epoch;
        l->resumed = 1;
    } else if (persist) {
        memset(persist, 0, sizeof(*persist));
    }
    uint8_t boot[6] = {(uint8_t)boot_count, (uint8_t)(boot_count >> 8), (uint8_t)(boot_count >> 16),
                       (uint8_t)(boot_count >> 24), reset_reason, l->resumed};
    zl_link_queue(l, ZL_CH_LINK, ZL_LINK_BOOT, ZL_FLAG_EVENT, 0, boot, sizeof boot, 0);
}

int zl_link_queue(zl_link *l, uint8_t channel, uint8_t type, uint8_t flags, uint16_t tag,
                  const uint8_t *payload, size_t len, unsigned reserve)
{
    if (len > ZL_MAX_PAYLOAD || (unsigned)l->count + 1u + reserve > RING_N) {
        l->stats.events_dropped++;
        return -1;
    }
    zl_msg *m = &l->ring[(l->head + l->count) % RING_N];
    m->channel = channel;
    m->type = type;
    m->flags = flags;
    m->tag = tag;
    m->len = (uint16_t)len;
    if (len)
        memcpy(m->payload, payload, len);
    l->count++;
    return 0;
}

static unsigned rx_window(const zl_link *l)
{
    /* Every accepted request may need a response slot: advertise what the ring can still take. */
    unsigned free_slots = RING_N - l->count;
    return free_slots < ZL_TX_WINDOW ? free_slots : ZL_TX_WINDOW;
}

int zl_link_data_ready(const zl_link *l)
{
    return !l->up || l->count > 0 || l->nak_pending;
}

int zl_link_event_room(const zl_link *l)
{
    return (int)(RING_N - l->count) - 1;
}

void zl_link_prepare(zl_link *l, uint8_t *buf, size_t size)
{
    zl_frame f = {0};
    f.epoch = l->epoch;
    f.peer_epoch = l->peer_epoch;
    f.window = (uint8_t)rx_window(l);
    f.ack = l->rx_next;
    f.seq = (uint16_t)(l->tx_base + l->inflight);
    if (l->resumed)
        f.flags |= ZL_FLAG_RESUME;
    if (l->nak_pending) {
        f.flags |= ZL_FLAG_NAK;
        l->nak_pending = 0;
        l->nak_sent = 1;
        l->stats.naks_sent++;
    }
    if (l->up && l->inflight > 0 && ++l->idle_ticks > ZL_RTO_TRANSACTIONS) {
        l->send_off = 0; /* timeout: go back to the oldest unacknowledged frame */
        l->idle_ticks = 0;
    }
    const zl_msg *m = NULL;
    if (l->up) {
        unsigned limit = l->peer_window < ZL_TX_WINDOW ? l->peer_window : ZL_TX_WINDOW;
        if (l->send_off < l->inflight) {
            l->stats.tx_retransmits++;
        } else if (l->inflight < l->count && l->inflight < limit) {
            l->inflight++;
        }
        if (l->send_off < l->inflight) {
            m = &l->ring[(l->head + l->send_off) % RING_N];
            f.seq = (uint16_t)(l->tx_base + l->send_off);
            l->send_off++;
        }
    }
    if (m) {
        f.channel = m->channel;
        f.type = m->type;
        f.flags |= (uint8_t)(m->flags | ZL_FLAG_DATA);
        f.tag = m->tag;
        f.len = m->len;
        f.payload = m->payload;
        l->stats.tx_frames++;
    }
    zl_frame_encode(&f, buf, size);
}

static void release(zl_link *l, unsigned n)
{
    l->head = (uint16_t)((l->head + n) % RING_N);
    l->count = (uint16_t)(l->count - n);
    l->inflight = (uint16_t)(l->inflight - n);
    l->tx_base = (uint16_t)(l->tx_base + n);
    l->send_off = l->send_off > n ? (uint16_t)(l->send_off - n) : 0;
}

void zl_link_receive(zl_link *l, const uint8_t *buf, size_t size)
{
    zl_frame f;
    l->stats.transactions++;
    if (zl_frame_decode(buf, size, &f) != ZL_DECODE_OK) {
        l->stats.rx_errors++;
        if (l->up && !l->nak_sent)
            l->nak_pending = 1;
        return;
    }
    l->stats.rx_frames++;
    if (f.epoch != l->peer_epoch) {
        /* The host (re)started: its sequence space starts again at 0. Unless it says it resumed and
         * knows our epoch, what we had in flight was addressed to a process that is gone. */
        l->peer_epoch = f.epoch;
        l->rx_next = 0;
        l->nak_pending = l->nak_sent = 0;
        if (!((f.flags & ZL_FLAG_RESUME) && f.peer_epoch == l->epoch)) {
            l->stats.tx_dropped_on_reset += l->inflight;
            release(l, l->inflight);
            l->tx_base = 0;
        }
        l->send_off = 0;
        persist_save(l);
    }
    if (f.peer_epoch != l->epoch) {
        l->up = 0; /* the host has not seen our current epoch yet: its ack/data refer to an old boot */
        return;
    }
    l->up = 1;
    uint16_t d = (uint16_t)(f.ack - l->tx_base);
    if (d <= l->inflight && d > 0) {
        release(l, d);
        l->idle_ticks = 0;
    }
    l->peer_window = f.window;
    if (f.flags & ZL_FLAG_NAK)
        l->send_off = 0;
    if (l->reset_requested && l->count == 0 && !l->reset_signalled && l->plat->request_reset) {
        l->reset_signalled = 1;
        l->plat->request_reset(l->plat->ctx);
    }
    if (!(f.flags & ZL_FLAG_DATA))
        return;
    if (f.seq == l->rx_next) {
        if (l->count >= RING_N) {
            l->stats.rx_no_room++; /* the sender will retransmit once we have room */
            return;
        }
        l->rx_next++;
        l->nak_sent = 0;
        if (l->persist)
            l->persist->delivered++;
        persist_save(l); /* before dispatch: a reset during the handler loses, never repeats */
        l->stats.rx_delivered++;
        if (f.channel != ZL_CH_LINK)
            zl_service_dispatch(l, &f);
    } else if ((uint16_t)(f.seq - l->rx_next) < 0x8000u) {
        l->stats.rx_out_of_order++;
        if (!l->nak_sent)
            l->nak_pending = 1;
    }
}
