/* ESP-IDF glue shared by the firmware's tasks.
 *
 * Ownership: the link task (spi_link.c) alone calls into the portable core (zl_*), including the
 * platform callbacks the core makes. Every other task -- the lwIP receive task (net.c), the default
 * event loop (Wi-Fi/IP events), the NimBLE host task (ble.c) and whoever logs -- hands what it has to
 * the link task with glue_post(), a FreeRTOS queue, and never waits on it: there is no lock shared
 * with logging and none held across an esp_wifi or socket call. Payloads travel in buffers from
 * fixed pools (glue_buf_*), never on a task stack. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "zl_link.h"

/* SPI2 (HSPI) on its IO_MUX pins: the GPIO matrix adds output delay the 10 MHz slave cannot spare.
 * GPIO12 (MTDI, MISO here) is a strapping pin: sampled high at reset it selects 1.8 V flash and the
 * module does not boot. Board rule (docs/radio.md): a 10 kOhm pull-down on GPIO12 and no pull-up on
 * the host's MISO input; better, burn the flash-voltage eFuse once (espefuse.py set_flash_voltage 3.3V)
 * so the strap is ignored. The firmware also enables the internal pull-down after boot. */
#define PIN_MOSI 13
#define PIN_MISO 12
#define PIN_SCLK 14
#define PIN_CS 15
#define PIN_HANDSHAKE 26
#define PIN_DATA_READY 27

#define SPI_QUEUE_DEPTH 3   /* buffers armed in the slave driver: the next one is ready before we process */
#define GLUE_INBOX_DEPTH 32 /* messages to the link task; more than both pools together */
#define GLUE_BUF_COUNT 6    /* payload buffers (socket data, BLE writes): 6 x 1.6 KB static */
#define GLUE_BUF_SIZE ZL_MAX_PAYLOAD /* >= TCP data, and UDP data + 1 (an oversize datagram is seen) */
#define GLUE_LOG_COUNT 8    /* log line buffers: 8 x 201 B static */

typedef enum {
    GLUE_NET_RX,       /* sock, buf/len; UDP: ip, port */
    GLUE_TCP_CLOSED,   /* sock, reason (0: peer closed, else errno) */
    GLUE_RX_ERROR,     /* sock, reason (errno) */
    GLUE_CONNECT_DONE, /* sock, status (ZL_STATUS_*) */
    GLUE_WIFI_STATE,   /* status = state, reason, ip */
    GLUE_SCAN_DONE,
    GLUE_BLE_WRITE, /* buf/len */
    GLUE_BLE_CONN,  /* status = connected */
    GLUE_LOG,       /* buf (NUL-terminated), status = level */
} glue_kind;

typedef struct {
    uint8_t kind, sock, status, reason;
    uint8_t ip[4];
    uint16_t port, len;
    uint8_t *buf; /* from glue_buf_take/glue_log_take; the link task gives it back */
    uint8_t is_udp;
} glue_msg;

bool glue_post(const glue_msg *m);            /* never blocks; false if the link task's inbox is full */
uint8_t *glue_buf_take(void);                 /* never blocks; NULL if all are in use */
void glue_buf_give(uint8_t *buf);
uint8_t *glue_log_take(void);
void glue_log_give(uint8_t *buf);

void glue_pools_init(void);
uint32_t glue_log_dropped_take(void);        /* log lines dropped since the last call (main.c) */
void spi_link_platform(zl_platform *p);      /* request_reset: acted on by the link task */
void spi_link_start(zl_link *link);           /* creates the link task; it owns `link` from then on */

/* Platform entries, called only from the link task (the core calls them while dispatching). */
void net_init(zl_platform *p);                /* Wi-Fi + sockets; starts the socket receive task */
void net_apply(zl_link *l, const glue_msg *m); /* link task: Wi-Fi state and scan results into the core */
void ble_glue_init(zl_platform *p);           /* NimBLE GATT server */
