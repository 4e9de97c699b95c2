/*
 * fuzz_loose.c -- the git backend's loose object reader (git_odb.c) on
 * hostile files. The input becomes one file objects/<xx>/<38 hex> of a
 * bare repository made once per process under /tmp; a backend opened
 * afresh reads it (->read, ->read_stream, ->read_header, ->exists,
 * ->foreach), and the file is removed.
 *
 * First byte of the input, bits:
 *   0  the rest is the object as inflated ("blob 5\0hello"), deflated
 *      here (level from bits 1-2) -- so mutations reach the header
 *      parser; else the rest is the file as it is, zlib and all
 *   3  name the file with an id one bit off what its contents hash to
 *   4  (with bit 0) a byte of garbage after the zlib stream
 * The file is named after the SHA-1 of what it inflates to (or of its
 * bytes, when it does not inflate), so a sound object can read.
 *
 * What must hold: a model of git's loose format written here says
 * whether the file is a sound object -- one zlib stream and nothing
 * after it, inflating to "<type> <size>\0" (commit, tree, blob or tag; a
 * decimal size without a leading zero) and exactly size bytes, hashing
 * to its name -- and the reads give exactly its bytes, or GKV_E_CORRUPT
 * naming the object, never another code; the object exists and is
 * listed whatever its contents.
 */
#include <errno.h>
#include <fcntl.h>
#include <zlib.h>

#include "fuzz_git_common.h"

typedef struct {
	int type;
	const unsigned char *data; /* into the inflated buffer */
	size_t len;
} loose_obj;

/* The whole inflated stream of z, if it is one stream and nothing else;
 * bounded by what deflate can expand to. */
static unsigned char *inflate_all(size_t *out_len, int *whole, const unsigned char *z,
				  size_t zlen)
{
	size_t cap = zlen * 1032 + 128;
	unsigned char *buf = malloc(cap);
	z_stream zs;
	int zr;

	FUZZ_CHECK(buf != NULL);
	memset(&zs, 0, sizeof(zs));
	FUZZ_CHECK(inflateInit(&zs) == Z_OK);
	zs.next_in = (unsigned char *)z;
	zs.avail_in = (uInt)zlen;
	zs.next_out = buf;
	zs.avail_out = (uInt)cap;
	zr = inflate(&zs, Z_FINISH);
	*whole = zr == Z_STREAM_END && zs.avail_in == 0;
	*out_len = zs.total_out;
	inflateEnd(&zs);
	if (zr != Z_STREAM_END) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* "<type> <size>\0<size bytes>" */
static int model_object(loose_obj *o, const unsigned char *raw, size_t len)
{
	static const char *const names[] = {"commit", "tree", "blob", "tag"};
	const unsigned char *nul = memchr(raw, '\0', len), *p;
	uint64_t size = 0;
	int t;

	if (!nul)
		return -1;
	for (t = 0; t < 4; t++) {
		size_t n = strlen(names[t]);

		if ((size_t)(nul - raw) > n + 1 && !memcmp(raw, names[t], n) && raw[n] == ' ')
			break;
	}
	if (t == 4)
		return -1;
	p = raw + strlen(names[t]) + 1;
	if (*p == '0' && p + 1 != nul)
		return -1;
	for (; p < nul; p++) {
		if (*p < '0' || *p > '9' || size > (UINT64_MAX - 9) / 10)
			return -1;
		size = size * 10 + (uint64_t)(*p - '0');
	}
	if (size != (uint64_t)(raw + len - nul - 1))
		return -1;
	o->type = t + 1;
	o->data = nul + 1;
	o->len = (size_t)size;
	return 0;
}

static int find_id(const gkv_oid *id, void *payload)
{
	if (gkv_oid_equal(id, payload))
		((gkv_oid *)payload)->id[0] ^= 0xff; /* seen: no longer equal */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *file, *raw = NULL;
	size_t flen, rlen = 0;
	char hex[GKV_OID_HEXSZ + 1], path[4200];
	int whole = 0, ok, fd;
	loose_obj o = {0};
	gkv_oid id, probe;
	gkv_backend *b;

	if (size < 1)
		return 0;
	if (!git_dir)
		git_init("loose");
	if (data[0] & 1) {
		uLongf zcap = compressBound(size) + 1;

		FUZZ_CHECK((file = malloc(zcap)) != NULL);
		flen = zcap - 1;
		FUZZ_CHECK(compress2(file, &flen, data + 1, size - 1, (data[0] >> 1) & 3 ? 9 : 1) ==
			   Z_OK);
		if (data[0] & 16)
			file[flen++] = 0x42;
	} else {
		flen = size - 1;
		FUZZ_CHECK((file = malloc(flen + 1)) != NULL);
		memcpy(file, data + 1, flen);
	}
	if (flen > 0)
		raw = inflate_all(&rlen, &whole, file, flen);
	if (raw)
		sha1(id.id, raw, rlen, "", 0);
	else
		sha1(id.id, file, flen, "", 0);
	if (data[0] & 8)
		id.id[19] ^= 1;
	ok = raw && whole && !(data[0] & 8) && model_object(&o, raw, rlen) == 0;

	gkv_oid_fmt(hex, &id);
	hex[GKV_OID_HEXSZ] = '\0';
	snprintf(path, sizeof(path), "%s/objects/%.2s", git_dir, hex);
	FUZZ_CHECK(mkdir(path, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/objects/%.2s/%s", git_dir, hex, hex + 2);
	FUZZ_CHECK((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0444)) >= 0);
	FUZZ_CHECK(write(fd, file, flen) == (ssize_t)flen);
	close(fd);

	FUZZ_CHECK(gkv_backend_git_open(&b, git_dir, 0) == 0);
	git_check_read(b, &id, ok, ok ? o.type : 0, ok ? o.data : NULL, ok ? o.len : 0, 0);
	FUZZ_CHECK(b->exists(b, &id) == 1);
	probe = id;
	FUZZ_CHECK(b->foreach(b, &id, 40, find_id, &probe) == 0 && !gkv_oid_equal(&probe, &id));
	b->free(b);

	FUZZ_CHECK(unlink(path) == 0);
	snprintf(path, sizeof(path), "%s/objects/%.2s", git_dir, hex);
	rmdir(path);
	free(raw);
	free(file);
	return 0;
}
