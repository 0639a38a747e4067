"""AXI DMA (Xilinx PG021) simple-mode registers: offsets and bits, as the product guide documents them.

The board adapter uses them for what pynq's `DMA` driver does not offer (a bounded soft reset); the
simulated DMA (`axi_dma_model`) implements them, and pynq's own driver, run against that model, checks
the offsets and bits it shares with them.
"""

from __future__ import annotations

# Channel register blocks: MM2S (memory to stream) at 0x00, S2MM (stream to memory) at 0x30.
MM2S = 0x00
S2MM = 0x30
# Offsets inside a channel block.
DMACR = 0x00  # control
DMASR = 0x04  # status
ADDR = 0x18  # MM2S_SA / S2MM_DA: buffer address, low 32 bits
ADDR_MSB = 0x1C  # upper 32 bits (64-bit address configurations)
LENGTH = 0x28  # writing it starts the transfer; S2MM reads back the bytes received

# DMACR bits.
CR_RS = 1 << 0  # run/stop
CR_RESET = 1 << 2  # soft reset of the whole DMA (both channels); reads 1 until the reset is done
CR_IOC_IRQ_EN = 1 << 12
CR_ERR_IRQ_EN = 1 << 14

# DMASR bits.
SR_HALTED = 1 << 0  # the channel is halted (RS=0 and nothing in flight, or an error stopped it)
SR_IDLE = 1 << 1  # simple mode: the last transfer completed; 0 after reset and while one runs
SR_DMA_INT_ERR = 1 << 4  # internal error (a zero length; S2MM: a packet longer than LENGTH)
SR_DMA_SLV_ERR = 1 << 5  # the memory answered SLVERR
SR_DMA_DEC_ERR = 1 << 6  # the address decodes to nothing (DECERR)
SR_IOC_IRQ = 1 << 12  # transfer completed (write 1 to clear)
SR_ERR_IRQ = 1 << 14  # an error occurred (write 1 to clear)
SR_ERRORS = SR_DMA_INT_ERR | SR_DMA_SLV_ERR | SR_DMA_DEC_ERR

VLNV_PREFIX = "xilinx.com:ip:axi_dma:"


def describe_status(value: int) -> str:
    """DMASR as words, for error messages: 'halted, idle, DMAIntErr'."""
    names = [
        (SR_HALTED, "halted"), (SR_IDLE, "idle"), (SR_DMA_INT_ERR, "DMAIntErr"),
        (SR_DMA_SLV_ERR, "DMASlvErr"), (SR_DMA_DEC_ERR, "DMADecErr"), (SR_IOC_IRQ, "IOC_Irq"),
        (SR_ERR_IRQ, "Err_Irq"),
    ]  # fmt: skip
    words = [name for bit, name in names if value & bit]
    return ", ".join(words) if words else "running, busy"
