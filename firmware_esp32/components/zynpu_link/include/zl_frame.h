/* Frame codec of the zynpu SPI link: portable C, no ESP-IDF includes. */
#ifndef ZL_FRAME_H
#define ZL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "zl_wire.h"

typedef struct {
    uint8_t channel, type, flags, window, credit;
    uint16_t seq, ack, len, tag;
    uint32_t epoch, peer_epoch; /* session nonces (wire_format.json) */
    const uint8_t *payload; /* points into the decoded buffer, or at the bytes to encode */
} zl_frame;

uint32_t zl_crc32(uint32_t crc, const uint8_t *data, size_t n);

/* Writes a frame into buf (size bytes, zero padded). Returns 0, or -1 if the payload does not fit. */
int zl_frame_encode(const zl_frame *f, uint8_t *buf, size_t size);

/* Parses buf; returns ZL_DECODE_OK or a ZL_DECODE_* error. f->payload then points into buf. */
int zl_frame_decode(const uint8_t *buf, size_t size, zl_frame *f);

#endif
