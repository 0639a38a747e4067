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
        unsigned v[10];
        if (sscanf(line, "%63s %d %u %u %u %u %u %u %u %u %u %u %8191s %8191s", name, &expect, &v[0], &v[1], &v[2],
                   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], phex, bhex) != 14) {
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
                      f.peer_epoch == v[4] && f.window == v[5] && f.seq == v[6] && f.ack == v[7] && f.tag == v[8] &&
                      f.credit == v[9],
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
static const uint32_t ESP_NONCE = 0xE5E50042u;
static int reset_calls;
static void on_reset(void *ctx) { (void)ctx; reset_calls++; }

typedef struct {
    uint32_t epoch, peer;
    uint16_t seq, rx_next;
    int syncing, peer_syncing;
    uint8_t credit;
} host_t;

/* One transaction: the host frame (built from h plus an optional request) against the ESP's queued one. */
static zl_frame xfer(zl_link *l, host_t *h, const zl_frame *req, int *ok)
{
    static uint8_t to_host[ZL_TRANSACTION_SIZE], to_esp[ZL_TRANSACTION_SIZE];
    zl_frame f = req ? *req : (zl_frame){0};
    f.epoch = h->epoch;
    f.peer_epoch = h->peer;
    f.window = 8;
    f.credit = h->credit;
    f.ack = h->rx_next;
    f.flags |= (uint8_t)((h->syncing ? ZL_FLAG_SYNC : 0) | (h->peer_syncing ? ZL_FLAG_SYNACK : 0));
    zl_link_prepare(l, to_host, sizeof to_host);
    zl_frame_encode(&f, to_esp, sizeof to_esp);
    zl_link_receive(l, to_esp, sizeof to_esp);
    zl_frame out;
    *ok = zl_frame_decode(to_host, sizeof to_host, &out) == ZL_DECODE_OK;
    if (*ok) { /* the host's side of the handshake, reduced to what these scenarios need */
        if (out.flags & ZL_FLAG_SYNC) {
            h->peer = out.epoch;
            h->peer_syncing = 1;
            h->rx_next = 0;
        } else {
            h->peer_syncing = 0;
            if (h->peer == 0)
                h->peer = out.epoch; /* a fresh host learns the epoch of a chip that kept running */
        }
        if ((out.flags & ZL_FLAG_SYNACK) && out.peer_epoch == h->epoch)
            h->syncing = 0;
        if ((out.flags & ZL_FLAG_DATA) && !(out.flags & ZL_FLAG_SYNC) && out.seq == h->rx_next)
            h->rx_next++;
    }
    return out;
}

/* Clock NOP transactions until a DATA frame of (channel, type) arrives; returns it (ok=0 if never). */
static zl_frame until(zl_link *l, host_t *h, uint8_t ch, uint8_t type, int *ok)
{
    for (int i = 0; i < 40; i++) {
        zl_frame r = xfer(l, h, NULL, ok);
        if (*ok && (r.flags & ZL_FLAG_DATA) && r.channel == ch && r.type == type)
            return r;
    }
    *ok = 0;
    return (zl_frame){0};
}

static zl_frame request(uint16_t seq, uint8_t ch, uint8_t type, uint16_t tag, const void *p, uint16_t n)
{
    zl_frame f = {0};
    f.channel = ch;
    f.type = type;
    f.flags = ZL_FLAG_DATA;
    f.seq = seq;
    f.tag = tag;
    f.payload = p;
    f.len = n;
    return f;
}

static void boot(zl_link *l, const zl_platform *plat, zl_persist *persist, uint32_t count, uint32_t nonce,
                 uint8_t reason)
{
    zl_boot_info b = {.boot_count = count, .nonce = nonce, .reset_reason = reason};
    zl_link_init(l, plat, persist, &b);
}

static void test_link(void)
{
    static zl_link link;
    static zl_persist persist;
    static uint8_t big[ZL_MAX_PAYLOAD];
    zl_platform plat = {0};
    plat.version = "test";
    plat.request_reset = on_reset;
    memset(&persist, 0, sizeof persist);
    boot(&link, &plat, &persist, 41, ESP_NONCE, 1);
    host_t h = {.epoch = 0x77777777u, .syncing = 1, .credit = 8};
    CHECK(link.epoch == ESP_NONCE, "epoch is the boot nonce");
    CHECK(zl_link_data_ready(&link), "data-ready while not synchronised");
    int ok;
    zl_frame r = xfer(&link, &h, NULL, &ok);
    CHECK(ok && !(r.flags & ZL_FLAG_DATA) && (r.flags & ZL_FLAG_SYNC) && r.epoch == ESP_NONCE,
          "first frame is a SYNC with the nonce");
    r = until(&link, &h, ZL_CH_LINK, ZL_LINK_HELLO, &ok);
    CHECK(ok && r.seq == 0 && r.len == 24 && r.payload[0] == ZL_VERSION &&
              (uint32_t)(r.payload[8] | r.payload[9] << 8 | r.payload[10] << 16 | (uint32_t)r.payload[11] << 24) ==
                  ZL_ESP_MAX_SPI_HZ,
          "capabilities first: version and max SPI clock");
    CHECK(!h.syncing && link.up, "both sides synchronised");
    r = until(&link, &h, ZL_CH_LINK, ZL_LINK_BOOT, &ok);
    CHECK(ok && r.len == 7 && r.payload[0] == 41 && r.payload[6] == 0, "boot announcement with the counter");
    /* ping request seq 0; a duplicate must not produce a second response */
    zl_frame ping = request(h.seq++, ZL_CH_SYSTEM, ZL_SYSTEM_PING, 9, "abc", 3);
    r = xfer(&link, &h, &ping, &ok);
    r = xfer(&link, &h, &ping, &ok);
    CHECK(ok && r.ack == 1 && (r.flags & ZL_FLAG_RESP) && r.tag == 9 && r.len == 4 && r.payload[0] == ZL_STATUS_OK &&
              memcmp(r.payload + 1, "abc", 3) == 0,
          "ping answered once");
    r = xfer(&link, &h, NULL, &ok);
    CHECK(ok && !(r.flags & ZL_FLAG_DATA), "duplicate request produced no response (flags %u)", r.flags);
    CHECK(link.stats.rx_delivered == 1, "delivered once");
    /* the largest ping is answered in full; one byte more is refused, never truncated */
    memset(big, 0x5A, sizeof big);
    zl_frame max_ping = request(h.seq++, ZL_CH_SYSTEM, ZL_SYSTEM_PING, 10, big, ZL_LIMIT_PING_DATA);
    xfer(&link, &h, &max_ping, &ok);
    r = until(&link, &h, ZL_CH_SYSTEM, ZL_SYSTEM_PING, &ok);
    CHECK(ok && r.len == ZL_MAX_PAYLOAD && r.payload[0] == ZL_STATUS_OK, "max ping echoed in full (%u)", r.len);
    zl_frame over = request(h.seq++, ZL_CH_SYSTEM, ZL_SYSTEM_PING, 11, big, ZL_MAX_PAYLOAD);
    xfer(&link, &h, &over, &ok);
    r = until(&link, &h, ZL_CH_SYSTEM, ZL_SYSTEM_PING, &ok);
    CHECK(ok && r.tag == 11 && r.len == 1 && r.payload[0] == ZL_STATUS_TOO_LARGE, "oversized ping refused");
    /* with no event credit, events wait but a response still passes */
    h.credit = 0;
    xfer(&link, &h, NULL, &ok); /* the ESP32 learns the credit with this frame */
    for (int i = 0; i < 3; i++)
        zl_on_ble_write(&link, (const uint8_t *)"w", 1);
    zl_frame ping2 = request(h.seq++, ZL_CH_SYSTEM, ZL_SYSTEM_PING, 12, "z", 1);
    xfer(&link, &h, &ping2, &ok);
    r = until(&link, &h, ZL_CH_SYSTEM, ZL_SYSTEM_PING, &ok);
    CHECK(ok && r.tag == 12, "response overtakes events that have no credit");
    CHECK(link.ev_count == 3, "events still queued (%u)", link.ev_count);
    /* overflow of the event queue is counted and reported once credit returns */
    for (int i = 0; i < ZL_ESP_EVENT_SLOTS + 2; i++)
        zl_log_event(&link, 3, "x");
    CHECK(zl_on_ble_write(&link, (const uint8_t *)"x", 1) == -1 && link.lost_overflow == 5,
          "a BLE write into a full queue is refused (the phone sees an ATT error), not counted lost");
    h.credit = 255;
    r = until(&link, &h, ZL_CH_LINK, ZL_LINK_LOST, &ok);
    CHECK(ok && r.payload[0] == 5 && r.payload[4] == ZL_LOST_OVERFLOW, "5 overflowed events reported lost");
    for (int i = 0; i < 20; i++)
        xfer(&link, &h, NULL, &ok);
    CHECK(link.ev_count == 0 && link.count == 0, "events drained");
    /* a corrupt transaction makes the ESP32 NAK */
    uint8_t junk[ZL_TRANSACTION_SIZE] = {0};
    uint8_t out[ZL_TRANSACTION_SIZE];
    zl_link_receive(&link, junk, sizeof junk);
    zl_link_prepare(&link, out, sizeof out);
    CHECK(zl_frame_decode(out, sizeof out, &r) == ZL_DECODE_OK && (r.flags & ZL_FLAG_NAK), "NAK after corruption");
    /* the host restarts with the SAME nonce: its SYNC still resets the ESP32's receive state */
    for (int i = 0; i < 3; i++)
        zl_on_ble_write(&link, (const uint8_t *)"q", 1);
    xfer(&link, &h, NULL, &ok); /* q1 goes out and is acknowledged; q2 and q3 go to a dying host */
    xfer(&link, &h, NULL, &ok);
    host_t h2 = {.epoch = h.epoch, .syncing = 1, .credit = 8};
    until(&link, &h2, ZL_CH_LINK, ZL_LINK_HELLO, &ok);
    CHECK(ok && link.rx_next == 0 && link.stats.host_restarts >= 1, "reused host nonce resynchronised");
    r = until(&link, &h2, ZL_CH_LINK, ZL_LINK_LOST, &ok);
    CHECK(ok && r.payload[4] == ZL_LOST_HOST_RESTART && r.payload[0] == 2,
          "both events sent to the old session reported lost");
    zl_frame p3 = request(h2.seq++, ZL_CH_SYSTEM, ZL_SYSTEM_PING, 1, "n", 1);
    xfer(&link, &h2, &p3, &ok);
    r = until(&link, &h2, ZL_CH_SYSTEM, ZL_SYSTEM_PING, &ok);
    CHECK(ok && r.tag == 1 && r.payload[1] == 'n', "new session's first request answered");
    /* soft reset: persisted receive state survives, SYNC|RESUME with the resume point */
    uint16_t rx_before = link.rx_next;
    boot(&link, &plat, &persist, 42, ESP_NONCE, 3);
    zl_link_prepare(&link, out, sizeof out);
    CHECK(zl_frame_decode(out, sizeof out, &r) == ZL_DECODE_OK && (r.flags & ZL_FLAG_RESUME) &&
              (r.flags & ZL_FLAG_SYNC) && r.ack == rx_before && r.peer_epoch == h2.epoch,
          "resumed boot reports its resume point for the host nonce");
    /* cold boot: no resume */
    memset(&persist, 0xAB, sizeof persist);
    boot(&link, &plat, &persist, 43, ESP_NONCE, 1);
    zl_link_prepare(&link, out, sizeof out);
    CHECK(zl_frame_decode(out, sizeof out, &r) == ZL_DECODE_OK && !(r.flags & ZL_FLAG_RESUME) && r.ack == 0 &&
              r.peer_epoch == 0,
          "cold boot after garbage persist");
    printf("link: ok\n");
}

static void test_boot_counter(void)
{
    static zl_persist persist;
    memset(&persist, 0, sizeof persist);
    uint8_t flags = 0;
    CHECK(zl_boot_count_next(&persist, 1, 7, &flags) == 7 && flags == 0, "NVS counter used when it works");
    /* NVS fails on every boot: the RTC copy keeps counting and the boot says the counter is volatile */
    static zl_link link;
    zl_platform plat = {0};
    uint32_t last = 0;
    for (int i = 0; i < 5; i++) {
        flags = 0;
        uint32_t c = zl_boot_count_next(&persist, 0, 0, &flags);
        CHECK(c > last && (flags & ZL_BOOT_FLAG_COUNTER_VOLATILE), "boot %d: counter %u after %u", i, c, last);
        zl_boot_info b = {.boot_count = c, .nonce = 5, .boot_flags = flags};
        zl_link_init(&link, &plat, &persist, &b);
        last = c;
    }
    printf("boot counter: ok\n");
}

static void test_copy_field(void)
{
    uint8_t ssid[32], psk[64];
    const char *s32 = "0123456789abcdef0123456789ABCDEF";
    const char *p64 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    CHECK(zl_copy_field(ssid, sizeof ssid, s32) == 32 && memcmp(ssid, s32, 32) == 0, "32-byte SSID kept whole");
    CHECK(zl_copy_field(psk, sizeof psk, p64) == 64 && memcmp(psk, p64, 64) == 0, "64-char PSK kept whole");
    CHECK(zl_copy_field(ssid, sizeof ssid, "0123456789abcdef0123456789ABCDEFx") == -1, "33 bytes refused");
    CHECK(zl_copy_field(ssid, sizeof ssid, "ab") == 2 && ssid[2] == 0, "short SSID zero-filled");
    printf("copy field: ok\n");
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
    test_boot_counter();
    test_copy_field();
    if (failures) {
        printf("%d FAILED\n", failures);
        return 1;
    }
    printf("ALL OK\n");
    return 0;
}
