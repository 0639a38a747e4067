/* The ESP32 side of the zynpu SPI link: ARQ state machine plus service dispatch, portable C.
 *
 * The SPI slave driver calls zl_link_prepare() to fill the next transaction buffer, and
 * zl_link_receive() with what the master clocked in; zl_link_data_ready() drives the data-ready line. */
#ifndef ZL_LINK_H
#define ZL_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "zl_frame.h"
#include "zl_platform.h"

#define ZL_PERSIST_MAGIC 0x5A4C5253u

/* Receive state that survives a software reset (RTC_NOINIT memory on the ESP32), so that after a
 * panic/watchdog/esp_restart the host replays exactly the messages this chip never delivered. */
typedef struct {
    uint32_t magic;
    uint32_t check;
    uint32_t delivered; /* messages delivered to the services, all boots (diagnostic) */
    uint16_t rx_next;
    uint8_t peer_epoch;
    uint8_t pad;
} zl_persist;

typedef struct {
    uint8_t channel, type, flags;
    uint16_t tag, len;
    uint8_t payload[ZL_MAX_PAYLOAD];
} zl_msg;

typedef struct {
    uint32_t transactions, rx_frames, rx_errors, rx_delivered, rx_out_of_order, rx_no_room;
    uint32_t tx_frames, tx_retransmits, tx_dropped_on_reset, events_dropped, naks_sent;
} zl_stats;

typedef struct zl_link {
    const zl_platform *plat;
    zl_persist *persist;
    uint32_t boot_count;
    uint8_t epoch, peer_epoch, up, resumed;
    /* receive side */
    uint16_t rx_next;
    uint8_t nak_pending, nak_sent;
    /* transmit ring: [head, head+inflight) carry sequence numbers tx_base.., the rest are queued */
    uint16_t head, count, inflight, send_off, tx_base, peer_window, idle_ticks;
    uint8_t reset_requested, reset_signalled;
    uint16_t scan_tag;
    zl_stats stats;
    zl_msg ring[ZL_ESP_TX_SLOTS];
} zl_link;

size_t zl_link_sizeof(void);
void zl_link_init(zl_link *l, const zl_platform *plat, zl_persist *persist, uint32_t boot_count,
                  uint8_t reset_reason);
void zl_link_prepare(zl_link *l, uint8_t *buf, size_t size);
void zl_link_receive(zl_link *l, const uint8_t *buf, size_t size);
int zl_link_data_ready(const zl_link *l);
/* Free transmit slots for events (one stays reserved for responses); glue reads sockets only if > 0. */
int zl_link_event_room(const zl_link *l);
const zl_stats *zl_link_stats(const zl_link *l);

/* Queue a message to the host. reserve: slots that must stay free afterwards (events keep one for
 * responses). Returns 0, or -1 if the ring is full (the message is dropped). */
int zl_link_queue(zl_link *l, uint8_t channel, uint8_t type, uint8_t flags, uint16_t tag,
                  const uint8_t *payload, size_t len, unsigned reserve);

/* Service dispatch of one delivered message (zl_service.c). */
void zl_service_dispatch(zl_link *l, const zl_frame *f);

/* Unsolicited inputs from the platform; each queues an event. Return 0, or -1 if dropped. */
int zl_on_udp_recv(zl_link *l, int sock, const uint8_t ip[4], uint16_t port, const uint8_t *data, size_t n);
int zl_on_tcp_recv(zl_link *l, int sock, const uint8_t *data, size_t n);
int zl_on_tcp_closed(zl_link *l, int sock);
int zl_on_wifi_state(zl_link *l, uint8_t state, uint8_t reason, const uint8_t ip[4]);
int zl_on_wifi_scan_done(zl_link *l, const zl_ap *aps, size_t n);
int zl_on_ble_write(zl_link *l, const uint8_t *data, size_t n);
int zl_on_ble_conn(zl_link *l, int connected);
int zl_log_event(zl_link *l, uint8_t level, const char *text);

#endif
