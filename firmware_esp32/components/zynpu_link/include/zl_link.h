/* The ESP32 side of the zynpu SPI link: ARQ state machine plus service dispatch, portable C.
 *
 * One task owns a zl_link: the SPI slave glue calls zl_link_prepare() to fill the next transaction
 * buffer and zl_link_receive() with what the master clocked in; zl_link_data_ready() drives the
 * data-ready line. Other tasks never call in: they post to the owner's queue (firmware main/). */
#ifndef ZL_LINK_H
#define ZL_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "zl_frame.h"
#include "zl_platform.h"

#define ZL_PERSIST_MAGIC 0x5A4C5254u
#define ZL_MAX_PENDING_CONNECTS 4

/* State that survives a software reset (RTC_NOINIT memory on the ESP32): the receive point, so that
 * after a panic/watchdog/esp_restart the host replays exactly what this chip never delivered; a copy
 * of the boot counter, so that it keeps counting when NVS fails; the number of events that were
 * queued, so that their loss is reported. */
typedef struct {
    uint32_t magic;
    uint32_t check;
    uint32_t delivered;  /* messages delivered to the services, all boots (diagnostic) */
    uint32_t peer_epoch; /* the host's session nonce */
    uint32_t boot_count;
    uint16_t rx_next;
    uint16_t events_pending;
} zl_persist;

/* What the glue knows at boot. nonce: 32 random bits (esp_random()); 0 is replaced by 1. */
typedef struct {
    uint32_t boot_count, nonce;
    uint8_t reset_reason, boot_flags; /* ZL_BOOT_FLAG_* */
} zl_boot_info;

typedef struct {
    uint8_t channel, type, flags;
    uint16_t tag, len;
    uint8_t payload[ZL_MAX_PAYLOAD];
} zl_msg;

typedef struct {
    uint32_t transactions, rx_frames, rx_errors, rx_delivered, rx_out_of_order, rx_no_room;
    uint32_t tx_frames, tx_retransmits, tx_dropped_on_reset, events_dropped, naks_sent;
    uint32_t host_restarts, events_lost_reported, stale_frames;
} zl_stats;

typedef struct {
    uint16_t tag;
    int16_t sock; /* -1: free */
} zl_pending_connect;

typedef struct zl_link {
    const zl_platform *plat;
    zl_persist *persist;
    uint32_t boot_count, epoch, peer_epoch;
    uint8_t boot_flags, up, resumed, syncing, peer_syncing;
    /* receive side */
    uint16_t rx_next;
    uint8_t nak_pending, nak_sent;
    /* sequenced transmit ring (responses, link control, events that have host credit):
     * [head, head+inflight) carry sequence numbers tx_base.., the rest are queued */
    uint16_t head, count, inflight, send_off, tx_base, peer_window, peer_credit, idle_ticks, ring_events;
    /* events waiting for host credit; they never stand in front of a response */
    uint16_t ev_head, ev_count;
    uint32_t lost_overflow, lost_restart, lost_reset;
    uint8_t reset_requested, reset_signalled;
    uint16_t scan_tag;
    zl_pending_connect connects[ZL_MAX_PENDING_CONNECTS];
    zl_stats stats;
    zl_msg ring[ZL_ESP_TX_SLOTS];
    zl_msg evq[ZL_ESP_EVENT_SLOTS];
} zl_link;

size_t zl_link_sizeof(void);

/* Boot counter that cannot silently stick: nvs_ok says the glue read, incremented and committed the
 * NVS counter (its new value in nvs_count). Otherwise the RTC copy in persist is used (+1) and
 * *boot_flags gets ZL_BOOT_FLAG_COUNTER_VOLATILE, which the LINK.BOOT event reports. */
uint32_t zl_boot_count_next(zl_persist *persist, int nvs_ok, uint32_t nvs_count, uint8_t *boot_flags);

void zl_link_init(zl_link *l, const zl_platform *plat, zl_persist *persist, const zl_boot_info *boot);
void zl_link_prepare(zl_link *l, uint8_t *buf, size_t size);
void zl_link_receive(zl_link *l, const uint8_t *buf, size_t size);
int zl_link_data_ready(const zl_link *l);
/* Free event slots; the glue reads sockets only while > 0 (backpressure instead of loss). */
int zl_link_event_room(const zl_link *l);
const zl_stats *zl_link_stats(const zl_link *l);
/* Events the glue had to drop before they reached the core (e.g. log lines with no free buffer):
 * counted with the core's own overflow losses and reported in a LINK.LOST event. */
void zl_link_count_lost(zl_link *l, uint32_t n);

/* Sequenced transmit ring, for zl_service.c: a slot at the tail or NULL; commit makes it sendable. */
zl_msg *zl_link_alloc(zl_link *l);
void zl_link_commit(zl_link *l, zl_msg *m, uint8_t channel, uint8_t type, uint8_t flags, uint16_t tag,
                    size_t len);
/* Event queue: a slot or NULL (the loss is counted and reported with a LINK.LOST event). */
zl_msg *zl_event_alloc(zl_link *l);
void zl_event_commit(zl_link *l, zl_msg *m, uint8_t channel, uint8_t type, size_t len);
/* Deferred responses (WIFI.SCAN, TCP_CONNECT) each hold one ring slot until they complete. */
unsigned zl_link_reserved(const zl_link *l);

/* Service dispatch of one delivered request (zl_service.c). */
void zl_service_dispatch(zl_link *l, const zl_frame *f);
/* The capability message, first message of every session. */
void zl_service_hello(zl_link *l, zl_msg *m);

/* Inputs from the platform; each queues an event (or completes a deferred response).
 * Return 0, or -1 if dropped (counted and reported). */
int zl_on_udp_recv(zl_link *l, int sock, const uint8_t ip[4], uint16_t port, const uint8_t *data, size_t n);
int zl_on_tcp_recv(zl_link *l, int sock, const uint8_t *data, size_t n);
int zl_on_tcp_closed(zl_link *l, int sock, uint8_t reason);
int zl_on_tcp_connect_done(zl_link *l, int sock, uint8_t status);
int zl_on_rx_error(zl_link *l, int sock, uint8_t err);
int zl_on_wifi_state(zl_link *l, uint8_t state, uint8_t reason, const uint8_t ip[4]);
int zl_on_wifi_scan_done(zl_link *l, const zl_ap *aps, size_t n);
int zl_on_ble_write(zl_link *l, const uint8_t *data, size_t n);
int zl_on_ble_conn(zl_link *l, int connected);
int zl_log_event(zl_link *l, uint8_t level, const char *text);

/* Copy a NUL-terminated string into a fixed, not necessarily terminated field of cap bytes (the
 * wifi_sta_config_t ssid[32]/password[64] convention): all of a 32-byte SSID fits. Returns the
 * length copied, or -1 if src is longer than cap (nothing is truncated silently). */
int zl_copy_field(uint8_t *dst, size_t cap, const char *src);

#endif
