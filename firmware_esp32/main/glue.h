/* ESP-IDF glue shared by the firmware's tasks. The link core is not thread-safe: every call into it
 * (zl_*) happens with glue_lock() held. */
#pragma once

#include "zl_link.h"

#define PIN_MOSI 13
#define PIN_MISO 12
#define PIN_SCLK 14
#define PIN_CS 15
#define PIN_HANDSHAKE 26
#define PIN_DATA_READY 27

extern zl_link g_link;

void glue_lock(void);
void glue_unlock(void);
void glue_update_data_ready(void); /* call with the lock held after queueing anything */

void spi_link_start(void);

void net_init(zl_platform *p);    /* Wi-Fi + sockets entries of the platform table */
void ble_glue_init(zl_platform *p); /* NimBLE GATT server entries */
