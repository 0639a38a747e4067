/* libFuzzer target: arbitrary bytes through the frame decoder and the whole link + service dispatch.
 * Valid frames are built from the input too, so the fuzzer reaches the ARQ and the request parsers. */
#include <string.h>

#include "zl_link.h"

static int plat_ok(void *ctx) { (void)ctx; return 0; }
static int udp_open(void *ctx, uint16_t port, uint16_t *bound) { (void)ctx; *bound = port; return 1; }
static int udp_send(void *ctx, int s, const uint8_t ip[4], uint16_t port, const uint8_t *d, size_t n)
{
    (void)ctx; (void)s; (void)ip; (void)port; (void)d; (void)n;
    return 0;
}
static int tcp_send(void *ctx, int s, const uint8_t *d, size_t n) { (void)ctx; (void)s; (void)d; return (int)n; }
static int ble_notify(void *ctx, const uint8_t *d, size_t n) { (void)ctx; (void)d; (void)n; return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static zl_link link;
    static zl_persist persist;
    static uint8_t buf[ZL_TRANSACTION_SIZE], out[ZL_TRANSACTION_SIZE];
    static const zl_platform plat = {.version = "fuzz", .wifi_scan_start = plat_ok, .wifi_disconnect = plat_ok,
                                     .udp_open = udp_open, .udp_send = udp_send, .tcp_send = tcp_send,
                                     .ble_notify = ble_notify};
    zl_frame f;
    (void)zl_frame_decode(data, size, &f);
    if (size < 1)
        return 0;
    zl_boot_info boot = {.boot_count = data[0], .nonce = data[0] * 2654435761u};
    zl_link_init(&link, &plat, &persist, &boot);
    /* Chunks: first byte of each chunk selects raw bytes (even) or a well-formed frame (odd). */
    size_t i = 1;
    while (i + 4 <= size) {
        size_t n = data[i + 1] | (size_t)(data[i + 2] & 0x07) << 8;
        int mode = data[i] & 1;
        i += 3;
        if (n > size - i)
            n = size - i;
        if (mode == 0 || n < 12) {
            memset(buf, 0, sizeof buf);
            memcpy(buf, data + i, n < sizeof buf ? n : sizeof buf);
        } else {
            zl_frame g = {.channel = data[i] % 6, .type = data[i + 1] % 10, .flags = data[i + 2],
                          .epoch = data[i + 3], .peer_epoch = link.epoch, .window = data[i + 4], .credit = data[i + 4],
                          .seq = (uint16_t)(data[i + 5] | data[i + 6] << 8),
                          .ack = (uint16_t)(data[i + 7] | data[i + 8] << 8),
                          .tag = data[i + 9], .len = (uint16_t)(n - 10 > ZL_MAX_PAYLOAD ? ZL_MAX_PAYLOAD : n - 10),
                          .payload = data + i + 10};
            if (g.epoch == 0)
                g.epoch = link.peer_epoch;
            zl_frame_encode(&g, buf, sizeof buf);
        }
        zl_link_prepare(&link, out, sizeof out);
        zl_link_receive(&link, buf, sizeof buf);
        if (data[i - 3] & 2) {
            zl_ap ap = {.rssi = -40, .channel = 6, .ssid = "fuzz"};
            zl_on_wifi_scan_done(&link, &ap, 1);
            zl_on_udp_recv(&link, 1, (const uint8_t *)"\x7f\0\0\1", 9, data + i, n > 1500 ? 1500 : n);
            zl_on_tcp_connect_done(&link, data[i - 2] % 4, data[i - 1] % 3);
            zl_log_event(&link, 3, "fuzz");
        }
        i += n;
    }
    return 0;
}
