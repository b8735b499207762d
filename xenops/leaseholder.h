/*
 * A domain's lease holder, for a backend whose domains have no process of
 * their own (libxl): a thread inside the process that lives exactly as
 * long as the domain can write its disks (the domain's monitor), keeping
 * the domain's lease (common/lease.c) and answering requests on a unix
 * socket, one a connection, one line each way:
 *
 *	take HOLDER	ok | err REASON		(held already: ok)
 *	give		ok			(the point of no return)
 *	held		ok held | ok free
 *
 * The socket lives in a root-only directory, and the holder answers only
 * its own user (SO_PEERCRED).  relocd, the client, may come and go; the
 * lease stays with the holder's process and goes when it ends.
 */
#ifndef LEASEHOLDER_H
#define LEASEHOLDER_H

#include <sys/socket.h>
#include <sys/un.h>

#include <pthread.h>
#include <stddef.h>

struct lholder {
	pthread_mutex_t	 mtx;
	pthread_t	 tid;
	int		 running;	/* the thread was started */
	int		 lfd;		/* listening socket */
	int		 lease_fd;	/* -1: it could not be opened, see err */
	int		 held;
	char		 err[256];
	char		 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/*
 * Bind and listen at path (0600) for a new holder.  -1 + err if a live
 * holder already answers there (errno EADDRINUSE) or on any failure; a
 * stale socket of a holder that died is replaced.
 */
int	lholder_listen(const char *path, char *err, size_t errlen);
/* Start answering on lfd for uuid's lease in cluster_dir (NULL: no lease,
 * "take" is refused, "held" says free); -1 + err. */
int	lholder_start(struct lholder *, int lfd, const char *path,
	    const char *cluster_dir, const char *uuid, char *err,
	    size_t errlen);
/* The socket is now at newpath (the domain restarted under a new id). */
int	lholder_moved(struct lholder *, const char *newpath);
/* Stop answering, remove the socket, give up the lease. */
void	lholder_stop(struct lholder *);

/*
 * Ask the holder at path; its answer line, without the newline, in reply.
 * 0, or -1 with errno (ENOENT or ECONNREFUSED: no holder there).
 */
int	lholder_ask(const char *path, const char *request, char *reply,
	    size_t len);

#endif
