/*
 * err: error codes and detail messages for the vb library.
 *
 * Every fallible library function returns an `enum vb_err`.  VB_OK is zero,
 * so `if (rc)` tests for failure.  A function that fails also records a
 * one-line detail message (no program name, no file name unless it is not
 * the caller's: "offset 120 is beyond the end (length 100)") in a
 * thread-local buffer, readable with vb_err_detail() until the next failure
 * on the same thread.  The library never prints; commands turn the code
 * into an exit status and print "PROG: FILE: DETAIL".
 */
#ifndef VB_ERR_H
#define VB_ERR_H

enum vb_err {
	VB_OK = 0,
	VB_EIO,        /* a system call failed (errno kept in the detail) */
	VB_ENOMEM,     /* an allocation failed */
	VB_EINVAL,     /* invalid argument: malformed number, bad option value */
	VB_ERANGE,     /* a position or range outside the content */
	VB_ENOENT,     /* store (or version) does not exist */
	VB_EEXIST,     /* store already exists */
	VB_ENOTSTORE,  /* file is not a vb store */
	VB_EFORMAT,    /* unknown format version or incompatible feature */
	VB_ECORRUPT,   /* checksum mismatch, bad record, torn header */
	VB_EBASE,      /* base file missing or changed */
	VB_ELOCKED,    /* timed out waiting for the write lock */
	VB_ECONFLICT,  /* head is not the expected version */
	VB_EPIPE,      /* output closed by the reader */
	VB_ELIMIT,     /* a configured limit would be exceeded */
	VB_ENEEDMORE,  /* stream buffers: more input is needed to decide */
	VB_EFULL,      /* stream buffers: the buffer would exceed its maximum */
	VB_EFRAME,     /* a frame is larger than allowed */
	VB_ESTATE,     /* an operation not allowed now (reservation misuse) */
	VB_ERR_COUNT
};

/* Short static description of a code ("checksum mismatch"). */
const char *vb_strerror(enum vb_err code);

/* The detail message of the last failure on this thread ("" if none). */
const char *vb_err_detail(void);

/* errno of the system call behind the last VB_EIO on this thread, or 0. */
int vb_err_errno(void);

/* Record a failure: set the detail (printf format) and return `code`. */
enum vb_err vb_err_set(enum vb_err code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Record a failed system call: detail is "WHAT: strerror(errno)", code is
 * VB_EIO (VB_ENOMEM for ENOMEM, VB_EPIPE for EPIPE), errno is kept. */
enum vb_err vb_err_sys(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Prefix the current detail with more context: "CONTEXT: old detail". */
void vb_err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
