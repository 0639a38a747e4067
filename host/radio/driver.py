"""`Radio`: the host driver. A pump thread clocks transactions; callers get blocking calls with
timeouts, futures for pipelining, and an event stream.

The pump clocks a transaction when the link has something to send or acknowledge, or when the
data-ready line says the ESP32 has something; otherwise it sleeps until a call wakes it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator

from . import wire
from .errors import LinkReset, RadioClosed, RadioError, RadioStatusError, RadioTimeout
from .events import Capabilities, Event, EventsLost, decode_capabilities, decode_event
from .link import HostLink, Message
from .transport import Transport


class Pending:
    """A request in flight; `result()` blocks until the response, an error, or the timeout."""

    def __init__(self, msg: Message, what: str) -> None:
        self.msg, self.what = msg, what
        self.delivered = False  # the ESP32 acknowledged the request frame
        self._done = threading.Event()
        self._value: bytes | None = None
        self._error: RadioError | None = None

    def _resolve(self, value: bytes | None = None, error: RadioError | None = None) -> None:
        self._value, self._error = value, error
        self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float) -> bytes:
        """The response body after the status byte; raises RadioStatusError, LinkReset, RadioTimeout."""
        if not self._done.wait(timeout):
            raise RadioTimeout(f"{self.what}: no response within {timeout:g} s")
        if self._error is not None:
            raise self._error
        body = self._value or b"\x01"
        if body[0] != wire.STATUS_OK:
            raise RadioStatusError(body[0], self.what)
        return body[1:]


class Radio:
    """Driver of the ESP32 radio coprocessor over any `Transport` (spidev on the board, SimBus here)."""

    def __init__(self, transport: Transport, *, timeout: float = 2.0, max_events: int = 256,
                 handshake_timeout: float = 0.2, epoch: int | None = None, reset_peer: bool = False) -> None:
        from .services import Ble, System, Tcp, Udp, Wifi

        self.transport, self.timeout, self.max_events = transport, timeout, max_events
        self.handshake_timeout = handshake_timeout
        self._lock = threading.Lock()
        self._events_cv = threading.Condition(self._lock)
        self._events: deque[Event] = deque()
        self._pending: dict[int, Pending] = {}
        self._next_tag = 1
        self._wake = threading.Event()
        self._closed = False
        self.handshake_timeouts = 0
        self.boots = 0
        self.capabilities: Capabilities | None = None  # from the ESP32's LINK.HELLO, once per session
        self.events_lost = 0  # events the ESP32 reported lost (also delivered as EventsLost events)
        # The clock the caller asked for; until the slave's HELLO says what it takes, a safe start clock.
        self.requested_clock_hz = int(getattr(transport, "clock_hz", 0) or wire.HOST_DEFAULT_SPI_HZ)
        self._set_clock(min(self.requested_clock_hz, wire.HOST_START_SPI_HZ))
        if reset_peer and hasattr(transport, "reset_slave"):
            transport.reset_slave()  # EN low, then high: a known state, as ESP-Hosted does at start
        self.link = HostLink(epoch or secrets.randbits(32) or 1,
                             rx_room=lambda: self.max_events - len(self._events), on_message=self._on_message,
                             on_acked=self._on_acked, on_peer_restart=self._on_peer_restart,
                             size=transport.size)
        self.system, self.wifi, self.udp = System(self), Wifi(self), Udp(self)
        self.tcp, self.ble = Tcp(self), Ble(self)
        self._thread = threading.Thread(target=self._pump, name="radio-pump", daemon=True)
        self._thread.start()

    # --- lifecycle ----------------------------------------------------------------------------------
    def __enter__(self) -> Radio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for p in self._pending.values():
                p._resolve(error=RadioClosed("radio closed"))
            self._pending.clear()
            self._events_cv.notify_all()
        self._wake.set()
        self._thread.join(timeout=2)
        self.transport.close()

    @property
    def up(self) -> bool:
        return self.link.up

    def wait_up(self, timeout: float | None = None) -> None:
        """Block until both sides know each other's nonce and the ESP32's capabilities have arrived."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self.link.up or self.capabilities is None:
            if time.monotonic() > deadline:
                raise RadioTimeout("the ESP32 link did not come up (no handshake, or no valid frames)")
            self._wake.set()
            time.sleep(0.001)

    # --- requests -----------------------------------------------------------------------------------
    def submit(self, channel: int, mtype: int, payload: bytes = b"", what: str = "request") -> Pending:
        """Queue a request without waiting (pipelining); the link keeps it in order."""
        with self._lock:
            if self._closed:
                raise RadioClosed("radio closed")
            while self._next_tag in self._pending:
                self._next_tag = self._next_tag % 0xFFFF + 1
            tag = self._next_tag
            self._next_tag = self._next_tag % 0xFFFF + 1
            p = Pending(Message(channel, mtype, 0, tag, bytes(payload)), what)
            self._pending[tag] = p
            self.link.queue(p.msg)
        self._wake.set()
        return p

    def request(self, channel: int, mtype: int, payload: bytes = b"", *, timeout: float | None = None,
                what: str = "request") -> bytes:
        p = self.submit(channel, mtype, payload, what)
        try:
            return p.result(self.timeout if timeout is None else timeout)
        except RadioTimeout:
            with self._lock:
                self._pending.pop(p.msg.tag, None)  # a late response is dropped, not misrouted
            raise

    def withdraw(self, p: Pending) -> bool:
        """Cancel a request that has not left the host yet (still queued behind the link's window):
        it is never sent. False once it is on the wire: then it runs, and its response is dropped."""
        with self._lock:
            taken = self.link.withdraw(p.msg)
            if self._pending.get(p.msg.tag) is p:
                del self._pending[p.msg.tag]
        if taken:
            p._resolve(error=RadioClosed(f"{p.what}: withdrawn before it was sent"))
        return taken

    # --- events -------------------------------------------------------------------------------------
    def next_event(self, timeout: float | None = None,
                   match: Callable[[Event], bool] | None = None) -> Event | None:
        """The oldest (matching) event, waiting up to `timeout`; None if there is none."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._events_cv:
            while True:
                for i, ev in enumerate(self._events):
                    if match is None or match(ev):
                        del self._events[i]
                        self._wake.set()  # room in the queue again: the window reopens
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return None
                self._events_cv.wait(left)

    def events(self, timeout: float = 1.0) -> Iterator[Event]:
        """Iterate over events until none arrives for `timeout` seconds."""
        while (ev := self.next_event(timeout)) is not None:
            yield ev

    def _set_clock(self, hz: int) -> None:
        setter = getattr(self.transport, "set_clock_hz", None)
        if setter is not None:
            setter(hz)

    # --- link callbacks (called with the lock held) ---------------------------------------------------
    def _on_message(self, m: Message) -> None:
        if m.flags & wire.FLAG_RESP:
            p = self._pending.pop(m.tag, None)
            if p is not None:
                p._resolve(m.payload)
            return
        if m.channel == wire.CH_LINK and m.type == wire.LINK_HELLO:
            caps = decode_capabilities(m.payload)
            if caps is not None:
                self.capabilities = caps
                # never clock faster than the slave says it takes
                self._set_clock(min(self.requested_clock_hz, caps.max_spi_hz))
            return
        ev = decode_event(m)
        if isinstance(ev, EventsLost):
            self.events_lost += ev.count
        if m.channel == wire.CH_LINK and m.type == wire.LINK_BOOT:
            self.boots += 1
        self._events.append(ev)
        self._events_cv.notify_all()

    def _on_acked(self, msgs: list[Message]) -> None:
        for m in msgs:
            p = self._pending.get(m.tag)
            if p is not None and p.msg is m:
                p.delivered = True

    def _on_peer_restart(self, resumed: bool, dropped: list[Message]) -> None:
        lost = {id(m) for m in dropped}
        for tag, p in list(self._pending.items()):
            if p.delivered or id(p.msg) in lost:
                del self._pending[tag]
                how = "after taking" if p.delivered else "before acknowledging"
                p._resolve(error=LinkReset(f"{p.what}: the ESP32 restarted {how} it; not replayed"))

    # --- pump ---------------------------------------------------------------------------------------
    def _pump(self) -> None:
        while not self._closed:
            with self._lock:
                want = self.link.wants_transaction() or self.transport.data_ready()
                was_up = self.link.up
            if not want:
                self._wake.wait(0.002)
                self._wake.clear()
                continue
            if not self.transport.wait_handshake(self.handshake_timeout):
                self.handshake_timeouts += 1
                continue
            with self._lock:
                tx = self.link.prepare()
            try:
                rx = self.transport.transfer(tx)
            except OSError:
                time.sleep(0.01)  # bus error on the board: the ARQ retransmits what was lost
                continue
            with self._lock:
                self.link.receive(rx)
            if not was_up:
                time.sleep(0.0005)  # not synchronised yet: do not spin against a silent peer
