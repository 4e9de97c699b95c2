/*
 * fuzz_git_common.h -- what the git backend's targets (fuzz_loose.c,
 * fuzz_pack.c) share: a bare repository made once per process under
 * /tmp, SHA-1 of raw bytes, an object's git id, and the reads of one id
 * through a freshly opened backend checked against what it must give.
 */
#ifndef GKV_FUZZ_GIT_COMMON_H
#define GKV_FUZZ_GIT_COMMON_H

#include <git2.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#include "gitkv/sys/backend.h"

static char *git_dir;

static void git_cleanup(void)
{
	fuzz_rmtree(git_dir);
	free(git_dir);
	git_libgit2_shutdown();
}

static inline void git_init(const char *tag)
{
	gkv_backend *b;

	/* Held for the whole run: else libgit2 starts and stops with each
	 * backend, loading the system's certificates every time. */
	FUZZ_CHECK(git_libgit2_init() > 0);
	git_dir = fuzz_tmpdir(tag);
	atexit(git_cleanup);
	FUZZ_CHECK(gkv_backend_git_open(&b, git_dir, GKV_GIT_CREATE) == 0);
	b->free(b);
}

static inline void sha1(unsigned char out[20], const void *a, size_t alen, const void *b,
			size_t blen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	FUZZ_CHECK(c != NULL && EVP_DigestInit_ex(c, EVP_sha1(), NULL) == 1);
	FUZZ_CHECK(EVP_DigestUpdate(c, a, alen) == 1 && EVP_DigestUpdate(c, b, blen) == 1);
	FUZZ_CHECK(EVP_DigestFinal_ex(c, out, NULL) == 1);
	EVP_MD_CTX_free(c);
}

static inline const char *type_name(int t)
{
	static const char *const names[] = {"", "commit", "tree", "blob", "tag"};

	return t >= 1 && t <= 4 ? names[t] : "";
}

/* git's id of an object: SHA-1 of "<type> <len>\0" and the bytes. */
static inline void object_id(gkv_oid *out, int type, const void *data, size_t len)
{
	char head[64];
	int n = snprintf(head, sizeof(head), "%s %zu", type_name(type), len);

	sha1(out->id, head, (size_t)n + 1, data, len);
}

typedef struct {
	unsigned char *buf;
	size_t len, cap, calls;
	uint64_t size;
	gkv_otype type;
} git_pieces;

static int git_take_piece(gkv_otype type, uint64_t size, const void *data, size_t len,
			  void *payload)
{
	git_pieces *p = payload;

	if (p->calls++ == 0) {
		p->size = size;
		p->type = type;
	}
	FUZZ_CHECK(p->size == size && p->type == type && p->len + len <= size);
	if (p->len + len > p->cap) {
		p->cap = (p->len + len) * 2;
		FUZZ_CHECK((p->buf = realloc(p->buf, p->cap)) != NULL);
	}
	if (len)
		memcpy(p->buf + p->len, data, len);
	p->len += len;
	return 0;
}

/*
 * Read id through b every way there is. want: the object's bytes and
 * type (want_ok), or only a failure allowed: GKV_E_CORRUPT, and
 * GKV_E_NOTFOUND too when notfound_ok. A failure names the object.
 */
static inline void git_check_read(gkv_backend *b, const gkv_oid *id, int want_ok, int want_type,
				  const void *want, size_t want_len, int notfound_ok)
{
	void *data = NULL;
	size_t len = 0;
	gkv_otype type;
	uint64_t hsize;
	git_pieces p = {0};
	char hex[GKV_OID_HEXSZ + 1];
	int rc = b->read(&data, &len, &type, b, id);

	gkv_oid_fmt(hex, id);
	hex[GKV_OID_HEXSZ] = '\0';
	if (want_ok) {
		FUZZ_CHECK(rc == 0 && (int)type == want_type && len == want_len);
		FUZZ_CHECK(len == 0 || !memcmp(data, want, len));
		gkv_backend_data_free(data);
	} else {
		FUZZ_CHECK(rc == GKV_E_CORRUPT || (notfound_ok && rc == GKV_E_NOTFOUND));
		FUZZ_CHECK(data == NULL);
		FUZZ_CHECK(strstr(gkv_error_last(), hex) != NULL || rc == GKV_E_NOTFOUND);
	}
	if (b->read_stream) {
		int src = b->read_stream(b, id, git_take_piece, &p);

		if (want_ok) {
			FUZZ_CHECK(src == 0 && p.calls > 0 && (int)p.type == want_type);
			FUZZ_CHECK(p.size == want_len && p.len == want_len);
			FUZZ_CHECK(want_len == 0 || !memcmp(p.buf, want, want_len));
		} else {
			FUZZ_CHECK(src == GKV_E_CORRUPT || (notfound_ok && src == GKV_E_NOTFOUND));
		}
		free(p.buf);
	}
	if (b->read_header) {
		int hrc = b->read_header(&hsize, &type, b, id);

		FUZZ_CHECK(hrc == 0 || hrc == GKV_E_CORRUPT ||
			   (notfound_ok && hrc == GKV_E_NOTFOUND));
		if (want_ok)
			FUZZ_CHECK(hrc == 0 && hsize == want_len && (int)type == want_type);
	}
}

#endif
