/* Service dispatch: decode a request, call the platform, queue the response or event.
 * Messages are built in their ring/event slot: no payload-sized buffer on any stack. */
#include <string.h>

#include "zl_link.h"

static uint8_t neg_status(int rc) { return (uint8_t)(rc < 0 ? -rc : rc); }

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int zl_copy_field(uint8_t *dst, size_t cap, const char *src)
{
    size_t n = bounded_len(src, cap + 1);
    if (n > cap)
        return -1;
    memset(dst, 0, cap);
    memcpy(dst, src, n);
    return (int)n;
}

/* Responses go to the tail of the ring and carry the request's channel, type and tag. A slot is free:
 * the link accepts a request only while the ring has room beyond the deferred reservations. */
static void respond_with(zl_link *l, uint8_t ch, uint8_t type, uint16_t tag, uint8_t status, const uint8_t *body,
                         size_t n)
{
    zl_msg *m = zl_link_alloc(l);
    if (!m)
        return;
    if (n > ZL_MAX_PAYLOAD - 1u) {
        status = ZL_STATUS_TOO_LARGE; /* never truncate: say so */
        n = 0;
    }
    m->payload[0] = status;
    if (n)
        memmove(m->payload + 1, body, n); /* body may point into the slot itself */
    zl_link_commit(l, m, ch, type, ZL_FLAG_RESP, tag, n + 1u);
}

static void respond(zl_link *l, const zl_frame *req, uint8_t status, const uint8_t *body, size_t n)
{
    respond_with(l, req->channel, req->type, req->tag, status, body, n);
}

void zl_service_hello(zl_link *l, zl_msg *m)
{
    const zl_platform *p = l->plat;
    uint8_t *b = m->payload;
    uint32_t features = 0;
    if (p->wifi_connect)
        features |= ZL_FEATURE_WIFI;
    if (p->udp_open)
        features |= ZL_FEATURE_UDP;
    if (p->tcp_connect)
        features |= ZL_FEATURE_TCP;
    if (p->ble_advertise)
        features |= ZL_FEATURE_BLE;
    if (l->persist)
        features |= ZL_FEATURE_RESUME;
    b[0] = ZL_VERSION;
    b[1] = 0;
    put16(b + 2, ZL_TRANSACTION_SIZE);
    put16(b + 4, ZL_MAX_PAYLOAD);
    b[6] = ZL_ESP_TX_SLOTS;
    b[7] = ZL_ESP_EVENT_SLOTS;
    put32(b + 8, p->max_spi_hz ? p->max_spi_hz : ZL_ESP_MAX_SPI_HZ);
    put32(b + 12, features);
    put32(b + 16, l->boot_count);
    put32(b + 20, l->epoch);
    m->len = 24;
}

static void system_request(zl_link *l, const zl_frame *f)
{
    const zl_platform *p = l->plat;
    switch (f->type) {
    case ZL_SYSTEM_PING:
        if (f->len > ZL_LIMIT_PING_DATA)
            respond(l, f, ZL_STATUS_TOO_LARGE, NULL, 0);
        else
            respond(l, f, ZL_STATUS_OK, f->payload, f->len);
        break;
    case ZL_SYSTEM_VERSION: {
        const char *v = p->version ? p->version : "unknown";
        respond(l, f, ZL_STATUS_OK, (const uint8_t *)v, bounded_len(v, 64));
        break;
    }
    case ZL_SYSTEM_RESET:
        respond(l, f, ZL_STATUS_OK, NULL, 0);
        l->reset_requested = 1;
        break;
    default:
        respond(l, f, ZL_STATUS_UNSUPPORTED, NULL, 0);
    }
}

static void wifi_request(zl_link *l, const zl_frame *f)
{
    const zl_platform *p = l->plat;
    const uint8_t *b = f->payload;
    switch (f->type) {
    case ZL_WIFI_SCAN:
        if (!p->wifi_scan_start)
            break;
        if (l->scan_tag) {
            respond(l, f, ZL_STATUS_BUSY, NULL, 0);
            return;
        }
        {
            int rc = p->wifi_scan_start(p->ctx);
            if (rc) {
                respond(l, f, neg_status(rc), NULL, 0);
                return;
            }
        }
        l->scan_tag = f->tag ? f->tag : 0xFFFFu; /* holds a ring slot until zl_on_wifi_scan_done */
        return;
    case ZL_WIFI_CONNECT: {
        char ssid[ZL_LIMIT_SSID + 1], pass[ZL_LIMIT_PSK + 1];
        if (f->len < 2 || b[0] > ZL_LIMIT_SSID || (size_t)b[0] + 2 > f->len || b[1 + b[0]] > ZL_LIMIT_PSK ||
            (size_t)b[0] + 2 + b[1 + b[0]] != f->len || memchr(b + 1, 0, b[0]) ||
            memchr(b + 2 + b[0], 0, b[1 + b[0]])) {
            respond(l, f, ZL_STATUS_BAD_REQUEST, NULL, 0);
            return;
        }
        memcpy(ssid, b + 1, b[0]);
        ssid[b[0]] = 0;
        memcpy(pass, b + 2 + b[0], b[1 + b[0]]);
        pass[b[1 + b[0]]] = 0;
        if (!p->wifi_connect)
            break;
        respond(l, f, neg_status(p->wifi_connect(p->ctx, ssid, pass)), NULL, 0);
        return;
    }
    case ZL_WIFI_DISCONNECT:
        if (!p->wifi_disconnect)
            break;
        respond(l, f, neg_status(p->wifi_disconnect(p->ctx)), NULL, 0);
        return;
    case ZL_WIFI_STATUS: {
        uint8_t out[6] = {0};
        if (!p->wifi_status)
            break;
        int8_t rssi = 0;
        int rc = p->wifi_status(p->ctx, &out[0], &rssi, out + 2);
        out[1] = (uint8_t)rssi;
        respond(l, f, neg_status(rc), out, sizeof out);
        return;
    }
    default:
        break;
    }
    respond(l, f, ZL_STATUS_UNSUPPORTED, NULL, 0);
}

static zl_pending_connect *free_connect(zl_link *l)
{
    for (unsigned i = 0; i < ZL_MAX_PENDING_CONNECTS; i++)
        if (l->connects[i].sock < 0)
            return &l->connects[i];
    return NULL;
}

static void socket_request(zl_link *l, const zl_frame *f)
{
    const zl_platform *p = l->plat;
    const uint8_t *b = f->payload;
    switch (f->type) {
    case ZL_SOCKET_UDP_OPEN: {
        uint16_t bound = 0;
        uint8_t out[3] = {0};
        if (f->len != 2) {
            respond(l, f, ZL_STATUS_BAD_REQUEST, NULL, 0);
            return;
        }
        if (!p->udp_open)
            break;
        int rc = p->udp_open(p->ctx, get16(b), &bound);
        if (rc < 0) {
            respond(l, f, neg_status(rc), NULL, 0);
            return;
        }
        out[0] = (uint8_t)rc;
        put16(out + 1, bound);
        respond(l, f, ZL_STATUS_OK, out, sizeof out);
        return;
    }
    case ZL_SOCKET_UDP_SEND:
        if (f->len < 7) {
            respond(l, f, ZL_STATUS_BAD_REQUEST, NULL, 0);
            return;
        }
        if (!p->udp_send)
            break;
        respond(l, f, neg_status(p->udp_send(p->ctx, b[0], b + 1, get16(b + 5), b + 7, f->len - 7u)), NULL, 0);
        return;
    case ZL_SOCKET_TCP_CONNECT: {
        if (f->len != 8) {
            respond(l, f, ZL_STATUS_BAD_REQUEST, NULL, 0);
            return;
        }
        if (!p->tcp_connect)
            break;
        zl_pending_connect *pc = free_connect(l);
        if (!pc) {
            respond(l, f, ZL_STATUS_BUSY, NULL, 0);
            return;
        }
        int rc = p->tcp_connect(p->ctx, b, get16(b + 4), get16(b + 6));
        if (rc < 0) {
            uint8_t zero = 0;
            respond(l, f, neg_status(rc), &zero, 1);
            return;
        }
        pc->sock = (int16_t)rc; /* answered by zl_on_tcp_connect_done */
        pc->tag = f->tag ? f->tag : 0xFFFFu;
        return;
    }
    case ZL_SOCKET_TCP_SEND: {
        uint8_t out[2] = {0};
        if (f->len < 1) {
            respond(l, f, ZL_STATUS_BAD_REQUEST, NULL, 0);
            return;
        }
        if (!p->tcp_send)
            break;
        int rc = p->tcp_send(p->ctx, b[0], b + 1, f->len - 1u);
        put16(out, (uint16_t)(rc < 0 ? 0 : rc));
        respond(l, f, rc < 0 ? neg_status(rc) : ZL_STATUS_OK, out, sizeof out);
        return;
    }
    case ZL_SOCKET_CLOSE:
        if (f->len != 1) {
            respond(l, f, ZL_STATUS_BAD_REQUEST, NULL, 0);
            return;
        }
        if (!p->sock_close)
            break;
        respond(l, f, neg_status(p->sock_close(p->ctx, b[0])), NULL, 0);
        return;
    default:
        break;
    }
    respond(l, f, ZL_STATUS_UNSUPPORTED, NULL, 0);
}

static void ble_request(zl_link *l, const zl_frame *f)
{
    const zl_platform *p = l->plat;
    switch (f->type) {
    case ZL_BLE_ADVERTISE: {
        char name[ZL_LIMIT_BLE_NAME + 1];
        size_t n = f->len ? f->len - 1u : 0;
        if (f->len < 1 || n > ZL_LIMIT_BLE_NAME || memchr(f->payload + 1, 0, n)) {
            respond(l, f, ZL_STATUS_BAD_REQUEST, NULL, 0); /* would not fit the advertising packet */
            return;
        }
        memcpy(name, f->payload + 1, n);
        name[n] = 0;
        if (!p->ble_advertise)
            break;
        respond(l, f, neg_status(p->ble_advertise(p->ctx, f->payload[0], name)), NULL, 0);
        return;
    }
    case ZL_BLE_NOTIFY: {
        if (!p->ble_notify)
            break;
        int mtu = p->ble_mtu ? p->ble_mtu(p->ctx) : 0;
        if (p->ble_mtu && mtu <= 0) {
            respond(l, f, ZL_STATUS_NOT_CONNECTED, NULL, 0);
            return;
        }
        if (f->len > ZL_LIMIT_BLE_NOTIFY || (p->ble_mtu && f->len > (unsigned)mtu - 3u)) {
            respond(l, f, ZL_STATUS_TOO_LARGE, NULL, 0); /* one notification carries at most MTU - 3 bytes */
            return;
        }
        respond(l, f, neg_status(p->ble_notify(p->ctx, f->payload, f->len)), NULL, 0);
        return;
    }
    default:
        break;
    }
    respond(l, f, ZL_STATUS_UNSUPPORTED, NULL, 0);
}

void zl_service_dispatch(zl_link *l, const zl_frame *f)
{
    if (f->flags & (ZL_FLAG_RESP | ZL_FLAG_EVENT))
        return; /* the host sends requests only */
    switch (f->channel) {
    case ZL_CH_SYSTEM:
        system_request(l, f);
        break;
    case ZL_CH_WIFI:
        wifi_request(l, f);
        break;
    case ZL_CH_SOCKET:
        socket_request(l, f);
        break;
    case ZL_CH_BLE:
        ble_request(l, f);
        break;
    default:
        respond(l, f, ZL_STATUS_UNSUPPORTED, NULL, 0);
    }
}

int zl_on_udp_recv(zl_link *l, int sock, const uint8_t ip[4], uint16_t port, const uint8_t *data, size_t n)
{
    if (n > ZL_LIMIT_UDP_DATA) {
        l->lost_overflow++; /* the glue reads at most LIMIT_UDP_DATA: cannot happen, but never silent */
        return -1;
    }
    zl_msg *m = zl_event_alloc(l);
    if (!m)
        return -1;
    m->payload[0] = (uint8_t)sock;
    memcpy(m->payload + 1, ip, 4);
    put16(m->payload + 5, port);
    memcpy(m->payload + 7, data, n);
    zl_event_commit(l, m, ZL_CH_SOCKET, ZL_SOCKET_UDP_RECV, n + 7u);
    return 0;
}

int zl_on_tcp_recv(zl_link *l, int sock, const uint8_t *data, size_t n)
{
    if (n > ZL_LIMIT_TCP_DATA) {
        l->lost_overflow++;
        return -1;
    }
    zl_msg *m = zl_event_alloc(l);
    if (!m)
        return -1;
    m->payload[0] = (uint8_t)sock;
    memcpy(m->payload + 1, data, n);
    zl_event_commit(l, m, ZL_CH_SOCKET, ZL_SOCKET_TCP_RECV, n + 1u);
    return 0;
}

static int small_event(zl_link *l, uint8_t ch, uint8_t type, const uint8_t *data, size_t n)
{
    zl_msg *m = zl_event_alloc(l);
    if (!m)
        return -1;
    memcpy(m->payload, data, n);
    zl_event_commit(l, m, ch, type, n);
    return 0;
}

int zl_on_tcp_closed(zl_link *l, int sock, uint8_t reason)
{
    uint8_t b[2] = {(uint8_t)sock, reason};
    return small_event(l, ZL_CH_SOCKET, ZL_SOCKET_TCP_CLOSED, b, sizeof b);
}

int zl_on_rx_error(zl_link *l, int sock, uint8_t err)
{
    uint8_t b[2] = {(uint8_t)sock, err};
    return small_event(l, ZL_CH_SOCKET, ZL_SOCKET_RX_ERROR, b, sizeof b);
}

int zl_on_tcp_connect_done(zl_link *l, int sock, uint8_t status)
{
    for (unsigned i = 0; i < ZL_MAX_PENDING_CONNECTS; i++) {
        zl_pending_connect *pc = &l->connects[i];
        if (pc->sock != sock)
            continue;
        uint16_t tag = pc->tag;
        pc->sock = -1; /* frees the reserved slot the response now takes */
        if (tag == 0) {
            /* the host that asked has restarted: nobody knows this socket */
            if (status == ZL_STATUS_OK && l->plat->sock_close)
                l->plat->sock_close(l->plat->ctx, sock);
            return -1;
        }
        uint8_t s = status == ZL_STATUS_OK ? (uint8_t)sock : 0;
        respond_with(l, ZL_CH_SOCKET, ZL_SOCKET_TCP_CONNECT, tag, status, &s, 1);
        return 0;
    }
    return -1;
}

int zl_on_wifi_state(zl_link *l, uint8_t state, uint8_t reason, const uint8_t ip[4])
{
    uint8_t out[6] = {state, reason, 0, 0, 0, 0};
    if (ip)
        memcpy(out + 2, ip, 4);
    return small_event(l, ZL_CH_WIFI, ZL_WIFI_STATE, out, sizeof out);
}

int zl_on_wifi_scan_done(zl_link *l, const zl_ap *aps, size_t n)
{
    if (!l->scan_tag)
        return -1;
    uint16_t tag = l->scan_tag;
    l->scan_tag = 0; /* releases the reserved slot the response now takes */
    zl_msg *m = zl_link_alloc(l);
    if (!m)
        return -1;
    uint8_t *out = m->payload;
    size_t k = 2, count = 0;
    for (size_t i = 0; i < n && count < ZL_LIMIT_SCAN_APS; i++) {
        size_t sl = bounded_len(aps[i].ssid, ZL_LIMIT_SSID);
        if (k + 10 + sl > ZL_MAX_PAYLOAD)
            break;
        out[k++] = (uint8_t)aps[i].rssi;
        out[k++] = aps[i].channel;
        out[k++] = aps[i].auth;
        memcpy(out + k, aps[i].bssid, 6);
        k += 6;
        out[k++] = (uint8_t)sl;
        memcpy(out + k, aps[i].ssid, sl);
        k += sl;
        count++;
    }
    out[0] = ZL_STATUS_OK;
    out[1] = (uint8_t)count;
    zl_link_commit(l, m, ZL_CH_WIFI, ZL_WIFI_SCAN, ZL_FLAG_RESP, tag, k);
    return 0;
}

int zl_on_ble_write(zl_link *l, const uint8_t *data, size_t n)
{
    if (n > ZL_MAX_PAYLOAD || zl_link_event_room(l) <= 0)
        return -1; /* refused, not lost: the glue answers the phone with an ATT error it can act on */
    zl_msg *m = zl_event_alloc(l);
    if (!m)
        return -1;
    memcpy(m->payload, data, n);
    zl_event_commit(l, m, ZL_CH_BLE, ZL_BLE_WRITE, n);
    return 0;
}

int zl_on_ble_conn(zl_link *l, int connected)
{
    uint8_t c = connected ? 1 : 0;
    return small_event(l, ZL_CH_BLE, ZL_BLE_CONN, &c, 1);
}

int zl_log_event(zl_link *l, uint8_t level, const char *text)
{
    zl_msg *m = zl_event_alloc(l);
    if (!m)
        return -1;
    size_t n = bounded_len(text, ZL_LIMIT_LOG_TEXT + 1u);
    if (n > ZL_LIMIT_LOG_TEXT) {
        n = ZL_LIMIT_LOG_TEXT;
        m->payload[n] = '~'; /* cut, and marked as cut */
        memcpy(m->payload + 1, text, n - 1u);
    } else {
        memcpy(m->payload + 1, text, n);
    }
    m->payload[0] = level;
    zl_event_commit(l, m, ZL_CH_SYSTEM, ZL_SYSTEM_LOG, n + 1u);
    return 0;
}
