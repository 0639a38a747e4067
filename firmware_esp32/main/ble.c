/* NimBLE GATT server: one characteristic the host notifies (BLE.NOTIFY) and a phone writes (BLE.WRITE).
 *
 * Runs in the NimBLE host task; talks to the link task only through glue_post. Notifications are
 * MTU-aware: the core refuses (TOO_LARGE) what exceeds the connection's ATT MTU - 3, read here with
 * ble_att_mtu(). A write that finds no buffer or a full inbox is refused with "insufficient resources",
 * an error a phone reports, instead of PREPARE_QUEUE_FULL (which is about long writes and is not
 * retried). Advertising restarts after every disconnect while the host wants it on. */
#include <string.h>

#include "esp_log.h"
#include "glue.h"
#include "host/ble_att.h"
#include "host/ble_hs.h"
#include "nimble/nimble_port.h"
#include "nimble/nimble_port_freertos.h"
#include "services/gap/ble_svc_gap.h"
#include "services/gatt/ble_svc_gatt.h"

/* 128-bit UUIDs, little-endian: service 7a790001-..., characteristic 7a790002-... */
static const ble_uuid128_t SVC_UUID =
    BLE_UUID128_INIT(0x9e, 0xca, 0xdc, 0x24, 0x0e, 0xe5, 0xa9, 0xe0, 0x93, 0xf3, 0xa3, 0xb5, 0x01, 0x00, 0x79, 0x7a);
static const ble_uuid128_t CHR_UUID =
    BLE_UUID128_INIT(0x9e, 0xca, 0xdc, 0x24, 0x0e, 0xe5, 0xa9, 0xe0, 0x93, 0xf3, 0xa3, 0xb5, 0x02, 0x00, 0x79, 0x7a);

static uint16_t s_val_handle;
static volatile uint16_t s_conn = BLE_HS_CONN_HANDLE_NONE;
static uint8_t s_own_addr_type;
static volatile bool s_synced, s_adv_wanted;
static char s_name[ZL_LIMIT_BLE_NAME + 1] = "zynpu";

static int chr_access(uint16_t conn, uint16_t attr, struct ble_gatt_access_ctxt *ctxt, void *arg)
{
    (void)conn;
    (void)attr;
    (void)arg;
    if (ctxt->op != BLE_GATT_ACCESS_OP_WRITE_CHR)
        return 0;
    uint8_t *buf = glue_buf_take();
    if (!buf)
        return BLE_ATT_ERR_INSUFFICIENT_RES;
    uint16_t n = 0;
    if (ble_hs_mbuf_to_flat(ctxt->om, buf, GLUE_BUF_SIZE, &n) != 0) {
        glue_buf_give(buf);
        return BLE_ATT_ERR_INVALID_ATTR_VALUE_LEN;
    }
    glue_msg m = {.kind = GLUE_BLE_WRITE, .buf = buf, .len = n};
    if (!glue_post(&m)) {
        glue_buf_give(buf);
        return BLE_ATT_ERR_INSUFFICIENT_RES;
    }
    return 0;
}

static const struct ble_gatt_svc_def s_svcs[] = {
    {.type = BLE_GATT_SVC_TYPE_PRIMARY,
     .uuid = &SVC_UUID.u,
     .characteristics = (struct ble_gatt_chr_def[]){{.uuid = &CHR_UUID.u,
                                                     .access_cb = chr_access,
                                                     .val_handle = &s_val_handle,
                                                     .flags = BLE_GATT_CHR_F_WRITE | BLE_GATT_CHR_F_NOTIFY},
                                                    {0}}},
    {0}};

static int gap_event(struct ble_gap_event *ev, void *arg);

static int advertise(void)
{
    struct ble_hs_adv_fields f = {0};
    f.flags = BLE_HS_ADV_F_DISC_GEN | BLE_HS_ADV_F_BREDR_UNSUP;
    f.name = (uint8_t *)s_name;
    f.name_len = (uint8_t)strlen(s_name); /* <= ZL_LIMIT_BLE_NAME: flags (3) + name (2 + 26) = 31 */
    f.name_is_complete = 1;
    if (ble_gap_adv_set_fields(&f) != 0)
        return ZL_STATUS_ERROR;
    struct ble_gap_adv_params p = {.conn_mode = BLE_GAP_CONN_MODE_UND, .disc_mode = BLE_GAP_DISC_MODE_GEN};
    int rc = ble_gap_adv_start(s_own_addr_type, NULL, BLE_HS_FOREVER, &p, gap_event, NULL);
    return rc == 0 || rc == BLE_HS_EALREADY ? ZL_STATUS_OK : ZL_STATUS_ERROR;
}

static int gap_event(struct ble_gap_event *ev, void *arg)
{
    (void)arg;
    glue_msg m = {.kind = GLUE_BLE_CONN};
    switch (ev->type) {
    case BLE_GAP_EVENT_CONNECT:
        if (ev->connect.status != 0) {
            if (s_adv_wanted)
                advertise(); /* the connection attempt failed: advertise again */
            return 0;
        }
        s_conn = ev->connect.conn_handle;
        m.status = 1;
        break;
    case BLE_GAP_EVENT_DISCONNECT:
        s_conn = BLE_HS_CONN_HANDLE_NONE;
        m.status = 0;
        if (s_adv_wanted)
            advertise(); /* a peripheral stops advertising when connected: resume */
        break;
    case BLE_GAP_EVENT_ADV_COMPLETE:
        if (s_adv_wanted)
            advertise();
        return 0;
    default:
        return 0;
    }
    glue_post(&m); /* a lost connection notice is no reason to block the BLE stack */
    return 0;
}

/* ---- platform entries (link task) ----------------------------------------------------------------- */
static int ble_advertise(void *ctx, int enable, const char *name)
{
    (void)ctx;
    if (!s_synced)
        return ZL_STATUS_BUSY;
    s_adv_wanted = enable != 0;
    ble_gap_adv_stop();
    if (!enable)
        return ZL_STATUS_OK;
    /* the core accepted at most ZL_LIMIT_BLE_NAME bytes, so this copy is whole */
    if (zl_copy_field((uint8_t *)s_name, ZL_LIMIT_BLE_NAME, name[0] ? name : "zynpu") < 0)
        return ZL_STATUS_BAD_REQUEST;
    s_name[ZL_LIMIT_BLE_NAME] = 0;
    ble_svc_gap_device_name_set(s_name);
    return advertise();
}

static int ble_mtu(void *ctx)
{
    (void)ctx;
    uint16_t conn = s_conn;
    return conn == BLE_HS_CONN_HANDLE_NONE ? 0 : ble_att_mtu(conn);
}

static int ble_notify(void *ctx, const uint8_t *data, size_t n)
{
    (void)ctx;
    uint16_t conn = s_conn;
    if (conn == BLE_HS_CONN_HANDLE_NONE)
        return ZL_STATUS_NOT_CONNECTED;
    struct os_mbuf *om = ble_hs_mbuf_from_flat(data, n);
    if (!om)
        return ZL_STATUS_BUSY; /* no mbufs: the host may retry */
    return ble_gatts_notify_custom(conn, s_val_handle, om) == 0 ? ZL_STATUS_OK : ZL_STATUS_ERROR;
}

static void on_sync(void)
{
    ble_hs_id_infer_auto(0, &s_own_addr_type);
    s_synced = true;
}

static void host_task(void *param)
{
    (void)param;
    nimble_port_run();
    nimble_port_freertos_deinit();
}

void ble_glue_init(zl_platform *p)
{
    ESP_ERROR_CHECK(nimble_port_init());
    ble_hs_cfg.sync_cb = on_sync;
    ble_svc_gap_init();
    ble_svc_gatt_init();
    ESP_ERROR_CHECK(ble_gatts_count_cfg(s_svcs));
    ESP_ERROR_CHECK(ble_gatts_add_svcs(s_svcs));
    nimble_port_freertos_init(host_task);
    p->ble_advertise = ble_advertise;
    p->ble_notify = ble_notify;
    p->ble_mtu = ble_mtu;
}
