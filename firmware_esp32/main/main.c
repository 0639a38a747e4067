/* zynpu radio firmware: boot counter, reset-surviving link state, platform table, link task. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "driver/gpio.h"
#include "esp_attr.h"
#include "esp_log.h"
#include "esp_system.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "glue.h"
#include "nvs.h"
#include "nvs_flash.h"

static const char *TAG = "zynpu";

zl_link g_link;
RTC_NOINIT_ATTR static zl_persist s_persist; /* survives panic/watchdog/esp_restart, not power loss */
static SemaphoreHandle_t s_lock;
static zl_platform s_platform;

void glue_lock(void) { xSemaphoreTakeRecursive(s_lock, portMAX_DELAY); }
void glue_unlock(void) { xSemaphoreGiveRecursive(s_lock); }

void glue_update_data_ready(void) { gpio_set_level(PIN_DATA_READY, zl_link_data_ready(&g_link)); }

static uint32_t now_ms(void *ctx)
{
    (void)ctx;
    return (uint32_t)(esp_timer_get_time() / 1000);
}

static void request_reset(void *ctx)
{
    (void)ctx;
    ESP_LOGI(TAG, "reset requested by the host");
    esp_restart();
}

static uint32_t next_boot_count(void)
{
    nvs_handle_t h;
    uint32_t boots = 0;
    if (nvs_open("zynpu", NVS_READWRITE, &h) == ESP_OK) {
        nvs_get_u32(h, "boots", &boots);
        boots++;
        nvs_set_u32(h, "boots", boots);
        nvs_commit(h);
        nvs_close(h);
    }
    return boots;
}

/* Forward ESP-IDF log lines to the host as SYSTEM.LOG events (and keep them on the UART). */
static int log_vprintf(const char *fmt, va_list args)
{
    static __thread int busy;
    char line[200];
    va_list copy;
    va_copy(copy, args);
    int n = vprintf(fmt, args);
    if (!busy) {
        busy = 1;
        vsnprintf(line, sizeof line, fmt, copy);
        glue_lock();
        zl_log_event(&g_link, 3, line);
        glue_update_data_ready();
        glue_unlock();
        busy = 0;
    }
    va_end(copy);
    return n;
}

void app_main(void)
{
    esp_err_t err = nvs_flash_init();
    if (err == ESP_ERR_NVS_NO_FREE_PAGES || err == ESP_ERR_NVS_NEW_VERSION_FOUND) {
        ESP_ERROR_CHECK(nvs_flash_erase());
        ESP_ERROR_CHECK(nvs_flash_init());
    }
    esp_reset_reason_t reason = esp_reset_reason();
    if (reason == ESP_RST_POWERON || reason == ESP_RST_BROWNOUT)
        memset(&s_persist, 0, sizeof s_persist); /* RTC memory content is undefined after power-up */
    s_lock = xSemaphoreCreateRecursiveMutex();

    s_platform.version = "zynpu-esp32 0.1.0";
    s_platform.now_ms = now_ms;
    s_platform.request_reset = request_reset;
    net_init(&s_platform);
    ble_glue_init(&s_platform);

    gpio_config_t out = {.pin_bit_mask = (1ULL << PIN_HANDSHAKE) | (1ULL << PIN_DATA_READY),
                         .mode = GPIO_MODE_OUTPUT};
    gpio_config(&out);
    gpio_set_level(PIN_HANDSHAKE, 0);

    glue_lock();
    zl_link_init(&g_link, &s_platform, &s_persist, next_boot_count(), (uint8_t)reason);
    glue_update_data_ready();
    glue_unlock();
    esp_log_set_vprintf(log_vprintf);
    ESP_LOGI(TAG, "link up, boot reason %d", (int)reason);
    spi_link_start();
}
