/*
 * fuzz_main.c -- a stand-alone driver for the fuzz targets, for builds
 * without libFuzzer (gcc, CI): it runs the target over every file of a
 * seed corpus directory, then over a fixed number of pseudo-random
 * mutations of those seeds from a fixed seed, so that every run is the
 * same run and a failure reproduces. Not linked when building with
 * -fsanitize=fuzzer, which brings its own main.
 *
 *   fuzz_<target> CORPUS_DIR [MUTATIONS]
 */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define DEFAULT_MUTATIONS 4000
#define MAX_LEN (64 * 1024)

typedef struct {
	uint8_t *data;
	size_t size;
} input;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64*: small, fast, the same everywhere. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static int read_file(input *out, const char *path)
{
	FILE *f = fopen(path, "rb");
	long len;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > MAX_LEN ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	out->size = (size_t)len;
	out->data = malloc(out->size ? out->size : 1);
	if (!out->data || fread(out->data, 1, out->size, f) != out->size) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order (readdir's order is not stable). */
static size_t load_corpus(input **out, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0, loaded = 0;
	struct stat st;

	if (!d) {
		perror(dir);
		exit(2);
	}
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(*names));
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	*out = calloc(n ? n : 1, sizeof(**out));
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (read_file(&(*out)[loaded], path) == 0)
			loaded++;
		else
			fprintf(stderr, "skipping %s\n", path);
		free(names[i]);
	}
	free(names);
	return loaded;
}

/* One random edit of buf (size *len, capacity MAX_LEN). */
static void mutate_once(uint8_t *buf, size_t *len, const input *seeds, size_t nseeds)
{
	static const uint8_t interesting[] = {0,   ' ', '\n', '/',  '.',  '<', '>', '0',
					      '7', '+', '-',  0x7f, 0xff, 'a', '@', '{'};
	size_t n = *len, at = below(n + 1), k;

	switch (below(7)) {
	case 0: /* flip a bit */
		if (n)
			buf[below(n)] ^= (uint8_t)(1u << below(8));
		break;
	case 1: /* set a byte to something the parsers care about */
		if (n)
			buf[below(n)] = interesting[below(sizeof(interesting))];
		break;
	case 2: /* insert a byte */
		if (n < MAX_LEN) {
			memmove(buf + at + 1, buf + at, n - at);
			buf[at] = interesting[below(sizeof(interesting))];
			*len = n + 1;
		}
		break;
	case 3: /* delete a run */
		k = below(n - (at < n ? at : n) + 1);
		memmove(buf + at, buf + at + k, n - at - k);
		*len = n - k;
		break;
	case 4: /* truncate */
		*len = below(n + 1);
		break;
	case 5: /* duplicate a run in place */
		k = below(n - (at < n ? at : n) + 1);
		if (k && n + k <= MAX_LEN) {
			memmove(buf + at + k, buf + at, n - at);
			*len = n + k;
		}
		break;
	default: /* splice: this input's head, another seed's tail */
		if (nseeds) {
			const input *o = &seeds[below(nseeds)];
			size_t from = below(o->size + 1), take = o->size - from;

			if (at + take > MAX_LEN)
				take = MAX_LEN - at;
			memcpy(buf + at, o->data + from, take);
			*len = at + take;
		}
		break;
	}
}

int main(int argc, char **argv)
{
	input *seeds;
	size_t nseeds, mutations = DEFAULT_MUTATIONS, len;
	uint8_t *buf, *exact;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS]\n", argv[0]);
		return 2;
	}
	if (argc == 3)
		mutations = strtoul(argv[2], NULL, 10);
	nseeds = load_corpus(&seeds, argv[1]);
	for (size_t i = 0; i < nseeds; i++)
		LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].size);
	buf = malloc(MAX_LEN);
	for (size_t m = 0; m < mutations && nseeds; m++) {
		const input *s = &seeds[below(nseeds)];
		size_t edits = 1 + below(4);

		memcpy(buf, s->data, s->size);
		len = s->size;
		for (size_t e = 0; e < edits; e++)
			mutate_once(buf, &len, seeds, nseeds);
		/* An exact-size copy, so that a sanitizer sees any overread. */
		exact = malloc(len ? len : 1);
		memcpy(exact, buf, len);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	printf("%zu seeds, %zu mutations: ok\n", nseeds, nseeds ? mutations : 0);
	for (size_t i = 0; i < nseeds; i++)
		free(seeds[i].data);
	free(seeds);
	free(buf);
	return nseeds ? 0 : 1;
}
