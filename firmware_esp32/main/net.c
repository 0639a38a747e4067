/* Wi-Fi (esp_wifi station) and sockets (lwIP BSD API) behind the zl_platform table.
 *
 * The platform entries run on the link task and never block: sockets are non-blocking, a TCP connect
 * returns at once and completes later (zl_on_tcp_connect_done) with a deadline. One receive task owns
 * select(), every recv and every close(): the link task only marks a socket CLOSING, so no socket is
 * closed while it is being selected on. Every receive outcome reaches the host: data (held back, never
 * dropped, while the core has no room), end of stream and errors as TCP_CLOSED with a reason, UDP
 * receive errors as RX_ERROR. Wi-Fi events are posted to the link task, which reads scan results into
 * static arrays it owns: nothing large on the event loop's stack. */
#include <errno.h>
#include <fcntl.h>
#include <assert.h>
#include <string.h>

#include "esp_event.h"
#include "esp_netif.h"
#include "esp_timer.h"
#include "esp_wifi.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "glue.h"
#include "lwip/sockets.h"

#define MAX_SOCKS 8

typedef enum { SLOT_FREE, SLOT_OPEN, SLOT_CONNECTING, SLOT_CLOSING } slot_state;

static struct {
    int fd;
    uint8_t tcp, state;
    int64_t deadline_us; /* SLOT_CONNECTING */
} s_socks[MAX_SOCKS + 1]; /* index = socket id on the wire, 0 unused; guarded by s_socks_lock */
static SemaphoreHandle_t s_socks_lock; /* the socket table only: never held across a blocking call */

/* owned by the link task */
static uint8_t s_state = ZL_WIFI_STATE_IDLE;
static uint8_t s_ip[4];
static wifi_ap_record_t s_records[ZL_LIMIT_SCAN_APS];
static zl_ap s_aps[ZL_LIMIT_SCAN_APS];

/* ---- Wi-Fi: events are posted, the link task applies them ----------------------------------------- */
static void wifi_event(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    glue_msg m = {.kind = GLUE_WIFI_STATE};
    if (base == WIFI_EVENT && id == WIFI_EVENT_SCAN_DONE) {
        m.kind = GLUE_SCAN_DONE;
    } else if (base == WIFI_EVENT && id == WIFI_EVENT_STA_DISCONNECTED) {
        m.status = ZL_WIFI_STATE_DISCONNECTED;
        m.reason = ((wifi_event_sta_disconnected_t *)data)->reason;
    } else if (base == IP_EVENT && id == IP_EVENT_STA_GOT_IP) {
        m.status = ZL_WIFI_STATE_CONNECTED;
        memcpy(m.ip, &((ip_event_got_ip_t *)data)->ip_info.ip.addr, 4);
    } else {
        return;
    }
    if (!glue_post(&m) && m.kind == GLUE_SCAN_DONE)
        esp_wifi_clear_ap_list(); /* frees the driver's list; the scan request then times out on the host */
}

void net_apply(zl_link *l, const glue_msg *m)
{
    if (m->kind == GLUE_SCAN_DONE) {
        uint16_t n = ZL_LIMIT_SCAN_APS;
        if (esp_wifi_scan_get_ap_records(&n, s_records) != ESP_OK)
            n = 0;
        for (uint16_t i = 0; i < n; i++) {
            s_aps[i].rssi = s_records[i].rssi;
            s_aps[i].channel = s_records[i].primary;
            s_aps[i].auth = (uint8_t)s_records[i].authmode;
            memcpy(s_aps[i].bssid, s_records[i].bssid, 6);
            memcpy(s_aps[i].ssid, s_records[i].ssid, 32); /* ssid[33] in both: 32 bytes + NUL */
            s_aps[i].ssid[32] = 0;
        }
        esp_wifi_clear_ap_list(); /* records beyond ZL_LIMIT_SCAN_APS */
        zl_on_wifi_scan_done(l, s_aps, n);
        return;
    }
    s_state = m->status;
    memcpy(s_ip, m->ip, 4);
    zl_on_wifi_state(l, m->status, m->reason, m->ip);
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
    /* all 32 SSID bytes and all 64 PSK characters: the fields need no terminating NUL */
    if (zl_copy_field(cfg.sta.ssid, sizeof cfg.sta.ssid, ssid) < 0 ||
        zl_copy_field(cfg.sta.password, sizeof cfg.sta.password, password) < 0)
        return ZL_STATUS_BAD_REQUEST;
    esp_wifi_disconnect(); /* non-blocking: a DISCONNECTED event may follow, then CONNECTED */
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
    wifi_ap_record_t ap; /* ~80 bytes on the link task's stack */
    *state = s_state;
    *rssi = esp_wifi_sta_get_ap_info(&ap) == ESP_OK ? ap.rssi : 0;
    memcpy(ip, s_ip, 4);
    return ZL_STATUS_OK;
}

/* ---- sockets: opened and written by the link task, read and closed by the receive task ------------- */
static int new_sock(int fd, uint8_t tcp, uint8_t state, int64_t deadline_us)
{
    xSemaphoreTake(s_socks_lock, portMAX_DELAY);
    for (int i = 1; i <= MAX_SOCKS; i++) {
        if (s_socks[i].state == SLOT_FREE) {
            s_socks[i].fd = fd;
            s_socks[i].tcp = tcp;
            s_socks[i].state = state;
            s_socks[i].deadline_us = deadline_us;
            xSemaphoreGive(s_socks_lock);
            return i;
        }
    }
    xSemaphoreGive(s_socks_lock);
    close(fd); /* never selected on: the receive task does not know it */
    return -ZL_STATUS_BUSY;
}

/* fd of an open socket of the given kind, or -1 */
static int open_fd(int id, int tcp)
{
    int fd = -1;
    if (id < 1 || id > MAX_SOCKS)
        return -1;
    xSemaphoreTake(s_socks_lock, portMAX_DELAY);
    if (s_socks[id].state == SLOT_OPEN && s_socks[id].tcp == tcp)
        fd = s_socks[id].fd;
    xSemaphoreGive(s_socks_lock);
    return fd;
}

static int udp_open(void *ctx, uint16_t port, uint16_t *bound)
{
    (void)ctx;
    int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
    socklen_t len = sizeof a;
    if (fd < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -ZL_STATUS_ERROR;
    }
    *bound = ntohs(a.sin_port);
    return new_sock(fd, 0, SLOT_OPEN, 0);
}

static int udp_send(void *ctx, int id, const uint8_t ip[4], uint16_t port, const uint8_t *data, size_t n)
{
    (void)ctx;
    int fd = open_fd(id, 0);
    if (fd < 0)
        return ZL_STATUS_NO_SOCKET;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    memcpy(&a.sin_addr.s_addr, ip, 4);
    int rc = sendto(fd, data, n, MSG_DONTWAIT, (struct sockaddr *)&a, sizeof a);
    if (rc < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOMEM ? ZL_STATUS_BUSY : ZL_STATUS_ERROR;
    return ZL_STATUS_OK;
}

static int tcp_connect(void *ctx, const uint8_t ip[4], uint16_t port, uint32_t timeout_ms)
{
    (void)ctx;
    int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (fd < 0)
        return -ZL_STATUS_ERROR;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    memcpy(&a.sin_addr.s_addr, ip, 4);
    if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0 ||
        (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS)) {
        close(fd);
        return -ZL_STATUS_ERROR;
    }
    /* the receive task watches it for writability and the deadline, then posts CONNECT_DONE */
    return new_sock(fd, 1, SLOT_CONNECTING, esp_timer_get_time() + (int64_t)timeout_ms * 1000);
}

static int tcp_send(void *ctx, int id, const uint8_t *data, size_t n)
{
    (void)ctx;
    int fd = open_fd(id, 1);
    if (fd < 0)
        return -ZL_STATUS_NO_SOCKET;
    int sent = send(fd, data, n, MSG_DONTWAIT);
    if (sent < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -ZL_STATUS_NOT_CONNECTED; /* 0: retry later */
    return sent;
}

static int sock_close(void *ctx, int id)
{
    (void)ctx;
    int rc = ZL_STATUS_NO_SOCKET, was_connecting = 0;
    if (id < 1 || id > MAX_SOCKS)
        return rc;
    xSemaphoreTake(s_socks_lock, portMAX_DELAY);
    if (s_socks[id].state != SLOT_FREE && s_socks[id].state != SLOT_CLOSING) {
        was_connecting = s_socks[id].state == SLOT_CONNECTING;
        s_socks[id].state = SLOT_CLOSING; /* the receive task closes it between two select()s */
        rc = ZL_STATUS_OK;
    }
    xSemaphoreGive(s_socks_lock);
    if (was_connecting) {
        /* the pending TCP_CONNECT still holds a response slot in the core: answer it (next loop) */
        glue_msg m = {.kind = GLUE_CONNECT_DONE, .sock = (uint8_t)id, .status = ZL_STATUS_ERROR};
        glue_post(&m);
    }
    return rc;
}

/* ---- the receive task ------------------------------------------------------------------------------- */
static void post_or_retry(glue_msg *m)
{
    while (!glue_post(m))
        vTaskDelay(1); /* the inbox is deeper than both pools: only a flood of log lines gets here */
}

static void finish_connect(int id, int fd, uint8_t status)
{
    if (status != ZL_STATUS_OK)
        close(fd);
    xSemaphoreTake(s_socks_lock, portMAX_DELAY);
    s_socks[id].state = status == ZL_STATUS_OK ? SLOT_OPEN : SLOT_FREE;
    xSemaphoreGive(s_socks_lock);
    glue_msg m = {.kind = GLUE_CONNECT_DONE, .sock = (uint8_t)id, .status = status};
    post_or_retry(&m);
}

static void read_one(int id, int fd, int tcp)
{
    uint8_t *buf = glue_buf_take();
    if (!buf)
        return; /* all buffers wait for room in the core: leave the data in lwIP (backpressure) */
    glue_msg m = {.kind = GLUE_NET_RX, .sock = (uint8_t)id, .buf = buf, .is_udp = !tcp};
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    int n = tcp ? recv(fd, buf, ZL_LIMIT_TCP_DATA, MSG_DONTWAIT)
                : recvfrom(fd, buf, ZL_LIMIT_UDP_DATA + 1, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
    int err = errno;
    if (n > 0) {
        m.len = (uint16_t)n;
        if (!tcp) {
            memcpy(m.ip, &from.sin_addr.s_addr, 4);
            m.port = ntohs(from.sin_port);
        }
        post_or_retry(&m);
        return;
    }
    glue_buf_give(buf);
    if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK || err == EINTR))
        return;
    m.buf = NULL;
    m.reason = (uint8_t)(n == 0 ? 0 : (err > 255 ? 255 : err));
    if (tcp) {
        /* end of stream or a failed receive: the host hears TCP_CLOSED with the reason */
        close(fd);
        xSemaphoreTake(s_socks_lock, portMAX_DELAY);
        s_socks[id].state = SLOT_FREE;
        xSemaphoreGive(s_socks_lock);
        m.kind = GLUE_TCP_CLOSED;
    } else {
        m.kind = GLUE_RX_ERROR; /* e.g. ICMP port unreachable: reported, the socket stays open */
    }
    post_or_retry(&m);
}

static void rx_task(void *arg)
{
    (void)arg;
    for (;;) {
        fd_set rd, wr;
        FD_ZERO(&rd);
        FD_ZERO(&wr);
        int maxfd = -1;
        int fds[MAX_SOCKS + 1], tcp[MAX_SOCKS + 1], state[MAX_SOCKS + 1];
        int64_t deadline[MAX_SOCKS + 1];
        xSemaphoreTake(s_socks_lock, portMAX_DELAY);
        for (int i = 1; i <= MAX_SOCKS; i++) {
            if (s_socks[i].state == SLOT_CLOSING) { /* only this task closes: never under a select */
                close(s_socks[i].fd);
                s_socks[i].state = SLOT_FREE;
            }
            fds[i] = s_socks[i].fd;
            tcp[i] = s_socks[i].tcp;
            state[i] = s_socks[i].state;
            deadline[i] = s_socks[i].deadline_us;
        }
        xSemaphoreGive(s_socks_lock);
        for (int i = 1; i <= MAX_SOCKS; i++) {
            if (state[i] == SLOT_OPEN)
                FD_SET(fds[i], &rd);
            else if (state[i] == SLOT_CONNECTING)
                FD_SET(fds[i], &wr);
            else
                continue;
            maxfd = fds[i] > maxfd ? fds[i] : maxfd;
        }
        if (maxfd < 0) {
            vTaskDelay(pdMS_TO_TICKS(10));
            continue;
        }
        struct timeval tv = {.tv_sec = 0, .tv_usec = 10000}; /* also the CLOSING and deadline latency */
        int ready = select(maxfd + 1, &rd, &wr, NULL, &tv);
        if (ready < 0) {
            vTaskDelay(1);
            continue;
        }
        int64_t now = esp_timer_get_time();
        for (int i = 1; i <= MAX_SOCKS; i++) {
            if (state[i] == SLOT_CONNECTING) {
                if (FD_ISSET(fds[i], &wr)) {
                    int soerr = 0;
                    socklen_t l = sizeof soerr;
                    getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &soerr, &l);
                    finish_connect(i, fds[i], soerr == 0 ? ZL_STATUS_OK : ZL_STATUS_ERROR);
                } else if (now >= deadline[i]) {
                    finish_connect(i, fds[i], ZL_STATUS_TIMEOUT);
                }
            } else if (state[i] == SLOT_OPEN && FD_ISSET(fds[i], &rd)) {
                read_one(i, fds[i], tcp[i]);
            }
        }
    }
}

void net_init(zl_platform *p)
{
    s_socks_lock = xSemaphoreCreateMutex();
    assert(s_socks_lock);
    for (int i = 0; i <= MAX_SOCKS; i++)
        s_socks[i].state = SLOT_FREE;
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
    /* stack: fd_sets and small locals only; payloads live in the glue pool */
    xTaskCreate(rx_task, "zl_net_rx", 3072, NULL, 8, NULL);
}
