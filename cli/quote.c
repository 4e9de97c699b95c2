/*
 * quote.c -- names and subjects in text output, made safe for a terminal
 * and for line-based scripts.
 *
 * A name (a key, a path, a branch) is bytes: it may hold a newline, which
 * would split one entry into two lines, or an escape sequence, which a
 * terminal would obey. kvctl quotes names as git quotes paths with
 * core.quotePath=true (the default): a name holding a control byte, DEL,
 * '"', '\\' or a byte >= 0x80 is printed in double quotes, with \a \b \t
 * \n \v \f \r \" \\ for those characters and a three-digit octal escape
 * \ooo for every other such byte, so that `kvctl list` and `git ls-tree
 * --name-only` print the same bytes for the same names. Any other name is
 * printed as it is. With -z nothing is quoted: each item is written raw
 * and ended by a NUL, which no name can hold.
 */
#include <stddef.h>
#include <string.h>

#include "kvctl.h"

/* 1 if git would quote a name holding byte c. */
static int needs_quote(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\' || c >= 0x7f;
}

/* The one-letter escape of c (git's), or 0 when c is written in octal. */
static char short_escape(unsigned char c)
{
	switch (c) {
	case '\a': return 'a';
	case '\b': return 'b';
	case '\t': return 't';
	case '\n': return 'n';
	case '\v': return 'v';
	case '\f': return 'f';
	case '\r': return 'r';
	case '"': return '"';
	case '\\': return '\\';
	default: return 0;
	}
}

/* quoted[c]: needs_quote(c), and 1 for the NUL that ends a name. */
static const unsigned char *quoted_table(void)
{
	static unsigned char t[256];
	static int made; /* a benign race: every thread writes the same */

	if (!made) {
		for (int c = 0; c < 256; c++)
			t[c] = c == 0 || needs_quote((unsigned char)c);
		made = 1;
	}
	return t;
}

/* The length of s if no byte of it needs quoting, else -1 (a listing
 * prints thousands of names: a table lookup a byte, and the length for
 * fwrite comes with it). */
static ptrdiff_t plain_len(const char *s)
{
	const unsigned char *t = quoted_table(), *p = (const unsigned char *)s;

	while (!t[*p])
		p++;
	return *p ? -1 : (ptrdiff_t)(p - (const unsigned char *)s);
}

static int any_needs_quote(const char *s)
{
	return plain_len(s) < 0;
}

/* The bytes of s, escaped as inside git's double quotes. */
static void put_escaped(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char e;

	for (; *p; p++) {
		if (!needs_quote(*p))
			putc(*p, f);
		else if ((e = short_escape(*p)) != 0)
			fprintf(f, "\\%c", e);
		else
			fprintf(f, "\\%03o", *p);
	}
}

void kv_print_name(struct kv_ctx *ctx, const char *name, const char *suffix)
{
	FILE *f = ctx->out;
	ptrdiff_t n;

	if (ctx->o.nul) {
		fputs(name, f);
		fputs(suffix, f);
		putc('\0', f);
		return;
	}
	if ((n = plain_len(name)) >= 0 && !any_needs_quote(suffix)) {
		fwrite(name, 1, (size_t)n, f); /* not fprintf: a listing prints one per entry */
		fputs(suffix, f);
		putc('\n', f);
		return;
	}
	putc('"', f);
	put_escaped(f, name);
	put_escaped(f, suffix);
	fputs("\"\n", f);
}

void kv_put_quoted(FILE *f, const char *name)
{
	if (!any_needs_quote(name)) {
		fputs(name, f);
		return;
	}
	putc('"', f);
	put_escaped(f, name);
	putc('"', f);
}

/*
 * 1 if a terminal could act on something in s: a control byte or DEL, a
 * C1 control (U+0080..U+009F, which some terminals obey when UTF-8
 * encoded), or a byte that is not part of valid UTF-8. A subject that
 * starts with '"' counts too, so that it cannot be taken for a quoted one.
 */
static int unsafe_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n;
	unsigned cp;

	if (*p == '"')
		return 1;
	while (i < len) {
		n = kv_utf8_seq(p + i, len - i, &cp);
		if (n == 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return 1;
		i += n;
	}
	return 0;
}

void kv_print_subject(struct kv_ctx *ctx, const char *hex, const char *subject)
{
	FILE *f = ctx->out;

	if (ctx->o.nul) {
		fprintf(f, "%s %s", hex, subject);
		putc('\0', f);
		return;
	}
	if (!unsafe_text(subject)) {
		fprintf(f, "%s %s\n", hex, subject);
		return;
	}
	fprintf(f, "%s \"", hex);
	put_escaped(f, subject);
	fputs("\"\n", f);
}
