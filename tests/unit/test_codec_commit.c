/*
 * test_codec_commit.c -- git's commit format: exact bytes written, what
 * git writes read back (extra headers, signed and merge-tag commits,
 * zones), and every malformation refused, each by a commit that breaks
 * only that rule.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "codec.h"

#define TREE "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
#define P1 "1111111111111111111111111111111111111111"
#define P2 "2222222222222222222222222222222222222222"
#define AUTHOR "author A U Thor <author@example.com> 1112911993 -0700\n"
#define COMMITTER "committer C O Mitter <committer@example.com> 1112912053 +0530\n"
#define HEAD "tree " TREE "\nparent " P1 "\n" AUTHOR COMMITTER

static gkv_signature sig(const char *name, const char *email, int64_t t, int off)
{
	gkv_signature s = {(char *)name, (char *)email, t, off};

	return s;
}

/*
 * The light parse of the same bytes must agree with the full one: same
 * code, same message, and on success the same tree, parents and
 * committer time.
 */
static void check_light_agrees(const void *data, size_t len, const gkv_oid *id, int rc,
			       const gkv__commit_raw *full, const char *msg)
{
	gkv__commit_graph g;
	int lrc;

	memset(&g, 0, sizeof(g));
	lrc = gkv__commit_parse_graph(&g, data, len, id);
	if (lrc != rc)
		fail_msg("full parse %d, light parse %d (%s)", rc, lrc, gkv_error_last());
	if (rc < 0) {
		assert_string_equal(gkv_error_last(), msg);
		assert_int_equal(g.nparents, 0);
	} else {
		assert_true(gkv_oid_equal(&g.tree, &full->tree));
		assert_int_equal(g.nparents, full->nparents);
		for (size_t i = 0; i < g.nparents; i++)
			assert_true(gkv_oid_equal(&g.parents[i], &full->parents[i]));
		assert_int_equal(g.time, full->committer.time);
	}
	gkv__commit_graph_dispose(&g);
}

/*
 * Parse an exact-size heap copy of text (so overreads are caught), with
 * both parsers: every test of the full parse below checks the light one.
 */
static int parse_len(gkv__commit_raw *c, const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1);
	char msg[512];
	int rc;

	memcpy(copy, text, len);
	rc = gkv__commit_parse(c, copy, len, NULL);
	snprintf(msg, sizeof(msg), "%s", gkv_error_last());
	check_light_agrees(copy, len, NULL, rc, c, msg);
	free(copy);
	return rc;
}

static int parse(gkv__commit_raw *c, const char *text)
{
	return parse_len(c, text, strlen(text));
}

static void expect_corrupt(const char *text)
{
	gkv__commit_raw c;

	if (parse(&c, text) != GKV_E_CORRUPT)
		fail_msg("accepted: %s", text);
	assert_null(c.parents);
	assert_null(c.message);
}

static void test_serialize_exact(void **state)
{
	gkv__sbuf b = GKV__SBUF_INIT;
	gkv_oid tree, parents[2];
	gkv_signature a = sig("A U Thor", "author@example.com", 1112911993, -420);
	gkv_signature c = sig("C O Mitter", "committer@example.com", 1112912053, 330);
	const char *want = "tree " TREE "\nparent " P1 "\nparent " P2 "\n" AUTHOR COMMITTER "\nmsg";

	(void)state;
	assert_int_equal(gkv_oid_fromstr(&tree, TREE), 0);
	assert_int_equal(gkv_oid_fromstr(&parents[0], P1), 0);
	assert_int_equal(gkv_oid_fromstr(&parents[1], P2), 0);
	assert_int_equal(gkv__commit_serialize(&b, &tree, parents, 2, &a, &c, "msg"), 0);
	assert_int_equal(b.size, strlen(want));
	assert_memory_equal(b.ptr, want, b.size);
	gkv__sbuf_free(&b);
}

static void test_serialize_zones(void **state)
{
	static const struct {
		int off;
		const char *text;
	} z[] = {
	    {0, "+0000"},    {-90, "-0130"},   {330, "+0530"}, {-480, "-0800"},
	    {5999, "+9959"}, {-5999, "-9959"}, {1, "+0001"},   {-1, "-0001"},
	};
	gkv_oid tree;

	(void)state;
	memset(&tree, 0, sizeof(tree));
	for (size_t i = 0; i < sizeof(z) / sizeof(z[0]); i++) {
		gkv__sbuf b = GKV__SBUF_INIT;
		gkv_signature s = sig("N", "e", 5, z[i].off);
		gkv__commit_raw c;
		char want[64];

		assert_int_equal(gkv__commit_serialize(&b, &tree, NULL, 0, &s, &s, ""), 0);
		snprintf(want, sizeof(want), "author N <e> 5 %s\n", z[i].text);
		assert_non_null(memmem(b.ptr, b.size, want, strlen(want)));
		assert_int_equal(parse_len(&c, (const char *)b.ptr, b.size), 0);
		assert_int_equal(c.author.offset, z[i].off);
		assert_int_equal(c.committer.offset, z[i].off);
		gkv__commit_raw_dispose(&c);
		gkv__sbuf_free(&b);
	}
}

/* Times are written in decimal, whatever their number of digits. */
static void test_serialize_times(void **state)
{
	static const int64_t t[] = {0, 7, 10, 1700000000, 9999999999LL, INT64_MAX};
	gkv_oid tree;

	(void)state;
	memset(&tree, 0, sizeof(tree));
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		gkv__sbuf b = GKV__SBUF_INIT;
		gkv_signature s = sig("N", "e", t[i], -75);
		gkv__commit_raw c;
		char want[64];

		assert_int_equal(gkv__commit_serialize(&b, &tree, NULL, 0, &s, &s, ""), 0);
		snprintf(want, sizeof(want), "committer N <e> %lld -0115\n", (long long)t[i]);
		assert_non_null(memmem(b.ptr, b.size, want, strlen(want)));
		assert_int_equal(parse_len(&c, (const char *)b.ptr, b.size), 0);
		assert_true(c.committer.time == t[i]);
		gkv__commit_raw_dispose(&c);
		gkv__sbuf_free(&b);
	}
}

static void test_serialize_rejects(void **state)
{
	gkv__sbuf b = GKV__SBUF_INIT;
	gkv_oid tree;
	gkv_signature ok = sig("N", "e", 0, 0);
	gkv_signature bad[] = {
	    sig("N\n", "e", 0, 0), sig("N", "e>", 0, 0),   sig("<N", "e", 0, 0),
	    sig("N", "e", -1, 0),  sig("N", "e", 0, 6000), sig(NULL, "e", 0, 0),
	};

	(void)state;
	memset(&tree, 0, sizeof(tree));
	assert_int_equal(gkv__commit_serialize(&b, NULL, NULL, 0, &ok, &ok, ""), GKV_E_INVALID);
	assert_int_equal(gkv__commit_serialize(&b, &tree, NULL, 1, &ok, &ok, ""), GKV_E_INVALID);
	assert_int_equal(gkv__commit_serialize(&b, &tree, NULL, 0, NULL, &ok, ""), GKV_E_INVALID);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(gkv__commit_serialize(&b, &tree, NULL, 0, &bad[i], &ok, ""),
				 GKV_E_INVALID);
		assert_int_equal(gkv__commit_serialize(&b, &tree, NULL, 0, &ok, &bad[i], ""),
				 GKV_E_INVALID);
	}
	assert_int_equal(b.size, 0);
	/* A NULL message is the empty one. */
	assert_int_equal(gkv__commit_serialize(&b, &tree, NULL, 0, &ok, &ok, NULL), 0);
	assert_int_equal(b.ptr[b.size - 1], '\n');
	assert_int_equal(b.ptr[b.size - 2], '\n');
	gkv__sbuf_free(&b);
}

static void test_roundtrip(void **state)
{
	gkv__sbuf b = GKV__SBUF_INIT;
	gkv_oid tree, parents[3];
	gkv_signature a = sig("Ünï Cøde", "u@x", 0, 0);
	gkv_signature c = sig("C", "", 4102444800LL, -5999);
	gkv__commit_raw r;
	const char *msg = "subject\n\nbody line\nno final newline";

	(void)state;
	memset(&tree, 0xee, sizeof(tree));
	for (int i = 0; i < 3; i++)
		memset(&parents[i], i + 1, sizeof(parents[i]));
	assert_int_equal(gkv__commit_serialize(&b, &tree, parents, 3, &a, &c, msg), 0);
	assert_int_equal(parse_len(&r, (const char *)b.ptr, b.size), 0);
	assert_true(gkv_oid_equal(&r.tree, &tree));
	assert_int_equal(r.nparents, 3);
	for (int i = 0; i < 3; i++)
		assert_true(gkv_oid_equal(&r.parents[i], &parents[i]));
	assert_string_equal(r.author.name, a.name);
	assert_string_equal(r.author.email, a.email);
	assert_int_equal(r.author.time, 0);
	assert_string_equal(r.committer.name, "C");
	assert_string_equal(r.committer.email, "");
	assert_int_equal(r.committer.time, 4102444800LL);
	assert_int_equal(r.committer.offset, -5999);
	assert_string_equal(r.message, msg);
	gkv__commit_raw_dispose(&r);
	gkv__commit_raw_dispose(&r); /* disposing twice is harmless */
	gkv__sbuf_free(&b);
}

static void test_root_commit(void **state)
{
	gkv__commit_raw c;

	(void)state;
	assert_int_equal(parse(&c, "tree " TREE "\n" AUTHOR COMMITTER "\nroot\n"), 0);
	assert_int_equal(c.nparents, 0);
	assert_null(c.parents);
	assert_string_equal(c.author.name, "A U Thor");
	assert_string_equal(c.author.email, "author@example.com");
	assert_int_equal(c.author.time, 1112911993);
	assert_int_equal(c.author.offset, -420);
	assert_int_equal(c.committer.offset, 330);
	assert_string_equal(c.message, "root\n");
	gkv__commit_raw_dispose(&c);
}

static void test_extra_headers(void **state)
{
	const char *text = HEAD "encoding ISO-8859-1\n"
				"mergetag object " P2 "\n"
				" type commit\n"
				" tag v1\n"
				" tagger T <t@x> 1 +0000\n"
				" \n"
				" tag message\n"
				"gpgsig -----BEGIN PGP SIGNATURE-----\n"
				" \n"
				" iQEzBAABCAAdFiEE\n"
				" -----END PGP SIGNATURE-----\n"
				"x-unknown-header with value\n"
				"\n"
				"signed\n";
	gkv__commit_raw c;

	(void)state;
	assert_int_equal(parse(&c, text), 0);
	assert_int_equal(c.nparents, 1);
	assert_string_equal(c.message, "signed\n");
	gkv__commit_raw_dispose(&c);
}

static void test_no_body(void **state)
{
	gkv__commit_raw c;

	(void)state;
	/* git fsck accepts headers that end in '\n' with no blank line. */
	assert_int_equal(parse(&c, HEAD), 0);
	assert_string_equal(c.message, "");
	gkv__commit_raw_dispose(&c);
	assert_int_equal(parse(&c, HEAD "\n"), 0);
	assert_string_equal(c.message, "");
	gkv__commit_raw_dispose(&c);
	assert_int_equal(parse(&c, HEAD "encoding x\n"), 0);
	gkv__commit_raw_dispose(&c);
	/* The message is verbatim, blank lines and all. */
	assert_int_equal(parse(&c, HEAD "\n\n\nx\n\n"), 0);
	assert_string_equal(c.message, "\n\nx\n\n");
	gkv__commit_raw_dispose(&c);
}

static void test_nul_in_message_ok_in_header_not(void **state)
{
	static const char with_nul[] = HEAD "\nab\0cd";
	static const char nul_header[] =
	    "tree " TREE "\nparent " P1 "\n" AUTHOR COMMITTER "encoding a\0b\n\nmsg";
	static const char nul_author[] = "tree " TREE "\nauthor A\0 <a> 1 +0000\n" COMMITTER "\n";
	gkv__commit_raw c;

	(void)state;
	assert_int_equal(parse_len(&c, with_nul, sizeof(with_nul) - 1), 0);
	assert_string_equal(c.message, "ab");
	gkv__commit_raw_dispose(&c);
	assert_int_equal(parse_len(&c, nul_header, sizeof(nul_header) - 1), GKV_E_CORRUPT);
	assert_int_equal(parse_len(&c, nul_author, sizeof(nul_author) - 1), GKV_E_CORRUPT);
}

static void test_zones_parse(void **state)
{
	static const struct {
		const char *zone;
		int off;
	} z[] = {{"+0000", 0},	  {"-0000", 0},	   {"+0130", 90}, {"-0130", -90},
		 {"+9959", 5999}, {"-1200", -720}, {"+1400", 840}};
	char text[512];
	gkv__commit_raw c;

	(void)state;
	for (size_t i = 0; i < sizeof(z) / sizeof(z[0]); i++) {
		snprintf(text, sizeof(text), "tree " TREE "\n" AUTHOR "committer C <c> 7 %s\n\n",
			 z[i].zone);
		assert_int_equal(parse(&c, text), 0);
		assert_int_equal(c.committer.offset, z[i].off);
		assert_int_equal(c.committer.time, 7);
		gkv__commit_raw_dispose(&c);
	}
}

static void test_truncated_everywhere(void **state)
{
	const char *text = HEAD "\nmessage\n";
	size_t hdr = strlen(HEAD), len = strlen(text);
	gkv__commit_raw c;

	(void)state;
	/* Any cut inside the core headers is corrupt; after them, the body is cut. */
	for (size_t k = 0; k <= len; k++) {
		int rc = parse_len(&c, text, k);

		if (k < hdr) {
			if (rc != GKV_E_CORRUPT)
				fail_msg("cut at %zu accepted", k);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(strlen(c.message), k > hdr ? k - hdr - 1 : 0);
		gkv__commit_raw_dispose(&c);
	}
	/* An extra header cut before its newline is corrupt too. */
	expect_corrupt(HEAD "encoding UTF-8");
	expect_corrupt(HEAD "gpgsig a\n b");
}

static void test_misordered_and_missing(void **state)
{
	(void)state;
	expect_corrupt("");
	expect_corrupt("\n");
	expect_corrupt("parent " P1 "\ntree " TREE "\n" AUTHOR COMMITTER "\n");
	expect_corrupt("tree " TREE "\n" AUTHOR "parent " P1 "\n" COMMITTER "\n");
	expect_corrupt("tree " TREE "\n" COMMITTER AUTHOR "\n");
	expect_corrupt("tree " TREE "\n" COMMITTER "\n");
	expect_corrupt("tree " TREE "\n" AUTHOR "\n");
	expect_corrupt("tree " TREE "\n" AUTHOR AUTHOR "\n");
	expect_corrupt("tree " TREE "\n\n" AUTHOR COMMITTER "\n");
	expect_corrupt(AUTHOR COMMITTER "\n");
	expect_corrupt("tree " TREE "\ntree " TREE "\n" AUTHOR COMMITTER "\n");
	expect_corrupt(HEAD "tree " TREE "\n\n");
	expect_corrupt(HEAD "parent " P1 "\n\n");
	expect_corrupt(HEAD "author A <a> 1 +0000\n\n");
	expect_corrupt(HEAD "committer A <a> 1 +0000\n\n");
	expect_corrupt("encoding x\ntree " TREE "\n" AUTHOR COMMITTER "\n");
	expect_corrupt(" tree " TREE "\n" AUTHOR COMMITTER "\n");
}

static void test_bad_ids(void **state)
{
	(void)state;
	expect_corrupt("tree 4b825dc642cb6eb9a060e54bf8d69288fbee490\n" AUTHOR COMMITTER "\n");
	expect_corrupt("tree 4b825dc642cb6eb9a060e54bf8d69288fbee49044\n" AUTHOR COMMITTER "\n");
	expect_corrupt("tree 4b825dc642cb6eb9a060e54bf8d69288fbee490g\n" AUTHOR COMMITTER "\n");
	expect_corrupt("tree  4b825dc642cb6eb9a060e54bf8d69288fbee4904\n" AUTHOR COMMITTER "\n");
	expect_corrupt("tree " TREE " \n" AUTHOR COMMITTER "\n");
	expect_corrupt("tree\n" AUTHOR COMMITTER "\n");
	expect_corrupt("tree " TREE "\nparent 1111\n" AUTHOR COMMITTER "\n");
	expect_corrupt("tree " TREE "\nparent " P1 "x\n" AUTHOR COMMITTER "\n");
	expect_corrupt("tree " TREE "\nparent\n" AUTHOR COMMITTER "\n");
	/* An id line must end right after its 40 digits, even where what
	 * follows would read as the next header. */
	expect_corrupt("tree " TREE "parent " P1 "\n" AUTHOR COMMITTER "\n");
	expect_corrupt("tree " TREE "\nparent " P1 "parent " P2 "\n" AUTHOR COMMITTER "\n");
	expect_corrupt("tree " TREE " parent " P1 "\n" AUTHOR COMMITTER "\n");
	expect_corrupt("tree " TREE "\nparent " P1 "\tauthor A <a> 1 +0000\n" COMMITTER "\n");
}

static void test_bad_signatures(void **state)
{
	static const char *const bad[] = {
	    "A <a> 1 +0000x",
	    "A <a> 1 +0000 ",
	    "A a> 1 +0000",
	    "A <a 1 +0000",
	    "<a> 1 +0000",
	    "A<a> 1 +0000",
	    "A> <a> 1 +0000",
	    "A <a<b> 1 +0000",
	    "A <a>1 +0000",
	    "A <a>  1 +0000",
	    "A <a> 1  +0000",
	    "A <a> 1+0000",
	    "A <a> +0000",
	    "A <a> 1",
	    "A <a> 1 ",
	    "A <a>",
	    "A <a> ",
	    "A <a> -1 +0000",
	    "A <a> x1 +0000",
	    "A <a> 1x +0000",
	    "A <a> 99999999999999999999 +0000",
	    "A <a> 1 0000",
	    "A <a> 1 +000",
	    "A <a> 1 +00000",
	    "A <a> 1 *0000",
	    "A <a> 1 +0060",
	    "A <a> 1 +00a0",
	    "A <a> 1 -+000",
	    "",
	};
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "tree " TREE "\nauthor %s\n" COMMITTER "\n", bad[i]);
		expect_corrupt(text);
		snprintf(text, sizeof(text), "tree " TREE "\n" AUTHOR "committer %s\n\n", bad[i]);
		expect_corrupt(text);
	}
}

static void test_odd_but_valid_signatures(void **state)
{
	gkv__commit_raw c;

	(void)state;
	/* Empty name and email, as git fsck allows; a large date. */
	assert_int_equal(
	    parse(&c, "tree " TREE "\nauthor  <> 9223372036854775807 +0000\n" COMMITTER "\n"), 0);
	assert_string_equal(c.author.name, "");
	assert_string_equal(c.author.email, "");
	assert_int_equal(c.author.time, INT64_MAX);
	gkv__commit_raw_dispose(&c);
	/* Spaces inside the name are kept; the email may hold spaces. */
	assert_int_equal(parse(&c, "tree " TREE "\nauthor  A  B  < a b > 0 +0000\n" COMMITTER "\n"),
			 0);
	assert_string_equal(c.author.name, " A  B ");
	assert_string_equal(c.author.email, " a b ");
	gkv__commit_raw_dispose(&c);
}

static void test_error_names_object(void **state)
{
	gkv__commit_raw c;
	gkv_oid id;

	(void)state;
	assert_int_equal(gkv_oid_fromstr(&id, "abcdef0000000000000000000000000000000001"), 0);
	assert_int_equal(gkv__commit_parse(&c, "tree x\n", 7, &id), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), "abcdef0000000000000000000000000000000001"));
	assert_non_null(strstr(gkv_error_last(), "tree"));
	assert_int_equal(gkv__commit_parse(&c, "tree x\n", 7, NULL), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), "commit is corrupt"));
}

static void test_many_parents(void **state)
{
	gkv__sbuf b = GKV__SBUF_INIT;
	gkv_oid tree, parents[37];
	gkv_signature s = sig("N", "e", 1, 0);
	gkv__commit_raw c;

	(void)state;
	memset(&tree, 0, sizeof(tree));
	for (int i = 0; i < 37; i++)
		memset(&parents[i], i, sizeof(parents[i]));
	assert_int_equal(gkv__commit_serialize(&b, &tree, parents, 37, &s, &s, "octopus"), 0);
	assert_int_equal(parse_len(&c, (const char *)b.ptr, b.size), 0);
	assert_int_equal(c.nparents, 37);
	for (int i = 0; i < 37; i++)
		assert_true(gkv_oid_equal(&c.parents[i], &parents[i]));
	gkv__commit_raw_dispose(&c);
	gkv__sbuf_free(&b);
}

/* ------------------------------------------------- the light parse */

static int light(gkv__commit_graph *g, const char *text)
{
	size_t len = strlen(text);
	char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, text, len);
	rc = gkv__commit_parse_graph(g, copy, len, NULL);
	free(copy);
	return rc;
}

static void test_light_fields(void **state)
{
	gkv__commit_graph g;
	gkv_oid tree, p1, p2;

	(void)state;
	memset(&g, 0, sizeof(g));
	assert_int_equal(gkv_oid_fromstr(&tree, TREE), 0);
	assert_int_equal(gkv_oid_fromstr(&p1, P1), 0);
	assert_int_equal(gkv_oid_fromstr(&p2, P2), 0);
	/* A merge: both parents in order; the committer's time, not the author's. */
	assert_int_equal(
	    light(&g, "tree " TREE "\nparent " P1 "\nparent " P2 "\n" AUTHOR COMMITTER "\nmerge\n"),
	    0);
	assert_true(gkv_oid_equal(&g.tree, &tree));
	assert_int_equal(g.nparents, 2);
	assert_true(gkv_oid_equal(&g.parents[0], &p1));
	assert_true(gkv_oid_equal(&g.parents[1], &p2));
	assert_int_equal(g.time, 1112912053);
	/* The same struct again: a root commit has no parents, the buffer stays. */
	assert_int_equal(light(&g, "tree " TREE "\n" AUTHOR "committer C <c> 42 +0000\n\nroot\n"),
			 0);
	assert_int_equal(g.nparents, 0);
	assert_int_equal(g.parents_cap, 2);
	assert_non_null(g.parents);
	assert_int_equal(g.time, 42);
	/* Upper-case hex, as gkv_oid_fromstr takes it. */
	assert_int_equal(
	    light(&g, "tree 4B825DC642CB6EB9A060E54BF8D69288FBEE4904\n" AUTHOR COMMITTER), 0);
	assert_true(gkv_oid_equal(&g.tree, &tree));
	gkv__commit_graph_dispose(&g);
	assert_null(g.parents);
	gkv__commit_graph_dispose(&g); /* disposing twice is harmless */
	gkv__commit_graph_dispose(NULL);
}

static void test_light_many_parents_reuse(void **state)
{
	gkv__sbuf b = GKV__SBUF_INIT;
	gkv_oid tree, parents[37];
	gkv_signature s = sig("N", "e", 7, 0);
	gkv__commit_graph g;

	(void)state;
	memset(&g, 0, sizeof(g));
	memset(&tree, 0x5a, sizeof(tree));
	for (int i = 0; i < 37; i++)
		memset(&parents[i], i, sizeof(parents[i]));
	/* 1, 2, 3, ... 37 parents into one struct: it grows, and keeps its buffer. */
	for (size_t n = 1; n <= 37; n++) {
		b.size = 0;
		assert_int_equal(gkv__commit_serialize(&b, &tree, parents, n, &s, &s, "x"), 0);
		assert_int_equal(gkv__commit_parse_graph(&g, b.ptr, b.size, NULL), 0);
		assert_int_equal(g.nparents, n);
		assert_true(g.parents_cap >= n);
		for (size_t i = 0; i < n; i++)
			assert_true(gkv_oid_equal(&g.parents[i], &parents[i]));
	}
	assert_int_equal(g.parents_cap, 64);
	gkv__commit_graph_dispose(&g);
	gkv__sbuf_free(&b);
}

static void test_light_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "\n",
	    "tree " TREE,
	    "tree " TREE "\n",
	    "tree " TREE "\n" AUTHOR,
	    "tree " TREE "\nparent " P1,
	    "tree " TREE "\nparent " P1 "\n",
	    "tree " TREE "x\n" AUTHOR COMMITTER,
	    "tree 4b825dc642cb6eb9a060e54bf8d69288fbee490g\n" AUTHOR COMMITTER,
	    "tree " TREE "\nparent " P1 " \n" AUTHOR COMMITTER,
	    "tree " TREE "\nparent 111111111111111111111111111111111111111\n" AUTHOR COMMITTER,
	    "tree " TREE "\nparent " P1 "\nparent\n" AUTHOR COMMITTER,
	    "tree " TREE "\n" COMMITTER AUTHOR,
	    "tree " TREE "\n" AUTHOR "parent " P1 "\n" COMMITTER,
	    /* Broken signatures the light parse does not keep are still refused. */
	    "tree " TREE "\nauthor A <a> 1 +0060\n" COMMITTER,
	    "tree " TREE "\nauthor A a> 1 +0000\n" COMMITTER,
	    "tree " TREE "\nauthor A <a> x +0000\n" COMMITTER,
	    "tree " TREE "\n" AUTHOR "committer C <c> 99999999999999999999 +0000\n",
	    "tree " TREE "\n" AUTHOR "committer C <c>\n",
	    /* Headers after committer are checked too; the message is not. */
	    "tree " TREE "\n" AUTHOR COMMITTER "encoding x",
	    "tree " TREE "\n" AUTHOR COMMITTER "parent " P1 "\n\n",
	};
	static const char nul_tree[] =
	    "tree 4b825dc642cb6eb9a060e54bf8d69288f\0ee4904\n" AUTHOR COMMITTER "\n";
	static const char nul_extra[] = "tree " TREE "\n" AUTHOR COMMITTER "encoding a\0b\n\nmsg";
	static const char nul_msg[] = "tree " TREE "\n" AUTHOR COMMITTER "\na\0b";
	gkv__commit_graph g;
	gkv_oid p1;

	(void)state;
	memset(&g, 0, sizeof(g));
	assert_int_equal(gkv_oid_fromstr(&p1, P1), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* A parse with parents first: a failure leaves none behind. */
		assert_int_equal(light(&g, HEAD), 0);
		assert_int_equal(g.nparents, 1);
		if (light(&g, bad[i]) != GKV_E_CORRUPT)
			fail_msg("light parse accepted: %s", bad[i]);
		assert_int_equal(g.nparents, 0);
	}
	assert_int_equal(gkv__commit_parse_graph(&g, nul_tree, sizeof(nul_tree) - 1, NULL),
			 GKV_E_CORRUPT);
	assert_int_equal(gkv__commit_parse_graph(&g, nul_extra, sizeof(nul_extra) - 1, NULL),
			 GKV_E_CORRUPT);
	assert_int_equal(gkv__commit_parse_graph(&g, nul_msg, sizeof(nul_msg) - 1, NULL), 0);
	assert_int_equal(gkv__commit_parse_graph(&g, NULL, 0, NULL), GKV_E_INVALID);
	/* Still usable after all that. */
	assert_int_equal(light(&g, HEAD), 0);
	assert_true(gkv_oid_equal(&g.parents[0], &p1));
	gkv__commit_graph_dispose(&g);
}

static void test_light_error_names_object(void **state)
{
	gkv__commit_graph g;
	gkv_oid id;

	(void)state;
	memset(&g, 0, sizeof(g));
	assert_int_equal(gkv_oid_fromstr(&id, "abcdef0000000000000000000000000000000001"), 0);
	assert_int_equal(gkv__commit_parse_graph(&g, "tree x\n", 7, &id), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), "abcdef0000000000000000000000000000000001"));
	assert_non_null(strstr(gkv_error_last(), "bad tree id"));
	gkv__commit_graph_dispose(&g);
}

/*
 * Both parsers on every mutation of a few commits: each byte replaced by
 * each of a set of bytes that matter to the format, each byte dropped,
 * and every cut. They must agree on every one (check_light_agrees).
 */
static void test_light_agrees_on_mutations(void **state)
{
	static const char *const seeds[] = {
	    HEAD "\nmessage\n",
	    "tree " TREE "\n" AUTHOR COMMITTER,
	    "tree " TREE "\nparent " P1 "\nparent " P2 "\n" AUTHOR COMMITTER "gpgsig a\n b\n\nm",
	};
	static const char subst[] = {'\n', '\0', ' ', '<', '>', '+', '-', '0',
				     '9',  'a',	 'f', 'g', 'A', 'F', 'x', '\xff'};
	gkv__commit_raw c;
	char buf[512];
	size_t tried = 0;

	(void)state;
	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		size_t len = strlen(seeds[s]);

		for (size_t k = 0; k <= len; k++) {
			tried++;
			if (parse_len(&c, seeds[s], k) == 0) /* the cut */
				gkv__commit_raw_dispose(&c);
			if (k == len)
				break;
			memcpy(buf, seeds[s], len); /* the drop */
			memmove(buf + k, buf + k + 1, len - k - 1);
			if (parse_len(&c, buf, len - 1) == 0)
				gkv__commit_raw_dispose(&c);
			for (size_t j = 0; j < sizeof(subst); j++) {
				memcpy(buf, seeds[s], len);
				if (buf[k] == subst[j])
					continue;
				buf[k] = subst[j];
				tried++;
				if (parse_len(&c, buf, len) == 0)
					gkv__commit_raw_dispose(&c);
			}
		}
	}
	assert_true(tried > 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_serialize_exact),
	    cmocka_unit_test(test_serialize_zones),
	    cmocka_unit_test(test_serialize_times),
	    cmocka_unit_test(test_serialize_rejects),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_root_commit),
	    cmocka_unit_test(test_extra_headers),
	    cmocka_unit_test(test_no_body),
	    cmocka_unit_test(test_nul_in_message_ok_in_header_not),
	    cmocka_unit_test(test_zones_parse),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_misordered_and_missing),
	    cmocka_unit_test(test_bad_ids),
	    cmocka_unit_test(test_bad_signatures),
	    cmocka_unit_test(test_odd_but_valid_signatures),
	    cmocka_unit_test(test_error_names_object),
	    cmocka_unit_test(test_many_parents),
	    cmocka_unit_test(test_light_fields),
	    cmocka_unit_test(test_light_many_parents_reuse),
	    cmocka_unit_test(test_light_malformed),
	    cmocka_unit_test(test_light_error_names_object),
	    cmocka_unit_test(test_light_agrees_on_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
