"""One number style in human output: no `None`, no exponent next to plain integers, no 16 digits."""

from zynpu.cli_options import format_value


def test_one_number_style() -> None:
    assert format_value(67807.0) == "67,807" and format_value(67807) == "67,807"
    assert format_value(0.9648998822143698) == "0.9649"
    assert format_value(1386.5241) == "1387"
    assert format_value(1e-5) == "1.000e-05"
    assert format_value(None) == "n/a" and format_value(True) == "yes"
    assert format_value({"memory": 1.0, "sensor": 0.875}) == "memory 1, sensor 0.875"
