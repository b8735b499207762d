/*
 * cutproxy: a fault-injecting TCP proxy for the fault scenarios.
 *
 *	cutproxy -l ADDR:PORT -t ADDR:PORT [-d up|down] [-k BYTES]
 *	    [-m cut|stall|pass] [-T SECONDS]
 *
 * Listens on -l, forwards each connection to -t.  In the direction -d
 * (up: client to server, the migration stream; down: server to client),
 * after -k bytes of a connection the link is cut (both sockets closed
 * with a reset) or stalled (nothing more is forwarded either way, the
 * sockets stay open: a peer that went silent).  "pass" forwards all.
 * SIGUSR1 cuts every open connection at once, SIGUSR2 stalls them: the
 * tests use these to fault a link at a phase rather than at a byte.
 * Every process ends after -T seconds (default 120), so a forgotten
 * proxy cannot outlive its test for long; SIGTERM ends it and its
 * connection children at once.  Loopback only: both addresses must be
 * in 127.0.0.0/8.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CHILDREN	64

enum mode { M_PASS, M_CUT, M_STALL };

static pid_t	children[MAX_CHILDREN];
static int	nchildren;
static volatile sig_atomic_t got_cut, got_stall;

static void	usage(void) __attribute__((noreturn));
static int	parse_addr(const char *, struct sockaddr_in *);
static void	on_term(int);
static void	on_fault(int);
static void	reset_close(int);
static void	relay(int, const struct sockaddr_in *, int, long long,
		    enum mode) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: cutproxy -l addr:port -t addr:port "
	    "[-d up|down] [-k bytes] [-m cut|stall|pass] [-T seconds]\n");
	exit(2);
}

static int
parse_addr(const char *s, struct sockaddr_in *sin)
{
	char buf[64], *colon;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	if ((colon = strrchr(buf, ':')) == NULL)
		return -1;
	*colon = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1 ||
	    (ntohl(sin->sin_addr.s_addr) >> 24) != 127 || sin->sin_port == 0)
		return -1;
	return 0;
}

static void
on_term(int sig)
{
	int i;

	for (i = 0; i < nchildren; i++)
		if (children[i] > 0)
			kill(children[i], SIGKILL);
	_exit(0);
}

/* In the parent: pass it on; in a child: note it for the relay loop. */
static void
on_fault(int sig)
{
	int i;

	if (nchildren > 0) {
		for (i = 0; i < nchildren; i++)
			if (children[i] > 0)
				kill(children[i], sig);
		return;
	}
	if (sig == SIGUSR1)
		got_cut = 1;
	else
		got_stall = 1;
}

/* A cut link: the peers see the connection reset. */
static void
reset_close(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void
relay(int cfd, const struct sockaddr_in *to, int dir_up, long long limit,
    enum mode mode)
{
	static char buf[65536];
	struct pollfd pfd[2];
	long long moved[2] = { 0, 0 };	/* [0] up, [1] down */
	int sfd, i, src, dst, faulted = 0, eof[2] = { 0, 0 };
	ssize_t n, want, w, off;

	if ((sfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(sfd, (const struct sockaddr *)to, sizeof(*to)) == -1) {
		perror("cutproxy: connect");
		_exit(1);
	}
	if (mode == M_CUT && limit == 0) {
		reset_close(cfd);
		reset_close(sfd);
		_exit(0);
	}
	faulted = mode == M_STALL && limit == 0;
	for (;;) {
		pfd[0].fd = eof[0] ? -1 : cfd;
		pfd[1].fd = eof[1] ? -1 : sfd;
		pfd[0].events = pfd[1].events = faulted ? 0 : POLLIN;
		if (poll(pfd, 2, 1000) == -1 && errno != EINTR)
			_exit(1);
		if (got_cut) {
			fprintf(stderr, "cutproxy: cut on signal after %lld "
			    "bytes up, %lld down\n", moved[0], moved[1]);
			reset_close(cfd);
			reset_close(sfd);
			_exit(0);
		}
		if (got_stall && !faulted) {
			fprintf(stderr, "cutproxy: stalled on signal after "
			    "%lld bytes up, %lld down\n", moved[0], moved[1]);
			faulted = 1;
		}
		if (faulted)
			continue;	/* stalled: silent until killed */
		for (i = 0; i < 2; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			src = i == 0 ? cfd : sfd;
			dst = i == 0 ? sfd : cfd;
			want = sizeof(buf);
			if (mode != M_PASS && (i == 0) == (dir_up != 0) &&
			    limit - moved[i] < want)
				want = (ssize_t)(limit - moved[i]);
			n = want > 0 ? read(src, buf, (size_t)want) : 0;
			if (n < 0)
				_exit(0);
			if (n == 0) {
				/* half-close: keep relaying the other way */
				shutdown(dst, SHUT_WR);
				eof[i] = 1;
				if (eof[0] && eof[1])
					_exit(0);
				continue;
			}
			for (off = 0; off < n; off += w)
				if ((w = write(dst, buf + off,
				    (size_t)(n - off))) <= 0)
					_exit(0);
			moved[i] += n;
			if (mode != M_PASS && (i == 0) == (dir_up != 0) &&
			    moved[i] >= limit) {
				fprintf(stderr, "cutproxy: %s after %lld bytes "
				    "%s\n", mode == M_CUT ? "cut" : "stalled",
				    moved[i], dir_up ? "up" : "down");
				if (mode == M_CUT) {
					reset_close(cfd);
					reset_close(sfd);
					_exit(0);
				}
				faulted = 1;
				break;
			}
		}
	}
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in lsin, tsin;
	enum mode mode = M_PASS;
	long long limit = 0;
	int ch, lfd, cfd, on = 1, up = 1, lifetime = 120, i, have_l = 0,
	    have_t = 0;
	pid_t pid;

	while ((ch = getopt(argc, argv, "d:k:l:m:t:T:")) != -1) {
		switch (ch) {
		case 'd':
			if (strcmp(optarg, "up") == 0)
				up = 1;
			else if (strcmp(optarg, "down") == 0)
				up = 0;
			else
				usage();
			break;
		case 'k':
			limit = atoll(optarg);
			break;
		case 'l':
			if (parse_addr(optarg, &lsin) == -1)
				usage();
			have_l = 1;
			break;
		case 'm':
			if (strcmp(optarg, "cut") == 0)
				mode = M_CUT;
			else if (strcmp(optarg, "stall") == 0)
				mode = M_STALL;
			else if (strcmp(optarg, "pass") == 0)
				mode = M_PASS;
			else
				usage();
			break;
		case 't':
			if (parse_addr(optarg, &tsin) == -1)
				usage();
			have_t = 1;
			break;
		case 'T':
			lifetime = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (!have_l || !have_t || lifetime <= 0 || limit < 0)
		usage();
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_fault);
	signal(SIGUSR2, on_fault);
	alarm((unsigned)lifetime);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(lfd, (struct sockaddr *)&lsin, sizeof(lsin)) == -1 ||
	    listen(lfd, 16) == -1) {
		perror("cutproxy: listen");
		return 1;
	}
	printf("cutproxy: listening\n");
	fflush(stdout);
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if ((cfd = accept(lfd, NULL, NULL)) == -1) {
			if (errno == EINTR)
				continue;
			perror("cutproxy: accept");
			return 1;
		}
		if (nchildren >= MAX_CHILDREN) {
			close(cfd);
			continue;
		}
		switch (pid = fork()) {
		case -1:
			close(cfd);
			continue;
		case 0:
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			nchildren = 0;
			alarm((unsigned)lifetime);	/* not inherited */
			close(lfd);
			relay(cfd, &tsin, up, limit, mode);
		default:
			children[nchildren++] = pid;
			close(cfd);
		}
		for (i = 0; i < nchildren; i++)
			if (children[i] > 0 && kill(children[i], 0) == -1)
				children[i] = 0;
	}
}
