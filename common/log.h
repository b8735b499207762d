/*
 * Logging in the relayd manner: to stderr before daemonizing (or with -d),
 * to syslog after.  log_warn appends strerror(errno); log_warnx does not.
 * fatal/fatalx are for broken invariants only.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

void	log_init(int debug, int facility);
void	log_setverbose(int verbose);
int	log_getverbose(void);
void	log_procinit(const char *title);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_crit(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2)))
	    __attribute__((noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2)))
	    __attribute__((noreturn));

#endif
