/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The default level's scheduling episodes: one record per tracked runnable->running transition
 * of the runtime's own 1-in-8 sampler (casgstatus's `sched.timeToRun.record(gp.runnableTime)`;
 * goinspect's sampler.rs finds the instruction, an emulated CALL or Jcc, and which register
 * holds gp there). The probe fires only on the transitions the runtime itself samples, so it
 * costs one trap per 8 goroutine switches instead of three per switch.
 *
 * The thread is on g0 inside execute() (R14 = g0, m.curg already gp): the M is g0.m, the P m.p.
 * gp is not running yet, so gp.sched holds where it had stopped: its pc, and its bp, from which
 * Go's frame pointers give the callers (bounded walk, GS_SAMPLE_DEPTH frames).
 *
 * Included by tracer.bpf.c (uses its cfg, reserve, submit, read helpers).
 */
#ifndef GOROSCOPE_TRACER_SAMPLE_BPF_H
#define GOROSCOPE_TRACER_SAMPLE_BPF_H

/*
 * The register cfg.sample_gp_reg names (GS_REG_*), 0 for an unknown one. Read through
 * bpf_probe_read_kernel at a computed offset of the saved pt_regs: a plain switch over ctx->reg
 * is folded by clang into a variable-offset ctx load, which the verifier refuses.
 */
static __always_inline u64 sample_gp(struct pt_regs *ctx)
{
	u32 off;
	u64 v = 0;

	switch (cfg.sample_gp_reg) {
	case GS_REG_RAX: off = __builtin_offsetof(struct pt_regs, ax); break;
	case GS_REG_RBX: off = __builtin_offsetof(struct pt_regs, bx); break;
	case GS_REG_RCX: off = __builtin_offsetof(struct pt_regs, cx); break;
	case GS_REG_RDX: off = __builtin_offsetof(struct pt_regs, dx); break;
	case GS_REG_RSI: off = __builtin_offsetof(struct pt_regs, si); break;
	case GS_REG_RDI: off = __builtin_offsetof(struct pt_regs, di); break;
	case GS_REG_R8: off = __builtin_offsetof(struct pt_regs, r8); break;
	case GS_REG_R9: off = __builtin_offsetof(struct pt_regs, r9); break;
	case GS_REG_R10: off = __builtin_offsetof(struct pt_regs, r10); break;
	case GS_REG_R11: off = __builtin_offsetof(struct pt_regs, r11); break;
	default: return 0;
	}
	bpf_probe_read_kernel(&v, sizeof(v), (void *)ctx + off);
	return v;
}

/*
 * A window of the g struct read in one go (its fields sit in the first ~330 bytes in every
 * supported version; a g is at least 400 bytes): one user-memory read instead of one per field.
 * If the window cannot be read (e.g. it crosses into an unmapped page) the fields are read one
 * by one.
 */
#define GS_SAMPLE_G_WINDOW 512

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u8[GS_SAMPLE_G_WINDOW]);
} sample_g SEC(".maps");

/* The u64 at `off` of the window; false if the offset is not inside it. */
static __always_inline bool g_u64(u64 *out, const u8 *buf, u32 off)
{
	if (off > GS_SAMPLE_G_WINDOW - 8)
		return false;
	*out = *(const u64 *)(buf + off);
	return true;
}

/* A g field from the window when there is one, else from user memory (counted if unreadable). */
static __always_inline bool g_field(u64 *out, const u8 *buf, u64 gp, u32 off, u32 type)
{
	if (buf && off != GS_OFFSET_NONE && g_u64(out, buf, off))
		return true;
	return read_u64(out, gp, off, type);
}

/*
 * g.stack.hi: runtime.g starts with `stack stack` (lo, hi) in every Go version ("offset known to
 * runtime/cgo" in runtime2.go), so its upper bound is at a fixed offset.
 */
#define GS_G_STACK_HI 8

/*
 * The top of the stopped goroutine's stack, read in one go from its saved bp: the frame records
 * of the innermost frames (gopark, chanrecv, ... and the program's caller) usually lie within a
 * few hundred bytes, so one read replaces one read per frame, which was most of this program's
 * cost. Frames beyond the window are read one by one.
 */
#define GS_SAMPLE_STACK_WINDOW 1024

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u8[GS_SAMPLE_STACK_WINDOW]);
} sample_stack_window SEC(".maps");

/* The frame record ([bp] = caller's bp, [bp+8] = return address) at `bp`. */
static __always_inline bool frame_at(u64 frame[2], const u8 *win, u64 base, u64 len, u64 bp)
{
	u64 off = bp - base;

	if (win && bp >= base && off + 16 <= len && off <= GS_SAMPLE_STACK_WINDOW - 16) {
		frame[0] = *(const u64 *)(win + off);
		frame[1] = *(const u64 *)(win + off + 8);
		return true;
	}
	return bpf_probe_read_user(frame, 16, (void *)bp) == 0;
}

/*
 * Where gp had stopped: frames[0] = gp.sched.pc, then the return addresses up Go's frame-pointer
 * chain from gp.sched.bp. Stops at a zero or non-increasing bp (stacks grow down, so callers'
 * frames are at higher addresses). `hi` (g.stack.hi, 0 if unknown) bounds the one-go read.
 */
static __always_inline u32 sample_stack(struct gs_ev_go_sample *e, u64 pc, u64 bp, u64 hi)
{
	u8 *win = NULL;
	u64 frame[2], base = bp, len = 0;
	u32 zero = 0, n = 0;

	if (!pc)
		return 0;
	e->frames[n++] = pc;
	if (bp && hi > bp) {
		len = hi - bp;
		if (len > GS_SAMPLE_STACK_WINDOW)
			len = GS_SAMPLE_STACK_WINDOW;
		win = bpf_map_lookup_elem(&sample_stack_window, &zero);
		if (win && bpf_probe_read_user(win, len, (void *)bp))
			win = NULL;
	}
	for (int i = 1; i < GS_SAMPLE_DEPTH; i++) {
		if (!bp || !frame_at(frame, win, base, len, bp))
			return n;
		if (!frame[1])
			return n;
		e->frames[n & (GS_SAMPLE_DEPTH - 1)] = frame[1];
		n++;
		if (frame[0] <= bp)
			return n;
		bp = frame[0];
	}
	if (bp && frame_at(frame, win, base, len, bp) && frame[1])
		e->flags |= GS_SAMPLE_STACK_CUT;
	return n;
}

/*
 * p.id by the P's address, per CPU: the P a CPU's threads hold changes rarely, and a P's id
 * never changes while it lives, so most samples skip the one read that p.id costs. A P can only
 * be freed (and its memory become another P) when procresize shrinks GOMAXPROCS: gs_procresize
 * bumps p_id_cache_gen, which empties every CPU's entry. Keyed by process too (several may be
 * followed).
 */
struct gs_p_id_cache {
	u64 p;
	u64 gen;
	u32 tgid;
	s32 id;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct gs_p_id_cache);
} p_id_cache SEC(".maps");

/* The id of P `p` of process `tgid`: from this CPU's cache when it holds it, else read. */
static __always_inline s32 sample_p_id(u64 p, u32 tgid, u32 type)
{
	struct gs_p_id_cache *c;
	u64 gen = p_id_cache_gen;
	s32 id = GS_ID_UNKNOWN;
	u32 zero = 0;

	c = bpf_map_lookup_elem(&p_id_cache, &zero);
	if (c && c->p == p && c->tgid == tgid && c->gen == gen)
		return c->id;
	if (!read_u32((u32 *)&id, p, cfg.p_id, type))
		return GS_ID_UNKNOWN;
	if (c) {
		c->p = p;
		c->tgid = tgid;
		c->gen = gen;
		c->id = id;
	}
	return id;
}

/*
 * The M's id and its P's id. Each bpf_probe_read_user costs far more than its bytes (with
 * hardened usercopy the kernel checks the destination, walking its own stack frames for a BPF
 * stack buffer): m.p and m.id, 24 bytes apart in every supported version, come from one read
 * when they are that close, and p.id is then one read more unless this CPU's cache has it.
 */
static __always_inline void sample_m_and_p(struct gs_ev_go_sample *e, u64 m, u32 type)
{
	u32 lo = cfg.m_p < cfg.m_id ? cfg.m_p : cfg.m_id;
	u32 hi = cfg.m_p < cfg.m_id ? cfg.m_id : cfg.m_p;
	u64 w[4] = {}, p = 0;

	e->m_id = GS_ID_UNKNOWN;
	e->p_id = GS_ID_UNKNOWN;
	if (!m)
		return;
	if (cfg.m_p != GS_OFFSET_NONE && cfg.m_id != GS_OFFSET_NONE && hi - lo <= 24 &&
	    ((hi - lo) & 7) == 0 && bpf_probe_read_user(w, sizeof(w), (void *)(m + lo)) == 0) {
		p = w[((cfg.m_p - lo) >> 3) & 3];
		e->m_id = w[((cfg.m_id - lo) >> 3) & 3];
	} else {
		e->m_id = m_id(m, type);
		read_u64(&p, m, cfg.m_p, type);
	}
	if (p)
		e->p_id = sample_p_id(p, e->h.tgid, type);
}

/* casgstatus's tracked runnable->running path (see above). */
SEC("uprobe.multi")
int gs_sample(struct pt_regs *ctx)
{
	const u32 type = GS_EV_GO_SAMPLE;
	struct gs_ev_go_sample *e;
	u64 gp = sample_gp(ctx), goid = 0, m, v = 0, pc = 0, bp = 0, hi = 0;
	u32 zero = 0;
	u8 *buf;

	if (gs_sampler_paused || !uprobe_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	buf = bpf_map_lookup_elem(&sample_g, &zero);
	if (buf && (!gp || bpf_probe_read_user(buf, GS_SAMPLE_G_WINDOW, (void *)gp) != 0))
		buf = NULL;
	if (!g_field(&goid, buf, gp, cfg.g_goid, type))
		return 0;
	e = reserve(type, sizeof(*e));
	if (!e)
		return 0;
	e->goid = goid;
	e->creation_pc = 0;
	e->start_pc = 0;
	e->runnable_ns = 0;
	g_field(&e->creation_pc, buf, gp, cfg.g_gopc, type);
	g_field(&e->start_pc, buf, gp, cfg.g_startpc, type);
	g_field((u64 *)&e->runnable_ns, buf, gp, cfg.g_runnable_time, type);
	/* waitReason is a uint8 in every supported version: the low byte of the u64 there. */
	v = 0;
	g_field(&v, buf, gp, cfg.g_waitreason, type);
	e->wait_reason = v & 0xff;
	/* execute() sets gp.m before this transition: the M comes with the window. */
	m = 0;
	if (!g_field(&m, buf, gp, cfg.g_m, type) || !m)
		m = m_of(ctx->r14, type);
	sample_m_and_p(e, m, type);
	e->flags = 0;
	v = 0;
	if (g_field(&v, buf, gp, cfg.g_lockedm, type) && v)
		e->flags |= GS_SAMPLE_LOCKED;
	__builtin_memset(e->frames, 0, sizeof(e->frames));
	if (cfg.g_sched_pc != GS_OFFSET_NONE && g_field(&pc, buf, gp, cfg.g_sched_pc, type) &&
	    cfg.g_sched_bp != GS_OFFSET_NONE)
		g_field(&bp, buf, gp, cfg.g_sched_bp, type);
	if (buf)
		g_u64(&hi, buf, GS_G_STACK_HI);
	e->nframes = sample_stack(e, pc, bp, hi);
	if (pc && pc == e->start_pc)
		e->flags |= GS_SAMPLE_FIRST_RUN;
	submit(e, type);
	return 0;
}

#endif /* GOROSCOPE_TRACER_SAMPLE_BPF_H */
