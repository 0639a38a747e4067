/* NimBLE GATT server: one characteristic the host notifies (BLE.NOTIFY) and a phone writes (BLE.WRITE). */
#include <string.h>

#include "glue.h"
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
static uint16_t s_conn = BLE_HS_CONN_HANDLE_NONE;
static uint8_t s_own_addr_type;
static char s_name[30] = "zynpu";

static int chr_access(uint16_t conn, uint16_t attr, struct ble_gatt_access_ctxt *ctxt, void *arg)
{
    (void)conn; (void)attr; (void)arg;
    if (ctxt->op != BLE_GATT_ACCESS_OP_WRITE_CHR)
        return 0;
    uint8_t buf[244];
    uint16_t n = 0;
    if (ble_hs_mbuf_to_flat(ctxt->om, buf, sizeof buf, &n) != 0)
        return BLE_ATT_ERR_INVALID_ATTR_VALUE_LEN;
    glue_lock();
    int rc = zl_on_ble_write(&g_link, buf, n);
    glue_update_data_ready();
    glue_unlock();
    return rc == 0 ? 0 : BLE_ATT_ERR_PREPARE_QUEUE_FULL; /* the phone retries */
}

static const struct ble_gatt_svc_def s_svcs[] = {
    {.type = BLE_GATT_SVC_TYPE_PRIMARY, .uuid = &SVC_UUID.u,
     .characteristics = (struct ble_gatt_chr_def[]){
         {.uuid = &CHR_UUID.u, .access_cb = chr_access, .val_handle = &s_val_handle,
          .flags = BLE_GATT_CHR_F_WRITE | BLE_GATT_CHR_F_NOTIFY},
         {0}}},
    {0}};

static int gap_event(struct ble_gap_event *ev, void *arg);

static int advertise(void)
{
    struct ble_hs_adv_fields f = {0};
    f.flags = BLE_HS_ADV_F_DISC_GEN | BLE_HS_ADV_F_BREDR_UNSUP;
    f.name = (uint8_t *)s_name;
    f.name_len = strlen(s_name);
    f.name_is_complete = 1;
    if (ble_gap_adv_set_fields(&f) != 0)
        return ZL_STATUS_ERROR;
    struct ble_gap_adv_params p = {.conn_mode = BLE_GAP_CONN_MODE_UND, .disc_mode = BLE_GAP_DISC_MODE_GEN};
    return ble_gap_adv_start(s_own_addr_type, NULL, BLE_HS_FOREVER, &p, gap_event, NULL) == 0 ? ZL_STATUS_OK
                                                                                                : ZL_STATUS_ERROR;
}

static int gap_event(struct ble_gap_event *ev, void *arg)
{
    (void)arg;
    glue_lock();
    if (ev->type == BLE_GAP_EVENT_CONNECT && ev->connect.status == 0) {
        s_conn = ev->connect.conn_handle;
        zl_on_ble_conn(&g_link, 1);
    } else if (ev->type == BLE_GAP_EVENT_DISCONNECT) {
        s_conn = BLE_HS_CONN_HANDLE_NONE;
        zl_on_ble_conn(&g_link, 0);
    }
    glue_update_data_ready();
    glue_unlock();
    return 0;
}

static int ble_advertise(void *ctx, int enable, const char *name)
{
    (void)ctx;
    ble_gap_adv_stop();
    if (!enable)
        return ZL_STATUS_OK;
    strlcpy(s_name, name[0] ? name : "zynpu", sizeof s_name);
    ble_svc_gap_device_name_set(s_name);
    return advertise();
}

static int ble_notify(void *ctx, const uint8_t *data, size_t n)
{
    (void)ctx;
    if (s_conn == BLE_HS_CONN_HANDLE_NONE)
        return ZL_STATUS_NOT_CONNECTED;
    struct os_mbuf *om = ble_hs_mbuf_from_flat(data, n);
    return om && ble_gatts_notify_custom(s_conn, s_val_handle, om) == 0 ? ZL_STATUS_OK : ZL_STATUS_ERROR;
}

static void on_sync(void) { ble_hs_id_infer_auto(0, &s_own_addr_type); }

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
    ble_gatts_count_cfg(s_svcs);
    ble_gatts_add_svcs(s_svcs);
    nimble_port_freertos_init(host_task);
    p->ble_advertise = ble_advertise;
    p->ble_notify = ble_notify;
}
