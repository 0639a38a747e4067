/* The link task: sole owner of the portable core. It keeps SPI_QUEUE_DEPTH transaction buffers armed in
 * the slave driver, digests each completed transaction and re-arms its buffer, applies what other tasks
 * posted to its inbox, and drives the data-ready line.
 *
 * Handshake line: raised in post_setup (a buffer is armed) and dropped by a GPIO interrupt on the
 * falling edge of CS, i.e. as soon as the master starts a transaction (as ESP-Hosted does), not only
 * after it ends; post_trans drops it too in case the edge was missed, and wakes the link task. */
#include <assert.h>
#include <string.h>

#include "driver/gpio.h"
#include "driver/spi_slave.h"
#include "esp_attr.h"
#include "esp_heap_caps.h"
#include "esp_log.h"
#include "esp_system.h"
#include "freertos/FreeRTOS.h"
#include "freertos/queue.h"
#include "freertos/task.h"
#include "glue.h"

#define LINK_HOST SPI2_HOST

static const char *TAG = "zl_spi";
static TaskHandle_t s_task;
static QueueHandle_t s_inbox, s_bufs, s_logs;
static uint8_t s_buf_pool[GLUE_BUF_COUNT][GLUE_BUF_SIZE];
static uint8_t s_log_pool[GLUE_LOG_COUNT][ZL_LIMIT_LOG_TEXT + 1];
static spi_slave_transaction_t s_trans[SPI_QUEUE_DEPTH];
static uint8_t *s_tx[SPI_QUEUE_DEPTH], *s_rx[SPI_QUEUE_DEPTH];

/* ---- pools and inbox: FreeRTOS queues, safe from any task, never blocking ------------------------ */
void glue_pools_init(void)
{
    s_inbox = xQueueCreate(GLUE_INBOX_DEPTH, sizeof(glue_msg));
    s_bufs = xQueueCreate(GLUE_BUF_COUNT, sizeof(uint8_t *));
    s_logs = xQueueCreate(GLUE_LOG_COUNT, sizeof(uint8_t *));
    assert(s_inbox && s_bufs && s_logs);
    for (int i = 0; i < GLUE_BUF_COUNT; i++) {
        uint8_t *p = s_buf_pool[i];
        xQueueSend(s_bufs, &p, 0);
    }
    for (int i = 0; i < GLUE_LOG_COUNT; i++) {
        uint8_t *p = s_log_pool[i];
        xQueueSend(s_logs, &p, 0);
    }
}

static uint8_t *take(QueueHandle_t q)
{
    uint8_t *p = NULL;
    return q && xQueueReceive(q, &p, 0) == pdTRUE ? p : NULL;
}

uint8_t *glue_buf_take(void) { return take(s_bufs); }
void glue_buf_give(uint8_t *buf) { xQueueSend(s_bufs, &buf, 0); }
uint8_t *glue_log_take(void) { return take(s_logs); }
void glue_log_give(uint8_t *buf) { xQueueSend(s_logs, &buf, 0); }

bool glue_post(const glue_msg *m)
{
    if (!s_inbox || xQueueSend(s_inbox, m, 0) != pdTRUE)
        return false;
    if (s_task)
        xTaskNotifyGive(s_task);
    return true;
}

/* ---- ISRs ------------------------------------------------------------------------------------------ */
static void IRAM_ATTR post_setup(spi_slave_transaction_t *t)
{
    (void)t;
    gpio_set_level(PIN_HANDSHAKE, 1);
}

static void IRAM_ATTR post_trans(spi_slave_transaction_t *t)
{
    (void)t;
    gpio_set_level(PIN_HANDSHAKE, 0);
    BaseType_t woken = pdFALSE;
    if (s_task)
        vTaskNotifyGiveFromISR(s_task, &woken);
    if (woken)
        portYIELD_FROM_ISR();
}

static void IRAM_ATTR cs_edge(void *arg)
{
    (void)arg;
    if (gpio_get_level(PIN_CS) == 0)
        gpio_set_level(PIN_HANDSHAKE, 0); /* the master has started: it must not start another */
}

/* ---- the link task --------------------------------------------------------------------------------- */
static void release(const glue_msg *m)
{
    if (!m->buf)
        return;
    if (m->kind == GLUE_LOG)
        glue_log_give(m->buf);
    else
        glue_buf_give(m->buf);
}

/* Returns false if the core has no room for it yet: the caller keeps it and retries (nothing is lost). */
static bool apply(zl_link *l, const glue_msg *m)
{
    switch (m->kind) {
    case GLUE_NET_RX:
    case GLUE_BLE_WRITE:
    case GLUE_LOG:
    case GLUE_TCP_CLOSED:
    case GLUE_RX_ERROR:
    case GLUE_WIFI_STATE:
    case GLUE_BLE_CONN:
        if (zl_link_event_room(l) <= 0)
            return false;
        break;
    default:
        break;
    }
    switch (m->kind) {
    case GLUE_NET_RX:
        /* more than an event carries: the core counts it lost and reports it (never cut silently) */
        if (m->is_udp)
            zl_on_udp_recv(l, m->sock, m->ip, m->port, m->buf, m->len);
        else
            zl_on_tcp_recv(l, m->sock, m->buf, m->len);
        break;
    case GLUE_TCP_CLOSED:
        zl_on_tcp_closed(l, m->sock, m->reason);
        break;
    case GLUE_RX_ERROR:
        zl_on_rx_error(l, m->sock, m->reason);
        break;
    case GLUE_CONNECT_DONE:
        zl_on_tcp_connect_done(l, m->sock, m->status);
        break;
    case GLUE_BLE_WRITE:
        zl_on_ble_write(l, m->buf, m->len);
        break;
    case GLUE_BLE_CONN:
        zl_on_ble_conn(l, m->status);
        break;
    case GLUE_LOG:
        zl_log_event(l, m->status, (const char *)m->buf);
        break;
    case GLUE_WIFI_STATE:
    case GLUE_SCAN_DONE:
        net_apply(l, m);
        break;
    default:
        break;
    }
    return true;
}

static volatile bool s_reset_requested;
static void on_reset_request(void *ctx)
{
    (void)ctx;
    s_reset_requested = true; /* acted on by the link task once the response has gone out */
}

static void arm(zl_link *l, int i)
{
    zl_link_prepare(l, s_tx[i], ZL_TRANSACTION_SIZE);
    s_trans[i] = (spi_slave_transaction_t){.length = ZL_TRANSACTION_SIZE * 8, .tx_buffer = s_tx[i],
                                           .rx_buffer = s_rx[i]};
    /* depth SPI_QUEUE_DEPTH and one re-arm per completion: the driver's queue always has room */
    ESP_ERROR_CHECK(spi_slave_queue_trans(LINK_HOST, &s_trans[i], 0));
}

static void link_task(void *arg)
{
    zl_link *l = arg;
    s_task = xTaskGetCurrentTaskHandle(); /* before any buffer is armed, so post_trans can wake us */
    glue_msg held;
    bool holding = false;
    for (int i = 0; i < SPI_QUEUE_DEPTH; i++) {
        s_tx[i] = heap_caps_malloc(ZL_TRANSACTION_SIZE, MALLOC_CAP_DMA);
        s_rx[i] = heap_caps_malloc(ZL_TRANSACTION_SIZE, MALLOC_CAP_DMA);
        assert(s_tx[i] && s_rx[i]);
        arm(l, i);
    }
    for (;;) {
        ulTaskNotifyTake(pdTRUE, pdMS_TO_TICKS(10));
        spi_slave_transaction_t *t;
        while (spi_slave_get_trans_result(LINK_HOST, &t, 0) == ESP_OK) {
            int i = (int)(t - s_trans);
            /* the other armed buffers keep the master going while this one is processed; a short
             * transaction (master aborted) fails the frame's length/CRC check in the core */
            zl_link_receive(l, s_rx[i], t->trans_len / 8);
            arm(l, i);
        }
        for (;;) {
            if (!holding) {
                if (xQueueReceive(s_inbox, &held, 0) != pdTRUE)
                    break;
                holding = true;
            }
            if (!apply(l, &held))
                break; /* no event room: keep it, the host's credit will free slots */
            release(&held);
            holding = false;
        }
        uint32_t dropped = glue_log_dropped_take();
        if (dropped)
            zl_link_count_lost(l, dropped);
        gpio_set_level(PIN_DATA_READY, zl_link_data_ready(l));
        if (s_reset_requested) {
            ESP_LOGI(TAG, "reset requested by the host");
            esp_restart();
        }
    }
}

void spi_link_start(zl_link *link)
{
    gpio_config_t out = {.pin_bit_mask = (1ULL << PIN_HANDSHAKE) | (1ULL << PIN_DATA_READY),
                         .mode = GPIO_MODE_OUTPUT};
    ESP_ERROR_CHECK(gpio_config(&out));
    gpio_set_level(PIN_HANDSHAKE, 0);
    gpio_set_level(PIN_DATA_READY, 1); /* not synchronised yet: the host should clock */
    gpio_config_t cs = {.pin_bit_mask = 1ULL << PIN_CS, .mode = GPIO_MODE_INPUT,
                        .pull_up_en = GPIO_PULLUP_ENABLE, .intr_type = GPIO_INTR_ANYEDGE};
    ESP_ERROR_CHECK(gpio_config(&cs));
    ESP_ERROR_CHECK(gpio_install_isr_service(0));
    ESP_ERROR_CHECK(gpio_isr_handler_add(PIN_CS, cs_edge, NULL));

    spi_bus_config_t bus = {.mosi_io_num = PIN_MOSI, .miso_io_num = PIN_MISO, .sclk_io_num = PIN_SCLK,
                            .quadwp_io_num = -1, .quadhd_io_num = -1, .max_transfer_sz = ZL_TRANSACTION_SIZE};
    spi_slave_interface_config_t slave = {.mode = 2, .spics_io_num = PIN_CS, .queue_size = SPI_QUEUE_DEPTH,
                                          .post_setup_cb = post_setup, .post_trans_cb = post_trans};
    gpio_set_pull_mode(PIN_MOSI, GPIO_PULLUP_ONLY);
    gpio_set_pull_mode(PIN_SCLK, GPIO_PULLUP_ONLY);
    ESP_ERROR_CHECK(spi_slave_initialize(LINK_HOST, &bus, &slave, SPI_DMA_CH_AUTO));
    gpio_set_pull_mode(PIN_MISO, GPIO_PULLDOWN_ONLY); /* GPIO12 strap: see glue.h */
    /* stack: the core keeps every message in its static rings; 4096 covers zl_* frames and ESP_LOG */
    xTaskCreatePinnedToCore(link_task, "zl_link", 4096, link, 10, NULL, 1);
}

/* request_reset is wired here so main.c need not know the task. */
void spi_link_platform(zl_platform *p) { p->request_reset = on_reset_request; }
