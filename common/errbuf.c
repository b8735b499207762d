#include <stdarg.h>
#include <stdio.h>

#include "errbuf.h"

void
errbuf_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errbuf_vset(err, errlen, fmt, ap);
	va_end(ap);
}

void
errbuf_vset(char *err, size_t errlen, const char *fmt, va_list ap)
{
	size_t i;

	if (err == NULL || errlen == 0)
		return;
	vsnprintf(err, errlen, fmt, ap);
	for (i = 0; err[i] != '\0'; i++)
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
			err[i] = '?';
}
