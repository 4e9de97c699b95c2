/*
 * watch.c -- callbacks on branch heads and on path prefixes.
 *
 * Every head move made through a repo handle is told to its watches on
 * the thread that made it, after the move. Moves made by other processes
 * (or other handles) are found by gkv_repo_watch_poll, which compares the
 * heads with those last seen. The registry's lock is recursive, so a
 * callback may write to the store (its own notifications then nest).
 */
#include "diff.h"
#include "path.h"
#include "repo.h"

struct gkv_watch {
	gkv_repo *repo;
	char *branch; /* NULL: every branch */
	char *prefix; /* NULL: a branch watch */
	gkv_watch_branch_cb branch_cb;
	gkv_watch_path_cb path_cb;
	void *payload;
	gkv_watch *next;
};

typedef struct {
	char *branch;
	gkv_oid head;
} seen_head;

struct gkv__watch_state {
	pthread_mutex_t lock;
	gkv_watch *list;
	int seeded;
	seen_head *seen;
	size_t nseen, cap;
};

int gkv__watch_init(gkv_repo *repo)
{
	gkv__watch_state *w = calloc(1, sizeof(*w));
	pthread_mutexattr_t attr;

	if (!w)
		return gkv__oom();
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&w->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	repo->watches = w;
	return 0;
}

static void seen_clear(gkv__watch_state *w)
{
	for (size_t i = 0; i < w->nseen; i++)
		free(w->seen[i].branch);
	free(w->seen);
	w->seen = NULL;
	w->nseen = w->cap = 0;
}

void gkv__watch_free_all(gkv_repo *repo)
{
	gkv__watch_state *w = repo->watches;

	if (!w)
		return;
	/* Watches still registered are the caller's to free; forget them. */
	seen_clear(w);
	pthread_mutex_destroy(&w->lock);
	free(w);
	repo->watches = NULL;
}

static seen_head *seen_find(gkv__watch_state *w, const char *branch)
{
	for (size_t i = 0; i < w->nseen; i++)
		if (strcmp(w->seen[i].branch, branch) == 0)
			return &w->seen[i];
	return NULL;
}

static void seen_set(gkv__watch_state *w, const char *branch, const gkv_oid *head)
{
	seen_head *s = seen_find(w, branch);

	if (!head) {
		if (s) {
			free(s->branch);
			*s = w->seen[--w->nseen];
		}
		return;
	}
	if (s) {
		s->head = *head;
		return;
	}
	if (w->nseen == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		seen_head *n = realloc(w->seen, cap * sizeof(*n));

		if (!n)
			return;
		w->seen = n;
		w->cap = cap;
	}
	if (!(w->seen[w->nseen].branch = gkv__strdup(branch)))
		return;
	w->seen[w->nseen++].head = *head;
}

static int seed_cb(const char *name, const gkv_oid *target, void *payload)
{
	seen_set(payload, name + strlen("refs/heads/"), target);
	return 0;
}

static int seed(gkv_repo *repo)
{
	gkv__watch_state *w = repo->watches;
	int rc;

	if (w->seeded)
		return 0;
	if ((rc = repo->backend->ref_list(repo->backend, "refs/heads/", seed_cb, w)) < 0)
		return rc;
	w->seeded = 1;
	return 0;
}

static gkv_tree *tree_of(gkv_repo *repo, const gkv_oid *commit)
{
	gkv_tree *t = NULL;

	if (commit) {
		if (gkv__commit_tree(&t, repo, commit) < 0)
			t = NULL;
	} else {
		gkv_tree_empty(&t, repo);
	}
	return t;
}

static void call_path_watch(gkv_watch *wt, const char *branch, const gkv_oid *old,
    const gkv_oid *new_head)
{
	gkv_tree *a = tree_of(wt->repo, old), *b = tree_of(wt->repo, new_head);
	gkv_diff *d = NULL;

	if (a && b && gkv__diff_at(&d, a, b, "") == 0) {
		gkv__diff_filter(d, wt->prefix);
		if (gkv_diff_count(d) > 0)
			wt->path_cb(branch, old, new_head, d, wt->payload);
	}
	gkv_diff_free(d);
	gkv_tree_free(a);
	gkv_tree_free(b);
}

void gkv__watch_notify(gkv_repo *repo, const char *branch, const gkv_oid *old,
    const gkv_oid *new_head)
{
	gkv__watch_state *w = repo->watches;
	int saved = gkv_error_last_code();

	pthread_mutex_lock(&w->lock);
	if (w->seeded)
		seen_set(w, branch, new_head);
	for (gkv_watch *wt = w->list; wt; wt = wt->next) {
		if (wt->branch && strcmp(wt->branch, branch) != 0)
			continue;
		if (wt->branch_cb)
			wt->branch_cb(branch, old, new_head, wt->payload);
		else
			call_path_watch(wt, branch, old, new_head);
	}
	pthread_mutex_unlock(&w->lock);
	(void)saved;
}

static int add_watch(gkv_watch **out, gkv_repo *repo, const char *branch, const char *prefix,
    gkv_watch_branch_cb bcb, gkv_watch_path_cb pcb, void *payload)
{
	gkv__watch_state *w;
	gkv_watch *wt;
	int rc;

	if (!out || !repo || (!bcb && !pcb))
		return gkv__error(GKV_E_INVALID, "gkv_watch: NULL argument");
	*out = NULL;
	if (branch && (rc = gkv__branch_check(branch)) < 0)
		return rc;
	if (prefix && (rc = gkv__path_check(prefix, 1)) < 0)
		return rc;
	if (!(wt = calloc(1, sizeof(*wt))))
		return gkv__oom();
	wt->repo = repo;
	wt->branch_cb = bcb;
	wt->path_cb = pcb;
	wt->payload = payload;
	if ((branch && !(wt->branch = gkv__strdup(branch))) || (prefix && !(wt->prefix = gkv__strdup(prefix)))) {
		gkv_watch_free(wt);
		return GKV_E_NOMEM;
	}
	w = repo->watches;
	pthread_mutex_lock(&w->lock);
	rc = seed(repo);
	if (rc == 0) {
		wt->next = w->list;
		w->list = wt;
	}
	pthread_mutex_unlock(&w->lock);
	if (rc < 0) {
		free(wt->branch);
		free(wt->prefix);
		free(wt);
		return rc;
	}
	*out = wt;
	return 0;
}

int gkv_watch_branch(gkv_watch **out, gkv_repo *repo, const char *branch,
    gkv_watch_branch_cb cb, void *payload)
{
	if (!cb)
		return gkv__error(GKV_E_INVALID, "gkv_watch_branch: callback is NULL");
	return add_watch(out, repo, branch, NULL, cb, NULL, payload);
}

int gkv_watch_path(gkv_watch **out, gkv_repo *repo, const char *branch, const char *prefix,
    gkv_watch_path_cb cb, void *payload)
{
	if (!cb || !prefix || !branch)
		return gkv__error(GKV_E_INVALID, "gkv_watch_path: NULL argument");
	return add_watch(out, repo, branch, prefix, NULL, cb, payload);
}

void gkv_watch_free(gkv_watch *wt)
{
	gkv__watch_state *w;

	if (!wt)
		return;
	w = wt->repo->watches;
	pthread_mutex_lock(&w->lock);
	for (gkv_watch **pp = &w->list; *pp; pp = &(*pp)->next) {
		if (*pp == wt) {
			*pp = wt->next;
			break;
		}
	}
	pthread_mutex_unlock(&w->lock);
	free(wt->branch);
	free(wt->prefix);
	free(wt);
}

typedef struct {
	gkv_repo *repo;
	char **names;
	gkv_oid *heads;
	gkv_oid *olds;
	size_t n, cap;
} poll_state;

static int poll_cb(const char *name, const gkv_oid *target, void *payload)
{
	poll_state *p = payload;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		char **nn = realloc(p->names, cap * sizeof(*nn));
		gkv_oid *nh;

		if (!nn)
			return gkv__oom();
		p->names = nn;
		if (!(nh = realloc(p->heads, cap * sizeof(*nh))))
			return gkv__oom();
		p->heads = nh;
		if (!(nh = realloc(p->olds, cap * sizeof(*nh))))
			return gkv__oom();
		p->olds = nh;
		p->cap = cap;
	}
	if (!(p->names[p->n] = gkv__strdup(name + strlen("refs/heads/"))))
		return GKV_E_NOMEM;
	p->heads[p->n++] = *target;
	return 0;
}

/*
 * Compare the heads now with those seen, then tell the watches. Every
 * change is worked out before any callback runs: a callback may move
 * branches itself (updating what is seen), which must not read as a
 * change found by this poll.
 */
static int poll_locked(size_t *changed, gkv_repo *repo, poll_state *p)
{
	gkv__watch_state *w = repo->watches;
	seen_head *gone;
	size_t ngone = 0, nseen;
	unsigned char *moved;
	int rc;

	if (!w->seeded)
		return seed(repo);
	if ((rc = repo->backend->ref_list(repo->backend, "refs/heads/", poll_cb, p)) < 0)
		return rc;
	nseen = w->nseen;
	moved = calloc(p->n + 1, 1);
	gone = calloc(nseen + 1, sizeof(*gone));
	if (!moved || !gone) {
		free(moved);
		free(gone);
		return gkv__oom();
	}
	/* Branches seen before and not listed now were deleted. */
	for (size_t i = 0; i < nseen; i++) {
		size_t j;

		for (j = 0; j < p->n && strcmp(p->names[j], w->seen[i].branch) != 0; j++)
			;
		if (j == p->n && (gone[ngone].branch = gkv__strdup(w->seen[i].branch)))
			gone[ngone++].head = w->seen[i].head;
	}
	/* Branches listed now that are new or moved; old heads kept in p. */
	for (size_t i = 0; i < p->n; i++) {
		seen_head *s = seen_find(w, p->names[i]);

		if (s && gkv_oid_equal(&s->head, &p->heads[i]))
			continue;
		moved[i] = s ? 2 : 1;
		if (s)
			p->olds[i] = s->head;
	}
	for (size_t i = 0; i < p->n; i++) {
		if (!moved[i])
			continue;
		gkv__watch_notify(repo, p->names[i], moved[i] == 2 ? &p->olds[i] : NULL, &p->heads[i]);
		(*changed)++;
	}
	for (size_t i = 0; i < ngone; i++) {
		gkv__watch_notify(repo, gone[i].branch, &gone[i].head, NULL);
		free(gone[i].branch);
		(*changed)++;
	}
	free(moved);
	free(gone);
	return 0;
}

int gkv_repo_watch_poll(size_t *changed, gkv_repo *repo)
{
	poll_state p = {repo, NULL, NULL, NULL, 0, 0};
	size_t count = 0;
	int rc;

	if (!repo)
		return gkv__error(GKV_E_INVALID, "gkv_repo_watch_poll: repo is NULL");
	pthread_mutex_lock(&repo->watches->lock);
	rc = poll_locked(&count, repo, &p);
	pthread_mutex_unlock(&repo->watches->lock);
	for (size_t i = 0; i < p.n; i++)
		free(p.names[i]);
	free(p.names);
	free(p.heads);
	free(p.olds);
	if (changed)
		*changed = count;
	return rc;
}
