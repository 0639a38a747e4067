"""A simulated ESP32: the firmware's portable C core (built here with gcc) behind a simulated SPI bus."""
