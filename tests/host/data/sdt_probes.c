// SPDX-License-Identifier: GPL-2.0-only
/* SDT probes as sys/sdt.h emits them, for the --userspace-probe sdt: tests. */
#include <stdio.h>
#include <stdlib.h>

/* What sys/sdt.h's STAP_PROBE(provider, name) emits: a nop and a stapsdt note. */
#define PYL_SDT(provider, name, sem)						\
	__asm__ volatile("990: nop\n"						\
		".pushsection .note.stapsdt,\"?\",\"note\"\n"			\
		".balign 4\n"							\
		".4byte 992f-991f, 994f-993f, 3\n"				\
		"991: .asciz \"stapsdt\"\n"					\
		"992: .balign 4\n"						\
		"993: .8byte 990b\n"						\
		".8byte 0\n"							\
		".8byte " sem "\n"						\
		".asciz \"" provider "\"\n"					\
		".asciz \"" name "\"\n"						\
		".asciz \"\"\n"							\
		"994: .balign 4\n"						\
		".popsection\n")

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;

	for (int i = 0; i < n; i++) {
		PYL_SDT("pyl", "tick", "0");
		if (i % 2)
			PYL_SDT("pyl", "odd", "0");
	}
	if (n < 0)
		PYL_SDT("pyl", "guarded", "1");
	printf("%d\n", n);
	return 0;
}
