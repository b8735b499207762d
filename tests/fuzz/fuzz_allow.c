/*
 * libFuzzer target: relocation_hosts_allow entries (common/allow.c):
 * addresses, CIDRs, names, globs and xend-style regexes, then matching
 * against addresses and certificate names taken from the same input.
 * Input: entries separated by newlines; after a NUL byte, the names to
 * match, separated by newlines.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allow.h"

#define FUZZ_MAX_NAMES	8

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct allow_list *al;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	char *buf, *p, *nl, *names[FUZZ_MAX_NAMES], *rest;
	char err[512];
	size_t n = 0, added = 0;

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	rest = buf + strlen(buf) < buf + size ? buf + strlen(buf) + 1 : NULL;
	if ((al = allow_new()) == NULL) {
		free(buf);
		return 0;
	}
	for (p = buf; p != NULL && *p != '\0'; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		if (allow_add(al, p, err, sizeof(err)) == 0)
			added++;
		else if (err[0] == '\0')
			abort();	/* a refusal must say why */
	}
	if (allow_count(al) != added)
		abort();
	for (p = rest; p != NULL && *p != '\0' && n < FUZZ_MAX_NAMES;
	    p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		names[n++] = p;
	}
	(void)allow_match_names(al, names, n);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (size >= 4)
		memcpy(&sin.sin_addr, data + size - 4, 4);
	(void)allow_match_addr(al, (struct sockaddr *)&sin);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	if (size >= 16)
		memcpy(&sin6.sin6_addr, data + size - 16, 16);
	(void)allow_match_addr(al, (struct sockaddr *)&sin6);
	/* An empty list allows nobody. */
	if (added == 0 && (allow_match_names(al, names, n) ||
	    allow_match_addr(al, (struct sockaddr *)&sin)))
		abort();
	(void)allow_addresses_only(al);
	allow_free(al);
	free(buf);
	return 0;
}
