"""P weight ports: one job split over P tiles by N, bit-exact with one port, all launched before any wait."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest

from zynpu.device.multiport import MultiPortDevice, open_ports
from zynpu.npu import Npu, plan, port_columns
from zynpu.tile import packing, reference
from zynpu.tile.manifest import load_manifest

from .device_helpers import random_int8

_OPEN: dict[tuple[str, int], MultiPortDevice] = {}


@pytest.fixture(scope="module", autouse=True)
def _close_ports() -> Iterator[None]:
    """The multi-port devices this module opened are closed when it ends."""
    yield
    while _OPEN:
        _OPEN.popitem()[1].close()


def _ports(kind: str, count: int) -> MultiPortDevice:
    key = (kind, count)
    if key not in _OPEN:
        options = {"quiet": True} if kind == "sim" else {}
        _OPEN[key] = open_ports(kind, count, **options)
    device = _OPEN[key]
    assert isinstance(device, MultiPortDevice)
    return device


@pytest.fixture
def kind(target: str) -> str:
    """The `--target` device when it can be opened P times here (ref, sim); board targets: see the report."""
    if target not in ("ref", "sim"):
        pytest.skip(f"multi-port devices are built from ref or sim devices, not {target}")
    return target


def test_columns_are_whole_blocks_covering_n_once() -> None:
    cases = [(1, 16, 4), (16, 16, 4), (17, 16, 4), (100, 16, 3), (262144, 16, 4), (640, 16, 4)]
    for n, lanes, ports in cases:
        ranges = port_columns(n, lanes, ports)
        assert ranges[0][0] == 0 and ranges[-1][1] == n
        assert all(a < b for a, b in ranges) and len(ranges) <= ports
        assert all(r0[1] == r1[0] for r0, r1 in itertools.pairwise(ranges))
        assert all(a % lanes == 0 for a, _ in ranges)
        sizes = [-(-(b - a) // lanes) for a, b in ranges]
        assert max(sizes) - min(sizes) <= 1  # blocks shared out evenly


def test_plan_covers_the_matmul_once() -> None:
    man = load_manifest()
    m, k, n = 19, man.max_k + 40, 70
    covered = np.zeros((m, k, n), dtype=np.int8)
    waves = plan(man, m, k, n, ports=4)
    for wave in waves:
        assert len({job.port for job in wave}) == len(wave)
        for job in wave:
            s = job.shape
            covered[job.m0 : job.m0 + s.m, job.k0 : job.k0 + s.k, job.n0 : job.n0 + s.n] += 1
    assert (covered == 1).all()
    assert len(waves) == 2 * 3  # two K parts, three row blocks


@pytest.mark.parametrize("ports", [2, 4])
@pytest.mark.parametrize(("m", "k", "n"), [(1, 640, 1000), (5, 37, 21), (8, 96, 200), (1, 16, 3)])
def test_p_ports_match_one_port_bit_exact(kind: str, ports: int, m: int, k: int, n: int) -> None:
    rng = np.random.default_rng(m * 7 + k * 3 + n + ports)
    x, w = random_int8(rng, (m, k)), random_int8(rng, (n, k))
    many = Npu(_ports(kind, ports))
    one = Npu(_ports(kind, ports).ports[0])
    y = many.matmul(x, many.pack_weights(w))
    np.testing.assert_array_equal(y, one.matmul(x, one.pack_weights(w)))
    np.testing.assert_array_equal(y, reference.matmul(x, w))
    used = len(port_columns(n, many.lanes, ports))
    assert many.last.jobs == used and many.last.waves == 1
    # every used port's tile really ran its share: its CYCLES follow the cycle model for its columns
    expected = [
        reference.job_cycles(many.manifest, packing.JobShape(m, k, b - a, many.lanes))
        for a, b in port_columns(n, many.lanes, ports)
    ]
    assert many.last.cycles == sum(expected)
    assert many.last.wave_cycles == max(expected)
    assert many.last.wave_cycles < one.last.cycles or used == 1


def test_every_port_is_launched_before_any_wait(kind: str) -> None:
    device = _ports(kind, 4)
    events: list[tuple[str, int]] = []
    originals = []
    for index, port in enumerate(device.ports):
        for channel in (port.send, port.recv):
            transfer, wait = channel.transfer, channel.wait
            originals.append((channel, transfer, wait))

            def traced_transfer(*args, _t=transfer, _i=index, **kw):  # type: ignore[no-untyped-def]
                events.append(("transfer", _i))
                return _t(*args, **kw)

            def traced_wait(*args, _w=wait, _i=index, **kw):  # type: ignore[no-untyped-def]
                events.append(("wait", _i))
                return _w(*args, **kw)

            channel.transfer, channel.wait = traced_transfer, traced_wait  # type: ignore[method-assign]
    try:
        npu = Npu(device)
        rng = np.random.default_rng(3)
        x, w = random_int8(rng, (1, 64)), random_int8(rng, (256, 64))
        np.testing.assert_array_equal(npu.matmul(x, npu.pack_weights(w)), reference.matmul(x, w))
    finally:
        for channel, transfer, wait in originals:
            channel.transfer, channel.wait = transfer, wait  # type: ignore[method-assign]
    first_wait = next(i for i, (what, _) in enumerate(events) if what == "wait")
    launched = {port for what, port in events[:first_wait] if what == "transfer"}
    assert launched == {0, 1, 2, 3}
    assert all(what == "wait" for what, _ in events[first_wait:])


def test_identity_is_checked_on_every_port(kind: str) -> None:
    device = _ports(kind, 2)
    second = device.ports[1]
    original = second.read

    def read(offset: int) -> int:
        value = original(offset)
        return value ^ 1 if offset == device.manifest.offset("CONFIG_HASH") else value

    second.read = read  # type: ignore[method-assign]
    try:
        from zynpu.npu import HardwareMismatch

        with pytest.raises(HardwareMismatch, match="weight port 1"):
            Npu(device)
    finally:
        second.read = original  # type: ignore[method-assign]


@pytest.mark.parametrize("ports", [2, 4])
def test_int4_over_p_ports_is_bit_exact_and_each_tile_follows_the_cycle_model(kind: str, ports: int) -> None:
    man = load_manifest()
    group = man.int4_group
    m, k, n = 2, 200, 150
    rng = np.random.default_rng(ports)
    x = random_int8(rng, (m, k))
    w = rng.integers(-8, 8, size=(n, k), dtype=np.int8)
    scales = rng.integers(0, 256, size=(n, -(-k // group)), dtype=np.uint8)
    npu = Npu(_ports(kind, ports))
    y = npu.matmul(x, npu.pack_weights_int4(w, scales, group))
    np.testing.assert_array_equal(y, reference.matmul_int4(x, w, scales, group))
    expected = [
        reference.job_cycles(man, packing.check_shape(man, m, k, b - a, "int4"))
        for a, b in port_columns(n, man.lanes, ports)
    ]
    assert npu.last.jobs == len(expected) == ports
    assert npu.last.cycles == sum(expected)
    assert npu.last.wave_cycles == max(expected)


def test_an_int4_policy_decodes_on_p_ports_with_the_predicted_cycles(kind: str) -> None:
    """The host picks int4 per tensor (policy w4a8) and the tiles' counters equal the roofline's cycles."""
    if kind != "ref":
        pytest.skip("a whole decode step: the numpy model is enough here (the sim runs the int4 jobs above)")
    from zynpu.bench.decode import run

    result = run(device_name=kind, tokens=1, ports=2, policy="w4a8")
    assert result["weight_bits_per_param"] == 4.125  # 4-bit weights + one 8-bit scale per 64
    assert result["tile_cycles_per_token"] > 0
    assert result["roofline_error"] == 0.0
