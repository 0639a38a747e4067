/* Service dispatch: decode a request, call the platform, queue the response or event. */
#include <string.h>

#include "zl_link.h"

#define RESERVE_FOR_RESPONSES 1u

static void respond(zl_link *l, const zl_frame *req, uint8_t status, const uint8_t *body, size_t n)
{
    uint8_t out[ZL_MAX_PAYLOAD];
    if (n > sizeof out - 1)
        n = sizeof out - 1;
    out[0] = status;
    if (n)
        memcpy(out + 1, body, n);
    /* a slot is always free: the link only accepts a request when the ring has room */
    zl_link_queue(l, req->channel, req->type, ZL_FLAG_RESP, req->tag, out, n + 1, 0);
}

static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

static uint8_t neg_status(int rc) { return (uint8_t)(rc < 0 ? -rc : rc); }

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static int event(zl_link *l, uint8_t ch, uint8_t type, const uint8_t *data, size_t n)
{
    return zl_link_queue(l, ch, type, ZL_FLAG_EVENT, 0, data, n, RESERVE_FOR_RESPONSES);
}

static void system_request(zl_link *l, const zl_frame *f)
{
    const zl_platform *p = l->plat;
    switch (f->type) {
    case ZL_SYSTEM_PING:
        respond(l, f, ZL_STATUS_OK, f->payload, f->len);
        break;
    case ZL_SYSTEM_VERSION: {
        const char *v = p->version ? p->version : "unknown";
        respond(l, f, ZL_STATUS_OK, (const uint8_t *)v, strlen(v));
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
        l->scan_tag = f->tag;
        {
            int rc = p->wifi_scan_start(p->ctx);
            if (rc) {
                l->scan_tag = 0;
                respond(l, f, neg_status(rc), NULL, 0);
            }
        }
        return; /* response follows from zl_on_wifi_scan_done */
    case ZL_WIFI_CONNECT: {
        char ssid[33], pass[65];
        if (f->len < 2 || b[0] > 32 || (size_t)b[0] + 2 > f->len || b[1 + b[0]] > 64 ||
            (size_t)b[0] + 2 + b[1 + b[0]] != f->len) {
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
        int rc = p->tcp_connect(p->ctx, b, get16(b + 4), get16(b + 6));
        uint8_t sock = (uint8_t)(rc < 0 ? 0 : rc);
        respond(l, f, rc < 0 ? neg_status(rc) : ZL_STATUS_OK, &sock, 1);
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
        char name[30];
        size_t n = f->len ? f->len - 1u : 0;
        if (f->len < 1 || n >= sizeof name) {
            respond(l, f, ZL_STATUS_BAD_REQUEST, NULL, 0);
            return;
        }
        memcpy(name, f->payload + 1, n);
        name[n] = 0;
        if (!p->ble_advertise)
            break;
        respond(l, f, neg_status(p->ble_advertise(p->ctx, f->payload[0], name)), NULL, 0);
        return;
    }
    case ZL_BLE_NOTIFY:
        if (!p->ble_notify)
            break;
        respond(l, f, neg_status(p->ble_notify(p->ctx, f->payload, f->len)), NULL, 0);
        return;
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
    uint8_t out[ZL_MAX_PAYLOAD];
    if (n > sizeof out - 7) {
        l->stats.events_dropped++;
        return -1;
    }
    out[0] = (uint8_t)sock;
    memcpy(out + 1, ip, 4);
    put16(out + 5, port);
    memcpy(out + 7, data, n);
    return event(l, ZL_CH_SOCKET, ZL_SOCKET_UDP_RECV, out, n + 7);
}

int zl_on_tcp_recv(zl_link *l, int sock, const uint8_t *data, size_t n)
{
    uint8_t out[ZL_MAX_PAYLOAD];
    if (n > sizeof out - 1) {
        l->stats.events_dropped++;
        return -1;
    }
    out[0] = (uint8_t)sock;
    memcpy(out + 1, data, n);
    return event(l, ZL_CH_SOCKET, ZL_SOCKET_TCP_RECV, out, n + 1);
}

int zl_on_tcp_closed(zl_link *l, int sock)
{
    uint8_t s = (uint8_t)sock;
    return event(l, ZL_CH_SOCKET, ZL_SOCKET_TCP_CLOSED, &s, 1);
}

int zl_on_wifi_state(zl_link *l, uint8_t state, uint8_t reason, const uint8_t ip[4])
{
    uint8_t out[6] = {state, reason, 0, 0, 0, 0};
    if (ip)
        memcpy(out + 2, ip, 4);
    return event(l, ZL_CH_WIFI, ZL_WIFI_STATE, out, sizeof out);
}

int zl_on_wifi_scan_done(zl_link *l, const zl_ap *aps, size_t n)
{
    uint8_t out[ZL_MAX_PAYLOAD];
    size_t k = 2, count = 0;
    if (!l->scan_tag)
        return -1;
    for (size_t i = 0; i < n && count < 255; i++) {
        size_t sl = bounded_len(aps[i].ssid, 32);
        if (k + 10 + sl > sizeof out)
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
    uint16_t tag = l->scan_tag;
    l->scan_tag = 0;
    return zl_link_queue(l, ZL_CH_WIFI, ZL_WIFI_SCAN, ZL_FLAG_RESP, tag, out, k, 0);
}

int zl_on_ble_write(zl_link *l, const uint8_t *data, size_t n)
{
    return event(l, ZL_CH_BLE, ZL_BLE_WRITE, data, n);
}

int zl_on_ble_conn(zl_link *l, int connected)
{
    uint8_t c = connected ? 1 : 0;
    return event(l, ZL_CH_BLE, ZL_BLE_CONN, &c, 1);
}

int zl_log_event(zl_link *l, uint8_t level, const char *text)
{
    uint8_t out[256];
    size_t n = bounded_len(text, sizeof out - 1);
    out[0] = level;
    memcpy(out + 1, text, n);
    return event(l, ZL_CH_SYSTEM, ZL_SYSTEM_LOG, out, n + 1);
}
