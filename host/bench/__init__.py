"""zynpu.bench: measurements, one JSON object each (`zynpu bench NAME --json`; `make bench`)."""
