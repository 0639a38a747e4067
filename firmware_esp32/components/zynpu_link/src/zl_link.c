/* Go-back-N ARQ over fixed-size full-duplex transactions, with session nonces for resynchronisation
 * and two flow-control classes (window for sequenced frames, credit for events). The rules are
 * documented in docs/radio.md and mirrored by the Python host (zynpu.radio.link). */
#include "zl_link.h"

#include <string.h>

#define RING_N ZL_ESP_TX_SLOTS
#define EVQ_N ZL_ESP_EVENT_SLOTS
/* Events may fill the ring only up to here, so a full window of responses always has room. */
#define EVENT_RING_LIMIT (RING_N - ZL_TX_WINDOW)

static uint32_t persist_check(const zl_persist *p)
{
    return p->magic ^ (p->delivered * 2654435761u) ^ ((uint32_t)p->rx_next << 8) ^ (p->peer_epoch * 40503u) ^
           (p->boot_count * 2246822519u) ^ ((uint32_t)p->events_pending << 20) ^ 0xA5A5A5A5u;
}

static int persist_valid(const zl_persist *p)
{
    return p && p->magic == ZL_PERSIST_MAGIC && p->check == persist_check(p);
}

static void persist_save(zl_link *l)
{
    zl_persist *p = l->persist;
    if (!p)
        return;
    p->magic = ZL_PERSIST_MAGIC;
    p->rx_next = l->rx_next;
    p->peer_epoch = l->peer_epoch;
    p->boot_count = l->boot_count;
    p->events_pending = (uint16_t)(l->ev_count + l->ring_events);
    p->check = persist_check(p);
}

size_t zl_link_sizeof(void) { return sizeof(zl_link); }

const zl_stats *zl_link_stats(const zl_link *l) { return &l->stats; }

void zl_link_count_lost(zl_link *l, uint32_t n)
{
    l->lost_overflow += n;
    l->stats.events_dropped += n;
}

uint32_t zl_boot_count_next(zl_persist *persist, int nvs_ok, uint32_t nvs_count, uint8_t *boot_flags)
{
    uint32_t rtc = persist_valid(persist) ? persist->boot_count : 0;
    if (nvs_ok && nvs_count > rtc)
        return nvs_count;
    /* NVS failed (or went backwards, e.g. erased): count on in RTC memory and say so */
    *boot_flags |= ZL_BOOT_FLAG_COUNTER_VOLATILE;
    return rtc + 1u > nvs_count ? rtc + 1u : nvs_count;
}

static zl_msg *slot(zl_link *l, unsigned i) { return &l->ring[(l->head + i) % RING_N]; }

zl_msg *zl_link_alloc(zl_link *l)
{
    if (l->count >= RING_N)
        return NULL;
    return slot(l, l->count);
}

void zl_link_commit(zl_link *l, zl_msg *m, uint8_t channel, uint8_t type, uint8_t flags, uint16_t tag,
                    size_t len)
{
    m->channel = channel;
    m->type = type;
    m->flags = flags;
    m->tag = tag;
    m->len = (uint16_t)len;
    l->count++;
    if (flags & ZL_FLAG_EVENT)
        l->ring_events++;
}

zl_msg *zl_event_alloc(zl_link *l)
{
    if (l->ev_count >= EVQ_N) {
        l->lost_overflow++;
        l->stats.events_dropped++;
        return NULL;
    }
    return &l->evq[(l->ev_head + l->ev_count) % EVQ_N];
}

void zl_event_commit(zl_link *l, zl_msg *m, uint8_t channel, uint8_t type, size_t len)
{
    m->channel = channel;
    m->type = type;
    m->flags = ZL_FLAG_EVENT;
    m->tag = 0;
    m->len = (uint16_t)len;
    l->ev_count++;
    persist_save(l); /* a reset from here on reports this event as lost */
}

unsigned zl_link_reserved(const zl_link *l)
{
    unsigned n = l->scan_tag ? 1u : 0u;
    for (unsigned i = 0; i < ZL_MAX_PENDING_CONNECTS; i++)
        n += l->connects[i].sock >= 0;
    return n;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void queue_link(zl_link *l, uint8_t type, const uint8_t *payload, size_t n)
{
    zl_msg *m = zl_link_alloc(l);
    if (!m)
        return;
    memcpy(m->payload, payload, n);
    zl_link_commit(l, m, ZL_CH_LINK, type, ZL_FLAG_EVENT, 0, n);
}

static void queue_hello_first(zl_link *l)
{
    if (l->count >= RING_N)
        return;
    l->head = (uint16_t)((l->head + RING_N - 1u) % RING_N);
    zl_msg *m = &l->ring[l->head];
    zl_service_hello(l, m);
    m->channel = ZL_CH_LINK;
    m->type = ZL_LINK_HELLO;
    m->flags = 0; /* link control: consumed by the driver, not an event for the host's queue */
    m->tag = 0;
    l->count++;
}

void zl_link_init(zl_link *l, const zl_platform *plat, zl_persist *persist, const zl_boot_info *boot)
{
    memset(l, 0, sizeof(*l));
    for (unsigned i = 0; i < ZL_MAX_PENDING_CONNECTS; i++)
        l->connects[i].sock = -1;
    l->plat = plat;
    l->persist = persist;
    l->boot_count = boot->boot_count;
    l->boot_flags = boot->boot_flags;
    l->epoch = boot->nonce ? boot->nonce : 1u;
    l->syncing = 1; /* our sequence space starts at 0: SYNC until the host confirms */
    if (persist_valid(persist)) {
        l->rx_next = persist->rx_next;
        l->peer_epoch = persist->peer_epoch;
        l->resumed = persist->peer_epoch != 0;
        l->lost_reset = persist->events_pending;
    } else if (persist) {
        memset(persist, 0, sizeof(*persist));
    }
    uint8_t b[7];
    put32(b, boot->boot_count);
    b[4] = boot->reset_reason;
    b[5] = l->resumed;
    b[6] = boot->boot_flags;
    queue_hello_first(l);
    queue_link(l, ZL_LINK_BOOT, b, sizeof b);
    persist_save(l);
}

static unsigned rx_window(const zl_link *l)
{
    /* Every accepted request needs a response slot: advertise what the ring can still take. */
    unsigned used = l->count + zl_link_reserved(l);
    unsigned free_slots = used < RING_N ? RING_N - used : 0;
    return free_slots < ZL_TX_WINDOW ? free_slots : ZL_TX_WINDOW;
}

static int can_promote(const zl_link *l)
{
    return l->up && l->count + zl_link_reserved(l) < EVENT_RING_LIMIT && l->ring_events < l->peer_credit;
}

static void emit_lost(zl_link *l, uint32_t *counter, uint8_t reason)
{
    if (!*counter || !can_promote(l))
        return;
    uint8_t b[5];
    put32(b, *counter);
    b[4] = reason;
    l->stats.events_lost_reported += *counter;
    *counter = 0;
    queue_link(l, ZL_LINK_LOST, b, sizeof b);
}

/* Move events into the sequenced ring while the host has credit for them and responses keep room. */
static void promote_events(zl_link *l)
{
    emit_lost(l, &l->lost_reset, ZL_LOST_ESP_RESET);
    emit_lost(l, &l->lost_restart, ZL_LOST_HOST_RESTART);
    emit_lost(l, &l->lost_overflow, ZL_LOST_OVERFLOW);
    while (l->ev_count && can_promote(l)) {
        zl_msg *m = zl_link_alloc(l);
        *m = l->evq[l->ev_head];
        l->ev_head = (uint16_t)((l->ev_head + 1u) % EVQ_N);
        l->ev_count--;
        l->count++;
        l->ring_events++;
    }
}

int zl_link_data_ready(const zl_link *l)
{
    return !l->up || l->peer_syncing || l->count > 0 || l->nak_pending ||
           ((l->ev_count || l->lost_overflow || l->lost_restart || l->lost_reset) && l->ring_events < l->peer_credit);
}

int zl_link_event_room(const zl_link *l) { return (int)(EVQ_N - l->ev_count); }

void zl_link_prepare(zl_link *l, uint8_t *buf, size_t size)
{
    zl_frame f = {0};
    promote_events(l);
    f.epoch = l->epoch;
    f.peer_epoch = l->peer_epoch;
    f.window = (uint8_t)rx_window(l);
    f.ack = l->rx_next;
    f.seq = (uint16_t)(l->tx_base + l->inflight);
    if (l->syncing)
        f.flags |= (uint8_t)(ZL_FLAG_SYNC | (l->resumed ? ZL_FLAG_RESUME : 0));
    if (l->peer_syncing)
        f.flags |= ZL_FLAG_SYNACK;
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
            m = slot(l, l->send_off);
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
    for (unsigned i = 0; i < n; i++)
        if (slot(l, i)->flags & ZL_FLAG_EVENT)
            l->ring_events--;
    l->head = (uint16_t)((l->head + n) % RING_N);
    l->count = (uint16_t)(l->count - n);
    l->inflight = (uint16_t)(l->inflight - n);
    l->tx_base = (uint16_t)(l->tx_base + n);
    l->send_off = l->send_off > n ? (uint16_t)(l->send_off - n) : 0;
}

/* A new host session (the host process restarted, whatever nonce it drew): its sequence space starts
 * at 0 and nobody waits for the old session's responses. Events it had been sent but not acknowledged
 * are reported lost; events not yet sent are kept for the new session; the HELLO goes first. */
static void host_session_restart(zl_link *l)
{
    unsigned kept = 0, lost = 0, n = l->count;
    for (unsigned i = 0; i < n; i++) {
        zl_msg *m = slot(l, i);
        int sent = i < l->inflight;
        int is_event = (m->flags & ZL_FLAG_EVENT) != 0;
        if ((m->flags & ZL_FLAG_RESP) || (m->channel == ZL_CH_LINK && m->type == ZL_LINK_HELLO))
            continue;
        if (sent) {
            lost += is_event && m->channel != ZL_CH_LINK;
            continue;
        }
        if (kept != i)
            memcpy(slot(l, kept), m, sizeof *m);
        kept++;
    }
    l->count = (uint16_t)kept;
    l->ring_events = 0;
    for (unsigned i = 0; i < kept; i++)
        l->ring_events += (slot(l, i)->flags & ZL_FLAG_EVENT) != 0;
    l->inflight = l->send_off = l->tx_base = l->idle_ticks = 0;
    l->stats.tx_dropped_on_reset += n - kept;
    l->stats.host_restarts++;
    l->lost_restart += lost;
    l->scan_tag = 0; /* a scan still running answers nobody */
    for (unsigned i = 0; i < ZL_MAX_PENDING_CONNECTS; i++)
        if (l->connects[i].sock >= 0)
            l->connects[i].tag = 0; /* completes into a close, see zl_on_tcp_connect_done */
    l->reset_requested = 0;
    queue_hello_first(l);
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
    if ((f.flags & ZL_FLAG_SYNACK) && f.peer_epoch == l->epoch)
        l->syncing = 0; /* the host has reset its receive state for this boot */
    if (f.flags & ZL_FLAG_SYNC) {
        /* Process a SYNC once per host session; a host that reused the previous nonce is still new. */
        if (!l->peer_syncing || f.epoch != l->peer_epoch) {
            host_session_restart(l);
            l->peer_epoch = f.epoch;
            l->rx_next = 0;
            l->nak_pending = l->nak_sent = 0;
            l->peer_syncing = 1;
            persist_save(l);
        }
        l->up = 0;
        return;
    }
    if (l->peer_epoch == 0) {
        l->peer_epoch = f.epoch; /* we booted cold: the host kept running and restarted its seq at our SYNC */
        persist_save(l);
    } else if (f.epoch != l->peer_epoch) {
        l->stats.stale_frames++; /* not from the current host session */
        return;
    }
    l->peer_syncing = 0;
    if (f.peer_epoch != l->epoch || l->syncing) {
        l->up = 0; /* the host has not confirmed this boot yet: its ack/data refer to an old one */
        return;
    }
    l->up = 1;
    uint16_t d = (uint16_t)(f.ack - l->tx_base);
    if (d <= l->inflight && d > 0) {
        release(l, d);
        l->idle_ticks = 0;
    }
    l->peer_window = f.window;
    l->peer_credit = f.credit;
    if (f.flags & ZL_FLAG_NAK)
        l->send_off = 0;
    if (l->reset_requested && l->count == 0 && !l->reset_signalled && l->plat->request_reset) {
        l->reset_signalled = 1;
        l->plat->request_reset(l->plat->ctx);
    }
    if (f.flags & ZL_FLAG_DATA) {
        if (f.seq == l->rx_next) {
            if (l->count + zl_link_reserved(l) >= RING_N) {
                l->stats.rx_no_room++; /* the host retransmits once we have room */
            } else {
                l->rx_next++;
                l->nak_sent = 0;
                if (l->persist)
                    l->persist->delivered++;
                persist_save(l); /* before dispatch: a reset during the handler loses, never repeats */
                l->stats.rx_delivered++;
                if (f.channel != ZL_CH_LINK)
                    zl_service_dispatch(l, &f);
            }
        } else if ((uint16_t)(f.seq - l->rx_next) < 0x8000u) {
            l->stats.rx_out_of_order++;
            if (!l->nak_sent)
                l->nak_pending = 1;
        }
    }
    persist_save(l);
}
