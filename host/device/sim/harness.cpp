// Verilator harness for the zynpu tile: plays the Xilinx AXI DMA (MM2S out of a host buffer into the
// tile's input stream, S2MM from the tile's output stream into a host buffer) and an AXI4-Lite master.
// Everything that runs per clock lives here in C++; Python calls in once per DMA wait, not per cycle.
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>

#include "Vzynpu_tile.h"
#include "Vzynpu_tile___024root.h"
#include "verilated.h"

#ifndef ZSIM_LANES
#error "ZSIM_LANES must be defined (the tile's lanes = stream bytes per beat)"
#endif

namespace {

constexpr int kLanes = ZSIM_LANES;

struct Channel {
    uint8_t* data = nullptr;  // host memory standing in for DDR
    uint64_t length = 0;      // MM2S: bytes to send; S2MM: buffer capacity
    uint64_t done = 0;        // bytes moved so far
    bool active = false;
    bool overflow = false;    // S2MM: the packet was longer than the buffer
};

template <typename T>
void set_keep(T& port, uint64_t bytes) {
    port = static_cast<T>(bytes >= 64 ? ~0ULL : ((1ULL << bytes) - 1));
}

template <typename W>
uint8_t* words(W& wide) { return reinterpret_cast<uint8_t*>(wide.data()); }

// Verilator 5 finds a rising edge by comparing aclk with the value it had at the previous eval, kept in
// the model's root as __Vtrigprevexpr___TOP__aclk__0. Where that member exists, one clock cycle is one
// eval: the harness clears the remembered level and evaluates with aclk held high, instead of a
// falling-edge eval (which only re-evaluates the input logic) followed by a rising-edge eval.
// A Verilator that names it differently gets the two-eval cycle, which is equally exact.
template <typename R, typename = void>
struct EdgeMemory : std::false_type {};
template <typename R>
struct EdgeMemory<R, std::void_t<decltype(std::declval<R&>().__Vtrigprevexpr___TOP__aclk__0)>>
    : std::true_type {};

// A template on the root's type, so the branch a Verilator's root cannot compile is discarded.
template <typename Top, typename Root>
void clock_rising_edge(Top* top, Root* root) {
    if constexpr (EdgeMemory<Root>::value) {
        root->__Vtrigprevexpr___TOP__aclk__0 = 0;
        top->eval();  // aclk stays high between cycles
    } else {
        top->aclk = 0;
        top->eval();
        top->aclk = 1;
        top->eval();
    }
}

struct Sim {
    std::unique_ptr<VerilatedContext> context;
    std::unique_ptr<Vzynpu_tile> top;
    uint64_t cycles = 0;
    Channel mm2s;
    Channel s2mm;
    uint32_t sink_stall_mask = 0;  // S2MM back-pressure pattern: bit (cycle % 32) set = not ready
    uint32_t source_gap_mask = 0;  // MM2S gap pattern: bit (cycle % 32) set = TVALID low

    Sim() : context(new VerilatedContext), top(new Vzynpu_tile(context.get())) {
        top->aclk = 1;  // held high between cycles; the first eval takes it as the initial level
        top->aresetn = 0;
        top->eval();
    }

    // The clock's rising edge: registers take their next values and the logic behind them settles.
    void rising_edge() { clock_rising_edge(top.get(), top->rootp); }

    // Re-evaluate the logic after the harness changed an input between edges (no clock edge: aclk and
    // its remembered level are both high), so outputs read before the next edge see the new inputs.
    void settle() { top->eval(); }

    void drive_streams() {
        const bool gap = (source_gap_mask >> (cycles & 31)) & 1;
        if (mm2s.active && mm2s.done < mm2s.length && !gap) {
            const uint64_t left = mm2s.length - mm2s.done;
            const uint64_t n = left < kLanes ? left : kLanes;
            std::memset(words(top->s_axis_tdata), 0, kLanes);
            std::memcpy(words(top->s_axis_tdata), mm2s.data + mm2s.done, n);
            set_keep(top->s_axis_tkeep, n);
            top->s_axis_tlast = (left <= kLanes);
            top->s_axis_tvalid = 1;
        } else {
            top->s_axis_tvalid = 0;
        }
        const bool stall = (sink_stall_mask >> (cycles & 31)) & 1;
        top->m_axis_tready = s2mm.active && !stall;
    }

    // Handshakes seen in the last tick, sampled just before its rising edge.
    bool aw_fire = false, w_fire = false, b_fire = false, ar_fire = false, r_fire = false;
    uint32_t rdata = 0;
    int bresp = 0, rresp = 0;

    // One clock cycle. The tile's stream READY/VALID outputs are registered (functions of state only),
    // so the values left by the last edge hold while the stream inputs for this cycle are set; the
    // rising edge is then the only evaluation of the cycle.
    void tick() {
        drive_streams();
        const bool s_fire = top->s_axis_tvalid && top->s_axis_tready;
        const bool m_fire = top->m_axis_tvalid && top->m_axis_tready;
        aw_fire = top->s_axi_awvalid && top->s_axi_awready;
        w_fire = top->s_axi_wvalid && top->s_axi_wready;
        b_fire = top->s_axi_bvalid && top->s_axi_bready;
        ar_fire = top->s_axi_arvalid && top->s_axi_arready;
        r_fire = top->s_axi_rvalid && top->s_axi_rready;
        bresp = top->s_axi_bresp;
        rresp = top->s_axi_rresp;
        rdata = top->s_axi_rdata;
        uint8_t beat[kLanes];
        bool beat_last = false;
        if (m_fire) {
            std::memcpy(beat, words(top->m_axis_tdata), kLanes);
            beat_last = top->m_axis_tlast;
        }
        rising_edge();
        ++cycles;
        if (s_fire) {
            mm2s.done += (mm2s.length - mm2s.done) < kLanes ? (mm2s.length - mm2s.done) : kLanes;
            if (mm2s.done >= mm2s.length) mm2s.active = false;
        }
        if (m_fire) {
            const uint64_t room = s2mm.length - s2mm.done;
            const uint64_t n = room < kLanes ? room : kLanes;
            if (n < kLanes) s2mm.overflow = true;
            std::memcpy(s2mm.data + s2mm.done, beat, n);
            s2mm.done += n;
            if (beat_last) s2mm.active = false;
        }
    }

    void reset(int hold) {
        top->aresetn = 0;
        settle();
        for (int i = 0; i < hold; ++i) tick();
        top->aresetn = 1;
        mm2s = Channel();
        s2mm = Channel();
        top->s_axi_awvalid = top->s_axi_wvalid = top->s_axi_arvalid = 0;
        top->s_axi_bready = top->s_axi_rready = 0;
        settle();
        tick();
    }
};

}  // namespace

extern "C" {

void* zsim_create() { return new Sim(); }
void zsim_destroy(void* handle) { delete static_cast<Sim*>(handle); }
uint64_t zsim_cycles(void* handle) { return static_cast<Sim*>(handle)->cycles; }
int zsim_lanes() { return kLanes; }

void zsim_reset(void* handle, int hold_cycles) { static_cast<Sim*>(handle)->reset(hold_cycles); }

void zsim_set_patterns(void* handle, uint32_t source_gap_mask, uint32_t sink_stall_mask) {
    Sim* sim = static_cast<Sim*>(handle);
    sim->source_gap_mask = source_gap_mask;
    sim->sink_stall_mask = sink_stall_mask;
}

// AXI4-Lite write; returns BRESP, or -1 if the slave did not answer within max_cycles.
int zsim_reg_write(void* handle, uint32_t addr, uint32_t data, uint32_t strb, uint32_t max_cycles) {
    Sim* sim = static_cast<Sim*>(handle);
    auto* top = sim->top.get();
    top->s_axi_awaddr = addr;
    top->s_axi_awprot = 0;
    top->s_axi_wdata = data;
    top->s_axi_wstrb = strb;
    top->s_axi_awvalid = 1;
    top->s_axi_wvalid = 1;
    top->s_axi_bready = 1;
    sim->settle();
    int result = -1;
    for (uint32_t i = 0; i < max_cycles && result < 0; ++i) {
        sim->tick();
        if (sim->aw_fire) top->s_axi_awvalid = 0;
        if (sim->w_fire) top->s_axi_wvalid = 0;
        if (sim->b_fire) result = sim->bresp;
        if (sim->aw_fire || sim->w_fire || sim->b_fire) sim->settle();
    }
    top->s_axi_awvalid = top->s_axi_wvalid = top->s_axi_bready = 0;
    sim->settle();
    return result;
}

// AXI4-Lite read; returns RRESP (or -1 on no answer) and stores RDATA.
int zsim_reg_read(void* handle, uint32_t addr, uint32_t* data, uint32_t max_cycles) {
    Sim* sim = static_cast<Sim*>(handle);
    auto* top = sim->top.get();
    top->s_axi_araddr = addr;
    top->s_axi_arprot = 0;
    top->s_axi_arvalid = 1;
    top->s_axi_rready = 1;
    sim->settle();
    int result = -1;
    for (uint32_t i = 0; i < max_cycles && result < 0; ++i) {
        sim->tick();
        if (sim->ar_fire) top->s_axi_arvalid = 0;
        if (sim->r_fire) {
            *data = sim->rdata;
            result = sim->rresp;
        }
        if (sim->ar_fire || sim->r_fire) sim->settle();
    }
    top->s_axi_arvalid = top->s_axi_rready = 0;
    sim->settle();
    return result;
}

void zsim_mm2s_start(void* handle, uint8_t* data, uint64_t length) {
    Sim* sim = static_cast<Sim*>(handle);
    sim->mm2s = Channel{data, length, 0, length > 0, false};
}

void zsim_s2mm_start(void* handle, uint8_t* data, uint64_t capacity) {
    Sim* sim = static_cast<Sim*>(handle);
    sim->s2mm = Channel{data, capacity, 0, true, false};
}

// Abandon a channel's transfer (the DMA's reset): MM2S stops sending, S2MM stops accepting.
void zsim_stop(void* handle, int which) {
    Sim* sim = static_cast<Sim*>(handle);
    (which == 0 ? sim->mm2s : sim->s2mm) = Channel();
}

// Channel state: bit 0 = active, bit 1 = overflow; *moved = bytes transferred.
int zsim_channel(void* handle, int which, uint64_t* moved) {
    Sim* sim = static_cast<Sim*>(handle);
    const Channel& ch = which == 0 ? sim->mm2s : sim->s2mm;
    *moved = ch.done;
    return (ch.active ? 1 : 0) | (ch.overflow ? 2 : 0);
}

// Clock until the selected channels are idle (bit 0: MM2S, bit 1: S2MM) or max_cycles pass.
// Returns the number of cycles run.
uint64_t zsim_run(void* handle, int wait_mask, uint64_t max_cycles) {
    Sim* sim = static_cast<Sim*>(handle);
    uint64_t n = 0;
    while (n < max_cycles) {
        const bool busy = ((wait_mask & 1) && sim->mm2s.active) || ((wait_mask & 2) && sim->s2mm.active);
        if (!busy) break;
        sim->tick();
        ++n;
    }
    return n;
}

}  // extern "C"
