/*
 * test-commit: a commit's notes (lib/commit.h): the extension entries
 * vb-history shows, decoded by the library, with malformed entries
 * skipped and a malformed list refused.
 */
#include <string.h>

#include "check.h"
#include "commit.h"
#include "le.h"

struct seen {
	struct vb_commit_note n[8];
	char names[8][32];
	size_t count, stop_at;
};

static enum vb_err keep(void *arg, const struct vb_commit_note *n)
{
	struct seen *s = arg;

	if (s->count == s->stop_at)
		return vb_err_set(VB_EPIPE, "stop");
	REQUIRE(s->count < 8 && n->name_len < 32);
	s->n[s->count] = *n;
	if (n->name)
		memcpy(s->names[s->count], n->name, n->name_len);
	s->names[s->count][n->name_len] = 0;
	s->count++;
	return VB_OK;
}

static void add(struct vb_commit *c, unsigned type, const void *d, size_t n)
{
	REQUIRE(vb_ext_add(c->ext, &c->ext_len, type, d, n) == VB_OK);
}

int main(void)
{
	static struct vb_commit c;
	unsigned char e[40];
	struct seen s;

	/* every kind of note, in order, and entries that are not notes */
	vb_le_put64(e, 77);
	add(&c, VB_EXT_AT_VERSION, e, 8);
	vb_le_put64(e, 12345678901ULL);
	memcpy(e + 8, "start", 5);
	add(&c, VB_EXT_ANCHOR, e, 13);
	add(&c, VB_EXT_UNANCHOR, "old", 3);
	add(&c, VB_EXT_ORIGIN, e, 4);       /* not a note */
	add(&c, VB_EXT_AT_VERSION, e, 4);   /* malformed: skipped */
	add(&c, VB_EXT_ANCHOR, e, 8);       /* an anchor without a name */
	add(&c, 200, "xyz", 3);             /* unknown type */
	memset(&s, 0, sizeof s);
	s.stop_at = 99;
	CHECK(vb_commit_notes(&c, keep, &s) == VB_OK);
	CHECK_EQ_U64(s.count, 3);
	CHECK(s.n[0].type == VB_EXT_AT_VERSION && s.n[0].value == 77 && !s.n[0].name);
	CHECK(s.n[1].type == VB_EXT_ANCHOR && s.n[1].value == 12345678901ULL &&
	      !strcmp(s.names[1], "start"));
	CHECK(s.n[2].type == VB_EXT_UNANCHOR && !strcmp(s.names[2], "old"));

	/* the callback's failure stops the walk with its code */
	memset(&s, 0, sizeof s);
	s.stop_at = 1;
	CHECK(vb_commit_notes(&c, keep, &s) == VB_EPIPE);
	CHECK_EQ_U64(s.count, 1);

	/* an entry whose length runs past the list: the list is refused */
	c.ext[c.ext_len++] = VB_EXT_UNANCHOR;
	c.ext[c.ext_len++] = 50;
	c.ext[c.ext_len++] = 0;
	memset(&s, 0, sizeof s);
	s.stop_at = 99;
	CHECK(vb_commit_notes(&c, keep, &s) == VB_ECORRUPT);

	/* no extensions: no notes */
	memset(&c, 0, sizeof c);
	memset(&s, 0, sizeof s);
	s.stop_at = 99;
	CHECK(vb_commit_notes(&c, keep, &s) == VB_OK);
	CHECK_EQ_U64(s.count, 0);
	return test_status("commit");
}
