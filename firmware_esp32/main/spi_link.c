/* SPI slave transport: one fixed-size full-duplex transaction at a time, handshake line raised
 * while a buffer is queued (post_setup) and dropped when the master has clocked it (post_trans). */
#include <string.h>

#include "driver/gpio.h"
#include "driver/spi_slave.h"
#include "esp_heap_caps.h"
#include "esp_log.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "glue.h"

#define LINK_HOST SPI2_HOST

static void IRAM_ATTR post_setup(spi_slave_transaction_t *t)
{
    (void)t;
    gpio_set_level(PIN_HANDSHAKE, 1);
}

static void IRAM_ATTR post_trans(spi_slave_transaction_t *t)
{
    (void)t;
    gpio_set_level(PIN_HANDSHAKE, 0);
}

static void link_task(void *arg)
{
    (void)arg;
    uint8_t *tx = heap_caps_malloc(ZL_TRANSACTION_SIZE, MALLOC_CAP_DMA);
    uint8_t *rx = heap_caps_malloc(ZL_TRANSACTION_SIZE, MALLOC_CAP_DMA);
    assert(tx && rx);
    for (;;) {
        glue_lock();
        zl_link_prepare(&g_link, tx, ZL_TRANSACTION_SIZE);
        glue_update_data_ready();
        glue_unlock();
        spi_slave_transaction_t t = {.length = ZL_TRANSACTION_SIZE * 8, .tx_buffer = tx, .rx_buffer = rx};
        if (spi_slave_transmit(LINK_HOST, &t, portMAX_DELAY) != ESP_OK)
            continue;
        glue_lock();
        /* a short transaction (master aborted) fails the frame's length/CRC check in the core */
        zl_link_receive(&g_link, rx, t.trans_len / 8);
        glue_update_data_ready();
        glue_unlock();
    }
}

void spi_link_start(void)
{
    spi_bus_config_t bus = {.mosi_io_num = PIN_MOSI, .miso_io_num = PIN_MISO, .sclk_io_num = PIN_SCLK,
                            .quadwp_io_num = -1, .quadhd_io_num = -1, .max_transfer_sz = ZL_TRANSACTION_SIZE};
    spi_slave_interface_config_t slave = {.mode = 2, .spics_io_num = PIN_CS, .queue_size = 1,
                                          .post_setup_cb = post_setup, .post_trans_cb = post_trans};
    gpio_set_pull_mode(PIN_MOSI, GPIO_PULLUP_ONLY);
    gpio_set_pull_mode(PIN_SCLK, GPIO_PULLUP_ONLY);
    gpio_set_pull_mode(PIN_CS, GPIO_PULLUP_ONLY);
    ESP_ERROR_CHECK(spi_slave_initialize(LINK_HOST, &bus, &slave, SPI_DMA_CH_AUTO));
    xTaskCreatePinnedToCore(link_task, "zl_link", 6144, NULL, 10, NULL, 1);
}
