"""Host side of the link protocol: the same go-back-N + epoch rules as firmware zl_link.c.

A pure state machine (no threads, no I/O): `prepare()` gives the next transaction buffer and
`receive()` digests what came back, so it is tested without a bus and driven by `driver.Radio`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from . import wire
from .frame import Frame, FrameError, decode, encode


@dataclass(eq=False)
class Message:
    channel: int
    type: int
    flags: int = 0
    tag: int = 0
    payload: bytes = b""
    seq: int | None = field(default=None, compare=False)  # set once given a sequence number


@dataclass
class LinkStats:
    transactions: int = 0
    rx_errors: int = 0
    rx_delivered: int = 0
    rx_out_of_order: int = 0
    tx_frames: int = 0
    tx_retransmits: int = 0
    naks_sent: int = 0
    peer_restarts: int = 0


class HostLink:
    """Callbacks: on_message(msg) for each in-order message, on_acked(msgs) when the peer confirms,
    on_peer_restart(resumed, dropped) when the ESP32 rebooted (dropped: in-flight messages given up).

    Session start (both sides, docs/radio.md): a side that starts sends SYNC until the peer answers
    SYNACK for its nonce; a SYNC resets the receiver's state for that peer once per peer session, so a
    restarted peer is recognised even if it drew the same nonce as before. `rx_room` is the event credit
    (a flow-control class of its own): sequenced frames are always taken, so responses never wait
    behind events."""

    def __init__(self, epoch: int, *, rx_room: Callable[[], int] = lambda: 255,
                 on_message: Callable[[Message], None] = lambda m: None,
                 on_acked: Callable[[list[Message]], None] = lambda ms: None,
                 on_peer_restart: Callable[[bool, list[Message]], None] = lambda r, d: None,
                 size: int = wire.TRANSACTION_SIZE) -> None:
        if not 1 <= epoch <= 0xFFFFFFFF:
            raise ValueError("epoch must be a nonzero 32-bit nonce")
        self.epoch, self.peer_epoch, self.up, self.size = epoch, 0, False, size
        self.syncing, self.peer_syncing = True, False
        self.rx_next, self.nak_pending, self.nak_sent = 0, False, False
        self.tx: deque[Message] = deque()  # first `inflight` carry seqs tx_base.., the rest queued
        self.inflight = self.send_off = self.tx_base = self.peer_window = self.idle_ticks = 0
        self.credit_sent = 0
        self.rx_room, self.on_message, self.on_acked, self.on_peer_restart = (
            rx_room, on_message, on_acked, on_peer_restart)
        self.stats = LinkStats()

    def queue(self, msg: Message) -> None:
        if len(msg.payload) > wire.MAX_PAYLOAD:
            raise ValueError(f"payload of {len(msg.payload)} bytes exceeds {wire.MAX_PAYLOAD}")
        self.tx.append(msg)

    def withdraw(self, msg: Message) -> bool:
        """Take back a queued message that has no sequence number yet (never sent); False otherwise."""
        for i in range(self.inflight, len(self.tx)):
            if self.tx[i] is msg:
                del self.tx[i]
                return True
        return False

    def _limit(self) -> int:
        return min(wire.TX_WINDOW, self.peer_window)

    def credit(self) -> int:
        return max(0, min(255, self.rx_room()))

    def wants_transaction(self) -> bool:
        """True if clocking a transaction now makes progress without the data-ready line."""
        if not self.up or self.nak_pending or self.inflight or self.peer_syncing:
            return True
        if self.credit_sent < wire.TX_WINDOW and self.credit() > self.credit_sent:
            return True  # credit update: the ESP32 may hold events until it hears there is room
        return len(self.tx) > 0 and self._limit() > 0

    def rx_window(self) -> int:
        """Sequenced frames we can take: always a full window (events are limited by credit instead)."""
        return wire.TX_WINDOW

    def prepare(self) -> bytes:
        flags = (wire.FLAG_SYNC if self.syncing else 0) | (wire.FLAG_SYNACK if self.peer_syncing else 0)
        if self.nak_pending:
            flags |= wire.FLAG_NAK
            self.nak_pending, self.nak_sent = False, True
            self.stats.naks_sent += 1
        if self.up and self.inflight:
            self.idle_ticks += 1
            if self.idle_ticks > wire.RTO_TRANSACTIONS:
                self.send_off, self.idle_ticks = 0, 0
        msg, seq = None, (self.tx_base + self.inflight) & 0xFFFF
        if self.up:
            if self.send_off < self.inflight:
                self.stats.tx_retransmits += 1
            elif self.inflight < len(self.tx) and self.inflight < self._limit():
                self.tx[self.inflight].seq = (self.tx_base + self.inflight) & 0xFFFF
                self.inflight += 1
            if self.send_off < self.inflight:
                msg, seq = self.tx[self.send_off], (self.tx_base + self.send_off) & 0xFFFF
                self.send_off += 1
        self.credit_sent = self.credit()
        header = dict(epoch=self.epoch, peer_epoch=self.peer_epoch, window=self.rx_window(), seq=seq,
                      ack=self.rx_next, credit=self.credit_sent)
        if msg is None:
            return encode(Frame(flags=flags, **header), self.size)
        self.stats.tx_frames += 1
        return encode(Frame(msg.channel, msg.type, flags | msg.flags | wire.FLAG_DATA, tag=msg.tag,
                            payload=msg.payload, **header), self.size)

    def _release(self, n: int) -> list[Message]:
        done = [self.tx.popleft() for _ in range(n)]
        self.inflight -= n
        self.tx_base = (self.tx_base + n) & 0xFFFF
        self.send_off = max(0, self.send_off - n)
        return done

    def _acked(self, ack: int) -> list[Message]:
        d = (ack - self.tx_base) & 0xFFFF
        if 0 < d <= self.inflight:
            self.idle_ticks = 0
            return self._release(d)
        return []

    def _peer_sync(self, f: Frame) -> None:
        """The ESP32 (re)started its sequence space: once per peer session, reset for it."""
        if self.peer_syncing and f.epoch == self.peer_epoch:
            return  # the same SYNC again: already done
        known = self.peer_epoch != 0
        self.peer_epoch, self.rx_next, self.nak_pending, self.nak_sent = f.epoch, 0, False, False
        self.peer_syncing, self.up = True, False
        # Keep our in-flight frames only if it resumed with our nonce (its ack is its resume point);
        # otherwise the chip that would have answered them is gone.
        resumed = bool(f.flags & wire.FLAG_RESUME) and f.peer_epoch == self.epoch
        if resumed:
            acked = self._acked(f.ack)
            if acked:
                self.on_acked(acked)
            dropped: list[Message] = []
        else:
            dropped = self._release(self.inflight)
            self.tx_base = 0
        self.send_off = 0
        if known:
            self.stats.peer_restarts += 1
            self.on_peer_restart(resumed, dropped)

    def receive(self, buf: bytes) -> None:
        self.stats.transactions += 1
        try:
            f = decode(buf)
        except FrameError:
            self.stats.rx_errors += 1
            if self.up and not self.nak_sent:
                self.nak_pending = True
            return
        if f.flags & wire.FLAG_SYNACK and f.peer_epoch == self.epoch:
            self.syncing = False  # the ESP32 has reset its receive state for this session
        if f.flags & wire.FLAG_SYNC:
            self._peer_sync(f)
            return
        if self.peer_epoch == 0:
            self.peer_epoch = f.epoch  # we started while the ESP32 kept running
        elif f.epoch != self.peer_epoch:
            return  # not from the current ESP32 session
        self.peer_syncing = False
        if f.peer_epoch != self.epoch or self.syncing:
            self.up = False
            return
        self.up = True
        acked = self._acked(f.ack)
        if acked:
            self.on_acked(acked)
        self.peer_window = f.window
        if f.flags & wire.FLAG_NAK:
            self.send_off = 0
        if not f.flags & wire.FLAG_DATA:
            return
        if f.seq == self.rx_next:
            # Always taken: the ESP32 sends events only within our credit, and responses must never wait.
            self.rx_next = (self.rx_next + 1) & 0xFFFF
            self.nak_sent = False
            self.stats.rx_delivered += 1
            self.on_message(Message(f.channel, f.type, f.flags, f.tag, f.payload, f.seq))
        elif (f.seq - self.rx_next) & 0xFFFF < 0x8000:
            self.stats.rx_out_of_order += 1
            if not self.nak_sent:
                self.nak_pending = True
