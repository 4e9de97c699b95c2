/*
 * fuzz_commit.c -- the commit parser on hostile bytes. Beyond "no crash,
 * no leak": whatever it accepts must be writable again (the parser only
 * lets through signatures the writer accepts), and what is written must
 * parse back to the same fields. The light parse of history walks must
 * accept exactly what the full one accepts, with the same fields.
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

	gkv__commit_graph g = {0};
	int grc;

	memset(&id, 0x24, sizeof(id));
	rc = gkv__commit_parse(&c, data, size, size % 2 ? &id : NULL);
	grc = gkv__commit_parse_graph(&g, data, size, size % 2 ? &id : NULL);
	FUZZ_CHECK(grc == rc);
	if (rc == 0) {
		FUZZ_CHECK(gkv_oid_equal(&g.tree, &c.tree) && g.nparents == c.nparents &&
			   g.time == c.committer.time);
		for (size_t i = 0; i < c.nparents; i++)
			FUZZ_CHECK(gkv_oid_equal(&g.parents[i], &c.parents[i]));
		check_accepted(&c);
		gkv__commit_raw_dispose(&c);
	} else {
		FUZZ_CHECK(rc == GKV_E_CORRUPT);
		FUZZ_CHECK(c.parents == NULL && c.message == NULL && c.author.name == NULL);
		FUZZ_CHECK(g.nparents == 0);
	}
	gkv__commit_graph_dispose(&g);
	return 0;
}
