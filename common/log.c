#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_to_stderr = 1;
static int log_verbose;
static const char *log_title = "";

static void log_line(int, const char *);
static void log_vlog(int, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

void
log_init(int debug, int facility)
{
	log_to_stderr = debug;
	if (!debug)
		openlog("relocd", LOG_PID | LOG_NDELAY, facility);
	tzset();
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
log_getverbose(void)
{
	return log_verbose;
}

void
log_procinit(const char *title)
{
	if (title != NULL)
		log_title = title;
}

static void
log_line(int pri, const char *msg)
{
	char line[2400];
	struct timespec ts;
	struct tm tm;
	int n;

	if (!log_to_stderr) {
		syslog(pri, "%s%s%s", log_title, *log_title ? ": " : "", msg);
		return;
	}
	/* One write(2) per line, so lines of concurrent workers sharing
	 * one log file never interleave mid-line. */
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld [%ld]%s%s: %s\n",
	    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
	    (long)getpid(), *log_title ? " " : "", log_title, msg);
	if (n >= (int)sizeof(line))
		n = sizeof(line) - 1;
	if (write(STDERR_FILENO, line, n) < 0) {
		/* stderr is gone: nowhere left to say so */
	}
}

static void
log_vlog(int pri, int with_errno, const char *fmt, va_list ap)
{
	char buf[2048];
	int saved_errno = errno;
	size_t len;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (with_errno && saved_errno != 0) {
		len = strlen(buf);
		snprintf(buf + len, sizeof(buf) - len, ": %s",
		    strerror(saved_errno));
	}
	log_line(pri, buf);
	errno = saved_errno;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_WARNING, 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_WARNING, 0, fmt, ap);
	va_end(ap);
}

void
log_crit(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	log_vlog(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
