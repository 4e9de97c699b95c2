/*
 * bench_git.c -- helpers for the git command-line peers.
 *
 *   bench-git stream-w1 N           fast-import stream of W1 (D(N), one commit) on stdout
 *   bench-git stream-w2 N0 U        D(N0), then W2's U commits (U = 0: the load alone)
 *   bench-git stream-w4 N0 U B      W2's history on main, branches a and b of B commits
 *   bench-git catfile REPO TREE N R drive `git cat-file --batch --buffer` with R
 *                                   "<tree>:<path>" queries and check every answer
 *
 * The streams make exactly the commits gitkv makes (same trees, messages,
 * signatures), so the ids must agree. catfile times its core loop, from the
 * first query written to the last answer read (core_s).
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIG "bench <bench@example.com> 1700000000 +0000"

static void commit_header(const char *ref, const char *msg, const char *from, int mark)
{
	printf("commit %s\n", ref);
	if (mark)
		printf("mark :%d\n", mark);
	printf("author " SIG "\ncommitter " SIG "\ndata %zu\n%s", strlen(msg), msg);
	if (from)
		printf("from %s\n", from);
}

static void modify(const char *path, const char *value)
{
	printf("M 100644 inline %s\ndata 64\n%s\n", path, value);
}

static void stream_load(uint64_t n)
{
	char path[32], value[65];
	uint64_t i;

	commit_header("refs/heads/main", "bulk\n", NULL, 1);
	for (i = 0; i < n; i++) {
		bench_path(path, i);
		bench_value(value, i);
		modify(path, value);
	}
	putchar('\n');
}

static void stream_updates(const char *ref, const char *prefix, uint64_t seed, uint64_t n0,
    uint64_t n, const char *from)
{
	uint64_t *pick = bench_choices(seed, n, n0), j;
	char path[32], value[65], msg[48];

	if (!pick)
		bench_die("out of memory");
	for (j = 0; j < n; j++) {
		bench_path(path, pick[j]);
		bench_update_value(value, prefix, j);
		bench_update_message(msg, prefix, j);
		commit_header(ref, msg, j == 0 ? from : NULL, 0);
		modify(path, value);
		putchar('\n');
	}
	free(pick);
}

typedef struct {
	int fd;
	char *data;
	size_t len;
} writer;

static void *write_all(void *p)
{
	writer *w = p;
	size_t off = 0;

	while (off < w->len) {
		ssize_t k = write(w->fd, w->data + off, w->len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			bench_die("writing to git cat-file failed");
		off += (size_t)k;
	}
	close(w->fd);
	return NULL;
}

static void catfile(const char *repo, const char *tree, uint64_t n, uint64_t r)
{
	uint64_t *pick = bench_choices(BENCH_SEED_W3, r, n), k;
	char(*values)[65] = malloc((r + 1) * sizeof(*values));
	size_t cap = (size_t)r * 80 + 1, len = 0;
	char *queries = malloc(cap), header[128], body[80], path[32];
	int in[2], out[2], status;
	writer w;
	pthread_t th;
	pid_t pid;
	FILE *f;
	double t0, t1;

	if (!pick || !values || !queries)
		bench_die("out of memory");
	for (k = 0; k < r; k++) {
		bench_path(path, pick[k]);
		bench_value(values[k], pick[k]);
		len += (size_t)snprintf(queries + len, cap - len, "%s:%s\n", tree, path);
	}
	if (pipe(in) < 0 || pipe(out) < 0)
		bench_die("pipe failed");
	if ((pid = fork()) < 0)
		bench_die("fork failed");
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		execlp("git", "git", "-C", repo, "cat-file", "--batch", "--buffer", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (!(f = fdopen(out[0], "r")))
		bench_die("fdopen failed");
	w.fd = in[1], w.data = queries, w.len = len;
	t0 = bench_now();
	if (pthread_create(&th, NULL, write_all, &w))
		bench_die("pthread_create failed");
	for (k = 0; k < r; k++) {
		size_t hl;
		if (!fgets(header, sizeof(header), f))
			bench_die("git cat-file stopped after %llu answers", (unsigned long long)k);
		hl = strlen(header);
		if (hl != 49 || strcmp(header + 40, " blob 64\n"))
			bench_die("unexpected answer: %s", header);
		if (fread(body, 1, 65, f) != 65 || memcmp(body, values[k], 64) || body[64] != '\n')
			bench_die("wrong value for read %llu", (unsigned long long)k);
	}
	t1 = bench_now();
	pthread_join(th, NULL);
	fclose(f);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		bench_die("git cat-file failed");
	bench_report_num("core_s", t1 - t0);
	bench_report_num("ops", (double)r);
	free(pick);
	free(values);
	free(queries);
}

int main(int argc, char **argv)
{
	uint64_t num[4] = { 0, 0, 0, 0 };
	const char *cmd = argc > 1 ? argv[1] : "";
	int i, nnum = 0, first = !strcmp(cmd, "catfile") ? 4 : 2;

	if (argc < 2)
		bench_die("usage: bench-git stream-w1|stream-w2|stream-w4|catfile ...");
	for (i = first; i < argc; i++) {
		if (nnum >= 4)
			bench_die("too many arguments");
		num[nnum++] = bench_parse_u64(argv[i]);
	}
	if (!strcmp(cmd, "stream-w1") && nnum == 1) {
		stream_load(num[0]);
	} else if (!strcmp(cmd, "stream-w2") && nnum == 2) {
		stream_load(num[0]);
		stream_updates("refs/heads/main", "update", BENCH_SEED_W2, num[0], num[1], NULL);
	} else if (!strcmp(cmd, "stream-w4") && nnum == 3) {
		stream_load(num[0]);
		stream_updates("refs/heads/main", "update", BENCH_SEED_W2, num[0], num[1], NULL);
		stream_updates("refs/heads/a", "a", BENCH_SEED_W4A, num[0], num[2], ":1");
		stream_updates("refs/heads/b", "b", BENCH_SEED_W4B, num[0], num[2], ":1");
	} else if (!strcmp(cmd, "catfile") && argc == 6 && nnum == 2) {
		catfile(argv[2], argv[3], num[0], num[1]);
	} else {
		bench_die("bad command or arguments: %s", cmd);
	}
	if (fflush(stdout))
		bench_die("writing the stream failed");
	return 0;
}
