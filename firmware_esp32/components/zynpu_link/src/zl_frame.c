/* Frame codec: little-endian header, CRC-32 over the header bytes before the CRC and the payload. */
#include "zl_frame.h"

#include <string.h>

static uint32_t crc_table[256];
static int crc_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    crc_ready = 1;
}

uint32_t zl_crc32(uint32_t crc, const uint8_t *data, size_t n)
{
    if (!crc_ready)
        crc_init();
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ data[i]) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) | ((uint32_t)get16(p + 2) << 16); }

int zl_frame_encode(const zl_frame *f, uint8_t *buf, size_t size)
{
    if (size < ZL_HEADER_SIZE || f->len > ZL_MAX_PAYLOAD || (size_t)f->len > size - ZL_HEADER_SIZE)
        return -1;
    buf[ZL_OFF_MAGIC] = ZL_MAGIC;
    buf[ZL_OFF_VERSION] = ZL_VERSION;
    buf[ZL_OFF_CHANNEL] = f->channel;
    buf[ZL_OFF_TYPE] = f->type;
    buf[ZL_OFF_FLAGS] = f->flags;
    buf[ZL_OFF_WINDOW] = f->window;
    buf[ZL_OFF_CREDIT] = f->credit;
    buf[ZL_OFF_RESERVED] = 0;
    put32(buf + ZL_OFF_EPOCH, f->epoch);
    put32(buf + ZL_OFF_PEER_EPOCH, f->peer_epoch);
    put16(buf + ZL_OFF_SEQ, f->seq);
    put16(buf + ZL_OFF_ACK, f->ack);
    put16(buf + ZL_OFF_LEN, f->len);
    put16(buf + ZL_OFF_TAG, f->tag);
    if (f->len)
        memmove(buf + ZL_HEADER_SIZE, f->payload, f->len);
    uint32_t crc = zl_crc32(zl_crc32(0, buf, ZL_OFF_CRC), buf + ZL_HEADER_SIZE, f->len);
    put32(buf + ZL_OFF_CRC, crc);
    memset(buf + ZL_HEADER_SIZE + f->len, 0, size - ZL_HEADER_SIZE - f->len);
    return 0;
}

int zl_frame_decode(const uint8_t *buf, size_t size, zl_frame *f)
{
    if (size < ZL_HEADER_SIZE)
        return ZL_DECODE_SHORT;
    if (buf[ZL_OFF_MAGIC] != ZL_MAGIC)
        return ZL_DECODE_MAGIC;
    if (buf[ZL_OFF_VERSION] != ZL_VERSION)
        return ZL_DECODE_VERSION;
    uint16_t len = get16(buf + ZL_OFF_LEN);
    if (len > ZL_MAX_PAYLOAD || (size_t)len > size - ZL_HEADER_SIZE)
        return ZL_DECODE_LENGTH;
    uint32_t want = get32(buf + ZL_OFF_CRC);
    if (zl_crc32(zl_crc32(0, buf, ZL_OFF_CRC), buf + ZL_HEADER_SIZE, len) != want)
        return ZL_DECODE_CRC;
    f->channel = buf[ZL_OFF_CHANNEL];
    f->type = buf[ZL_OFF_TYPE];
    f->flags = buf[ZL_OFF_FLAGS];
    f->window = buf[ZL_OFF_WINDOW];
    f->credit = buf[ZL_OFF_CREDIT];
    f->epoch = get32(buf + ZL_OFF_EPOCH);
    f->peer_epoch = get32(buf + ZL_OFF_PEER_EPOCH);
    f->seq = get16(buf + ZL_OFF_SEQ);
    f->ack = get16(buf + ZL_OFF_ACK);
    f->len = len;
    f->tag = get16(buf + ZL_OFF_TAG);
    f->payload = buf + ZL_HEADER_SIZE;
    return ZL_DECODE_OK;
}
