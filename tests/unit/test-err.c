/*
 * test-err: error codes, detail messages and their thread-locality.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "err.h"

static void *other_thread(void *arg)
{
	(void)arg;
	vb_err_set(VB_ERANGE, "from the other thread");
	return NULL;
}

int main(void)
{
	CHECK(!strcmp(vb_strerror(VB_OK), "success"));
	CHECK(!strcmp(vb_strerror(VB_ECORRUPT), "store is corrupt"));
	CHECK(!strcmp(vb_strerror((enum vb_err)999), "unknown error"));
	for (int c = 0; c < VB_ERR_COUNT; c++)
		CHECK(vb_strerror((enum vb_err)c)[0] != 0);

	CHECK(vb_err_set(VB_ERANGE, "offset %d is beyond the end", 120) == VB_ERANGE);
	CHECK(!strcmp(vb_err_detail(), "offset 120 is beyond the end"));
	CHECK(vb_err_errno() == 0);

	errno = ENOENT;
	CHECK(vb_err_sys("cannot open '%s'", "x") == VB_EIO);
	CHECK(!strcmp(vb_err_detail(), "cannot open 'x': No such file or directory"));
	CHECK(vb_err_errno() == ENOENT);
	errno = ENOMEM;
	CHECK(vb_err_sys("alloc") == VB_ENOMEM);
	errno = EPIPE;
	CHECK(vb_err_sys("write") == VB_EPIPE);

	vb_err_set(VB_ECORRUPT, "bad footer");
	vb_err_prefix("record at offset %d", 64);
	CHECK(!strcmp(vb_err_detail(), "record at offset 64: bad footer"));

	/* a very long detail is cut, not overflowed */
	char big[4000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	vb_err_set(VB_EINVAL, "%s", big);
	CHECK(strlen(vb_err_detail()) < 1024);
	vb_err_prefix("%s", big);
	CHECK(strlen(vb_err_detail()) < 1024);

	/* details are per thread */
	vb_err_set(VB_EINVAL, "mine");
	pthread_t t;
	REQUIRE(pthread_create(&t, NULL, other_thread, NULL) == 0);
	pthread_join(t, NULL);
	CHECK(!strcmp(vb_err_detail(), "mine"));
	return test_status("err");
}
