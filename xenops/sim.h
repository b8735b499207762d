/*
 * Private to the sim backend (xenops_sim.c and the sim_*.c files beside
 * it, simguest.c) and its unit test: the guest's memory layout, the
 * control/vCPU block shared between the guest and the backend, and the
 * stream format.
 */
#ifndef SIM_H
#define SIM_H

#include <stdint.h>
#include <sys/types.h>

#define SIM_PAGE_SIZE		4096
#define SIM_PAGE_SHIFT		12
/* Pages per PAGE_DATA record: 4 MiB, as libxc's MAX_BATCH_SIZE. */
#define SIM_BATCH_PAGES		1024
/* The guest dirties in batches this far apart. */
#define SIM_DIRTY_PERIOD_US	10000
/* How long the backend waits for the guest to answer a command. */
#define SIM_CMD_TIMEOUT_MS	10000

/*
 * Guest memory.  The generation table lives in the guest's own memory so
 * that it migrates with it: page 0 starts with a u64 count of all page
 * writes ever done, then one u32 generation per page, indexed by pfn, over
 * pages 0..T-1.  The entries of the table pages themselves stay 0.  Data
 * page p (T <= p < N) at generation g holds sim_page_word(p, g, i) in word
 * i; generation 0 is all zero so that a fresh sparse file is a valid
 * memory.  The sum of all generations equals the write count, which
 * catches a table page lost together with the data pages it describes.
 */
#define SIM_TABLE_HDR		8
#define SIM_TABLE_PAGES(n)	\
	(((uint64_t)(n) * 4 + SIM_TABLE_HDR + SIM_PAGE_SIZE - 1) / \
	    SIM_PAGE_SIZE)

/* vCPU state: what a stopped guest hands to the stream. */
struct sim_vcpu {
	uint64_t	ticks;		/* heartbeat counter */
	uint64_t	tick_phase_us;	/* time spent in the current tick */
	uint64_t	prng;		/* splitmix64 state */
	uint64_t	reserved;	/* 0 */
};

enum sim_run_state {
	SIM_ST_NEW = 0,		/* no guest process yet (being restored) */
	SIM_ST_RUNNING,
	SIM_ST_PAUSED,
	SIM_ST_SUSPENDED,
};

#define SIM_SHARED_MAGIC	0x53696d53686d3031ULL	/* "SimShm01" */

/*
 * The `shared` file, mapped by the guest.  The guest is the only writer;
 * it stores vcpu before state (release), so a reader that sees a stopped
 * state (acquire) sees the vCPU of that stop.
 */
struct sim_shared {
	uint64_t	magic;
	uint32_t	state;		/* enum sim_run_state */
	uint32_t	pad;
	uint64_t	stopped_at_us;	/* CLOCK_MONOTONIC at the last stop */
	struct sim_vcpu	vcpu;
};

/*
 * The stream, big-endian, modelled on libxc's migration v2:
 *	header	{ ident u64 "SimXenSt", version u32, page_size u32,
 *		  nr_pages u64 }
 *	records	{ type u32, body_length u32, body, zero pad to 8 }
 * PAGE_DATA	{ count u32 (1..1024), reserved u32, pfn u64[count],
 *		  count pages }
 * ROUND_END	{ round u32, reserved u32, dirty_remaining u64 }
 * VCPU		{ ticks u64, tick_phase_us u64, prng u64, reserved u64 }
 * END		{}
 * A stream is: header, PAGE_DATA and ROUND_END records, exactly one VCPU,
 * then END.
 */
#define SIM_STREAM_IDENT	0x53696d58656e5374ULL	/* "SimXenSt" */
#define SIM_STREAM_VERSION	1
#define SIM_STREAM_HDR_LEN	24
#define SIM_REC_HDR_LEN		8

#define SIM_REC_PAGE_DATA	1
#define SIM_REC_ROUND_END	2
#define SIM_REC_VCPU		3
#define SIM_REC_END		4

#define SIM_ROUND_END_LEN	16
#define SIM_VCPU_LEN		32
#define SIM_PAGE_DATA_LEN(count) \
	(8 + (uint64_t)(count) * (8 + SIM_PAGE_SIZE))

/* Live pre-copy policy: Xen 4.17's simple_precopy_policy. */
#define SIM_PRECOPY_MAX_ROUNDS	5
#define SIM_PRECOPY_TARGET	50

/* Everything the forked guest needs; the fds are its only ones. */
struct sim_guest_args {
	uint32_t	domid;
	int		dir_fd;		/* O_PATH of the dom dir */
	int		ctl_fd;		/* listening ctl.sock */
	int		pty_fd;		/* pty master */
	int		slave_fd;	/* held: no EIO/HUP on the master */
	int		log_fd;		/* console log, O_APPEND */
	int		mem_fd;		/* memfd, kept: "memfds" hands it out */
	int		dirty_fd;	/* memfd, kept too */
	int		shared_fd;
	int		status_fd;	/* start report to the backend */
	int		lease_fd;	/* the domain's lease (lease.h), or -1 */
	int		disk_fd;	/* sim_disk_counter's disk, or -1 */
	/* memfd: a bit per DISKCOPY_CHUNK of that disk, set by every write
	 * (diskcopy_dirty_mark) for a live copy to take; -1 with no disk */
	int		disk_dirty_fd;
	uint64_t	disk_size;
	int		disk_scribble;	/* sim_disk_counter = 2 */
	uint64_t	nr_pages;
	unsigned	tick_ms;
	unsigned	dirty_rate;	/* pages per second */
	int		restored;	/* start paused, verify on unpause */
	struct sim_vcpu	vcpu;
	char		lease_holder[160];	/* "HOST NAME (domain ID)" */
};

/* What the guest writes on status_fd once it is ready (or failed). */
struct sim_guest_status {
	pid_t		pid;
	int		error;		/* 0 = ready */
	char		msg[200];
};

/* Runs the guest in the forked image; never returns. */
void	sim_guest_main(struct sim_guest_args *) __attribute__((noreturn));

/* Contents of data page p at generation g (g > 0): word i. */
static inline uint64_t
sim_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t
sim_page_word(uint64_t pfn, uint32_t gen, unsigned i)
{
	if (i == 0)
		return pfn << 32 | gen;
	return sim_mix64((pfn * 0x9e3779b97f4a7c15ULL) ^
	    ((uint64_t)gen << 40) ^ i);
}

#endif
