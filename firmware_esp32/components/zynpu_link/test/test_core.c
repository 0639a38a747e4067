/* Host-side unit test of the portable link core: shared frame vectors plus link scenarios.
 * Usage: test_core <test_vectors.txt>. Prints one line per check group, "ALL OK" at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zl_link.h"

static int failures;
#define CHECK(cond, ...)                                                                               \
    do {                                                                                               \
        if (!(cond)) {                                                                                 \
            failures++;                                                                                \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                       \
            fprintf(stderr, __VA_ARGS__);                                                              \
            fputc('\n', stderr);                                                                       \
        }                                                                                              \
    } while (0)

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (strcmp(s, "-") == 0)
        return 0;
    for (; s[0] && s[1] && n < cap; s += 2) {
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static void test_vectors(const char *path)
{
    FILE *fp = fopen(path, "r");
    CHECK(fp != NULL, "cannot open %s", path);
    if (!fp)
        return;
    static char line[16384];
    static uint8_t payload[4096], buf[4096], enc[4096];
    int count = 0;
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char name[64], phex[8192], bhex[8192];
        int expect;
        unsigned v[9];
        if (sscanf(line, "%63s %d %u %u %u %u %u %u %u %u %u %8191s %8191s", name, &expect, &v[0], &v[1], &v[2],
                   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], phex, bhex) != 13) {
            CHECK(0, "unparsable vector line");
            continue;
        }
        size_t plen = unhex(phex, payload, sizeof payload);
        size_t blen = unhex(bhex, buf, sizeof buf);
        zl_frame f;
        int rc = zl_frame_decode(buf, blen, &f);
        CHECK(rc == expect, "%s: decode returned %d, want %d", name, rc, expect);
        if (expect == ZL_DECODE_OK && rc == ZL_DECODE_OK) {
            CHECK(f.channel == v[0] && f.type == v[1] && f.flags == v[2] && f.epoch == v[3] &&
                      f.peer_epoch == v[4] && f.window == v[5] && f.seq == v[6] && f.ack == v[7] && f.tag == v[8],
                  "%s: header fields differ", name);
            CHECK(f.len == plen && memcmp(f.payload, payload, plen) == 0, "%s: payload differs", name);
            size_t size = ZL_HEADER_SIZE + plen;
            zl_frame e = f;
            e.payload = payload;
            CHECK(zl_frame_encode(&e, enc, size) == 0 && memcmp(enc, buf, size) == 0, "%s: encode differs", name);
        }
        count++;
    }
    fclose(fp);
    CHECK(count >= 10, "only %d vectors", count);
    printf("vectors: %d checked\n", count);
}

static void test_crc(void)
{
    CHECK(zl_crc32(0, (const uint8_t *)"123456789", 9) == 0xCBF43926u, "crc32 check value");
    printf("crc: ok\n");
}

/* --- link scenarios: this test plays the host with the same frame codec --- */
static uint8_t host_epoch = 77;
static uint16_t host_seq, host_rx_next;
static int reset_calls;
static void on_reset(void *ctx) { (void)ctx; reset_calls++; }

static zl_frame exchange(zl_link *l, const zl_frame *host_frame, int *ok)
{
    static uint8_t to_host[ZL_TRANSACTION_SIZE], to_esp[ZL_TRANSACTION_SIZE];
    zl_link_prepare(l, to_host, sizeof to_host);
    zl_frame_encode(host_frame, to_esp, sizeof to_esp);
    zl_link_receive(l, to_esp, sizeof to_esp);
    zl_frame out;
    *ok = zl_frame_decode(to_host, sizeof to_host, &out) == ZL_DECODE_OK;
    return out;
}

static zl_frame host_nop(uint8_t esp_epoch)
{
    zl_frame f = {0};
    f.epoch = host_epoch;
    f.peer_epoch = esp_epoch;
    f.window = 8;
    f.ack = host_rx_next;
    return f;
}

static void test_link(void)
{
    static zl_link link;
    static zl_persist persist;
    zl_platform plat = {0};
    plat.version = "test";
    plat.request_reset = on_reset;
    memset(&persist, 0, sizeof persist);
    zl_link_init(&link, &plat, &persist, 41, 1);
    uint8_t esp_epoch = 42;
    CHECK(link.epoch == esp_epoch, "epoch from boot counter");
    CHECK(zl_link_data_ready(&link), "data-ready while not synchronised");
    int ok;
    zl_frame r = exchange(&link, &(zl_frame){.epoch = host_epoch, .window = 8}, &ok);
    CHECK(ok && !(r.flags & ZL_FLAG_DATA) && r.epoch == esp_epoch, "first frame is a NOP with the epoch");
    r = exchange(&link, &(zl_frame){.epoch = host_epoch, .peer_epoch = esp_epoch, .window = 8}, &ok);
    CHECK(ok && r.peer_epoch == host_epoch, "ESP32 learned the host epoch");
    r = exchange(&link, &(zl_frame){.epoch = host_epoch, .peer_epoch = esp_epoch, .window = 8}, &ok);
    CHECK(ok && (r.flags & ZL_FLAG_DATA) && r.channel == ZL_CH_LINK && r.type == ZL_LINK_BOOT && r.seq == 0 &&
              r.len == 6 && r.payload[0] == 41,
          "boot announcement with the boot counter");
    host_rx_next = 1;
    /* ping request seq 0 */
    zl_frame ping = host_nop(esp_epoch);
    ping.channel = ZL_CH_SYSTEM;
    ping.type = ZL_SYSTEM_PING;
    ping.flags = ZL_FLAG_DATA;
    ping.seq = host_seq++;
    ping.tag = 9;
    ping.payload = (const uint8_t *)"abc";
    ping.len = 3;
    r = exchange(&link, &ping, &ok);
    CHECK(ok && r.ack == 0, "ack not yet advanced in the same transaction");
    /* duplicate of the same request must not produce a second response */
    r = exchange(&link, &ping, &ok);
    CHECK(ok && r.ack == 1 && (r.flags & ZL_FLAG_DATA) && (r.flags & ZL_FLAG_RESP) && r.tag == 9 && r.len == 4 &&
              r.payload[0] == ZL_STATUS_OK && memcmp(r.payload + 1, "abc", 3) == 0,
          "ping answered once");
    host_rx_next = 2;
    r = exchange(&link, &(zl_frame){.epoch = host_epoch, .peer_epoch = esp_epoch, .window = 8, .ack = 2}, &ok);
    CHECK(ok && !(r.flags & ZL_FLAG_DATA), "duplicate request produced no response (flags %u)", r.flags);
    CHECK(link.stats.rx_delivered == 1 && link.count == 0, "delivered once, ring empty");
    /* a corrupt transaction makes the ESP32 NAK */
    uint8_t junk[ZL_TRANSACTION_SIZE] = {0};
    zl_link_receive(&link, junk, sizeof junk);
    uint8_t out[ZL_TRANSACTION_SIZE];
    zl_link_prepare(&link, out, sizeof out);
    CHECK(zl_frame_decode(out, sizeof out, &r) == ZL_DECODE_OK && (r.flags & ZL_FLAG_NAK), "NAK after corruption");
    /* soft reset: persisted receive state survives, flagged RESUME with the resume point */
    zl_link_init(&link, &plat, &persist, 42, 3);
    zl_link_prepare(&link, out, sizeof out);
    CHECK(zl_frame_decode(out, sizeof out, &r) == ZL_DECODE_OK && (r.flags & ZL_FLAG_RESUME) && r.ack == 1 &&
              r.peer_epoch == host_epoch && r.epoch == 43,
          "resumed boot reports ack 1 for host epoch");
    /* cold boot: no resume */
    memset(&persist, 0xAB, sizeof persist);
    zl_link_init(&link, &plat, &persist, 43, 1);
    zl_link_prepare(&link, out, sizeof out);
    CHECK(zl_frame_decode(out, sizeof out, &r) == ZL_DECODE_OK && !(r.flags & ZL_FLAG_RESUME) && r.ack == 0 &&
              r.peer_epoch == 0,
          "cold boot after garbage persist");
    printf("link: ok\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s test_vectors.txt\n", argv[0]);
        return 2;
    }
    test_crc();
    test_vectors(argv[1]);
    test_link();
    if (failures) {
        printf("%d FAILED\n", failures);
        return 1;
    }
    printf("ALL OK\n");
    return 0;
}
