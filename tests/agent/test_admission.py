"""Bounded under load: per-origin rate limits, bounded queues, round-robin service, counted drops."""

from __future__ import annotations

from pathlib import Path

from zynpu.agent.admission import Admission, origin_key
from zynpu.agent.serve import Wake
from zynpu.agent.trace import Tracer, read_spans

FLOOD = ("udp", ("10.0.0.66", 5000))
ASKER = ("udp", ("10.0.0.7", 6000))


def wake(origin: tuple, text: str = "x") -> Wake:
    return Wake({"src": origin[0], "text": text}, origin)


def test_a_flood_costs_its_burst_and_never_stands_in_front_of_another_sender(tmp_path: Path) -> None:
    now = [0.0]
    adm = Admission(
        rate=0.5, burst=3, per_origin=4, clock=lambda: now[0], tracer=Tracer(tmp_path / "t.jsonl")
    )
    for i in range(500):
        adm.offer(wake((FLOOD[0], (FLOOD[1][0], 5000 + i))))  # a new source port each time: same host
    assert adm.offer(wake(ASKER, "what is the temperature"))
    assert adm.admitted == 4 and adm.drop_counts() == {"udp:10.0.0.66/rate": 497}
    served = [adm.next() for _ in range(2)]
    assert served[0].origin[1][0] == "10.0.0.66" and served[1].origin == ASKER  # second in line, not 501st
    assert [adm.next() is not None for _ in range(3)] == [True, True, False]
    spans = read_spans(tmp_path / "t.jsonl")
    assert len(spans) == 497 and {s["attributes"]["zynpu.drop.reason"] for s in spans} == {"rate"}


def test_rate_refills_with_time_and_queues_are_bounded() -> None:
    now = [0.0]
    adm = Admission(rate=1.0, burst=2, per_origin=3, total=4, clock=lambda: now[0])
    assert [adm.offer(wake(FLOOD)) for _ in range(3)] == [True, True, False]  # burst 2, then rate
    now[0] = 10.0
    assert adm.offer(wake(FLOOD)) is True  # tokens again
    assert adm.offer(wake(FLOOD)) is False  # the origin's queue (3) is full
    assert adm.offer(wake(ASKER)) is True
    assert adm.offer(wake(("udp", ("10.0.0.8", 1)))) is False  # 4 queued in all: full
    assert adm.drop_counts() == {
        "udp:10.0.0.66/queue_full": 1,
        "udp:10.0.0.66/rate": 1,
        "udp:10.0.0.8/queue_full": 1,
    }


def test_the_boards_own_events_are_not_rate_limited() -> None:
    adm = Admission(rate=0.0, burst=1, per_origin=100, clock=lambda: 0.0)
    assert all(adm.offer(wake(("timer", None))) for _ in range(10))
    assert origin_key(("ble", None)) == "ble" and origin_key(FLOOD) == "udp:10.0.0.66"


def test_bench_agent_answers_the_other_sender_through_a_flood_on_the_simulated_radio() -> None:
    """`zynpu bench agent` end to end (a shorter flood): the question from another host is answered,
    after at most the flooder's burst of sessions, and every other flood datagram is a counted drop."""
    from zynpu.agent.bench import run

    r = run(device="numpy", flood=100)
    assert r["other_sender_answer"] == "temp 47.5 C"
    assert r["sessions_run"] <= 1 + 3  # the question plus at most the flooder's burst
    assert r["dropped"] + r["admitted"] == 101 and r["dropped"] >= 100 - 3 - 1
