/*
 * fuzz_signature.c -- the signature codec: "Name <email> <time> <zone>"
 * as the commit parser reads it (store/codec_commit.c) and as
 * gkv_signature_new (store/signature.c) and the serializer write it.
 *
 * Input starting with 0x01: the API side. Bytes 1-8 are a time (int64,
 * little-endian), 9-10 a zone offset in minutes (int16), the rest
 * "name\0email". gkv_signature_new must accept exactly what the rules of
 * gitkv.h allow (a non-empty name, no '<', '>' or newline in name or
 * email, a time not before 1970, a zone within +-99:59), and what it
 * accepts must be written into a commit that parses back to the same
 * four fields.
 *
 * Any other input: the line itself, as the author of a commit. The
 * parser must accept exactly the lines a model written here from git
 * fsck's rules accepts, with the model's fields; an accepted line is
 * written back byte for byte when it is in git's canonical spelling (no
 * leading zero in the time, no "-0000"), and in any case parses back to
 * the same fields; gkv_signature_new takes its fields unless the name is
 * empty (which git's parser allows and git's commit refuses).
 */
#include <string.h>

#include "fuzz.h"

#include "codec.h"

#define TREE "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
#define COMMITTER "committer C <c@example.com> 1 +0000\n"

typedef struct {
	const char *name, *email;
	size_t namelen, emaillen;
	int64_t time;
	int offset;
	int canonical;
} model_sig;

/* The line parsed from the right: zone after the last space, time after
 * the one before, and "Name <email>" before that. */
static int model_parse(model_sig *m, const char *s, size_t n)
{
	const char *end = s + n, *sp2, *sp1, *lt, *gt;
	uint64_t t = 0;

	if (memchr(s, '\n', n) || memchr(s, '\0', n))
		return 0;
	for (sp2 = end; sp2 > s && sp2[-1] != ' '; sp2--)
		;
	if (sp2 == s)
		return 0;
	sp2--; /* at the last space */
	for (sp1 = sp2; sp1 > s && sp1[-1] != ' '; sp1--)
		;
	if (sp1 == s)
		return 0;
	sp1--;
	/* zone: sign and four digits, minutes below 60 */
	if (end - sp2 != 6 || (sp2[1] != '+' && sp2[1] != '-'))
		return 0;
	for (int i = 2; i < 6; i++)
		if (sp2[i] < '0' || sp2[i] > '9')
			return 0;
	if ((sp2[4] - '0') * 10 + (sp2[5] - '0') > 59)
		return 0;
	m->offset = ((sp2[2] - '0') * 600 + (sp2[3] - '0') * 60 + (sp2[4] - '0') * 10 +
		     (sp2[5] - '0')) *
		    (sp2[1] == '-' ? -1 : 1);
	/* time: decimal digits, at least one, within int64 */
	if (sp2 - sp1 < 2)
		return 0;
	for (const char *p = sp1 + 1; p < sp2; p++) {
		if (*p < '0' || *p > '9' || t > (uint64_t)(INT64_MAX - (*p - '0')) / 10)
			return 0;
		t = t * 10 + (uint64_t)(*p - '0');
	}
	m->time = (int64_t)t;
	m->canonical = !(sp1[1] == '0' && sp2 - sp1 > 2) && memcmp(sp2 + 1, "-0000", 5) != 0;
	/* "Name <email>" in [s, sp1): the name ends at the first '<', after a
	 * space; the email at the first '>', which must end it */
	if (!(lt = memchr(s, '<', (size_t)(sp1 - s))) || lt == s || lt[-1] != ' ')
		return 0;
	if (memchr(s, '>', (size_t)(lt - s)))
		return 0;
	if (!(gt = memchr(lt, '>', (size_t)(sp1 - lt))) || gt + 1 != sp1)
		return 0;
	if (memchr(lt + 1, '<', (size_t)(gt - lt - 1)))
		return 0;
	m->name = s;
	m->namelen = (size_t)(lt - 1 - s);
	m->email = lt + 1;
	m->emaillen = (size_t)(gt - lt - 1);
	return 1;
}

static int same(const gkv_signature *a, const gkv_signature *b)
{
	return !strcmp(a->name, b->name) && !strcmp(a->email, b->email) && a->time == b->time &&
	       a->offset == b->offset;
}

/* Write a commit authored by sig, parse it back: the same fields. The
 * serialized bytes in *out (caller frees). */
static void round_trip(gkv__sbuf *out, const gkv_signature *sig)
{
	gkv_signature committer = {"C", "c@example.com", 1, 0};
	gkv__commit_raw back;
	gkv_oid tree;

	FUZZ_CHECK(gkv_oid_fromstr(&tree, "4b825dc642cb6eb9a060e54bf8d69288fbee4904") == 0);
	FUZZ_CHECK(gkv__commit_serialize(out, &tree, NULL, 0, sig, &committer, "m\n") == 0);
	FUZZ_CHECK(gkv__commit_parse(&back, out->ptr, out->size, NULL) == 0);
	FUZZ_CHECK(same(&back.author, sig));
	gkv__commit_raw_dispose(&back);
}

static void api_side(const uint8_t *data, size_t size)
{
	int64_t time = 0;
	int16_t offset = 0;
	const char *name, *email, *nul;
	size_t rest;
	gkv_signature *sig = NULL;
	int rc, expect;
	char *copy;

	if (size < 11)
		return;
	memcpy(&time, data + 1, 8);
	memcpy(&offset, data + 9, 2);
	rest = size - 11;
	if (!(copy = malloc(rest + 2)))
		return;
	memcpy(copy, data + 11, rest);
	copy[rest] = copy[rest + 1] = '\0';
	name = copy;
	nul = memchr(copy, '\0', rest + 1);
	email = nul + 1 <= copy + rest ? nul + 1 : "";
	expect = name[0] != '\0' && !name[strcspn(name, "<>\n")] && !email[strcspn(email, "<>\n")] &&
		 time >= 0 && offset >= -(99 * 60 + 59) && offset <= 99 * 60 + 59;
	rc = gkv_signature_new(&sig, name, email, time, offset);
	FUZZ_CHECK((rc == 0) == expect);
	if (rc == 0) {
		gkv__sbuf out = GKV__SBUF_INIT;

		FUZZ_CHECK(!strcmp(gkv_signature_name(sig), name));
		FUZZ_CHECK(!strcmp(gkv_signature_email(sig), email));
		FUZZ_CHECK(gkv_signature_time(sig) == time && gkv_signature_offset(sig) == offset);
		round_trip(&out, sig);
		gkv__sbuf_free(&out);
		gkv_signature_free(sig);
	} else {
		FUZZ_CHECK(rc == GKV_E_INVALID && sig == NULL);
		FUZZ_CHECK(strchr(gkv_error_last(), '\n') == NULL || strchr(name, '\n') ||
			   strchr(email, '\n'));
	}
	free(copy);
}

static void line_side(const uint8_t *data, size_t size)
{
	gkv__sbuf in = GKV__SBUF_INIT, out = GKV__SBUF_INIT;
	gkv__commit_raw c;
	model_sig m = {0};
	int rc, ok = model_parse(&m, (const char *)data, size);

	FUZZ_CHECK(gkv__sbuf_puts(&in, TREE "author ") == 0);
	FUZZ_CHECK(gkv__sbuf_put(&in, data, size) == 0);
	FUZZ_CHECK(gkv__sbuf_puts(&in, "\n" COMMITTER "\nm\n") == 0);
	rc = gkv__commit_parse(&c, in.ptr, in.size, NULL);
	if (memchr(data, '\n', size)) {
		/* the line ends early: another commit, judged by fuzz_commit */
		FUZZ_CHECK(rc == 0 || rc == GKV_E_CORRUPT);
		if (rc == 0)
			gkv__commit_raw_dispose(&c);
		gkv__sbuf_free(&in);
		return;
	}
	FUZZ_CHECK((rc == 0) == ok);
	if (rc == 0) {
		gkv_signature *sig = NULL;
		int src;

		FUZZ_CHECK(strlen(c.author.name) == m.namelen &&
			   !memcmp(c.author.name, m.name, m.namelen));
		FUZZ_CHECK(strlen(c.author.email) == m.emaillen &&
			   !memcmp(c.author.email, m.email, m.emaillen));
		FUZZ_CHECK(c.author.time == m.time && c.author.offset == m.offset);
		round_trip(&out, &c.author);
		if (m.canonical)
			FUZZ_CHECK(out.size == in.size && !memcmp(out.ptr, in.ptr, in.size));
		src = gkv_signature_new(&sig, c.author.name, c.author.email, c.author.time,
					c.author.offset);
		FUZZ_CHECK((src == 0) == (m.namelen > 0));
		if (src == 0)
			FUZZ_CHECK(same(sig, &c.author));
		gkv_signature_free(sig);
		gkv__commit_raw_dispose(&c);
	} else {
		FUZZ_CHECK(rc == GKV_E_CORRUPT && c.author.name == NULL && c.message == NULL);
	}
	gkv__sbuf_free(&out);
	gkv__sbuf_free(&in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == 0x01)
		api_side(data, size);
	else
		line_side(data, size);
	return 0;
}
