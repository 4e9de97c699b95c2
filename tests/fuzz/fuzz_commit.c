/*
 * fuzz_commit.c -- the commit parser on hostile bytes. Beyond "no crash,
 * no leak": whatever it accepts must be writable again (the parser only
 * lets through signatures the writer accepts), and what is written must
 * parse back to the same fields.
 */
#include "fuzz.h"

#include "codec.h"

static int same_sig(const gkv_signature *a, const gkv_signature *b)
{
	return !strcmp(a->name, b->name) && !strcmp(a->email, b->email) && a->time == b->time &&
	       a->offset == b->offset;
}

static void check_accepted(const gkv__commit_raw *c)
{
	gkv__sbuf out = GKV__SBUF_INIT;
	gkv__commit_raw again;

	FUZZ_CHECK(c->message != NULL);
	FUZZ_CHECK(gkv__commit_serialize(&out, &c->tree, c->parents, c->nparents, &c->author,
					 &c->committer, c->message) == 0);
	FUZZ_CHECK(gkv__commit_parse(&again, out.ptr, out.size, NULL) == 0);
	FUZZ_CHECK(gkv_oid_equal(&again.tree, &c->tree));
	FUZZ_CHECK(again.nparents == c->nparents);
	for (size_t i = 0; i < c->nparents; i++)
		FUZZ_CHECK(gkv_oid_equal(&again.parents[i], &c->parents[i]));
	FUZZ_CHECK(same_sig(&again.author, &c->author));
	FUZZ_CHECK(same_sig(&again.committer, &c->committer));
	FUZZ_CHECK(!strcmp(again.message, c->message));
	gkv__commit_raw_dispose(&again);
	gkv__sbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gkv__commit_raw c;
	gkv_oid id;
	int rc;

	memset(&id, 0x24, sizeof(id));
	rc = gkv__commit_parse(&c, data, size, size % 2 ? &id : NULL);
	if (rc == 0) {
		check_accepted(&c);
		gkv__commit_raw_dispose(&c);
	} else {
		FUZZ_CHECK(rc == GKV_E_CORRUPT);
		FUZZ_CHECK(c.parents == NULL && c.message == NULL && c.author.name == NULL);
	}
	return 0;
}
