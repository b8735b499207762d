/*
 * vecguard: whether this process's vector registers keep their values
 * while it runs.  It loads ymm0-ymm15 (or xmm0-xmm15 with -x) with known
 * patterns, spins on integer instructions only (so every change is made
 * outside the process: the kernel, the hypervisor or the emulator
 * below), stores them and compares, for SECONDS.  Built static for the
 * dom0 by run.sh; the live PVH damage experiments (README, check-xen)
 * run it beside the moves.
 *
 * vecguard [-x] SECONDS: prints "rounds N bad M" and the first bad
 * registers; exit 0 when M is 0, 1 otherwise.  -x, or a CPU without
 * AVX: xmm0-xmm15 only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint8_t want[16][32] __attribute__((aligned(32)));
static uint8_t got[16][32] __attribute__((aligned(32)));

/* Everything between the loads and the stores is integer code. */
static void
round_ymm(unsigned long spin)
{
	__asm__ volatile(
	    "vmovdqa 0(%1), %%ymm0\n\tvmovdqa 32(%1), %%ymm1\n\t"
	    "vmovdqa 64(%1), %%ymm2\n\tvmovdqa 96(%1), %%ymm3\n\t"
	    "vmovdqa 128(%1), %%ymm4\n\tvmovdqa 160(%1), %%ymm5\n\t"
	    "vmovdqa 192(%1), %%ymm6\n\tvmovdqa 224(%1), %%ymm7\n\t"
	    "vmovdqa 256(%1), %%ymm8\n\tvmovdqa 288(%1), %%ymm9\n\t"
	    "vmovdqa 320(%1), %%ymm10\n\tvmovdqa 352(%1), %%ymm11\n\t"
	    "vmovdqa 384(%1), %%ymm12\n\tvmovdqa 416(%1), %%ymm13\n\t"
	    "vmovdqa 448(%1), %%ymm14\n\tvmovdqa 480(%1), %%ymm15\n\t"
	    "1: dec %0\n\tjnz 1b\n\t"
	    "vmovdqa %%ymm0, 0(%2)\n\tvmovdqa %%ymm1, 32(%2)\n\t"
	    "vmovdqa %%ymm2, 64(%2)\n\tvmovdqa %%ymm3, 96(%2)\n\t"
	    "vmovdqa %%ymm4, 128(%2)\n\tvmovdqa %%ymm5, 160(%2)\n\t"
	    "vmovdqa %%ymm6, 192(%2)\n\tvmovdqa %%ymm7, 224(%2)\n\t"
	    "vmovdqa %%ymm8, 256(%2)\n\tvmovdqa %%ymm9, 288(%2)\n\t"
	    "vmovdqa %%ymm10, 320(%2)\n\tvmovdqa %%ymm11, 352(%2)\n\t"
	    "vmovdqa %%ymm12, 384(%2)\n\tvmovdqa %%ymm13, 416(%2)\n\t"
	    "vmovdqa %%ymm14, 448(%2)\n\tvmovdqa %%ymm15, 480(%2)\n\t"
	    "vzeroupper\n\t"
	    : "+r"(spin)
	    : "r"(want), "r"(got)
	    : "memory", "cc");
}

static void
round_xmm(unsigned long spin)
{
	__asm__ volatile(
	    "movdqa 0(%1), %%xmm0\n\tmovdqa 32(%1), %%xmm1\n\t"
	    "movdqa 64(%1), %%xmm2\n\tmovdqa 96(%1), %%xmm3\n\t"
	    "movdqa 128(%1), %%xmm4\n\tmovdqa 160(%1), %%xmm5\n\t"
	    "movdqa 192(%1), %%xmm6\n\tmovdqa 224(%1), %%xmm7\n\t"
	    "movdqa 256(%1), %%xmm8\n\tmovdqa 288(%1), %%xmm9\n\t"
	    "movdqa 320(%1), %%xmm10\n\tmovdqa 352(%1), %%xmm11\n\t"
	    "movdqa 384(%1), %%xmm12\n\tmovdqa 416(%1), %%xmm13\n\t"
	    "movdqa 448(%1), %%xmm14\n\tmovdqa 480(%1), %%xmm15\n\t"
	    "1: dec %0\n\tjnz 1b\n\t"
	    "movdqa %%xmm0, 0(%2)\n\tmovdqa %%xmm1, 32(%2)\n\t"
	    "movdqa %%xmm2, 64(%2)\n\tmovdqa %%xmm3, 96(%2)\n\t"
	    "movdqa %%xmm4, 128(%2)\n\tmovdqa %%xmm5, 160(%2)\n\t"
	    "movdqa %%xmm6, 192(%2)\n\tmovdqa %%xmm7, 224(%2)\n\t"
	    "movdqa %%xmm8, 256(%2)\n\tmovdqa %%xmm9, 288(%2)\n\t"
	    "movdqa %%xmm10, 320(%2)\n\tmovdqa %%xmm11, 352(%2)\n\t"
	    "movdqa %%xmm12, 384(%2)\n\tmovdqa %%xmm13, 416(%2)\n\t"
	    "movdqa %%xmm14, 448(%2)\n\tmovdqa %%xmm15, 480(%2)\n\t"
	    : "+r"(spin)
	    : "r"(want), "r"(got)
	    : "memory", "cc");
}

int
main(int argc, char *argv[])
{
	int xmm = 0, r, i, j, width;
	unsigned long rounds = 0, bad = 0, shown = 0;
	time_t end;

	if (argc > 1 && strcmp(argv[1], "-x") == 0) {
		xmm = 1;
		argc--;
		argv++;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: vecguard [-x] seconds\n");
		return 2;
	}
	/* Without AVX (a CPU model with -avx) the SSE registers. */
	if (!xmm && !__builtin_cpu_supports("avx"))
		xmm = 1;
	width = xmm ? 16 : 32;
	for (r = 0; r < 16; r++)
		for (i = 0; i < 32; i++)
			want[r][i] = (uint8_t)(0x5a ^ (r * 37 + i * 11));
	end = time(NULL) + atol(argv[1]);
	while (time(NULL) < end) {
		memset(got, 0, sizeof(got));
		if (xmm)
			round_xmm(2000000);
		else
			round_ymm(2000000);
		rounds++;
		for (r = 0; r < 16; r++) {
			for (i = 0; i < width; i++)
				if (got[r][i] != want[r][i])
					break;
			if (i == width)
				continue;
			bad++;
			if (shown++ < 8) {
				printf(
				    "round %lu: %smm%d differs from byte %d:",
				    rounds, xmm ? "x" : "y", r, i);
				for (j = 0; j < width; j++)
					printf(" %02x", got[r][j]);
				printf("\n");
			}
		}
	}
	printf("vecguard %s: rounds %lu bad %lu\n", xmm ? "xmm" : "ymm", rounds,
	    bad);
	return bad != 0;
}
