/*
 * Messages into a caller's buffer, the (char *err, size_t errlen)
 * convention of common/: a NULL or empty buffer takes nothing, and what
 * lands there is one line.  Messages quote config values (which a "\n"
 * escape can put a newline in) and strings from peers, and end up in log
 * lines and one-line replies, so control bytes become '?'.
 */
#ifndef ERRBUF_H
#define ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

void	errbuf_set(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	errbuf_vset(char *err, size_t errlen, const char *fmt, va_list)
	    __attribute__((format(printf, 3, 0)));

#endif
