/*
 * json.c -- the little JSON kvctl writes: strings, base64 strings, ids.
 *
 * Strings in gitkv (paths, branch names, messages) are bytes, normally
 * UTF-8. JSON strings are Unicode, so bytes that are not well-formed
 * UTF-8 cannot be a JSON string without losing something. kv_json_str
 * writes such bytes as an object in place of the string,
 * {"base64": "<RFC 4648 base64 of the bytes>"}: the output is always
 * valid JSON, and a reader gets the exact bytes back (docs/cli.md, "JSON
 * output"). Valid UTF-8 is written as a plain string, so the common case
 * reads as a reader expects. Values, which are arbitrary bytes, are sent
 * by `get --json` with an "encoding" member instead (see kv_cmd_get).
 */
#include <string.h>

#include "kvctl.h"

/*
 * The length of the well-formed UTF-8 sequence at s (1 to 4), or 0 if
 * s[0] does not start one. Well-formed as in Unicode's table 3-7: no
 * overlong forms, no surrogates (U+D800..DFFF), nothing above U+10FFFF.
 */
size_t kv_utf8_seq(const unsigned char *s, size_t len, unsigned *cp)
{
	unsigned c = s[0];
	size_t n, i;
	unsigned lo = 0x80, hi = 0xbf; /* range of the second byte */

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		*cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		*cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		*cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	return n;
}

int kv_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n;
	unsigned cp;

	while (i < len) {
		n = kv_utf8_seq(s + i, len - i, &cp);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

/* The escape JSON requires (or allows, for readability) for a code point
 * below U+0080, or NULL when it is written as is. */
static const char *short_escape(unsigned c)
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\b':
		return "\\b";
	case '\f':
		return "\\f";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	default:
		return NULL;
	}
}

void kv_json_str(FILE *f, const void *data, size_t len)
{
	if (!kv_utf8_valid(data, len)) {
		fputs("{\"base64\":", f);
		kv_json_base64(f, data, len);
		putc('}', f);
		return;
	}
	putc('"', f);
	kv_json_str_part(f, data, len);
	putc('"', f);
}

void kv_json_str_part(FILE *f, const void *data, size_t len)
{
	const unsigned char *s = data;
	size_t i = 0, n;
	unsigned cp;
	const char *esc;

	while (i < len) {
		n = kv_utf8_seq(s + i, len - i, &cp);
		if (n == 0) {
			/* Only reached by a caller that did not check: a piece
			 * is written only once known to be UTF-8. */
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		if ((esc = short_escape(cp)) != NULL)
			fputs(esc, f);
		else if (cp < 0x20 || cp == 0x7f)
			fprintf(f, "\\u%04x", cp);
		else if (cp == 0x2028 || cp == 0x2029)
			/* Valid JSON, but line breaks to JavaScript: escaped so
			 * that the output may be pasted into a script. */
			fprintf(f, "\\u%04x", cp);
		else
			fwrite(s + i, 1, n, f);
		i += n;
	}
}

void kv_json_cstr(FILE *f, const char *s)
{
	kv_json_str(f, s, strlen(s));
}

void kv_json_key(FILE *f, const char *key, int first)
{
	if (!first)
		putc(',', f);
	kv_json_cstr(f, key);
	putc(':', f);
}

void kv_json_base64(FILE *f, const void *data, size_t len)
{
	putc('"', f);
	kv_json_base64_part(f, data, len);
	putc('"', f);
}

void kv_json_base64_part(FILE *f, const void *data, size_t len)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = data;
	size_t i;
	unsigned long v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned long)s[i] << 16 | (unsigned long)s[i + 1] << 8 | s[i + 2];
		putc(abc[v >> 18], f);
		putc(abc[(v >> 12) & 63], f);
		putc(abc[(v >> 6) & 63], f);
		putc(abc[v & 63], f);
	}
	if (len - i == 1) {
		v = (unsigned long)s[i] << 16;
		fprintf(f, "%c%c==", abc[v >> 18], abc[(v >> 12) & 63]);
	} else if (len - i == 2) {
		v = (unsigned long)s[i] << 16 | (unsigned long)s[i + 1] << 8;
		fprintf(f, "%c%c%c=", abc[v >> 18], abc[(v >> 12) & 63], abc[(v >> 6) & 63]);
	}
}

void kv_json_oid(FILE *f, const gkv_oid *id)
{
	char hex[GKV_OID_HEXSZ + 1];

	gkv_oid_fmt(hex, id);
	kv_json_cstr(f, hex);
}
