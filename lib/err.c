/*
 * err: the names of the error codes and the detail messages behind
 * enum vb_err (contract in err.h).
 *
 * The detail and the errno behind it are _Thread_local, so threads never
 * see each other's failures; nothing here allocates or can fail.  A detail
 * is cut at DETAIL_MAX - 1 bytes; vb_err_sys keeps at most 500 bytes of
 * its context and 400 of strerror's text, and vb_err_prefix 500 of each
 * part, so a long path cannot push the cause out of the message.  The
 * string vb_err_detail returns is the thread's buffer itself: valid for
 * the thread's life, its text replaced by the thread's next failure.
 */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DETAIL_MAX 1024

static _Thread_local char detail[DETAIL_MAX];
static _Thread_local int detail_errno;

static const char *const names[VB_ERR_COUNT] = {
	[VB_OK] = "success",
	[VB_EIO] = "input/output error",
	[VB_ENOMEM] = "out of memory",
	[VB_EINVAL] = "invalid argument",
	[VB_ERANGE] = "out of range",
	[VB_ENOENT] = "no such store",
	[VB_EEXIST] = "store already exists",
	[VB_ENOTSTORE] = "not a vb store",
	[VB_EFORMAT] = "unsupported store format",
	[VB_ECORRUPT] = "store is corrupt",
	[VB_EBASE] = "base file missing or changed",
	[VB_ELOCKED] = "timed out waiting for the write lock",
	[VB_ECONFLICT] = "version conflict",
	[VB_EPIPE] = "broken pipe",
	[VB_ELIMIT] = "limit exceeded",
	[VB_ENEEDMORE] = "need more data",
	[VB_EFULL] = "buffer too large",
	[VB_EFRAME] = "frame too large",
	[VB_ESTATE] = "operation not allowed now",
};

const char *vb_strerror(enum vb_err code)
{
	if ((unsigned)code >= VB_ERR_COUNT)
		return "unknown error";
	return names[code];
}

const char *vb_err_detail(void)
{
	return detail;
}

int vb_err_errno(void)
{
	return detail_errno;
}

enum vb_err vb_err_set(enum vb_err code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	detail_errno = 0;
	return code;
}

enum vb_err vb_err_sys(const char *fmt, ...)
{
	int e = errno;
	char what[DETAIL_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(detail, sizeof detail, "%.500s: %.400s", what, strerror(e));
	detail_errno = e;
	if (e == ENOMEM)
		return VB_ENOMEM;
	if (e == EPIPE)
		return VB_EPIPE;
	return VB_EIO;
}

void vb_err_prefix(const char *fmt, ...)
{
	char ctx[DETAIL_MAX / 2];
	char old[DETAIL_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof ctx, fmt, ap);
	va_end(ap);
	memcpy(old, detail, sizeof old - 1);
	old[sizeof old - 1] = 0;
	snprintf(detail, sizeof detail, "%.500s: %.500s", ctx, old);
}
