"""The simulated ESP32: the firmware core in a block of "chip RAM", its two GPIO lines, a main loop.

`exchange` is one SPI transaction seen from the slave: it returns the buffer the core queued before the
transaction (as the ESP32's SPI slave DMA does), then processes what the master sent and queues the
next buffer. A main-loop thread stands in for the firmware's network tasks: it turns datagrams arriving
on the chip's sockets into events and raises the data-ready line.
"""

from __future__ import annotations

import ctypes as C
import secrets
import select
import threading
import time
from collections import deque
from collections.abc import Callable

from .. import wire
from . import core
from .platform import FakeAp, SimPlatform

RST_POWERON, RST_SW, RST_PANIC = 1, 3, 4  # esp_reset_reason_t values


class SimEsp32:
    """One simulated chip. Thread-safe: every call into the C core holds `lock`."""

    def __init__(self, *, boot_delay: float = 0.02, aps: list[FakeAp] | None = None,
                 version: str = "zynpu-esp32 0.1.0 (sim)", max_spi_hz: int = wire.ESP_MAX_SPI_HZ,
                 nonce_source: Callable[[], int] | None = None, queue_depth: int = 1) -> None:
        self.lib = core.lib()
        self.lock = threading.RLock()
        self.boot_delay = boot_delay
        self.max_spi_hz = max_spi_hz
        self.boot_count = 0
        self.nvs_count = 0  # the boot counter in (simulated) flash
        self.nvs_fails = False  # NVS open/commit fails on every boot: the counter must not stick silently
        # esp_random() stand-in; tests pass one that repeats a nonce on purpose
        self.nonce_source = nonce_source or (lambda: secrets.randbits(32))
        self.nonces: list[int] = []
        self.persist = core.Persist()  # RTC_NOINIT: survives software resets, not power loss
        self._ram = C.create_string_buffer(self.lib.zl_link_sizeof())
        self._link = C.addressof(self._ram)
        self._deferred: list[Callable[[], None]] = []
        self._reset_requested = False
        self.platform = SimPlatform(self._deferred.append, self.link_call,
                                    aps if aps is not None else [FakeAp("zynpu-lab", "secret")], version,
                                    self._on_reset_request, max_spi_hz)
        self._platform_ref = C.pointer(self.platform.c)
        self.data_ready_event = threading.Event()
        self._ready_at = 0.0
        # buffers armed in the slave driver (the firmware arms SPI_QUEUE_DEPTH = 3): each transaction
        # clocks out the oldest, and its buffer is prepared again after the received frame is digested
        self.queue_depth = queue_depth
        self._armed: deque[bytes] = deque()
        self._closed = threading.Event()
        self.boot(RST_POWERON, cold=True)
        self._thread = threading.Thread(target=self._main_loop, name="sim-esp32", daemon=True)
        self._thread.start()

    # --- lifecycle ----------------------------------------------------------------------------------
    def boot(self, reason: int, *, cold: bool) -> None:
        """(Re)start the firmware: new boot counter, fresh RAM; RTC memory kept unless `cold`."""
        with self.lock:
            self.platform.power_cycle()
            self._deferred.clear()
            self._reset_requested = False
            if cold:
                C.memset(C.addressof(self.persist), 0, C.sizeof(self.persist))
            C.memset(self._link, 0xA5, C.sizeof(self._ram))  # RAM content after reset is garbage
            if not self.nvs_fails:
                self.nvs_count += 1
            flags = C.c_uint8(0)
            nvs = 0 if self.nvs_fails else self.nvs_count
            self.boot_count = self.lib.zl_boot_count_next(C.byref(self.persist), int(not self.nvs_fails), nvs,
                                                          C.cast(C.byref(flags), core.P8))
            nonce = self.nonce_source() & 0xFFFFFFFF
            self.nonces.append(nonce)
            info = core.BootInfo(self.boot_count, nonce, reason, flags.value)
            self.lib.zl_link_init(self._link, self._platform_ref, C.byref(self.persist), C.byref(info))
            self.lib.zl_log_event(self._link, 3, f"boot {self.boot_count} reason {reason}".encode())
            self._armed = deque(self._prepare() for _ in range(self.queue_depth))
            self._ready_at = time.monotonic() + self.boot_delay
            self._update_lines()

    def reset(self, *, cold: bool = False) -> None:
        """Reset now (a panic/watchdog if not cold, a power cycle if cold)."""
        self.boot(RST_POWERON if cold else RST_PANIC, cold=cold)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2)
        with self.lock:
            self.platform.power_cycle()

    def _on_reset_request(self) -> None:
        self._reset_requested = True

    # --- lines --------------------------------------------------------------------------------------
    @property
    def booted(self) -> bool:
        return time.monotonic() >= self._ready_at

    def _update_lines(self) -> None:
        if self.lib.zl_link_data_ready(self._link):
            self.data_ready_event.set()
        else:
            self.data_ready_event.clear()

    # --- SPI ----------------------------------------------------------------------------------------
    def _prepare(self) -> bytes:
        buf = C.create_string_buffer(wire.TRANSACTION_SIZE)
        self.lib.zl_link_prepare(self._link, buf, wire.TRANSACTION_SIZE)
        return buf.raw

    def queued(self) -> bytes:
        """The buffer the slave has queued for the next transaction."""
        return self._armed[0]

    def exchange(self, mosi: bytes) -> bytes:
        """One complete transaction: returns MISO, processes MOSI, queues the next buffer."""
        with self.lock:
            miso = self._armed.popleft()
            self.lib.zl_link_receive(self._link, mosi, len(mosi))
            self._run_deferred()
            if self._reset_requested:
                self.boot(RST_SW, cold=False)
                return miso
            self._armed.append(self._prepare())
            self._update_lines()
            return miso

    def link_call(self, name: str, *args: object) -> int:
        """Call a zl_on_* / zl_log_event entry point of the core (caller holds the lock)."""
        return getattr(self.lib, name)(self._link, *args)

    def stats(self) -> dict[str, int]:
        with self.lock:
            s = self.lib.zl_link_stats(self._link).contents
            return {name: getattr(s, name) for name, _ in core.Stats._fields_}

    # --- network side -------------------------------------------------------------------------------
    def ble_write(self, data: bytes) -> bool:
        """A phone writes the GATT characteristic; False if the chip dropped it (queue full)."""
        with self.lock:
            ok = self.link_call("zl_on_ble_write", data, len(data)) == 0
            self._update_lines()
            return ok

    def _run_deferred(self) -> None:
        while self._deferred:
            self._deferred.pop(0)()
        if self.platform.pending_scan:
            self.platform.pending_scan = False
            aps = self.platform.scan_results()
            self.link_call("zl_on_wifi_scan_done", aps, len(self.platform.aps))

    def _poll_sockets(self, timeout: float) -> None:
        with self.lock:
            plat = self.platform
            socks = {sid: s for sid, s in plat.sockets.items() if sid not in plat.connecting}
        if not socks:
            self._closed.wait(timeout)
            return
        try:
            readable, _, _ = select.select(list(socks.values()), [], [], timeout)
        except (OSError, ValueError):
            return  # a socket closed under us (chip reset); next round
        with self.lock:
            for sid, s in socks.items():
                if s not in readable or self.platform.sockets.get(sid) is not s:
                    continue
                self._read_socket(sid, s)

    def _read_socket(self, sid: int, s: object) -> None:
        import socket

        assert isinstance(s, socket.socket)
        for _ in range(64):
            if self.lib.zl_link_event_room(self._link) <= 0:
                return  # leave it in the socket buffer: backpressure instead of loss
            try:
                if sid in self.platform.tcp:
                    data = s.recv(wire.LIMIT_TCP_DATA)
                    if not data:
                        self.platform.sockets.pop(sid, None)
                        self.platform.tcp.discard(sid)
                        s.close()
                        self.link_call("zl_on_tcp_closed", sid, 0)
                        return
                    self.link_call("zl_on_tcp_recv", sid, data, len(data))
                else:
                    # one byte more than fits: a larger datagram is counted lost, never cut silently
                    data, (host, port) = s.recvfrom(wire.LIMIT_UDP_DATA + 1)
                    self.link_call("zl_on_udp_recv", sid, socket.inet_aton(host), port, data, len(data))
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # every receive error reaches the host, as in the firmware
                err = min(e.errno or 255, 255)
                if sid in self.platform.tcp:
                    self.platform.sockets.pop(sid, None)
                    self.platform.tcp.discard(sid)
                    s.close()
                    self.link_call("zl_on_tcp_closed", sid, err)
                else:
                    self.link_call("zl_on_rx_error", sid, err)
                return

    def _main_loop(self) -> None:
        while not self._closed.is_set():
            self._poll_sockets(0.005)
            with self.lock:
                self.platform.poll_connects()
                self._run_deferred()
                self._update_lines()
