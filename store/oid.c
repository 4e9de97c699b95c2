/*
 * oid.c -- object ids: hex formatting and parsing, comparison, and the
 * hash itself. The id of an object is git's SHA-1 of "<type> <len>\0"
 * followed by the payload. By default libgit2 computes it because its
 * SHA-1 is the collision-detecting one git uses (sha1dc), so a crafted
 * collision is refused here exactly as git would refuse it. A process may
 * choose plain SHA-1 instead (gkv_hash_use): the system's libcrypto, with
 * the CPU's SHA instructions where it has them, 3-4x faster, the same ids
 * for every input but a crafted collision.
 */
#include <pthread.h>
#include <stdatomic.h>

/* SHA1_Init & co are deprecated in OpenSSL 3 in favour of EVP, which
 * allocates a context and looks the algorithm up per digest; the old
 * calls run the same code with the context on the stack. */
#include "libgit2.h"

#include "codec.h"
#include "sha1.h"

static const char hexdigits[] = "0123456789abcdef";

void gkv_oid_fmt(char *out, const gkv_oid *id)
{
	for (size_t i = 0; i < GKV_OID_RAWSZ; i++) {
		out[2 * i] = hexdigits[id->id[i] >> 4];
		out[2 * i + 1] = hexdigits[id->id[i] & 0xf];
	}
	out[GKV_OID_HEXSZ] = '\0';
}

/* The value of one hex digit, or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Read the run of hex digits at the start of hex (at most GKV_OID_HEXSZ + 1,
 * so that callers can tell "too long" from "exactly 40") into a zeroed out.
 * Returns how many digits were read; stops at the first non-digit.
 */
static size_t hex_scan(gkv_oid *out, const char *hex)
{
	size_t n = 0;
	int v;

	memset(out, 0, sizeof(*out));
	while (n <= GKV_OID_HEXSZ && (v = hexval(hex[n])) >= 0) {
		if (n < GKV_OID_HEXSZ)
			out->id[n / 2] |= (unsigned char)(n % 2 ? v : v << 4);
		n++;
	}
	return n;
}

int gkv_oid_fromstr(gkv_oid *out, const char *hex)
{
	gkv_oid tmp;

	if (!out || !hex)
		return gkv__error(GKV_E_INVALID, "invalid object id: NULL");
	if (hex_scan(&tmp, hex) != GKV_OID_HEXSZ || hex[GKV_OID_HEXSZ] != '\0')
		return gkv__error(GKV_E_INVALID, "invalid object id '%.64s': want 40 hex digits",
				  hex);
	*out = tmp;
	return 0;
}

int gkv__hex_prefix_parse(gkv_oid *out, size_t *hexlen, const char *hex)
{
	gkv_oid tmp;
	size_t n;

	if (!hex)
		return gkv__error(GKV_E_INVALID, "invalid id prefix: NULL");
	n = hex_scan(&tmp, hex);
	if (n == 0 || n > GKV_OID_HEXSZ || hex[n] != '\0')
		return gkv__error(GKV_E_INVALID,
				  "invalid id prefix '%.64s': want 1 to 40 hex digits", hex);
	*out = tmp;
	*hexlen = n;
	return 0;
}

int gkv_oid_cmp(const gkv_oid *a, const gkv_oid *b)
{
	return memcmp(a->id, b->id, GKV_OID_RAWSZ);
}

int gkv_oid_equal(const gkv_oid *a, const gkv_oid *b)
{
	return memcmp(a->id, b->id, GKV_OID_RAWSZ) == 0;
}

int gkv_oid_is_zero(const gkv_oid *id)
{
	for (size_t i = 0; i < GKV_OID_RAWSZ; i++)
		if (id->id[i])
			return 0;
	return 1;
}

/*
 * libgit2 keeps its error messages in thread state that only exists after
 * git_libgit2_init(); sha1dc reports a collision through it. We initialise
 * once per process and never shut down: libgit2 counts init/shutdown
 * pairs, so other users of libgit2 in the process (the git backend, the
 * application) are unaffected.
 */
static pthread_once_t libgit2_once = PTHREAD_ONCE_INIT;
static int libgit2_rc;

static void libgit2_init_once(void)
{
	libgit2_rc = git_libgit2_init();
}

int gkv__libgit2_init(void)
{
	pthread_once(&libgit2_once, libgit2_init_once);
	if (libgit2_rc < 0)
		return gkv__error(GKV_E_ERROR, "libgit2 did not start: %s", gkv__git2_why());
	return 0;
}

static git_object_t git_type(gkv_otype type)
{
	switch (type) {
	case GKV_OBJ_COMMIT:
		return GIT_OBJECT_COMMIT;
	case GKV_OBJ_TREE:
		return GIT_OBJECT_TREE;
	case GKV_OBJ_BLOB:
		return GIT_OBJECT_BLOB;
	case GKV_OBJ_TAG:
		return GIT_OBJECT_TAG;
	default:
		return GIT_OBJECT_INVALID;
	}
}

static atomic_int hash_kind = GKV_HASH_SHA1DC;

int gkv_hash_use(gkv_hash_kind kind)
{
	if (kind != GKV_HASH_SHA1DC && kind != GKV_HASH_SHA1)
		return gkv__error(GKV_E_INVALID, "unknown hash kind %d", (int)kind);
	atomic_store(&hash_kind, kind);
	return 0;
}

gkv_hash_kind gkv_hash_in_use(void)
{
	return (gkv_hash_kind)atomic_load(&hash_kind);
}

/* "<type> <len>\0" into hdr (32 bytes); its length with the NUL. */
static size_t header(char *hdr, const char *type, size_t len)
{
	char digits[24];
	size_t n = 0, nd = 0;

	while (*type)
		hdr[n++] = *type++;
	hdr[n++] = ' ';
	do {
		digits[nd++] = (char)('0' + len % 10);
		len /= 10;
	} while (len);
	while (nd)
		hdr[n++] = digits[--nd];
	hdr[n++] = '\0';
	return n;
}

const char *gkv__otype_name(gkv_otype t)
{
	switch (t) {
	case GKV_OBJ_COMMIT: return "commit";
	case GKV_OBJ_TREE: return "tree";
	case GKV_OBJ_BLOB: return "blob";
	case GKV_OBJ_TAG: return "tag";
	default: return "object";
	}
}

/* Plain SHA-1 needs nothing of libgit2, not even its type names: a
 * process hashing this way never loads it. */
static int hash_plain(gkv_oid *out, gkv_otype type, const void *data, size_t len)
{
	char hdr[32];
	size_t n = header(hdr, gkv__otype_name(type), len);
	gkv__sha1_ctx c;

	gkv__sha1_init(&c);
	gkv__sha1_update(&c, hdr, n);
	gkv__sha1_update(&c, data, len);
	gkv__sha1_final(out->id, &c);
	return 0;
}

int gkv_hash(gkv_oid *out, gkv_otype type, const void *data, size_t len)
{
	git_object_t gtype = git_type(type);
	git_oid oid;
	const git_error *e;

	if (!out)
		return gkv__error(GKV_E_INVALID, "gkv_hash: out is NULL");
	if (gtype == GIT_OBJECT_INVALID)
		return gkv__error(GKV_E_INVALID, "cannot hash an object of type %d", (int)type);
	if (!data && len)
		return gkv__error(GKV_E_INVALID, "cannot hash NULL data of length %zu", len);
	if (atomic_load_explicit(&hash_kind, memory_order_relaxed) == GKV_HASH_SHA1)
		return hash_plain(out, type, data ? data : "", len);
	if (gkv__libgit2_init() < 0)
		return GKV_E_ERROR;
	/* The hash context lives on libgit2's stack: no allocation per call. */
	if (git_odb_hash(&oid, data ? data : "", len, gtype) < 0) {
		e = git_error_last();
		return gkv__error(GKV_E_CORRUPT, "cannot hash %zu-byte %s: %s", len,
				  gkv__otype_name(type),
				  e && e->message ? e->message : "unknown error");
	}
	memcpy(out->id, oid.id, GKV_OID_RAWSZ);
	return 0;
}
