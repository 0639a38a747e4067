"""ctypes binding of the firmware's portable link core (libzynpu_link, built by `build`)."""

from __future__ import annotations

import ctypes as C

from .build import library_path

P8 = C.POINTER(C.c_uint8)

NOW_MS = C.CFUNCTYPE(C.c_uint32, C.c_void_p)
VOID_FN = C.CFUNCTYPE(None, C.c_void_p)
INT_FN = C.CFUNCTYPE(C.c_int, C.c_void_p)
WIFI_CONNECT = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_char_p, C.c_char_p)
WIFI_STATUS = C.CFUNCTYPE(C.c_int, C.c_void_p, P8, C.POINTER(C.c_int8), P8)
UDP_OPEN = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_uint16, C.POINTER(C.c_uint16))
UDP_SEND = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_int, P8, C.c_uint16, P8, C.c_size_t)
TCP_CONNECT = C.CFUNCTYPE(C.c_int, C.c_void_p, P8, C.c_uint16, C.c_uint32)
TCP_SEND = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_int, P8, C.c_size_t)
SOCK_CLOSE = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_int)
BLE_ADVERTISE = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_int, C.c_char_p)
BLE_NOTIFY = C.CFUNCTYPE(C.c_int, C.c_void_p, P8, C.c_size_t)
BLE_MTU = C.CFUNCTYPE(C.c_int, C.c_void_p)


class Platform(C.Structure):
    """Mirror of zl_platform (zl_platform.h); field order matters."""

    _fields_ = (
        ("ctx", C.c_void_p),
        ("version", C.c_char_p),
        ("max_spi_hz", C.c_uint32),
        ("now_ms", NOW_MS),
        ("request_reset", VOID_FN),
        ("wifi_scan_start", INT_FN),
        ("wifi_connect", WIFI_CONNECT),
        ("wifi_disconnect", INT_FN),
        ("wifi_status", WIFI_STATUS),
        ("udp_open", UDP_OPEN),
        ("udp_send", UDP_SEND),
        ("tcp_connect", TCP_CONNECT),
        ("tcp_send", TCP_SEND),
        ("sock_close", SOCK_CLOSE),
        ("ble_advertise", BLE_ADVERTISE),
        ("ble_notify", BLE_NOTIFY),
        ("ble_mtu", BLE_MTU),
    )


class Persist(C.Structure):
    """Mirror of zl_persist: the part of the chip's memory that survives a software reset."""

    _fields_ = (("magic", C.c_uint32), ("check", C.c_uint32), ("delivered", C.c_uint32),
                ("peer_epoch", C.c_uint32), ("boot_count", C.c_uint32), ("rx_next", C.c_uint16),
                ("events_pending", C.c_uint16))


class BootInfo(C.Structure):
    """Mirror of zl_boot_info: what the glue knows at boot."""

    _fields_ = (("boot_count", C.c_uint32), ("nonce", C.c_uint32), ("reset_reason", C.c_uint8),
                ("boot_flags", C.c_uint8))


class Stats(C.Structure):
    _fields_ = tuple((name, C.c_uint32) for name in (
        "transactions", "rx_frames", "rx_errors", "rx_delivered", "rx_out_of_order", "rx_no_room",
        "tx_frames", "tx_retransmits", "tx_dropped_on_reset", "events_dropped", "naks_sent",
        "host_restarts", "events_lost_reported", "stale_frames"))


class Ap(C.Structure):
    _fields_ = (("rssi", C.c_int8), ("channel", C.c_uint8), ("auth", C.c_uint8),
                ("bssid", C.c_uint8 * 6), ("ssid", C.c_char * 33))


_LIB: C.CDLL | None = None


def lib() -> C.CDLL:
    """Load (building if needed) the core library and declare its signatures."""
    global _LIB
    if _LIB is None:
        so = C.CDLL(str(library_path()))
        sig = {
            "zl_link_sizeof": (C.c_size_t, ()),
            "zl_link_init": (None, (C.c_void_p, C.POINTER(Platform), C.POINTER(Persist),
                                     C.POINTER(BootInfo))),
            "zl_boot_count_next": (C.c_uint32, (C.POINTER(Persist), C.c_int, C.c_uint32, P8)),
            "zl_link_prepare": (None, (C.c_void_p, C.c_char_p, C.c_size_t)),
            "zl_link_receive": (None, (C.c_void_p, C.c_char_p, C.c_size_t)),
            "zl_link_data_ready": (C.c_int, (C.c_void_p,)),
            "zl_link_event_room": (C.c_int, (C.c_void_p,)),
            "zl_link_stats": (C.POINTER(Stats), (C.c_void_p,)),
            "zl_on_udp_recv": (C.c_int, (C.c_void_p, C.c_int, C.c_char_p, C.c_uint16, C.c_char_p,
                                       C.c_size_t)),
            "zl_on_tcp_recv": (C.c_int, (C.c_void_p, C.c_int, C.c_char_p, C.c_size_t)),
            "zl_on_tcp_closed": (C.c_int, (C.c_void_p, C.c_int, C.c_uint8)),
            "zl_on_tcp_connect_done": (C.c_int, (C.c_void_p, C.c_int, C.c_uint8)),
            "zl_on_rx_error": (C.c_int, (C.c_void_p, C.c_int, C.c_uint8)),
            "zl_on_wifi_state": (C.c_int, (C.c_void_p, C.c_uint8, C.c_uint8, C.c_char_p)),
            "zl_on_wifi_scan_done": (C.c_int, (C.c_void_p, C.POINTER(Ap), C.c_size_t)),
            "zl_on_ble_write": (C.c_int, (C.c_void_p, C.c_char_p, C.c_size_t)),
            "zl_on_ble_conn": (C.c_int, (C.c_void_p, C.c_int)),
            "zl_log_event": (C.c_int, (C.c_void_p, C.c_uint8, C.c_char_p)),
        }
        for name, (res, args) in sig.items():
            fn = getattr(so, name)
            fn.restype = res
            fn.argtypes = args
        _LIB = so
    return _LIB
