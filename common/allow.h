/*
 * relocation_hosts_allow (relocd.conf(5), ALLOW LIST).  Entry kinds:
 *	192.0.2.7, 2001:db8::1, 10.0.0.0/8	address / CIDR: checked at accept
 *	hosta.example.org			DNS name: certificate names
 *	*.example.org				glob: one or more labels, never
 *						the bare domain
 *	^host[ab]\.example\.org$		regex (POSIX ERE, xend compat):
 *						anchored at both ends, matched
 *						against certificate names and
 *						the textual address
 * Never reverse DNS.  An empty list allows nobody.
 */
#ifndef ALLOW_H
#define ALLOW_H

#include <stddef.h>
#include <sys/socket.h>

struct allow_list;

struct allow_list *allow_new(void);
void	allow_free(struct allow_list *);
/* 0 or -1 with a message naming the entry and what is wrong with it. */
int	allow_add(struct allow_list *, const char *entry, char *err,
	    size_t errlen);
size_t	allow_count(const struct allow_list *);
/* 1 if no entry could match anything but an address: the list is empty
 * or holds only address entries, so a peer can be judged at accept. */
int	allow_addresses_only(const struct allow_list *);
/* 1 if an address entry (or a regex) matches the peer address. */
int	allow_match_addr(const struct allow_list *, const struct sockaddr *);
/* 1 if a name, glob or regex entry matches one of the names. */
int	allow_match_names(const struct allow_list *, char *const *names,
	    size_t nnames);

#endif
