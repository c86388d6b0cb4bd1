// SPDX-License-Identifier: GPL-2.0-only
/*
 * syscall_loop: call getpid(2) N times in each of T threads, thread i pinned to
 * CPU i modulo the CPU count, and print the wall time per call.
 *
 *   syscall_loop N [THREADS [FIRST_CPU [RATE]]]
 *
 * RATE (calls per second per thread, 0: as fast as it can) paces each thread:
 * before each batch of calls it spins, reading the clock (vDSO: no system call,
 * so nothing traced), until the batch is due.
 *
 * Output, one line: "calls=<total> threads=<T> ns=<wall ns> ns_per_call=<float>".
 * The raw syscall keeps glibc from caching or wrapping anything: each iteration is
 * exactly one syscall entry and one exit.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct worker {
	pthread_t thread;
	long calls;
	int cpu;
	double ns_per_call;	/* pacing: 0 for none */
};

/* Calls between two looks at the clock when paced. */
#define PACE_BATCH 16

static pthread_barrier_t start_line;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	long long start;
	long i;

	if (pin(w->cpu)) {
		perror("syscall_loop: sched_setaffinity");
		exit(2);
	}
	pthread_barrier_wait(&start_line);
	if (w->ns_per_call == 0) {
		for (i = 0; i < w->calls; i++)
			syscall(SYS_getpid);
		return NULL;
	}
	start = now_ns();
	for (i = 0; i < w->calls; i++) {
		if (i % PACE_BATCH == 0)
			while (now_ns() - start < (long long)(i * w->ns_per_call))
				;
		syscall(SYS_getpid);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 0;
	int threads = argc > 2 ? atoi(argv[2]) : 1;
	int first = argc > 3 ? atoi(argv[3]) : 0;
	double rate = argc > 4 ? atof(argv[4]) : 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct worker *w;
	long long begin, end;
	int i;

	if (calls <= 0 || threads <= 0 || first < 0 || rate < 0 || ncpu <= 0) {
		fprintf(stderr, "usage: syscall_loop N [THREADS [FIRST_CPU [RATE]]]\n");
		return 2;
	}
	w = calloc(threads, sizeof(*w));
	if (!w || pthread_barrier_init(&start_line, NULL, threads + 1)) {
		fprintf(stderr, "syscall_loop: out of memory\n");
		return 2;
	}
	for (i = 0; i < threads; i++) {
		w[i].calls = calls;
		w[i].cpu = (first + i) % ncpu;
		w[i].ns_per_call = rate > 0 ? 1e9 / rate : 0;
		if (pthread_create(&w[i].thread, NULL, work, &w[i])) {
			fprintf(stderr, "syscall_loop: pthread_create failed\n");
			return 2;
		}
	}
	begin = now_ns();
	pthread_barrier_wait(&start_line);
	for (i = 0; i < threads; i++)
		pthread_join(w[i].thread, NULL);
	end = now_ns();
	printf("calls=%ld threads=%d ns=%lld ns_per_call=%.2f\n", calls * threads, threads,
	       end - begin, (double)(end - begin) / calls);
	free(w);
	return 0;
}
