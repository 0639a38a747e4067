/* Wi-Fi (esp_wifi station) and sockets (lwIP BSD API) behind the zl_platform table. A receive task
 * select()s over the open sockets and turns data into link events while the link has room. */
#include <string.h>

#include "esp_event.h"
#include "esp_netif.h"
#include "esp_wifi.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "glue.h"
#include "lwip/sockets.h"

#define MAX_SOCKS 8

static struct {
    int fd;
    uint8_t tcp;
} s_socks[MAX_SOCKS + 1]; /* index = socket id on the wire, 0 unused */
static uint8_t s_state = ZL_WIFI_STATE_IDLE;
static uint8_t s_ip[4];

static void wifi_event(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    glue_lock();
    if (base == WIFI_EVENT && id == WIFI_EVENT_SCAN_DONE) {
        uint16_t n = 16;
        wifi_ap_record_t rec[16];
        zl_ap aps[16];
        esp_wifi_scan_get_ap_records(&n, rec);
        for (uint16_t i = 0; i < n; i++) {
            aps[i].rssi = rec[i].rssi;
            aps[i].channel = rec[i].primary;
            aps[i].auth = (uint8_t)rec[i].authmode;
            memcpy(aps[i].bssid, rec[i].bssid, 6);
            memcpy(aps[i].ssid, rec[i].ssid, 33);
        }
        zl_on_wifi_scan_done(&g_link, aps, n);
    } else if (base == WIFI_EVENT && id == WIFI_EVENT_STA_DISCONNECTED) {
        wifi_event_sta_disconnected_t *d = data;
        s_state = ZL_WIFI_STATE_DISCONNECTED;
        memset(s_ip, 0, 4);
        zl_on_wifi_state(&g_link, s_state, d->reason, s_ip);
    } else if (base == IP_EVENT && id == IP_EVENT_STA_GOT_IP) {
        ip_event_got_ip_t *e = data;
        memcpy(s_ip, &e->ip_info.ip.addr, 4);
        s_state = ZL_WIFI_STATE_CONNECTED;
        zl_on_wifi_state(&g_link, s_state, 0, s_ip);
    }
    glue_update_data_ready();
    glue_unlock();
}

static int wifi_scan_start(void *ctx)
{
    (void)ctx;
    wifi_scan_config_t cfg = {0};
    return esp_wifi_scan_start(&cfg, false) == ESP_OK ? ZL_STATUS_OK : ZL_STATUS_BUSY;
}

static int wifi_connect(void *ctx, const char *ssid, const char *password)
{
    (void)ctx;
    wifi_config_t cfg = {0};
    strlcpy((char *)cfg.sta.ssid, ssid, sizeof cfg.sta.ssid);
    strlcpy((char *)cfg.sta.password, password, sizeof cfg.sta.password);
    esp_wifi_disconnect();
    if (esp_wifi_set_config(WIFI_IF_STA, &cfg) != ESP_OK || esp_wifi_connect() != ESP_OK)
        return ZL_STATUS_ERROR;
    s_state = ZL_WIFI_STATE_CONNECTING;
    return ZL_STATUS_OK;
}

static int wifi_disconnect(void *ctx)
{
    (void)ctx;
    return esp_wifi_disconnect() == ESP_OK ? ZL_STATUS_OK : ZL_STATUS_ERROR;
}

static int wifi_status(void *ctx, uint8_t *state, int8_t *rssi, uint8_t ip[4])
{
    (void)ctx;
    wifi_ap_record_t ap;
    *state = s_state;
    *rssi = esp_wifi_sta_get_ap_info(&ap) == ESP_OK ? ap.rssi : 0;
    memcpy(ip, s_ip, 4);
    return ZL_STATUS_OK;
}

static int new_sock(int fd, uint8_t tcp)
{
    for (int i = 1; i <= MAX_SOCKS; i++) {
        if (s_socks[i].fd < 0) {
            s_socks[i].fd = fd;
            s_socks[i].tcp = tcp;
            return i;
        }
    }
    close(fd);
    return -ZL_STATUS_BUSY;
}

static int valid(int id) { return id >= 1 && id <= MAX_SOCKS && s_socks[id].fd >= 0; }

static int udp_open(void *ctx, uint16_t port, uint16_t *bound)
{
    (void)ctx;
    int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -ZL_STATUS_ERROR;
    }
    *bound = ntohs(a.sin_port);
    return new_sock(fd, 0);
}

static int udp_send(void *ctx, int id, const uint8_t ip[4], uint16_t port, const uint8_t *data, size_t n)
{
    (void)ctx;
    if (!valid(id) || s_socks[id].tcp)
        return ZL_STATUS_NO_SOCKET;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    memcpy(&a.sin_addr.s_addr, ip, 4);
    return sendto(s_socks[id].fd, data, n, 0, (struct sockaddr *)&a, sizeof a) < 0 ? ZL_STATUS_ERROR : ZL_STATUS_OK;
}

static int tcp_connect(void *ctx, const uint8_t ip[4], uint16_t port, uint32_t timeout_ms)
{
    (void)ctx;
    int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (fd < 0)
        return -ZL_STATUS_ERROR;
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv); /* bounds the blocking connect */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    memcpy(&a.sin_addr.s_addr, ip, 4);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -ZL_STATUS_ERROR;
    }
    return new_sock(fd, 1);
}

static int tcp_send(void *ctx, int id, const uint8_t *data, size_t n)
{
    (void)ctx;
    if (!valid(id) || !s_socks[id].tcp)
        return -ZL_STATUS_NO_SOCKET;
    int sent = send(s_socks[id].fd, data, n, MSG_DONTWAIT);
    return sent < 0 ? -ZL_STATUS_NOT_CONNECTED : sent;
}

static int sock_close(void *ctx, int id)
{
    (void)ctx;
    if (!valid(id))
        return ZL_STATUS_NO_SOCKET;
    close(s_socks[id].fd);
    s_socks[id].fd = -1;
    return ZL_STATUS_OK;
}

static void rx_task(void *arg)
{
    (void)arg;
    static uint8_t buf[ZL_MAX_PAYLOAD];
    for (;;) {
        fd_set set;
        FD_ZERO(&set);
        int maxfd = -1;
        glue_lock();
        int room = zl_link_event_room(&g_link);
        for (int i = 1; i <= MAX_SOCKS && room > 0; i++) {
            if (s_socks[i].fd >= 0) {
                FD_SET(s_socks[i].fd, &set);
                maxfd = s_socks[i].fd > maxfd ? s_socks[i].fd : maxfd;
            }
        }
        glue_unlock();
        struct timeval tv = {.tv_sec = 0, .tv_usec = 10000};
        if (maxfd < 0 || select(maxfd + 1, &set, NULL, NULL, &tv) <= 0) {
            vTaskDelay(pdMS_TO_TICKS(maxfd < 0 ? 10 : 1));
            continue;
        }
        for (int i = 1; i <= MAX_SOCKS; i++) {
            int fd = s_socks[i].fd;
            if (fd < 0 || !FD_ISSET(fd, &set))
                continue;
            struct sockaddr_in from;
            socklen_t flen = sizeof from;
            int n = s_socks[i].tcp ? recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT)
                                   : recvfrom(fd, buf, sizeof buf - 7, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
            glue_lock();
            if (s_socks[i].tcp && n == 0) {
                close(fd);
                s_socks[i].fd = -1;
                zl_on_tcp_closed(&g_link, i);
            } else if (n > 0 && s_socks[i].tcp) {
                zl_on_tcp_recv(&g_link, i, buf, (size_t)n);
            } else if (n > 0) {
                zl_on_udp_recv(&g_link, i, (const uint8_t *)&from.sin_addr.s_addr, ntohs(from.sin_port), buf, (size_t)n);
            }
            glue_update_data_ready();
            glue_unlock();
        }
    }
}

void net_init(zl_platform *p)
{
    for (int i = 0; i <= MAX_SOCKS; i++)
        s_socks[i].fd = -1;
    ESP_ERROR_CHECK(esp_netif_init());
    ESP_ERROR_CHECK(esp_event_loop_create_default());
    esp_netif_create_default_wifi_sta();
    wifi_init_config_t cfg = WIFI_INIT_CONFIG_DEFAULT();
    ESP_ERROR_CHECK(esp_wifi_init(&cfg));
    ESP_ERROR_CHECK(esp_event_handler_register(WIFI_EVENT, ESP_EVENT_ANY_ID, wifi_event, NULL));
    ESP_ERROR_CHECK(esp_event_handler_register(IP_EVENT, IP_EVENT_STA_GOT_IP, wifi_event, NULL));
    ESP_ERROR_CHECK(esp_wifi_set_mode(WIFI_MODE_STA));
    ESP_ERROR_CHECK(esp_wifi_start());
    p->wifi_scan_start = wifi_scan_start;
    p->wifi_connect = wifi_connect;
    p->wifi_disconnect = wifi_disconnect;
    p->wifi_status = wifi_status;
    p->udp_open = udp_open;
    p->udp_send = udp_send;
    p->tcp_connect = tcp_connect;
    p->tcp_send = tcp_send;
    p->sock_close = sock_close;
    xTaskCreate(rx_task, "zl_net_rx", 4096, NULL, 8, NULL);
}
