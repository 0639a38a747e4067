/* What the portable link core needs from its host environment.
 *
 * The ESP-IDF glue (main/) implements it on esp_wifi, lwIP and NimBLE; the simulator implements it on
 * loopback sockets. Functions returning a status use ZL_STATUS_*; socket openers return a socket id >= 0
 * or a negated ZL_STATUS_* value. Any pointer may be NULL: the core answers ZL_STATUS_UNSUPPORTED. */
#ifndef ZL_PLATFORM_H
#define ZL_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

typedef struct zl_platform {
    void *ctx;
    const char *version;
    uint32_t max_spi_hz; /* fastest SPI clock the slave takes (sent in LINK.HELLO); 0: ZL_ESP_MAX_SPI_HZ */
    uint32_t (*now_ms)(void *ctx);
    void (*request_reset)(void *ctx); /* called once the RESET response has been acknowledged */
    int (*wifi_scan_start)(void *ctx); /* results later via zl_on_wifi_scan_done */
    int (*wifi_connect)(void *ctx, const char *ssid, const char *password); /* then zl_on_wifi_state */
    int (*wifi_disconnect)(void *ctx);
    int (*wifi_status)(void *ctx, uint8_t *state, int8_t *rssi, uint8_t ip[4]);
    int (*udp_open)(void *ctx, uint16_t port, uint16_t *bound_port);
    int (*udp_send)(void *ctx, int sock, const uint8_t ip[4], uint16_t port, const uint8_t *data, size_t n);
    /* starts a non-blocking connect: socket id >= 0 now, then zl_on_tcp_connect_done(sock, status) */
    int (*tcp_connect)(void *ctx, const uint8_t ip[4], uint16_t port, uint32_t timeout_ms);
    int (*tcp_send)(void *ctx, int sock, const uint8_t *data, size_t n); /* bytes sent or -status */
    int (*sock_close)(void *ctx, int sock);
    int (*ble_advertise)(void *ctx, int enable, const char *name);
    int (*ble_notify)(void *ctx, const uint8_t *data, size_t n);
    int (*ble_mtu)(void *ctx); /* ATT MTU of the current connection, 0 if none */
} zl_platform;

typedef struct {
    int8_t rssi;
    uint8_t channel, auth;
    uint8_t bssid[6];
    char ssid[33];
} zl_ap;

#endif
