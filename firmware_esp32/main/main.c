/* zynpu radio firmware: boot counter, reset-surviving link state, platform table, log forwarding.
 * app_main initialises everything, hands the core to the link task (spi_link.c) and returns. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "esp_attr.h"
#include "esp_log.h"
#include "esp_random.h"
#include "esp_system.h"
#include "esp_timer.h"
#include "glue.h"
#include "nvs.h"
#include "nvs_flash.h"

static const char *TAG = "zynpu";

static zl_link s_link;                        /* static: ~38 KB of message rings, on no stack */
RTC_NOINIT_ATTR static zl_persist s_persist; /* survives panic/watchdog/esp_restart, not power loss */
static zl_platform s_platform;

static uint32_t now_ms(void *ctx)
{
    (void)ctx;
    return (uint32_t)(esp_timer_get_time() / 1000);
}

/* Read, increment and commit the NVS boot counter; *ok only if every step worked. The core decides
 * what to do when it did not (zl_boot_count_next): count on in RTC memory and flag the boot. */
static uint32_t nvs_boot_count(int *ok)
{
    nvs_handle_t h;
    uint32_t boots = 0;
    *ok = 0;
    if (nvs_open("zynpu", NVS_READWRITE, &h) != ESP_OK)
        return 0;
    esp_err_t err = nvs_get_u32(h, "boots", &boots);
    if (err == ESP_OK || err == ESP_ERR_NVS_NOT_FOUND) {
        boots++;
        *ok = nvs_set_u32(h, "boots", boots) == ESP_OK && nvs_commit(h) == ESP_OK;
    }
    nvs_close(h);
    return *ok ? boots : 0;
}

/* Forward ESP-IDF log lines to the host as SYSTEM.LOG events (and keep them on the UART). Runs on the
 * logging task: it only formats into a pool buffer and posts it; it takes no lock and never waits. A
 * line that finds no free buffer or a full inbox is counted and reported as lost by the link task. */
static uint32_t s_log_dropped; /* atomics: any task may log */

static int log_vprintf(const char *fmt, va_list args)
{
    va_list copy;
    va_copy(copy, args);
    int n = vprintf(fmt, args);
    uint8_t *buf = glue_log_take();
    if (buf) {
        vsnprintf((char *)buf, ZL_LIMIT_LOG_TEXT + 1, fmt, copy);
        glue_msg m = {.kind = GLUE_LOG, .status = 3, .buf = buf};
        if (!glue_post(&m)) {
            glue_log_give(buf);
            __atomic_fetch_add(&s_log_dropped, 1, __ATOMIC_RELAXED);
        }
    } else {
        __atomic_fetch_add(&s_log_dropped, 1, __ATOMIC_RELAXED);
    }
    va_end(copy);
    return n;
}

uint32_t glue_log_dropped_take(void) { return __atomic_exchange_n(&s_log_dropped, 0, __ATOMIC_RELAXED); }

void app_main(void)
{
    esp_err_t err = nvs_flash_init();
    if (err == ESP_ERR_NVS_NO_FREE_PAGES || err == ESP_ERR_NVS_NEW_VERSION_FOUND) {
        if (nvs_flash_erase() == ESP_OK)
            err = nvs_flash_init();
    }
    if (err != ESP_OK)
        ESP_LOGE(TAG, "NVS unavailable (%s): the boot counter falls back to RTC memory", esp_err_to_name(err));
    esp_reset_reason_t reason = esp_reset_reason();
    if (reason == ESP_RST_POWERON || reason == ESP_RST_BROWNOUT)
        memset(&s_persist, 0, sizeof s_persist); /* RTC memory content is undefined after power-up */

    glue_pools_init();
    s_platform.version = "zynpu-esp32 0.2.0";
    s_platform.max_spi_hz = ZL_ESP_MAX_SPI_HZ;
    s_platform.now_ms = now_ms;
    spi_link_platform(&s_platform);
    net_init(&s_platform); /* starts Wi-Fi: from here the RF subsystem makes esp_random() truly random */
    ble_glue_init(&s_platform);

    int nvs_ok = 0;
    uint32_t nvs_count = err == ESP_OK ? nvs_boot_count(&nvs_ok) : 0;
    zl_boot_info boot = {.reset_reason = (uint8_t)reason};
    boot.boot_count = zl_boot_count_next(&s_persist, nvs_ok, nvs_count, &boot.boot_flags);
    /* a fresh 32-bit session nonce; the SYNC handshake keeps even a repeated one from wedging */
    boot.nonce = esp_random() ^ (uint32_t)esp_timer_get_time();
    zl_link_init(&s_link, &s_platform, &s_persist, &boot);
    esp_log_set_vprintf(log_vprintf);
    ESP_LOGI(TAG, "boot %lu reason %d%s", (unsigned long)boot.boot_count, (int)reason,
             boot.boot_flags & ZL_BOOT_FLAG_COUNTER_VOLATILE ? " (boot counter not in NVS)" : "");
    spi_link_start(&s_link); /* the link task owns s_link from here on */
}
