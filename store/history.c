/*
 * history.c -- walking the commit graph: the revision walk (newest first,
 * parents after children), is-ancestor, merge bases (lowest common
 * ancestors) and the commits that last and first changed a path.
 *
 * Everything here works on a private, compact copy of the part of the
 * graph it visits (struct graph): one node per commit with its id,
 * committer time, parents (as node indices) and flags, found through an
 * open-addressing table keyed by the first bytes of the id. Each commit
 * object is read once, given the light parse (tree, parents, committer
 * time: no signature or message is copied) and freed at once, so a walk
 * over 100,000 commits holds about 60 bytes per commit and no commit
 * objects, and makes no allocation per commit beyond the backend's copy
 * of the object.
 *
 * Built on the public API, plus the core's object read and light commit
 * parse (gkv__odb_read_typed, gkv__commit_parse_graph), gkv__tree_entry_at
 * (what a path names, without loading values) and gkv__path_check.
 */
#include <stdio.h>

#include "path.h"
#include "pqueue.h"
#include "repo.h"
#include "tree.h"

/* Node flags. The walk, the paint-down and the path search use subsets. */
enum {
	F_PARSED = 1 << 0,  /* time and parents are known */
	F_SEEN = 1 << 1,    /* queued once already (walks that queue a node once) */
	F_ADDED = 1 << 2,   /* popped, its parents queued */
	F_HIDDEN = 1 << 3,  /* hidden, or an ancestor of a hidden commit */
	F_PARENT1 = 1 << 4, /* paint-down: reachable from the first commit */
	F_PARENT2 = 1 << 5, /* paint-down: reachable from the second commit */
	F_STALE = 1 << 6,   /* below a common ancestor: not a lowest one */
	F_RESULT = 1 << 7   /* found common (it may turn stale later) */
};

#define NO_NODE UINT32_MAX

/*
 * Commits hidden from a walk are painted newest first; once only hidden
 * commits are queued, this many more are painted before stopping, in case
 * a skewed clock put a hidden commit's ancestor above an interesting one
 * (git's SLOP). Without skew, stopping at once would already be exact.
 */
#define HIDE_SLOP 5

typedef struct {
	gkv_oid id;
	uint32_t edges; /* where its parents start in graph.edges */
	int64_t time;	/* committer time */
	uint32_t nparents;
	uint32_t indegree; /* children in the walk not yet emitted */
	uint16_t flags;
	uint16_t queued; /* entries in the heap (paint-down queues a node again) */
} node;

typedef struct {
	gkv_repo *repo;
	node *nodes;
	size_t nnodes, nodes_cap;
	uint32_t *slots; /* node index per slot, NO_NODE when free */
	size_t mask;	 /* slots - 1 (a power of two), 0 before the first */
	gkv__u32vec edges;	 /* the parents of every parsed node, back to back */
	gkv__u32vec heap;	 /* priority queue: newest first, then first found */
	gkv__u32vec stack;
	gkv__commit_graph scratch; /* the commit being parsed (graph_parse) */
	/*
	 * Queued nodes carrying stop_flag cannot change the answer (hidden,
	 * stale); active counts the queued entries without it, and a walk
	 * ends when none are left.
	 */
	uint16_t stop_flag;
	size_t active;
} graph;

/* ------------------------------------------------------------ helpers */

/*
 * Raise an error about a commit, keeping what the core said (the message
 * is copied first: the core's buffer is the one being written).
 */
static int commit_error(int rc, const gkv_oid *id, const char *what)
{
	char hex[GKV_OID_HEXSZ + 1], why[512];

	gkv_oid_fmt(hex, id);
	snprintf(why, sizeof(why), "%s", gkv_error_last());
	if (strstr(why, hex))
		return gkv__error(rc, "%s: %s", what, why);
	return gkv__error(rc, "%s: commit %s: %s", what, hex, why);
}

/*
 * Read commit id into c with the light parse: the checks of
 * gkv_commit_lookup, without copying signatures or the message. what
 * starts the error message.
 */
static int commit_load(gkv__commit_graph *c, gkv_repo *repo, const gkv_oid *id, const char *what)
{
	void *data;
	size_t len;
	int rc;

	if ((rc = gkv__odb_read_typed(&data, &len, repo, id, GKV_OBJ_COMMIT)) == 0) {
		rc = gkv__commit_parse_graph(c, data, len, id);
		gkv_backend_data_free(data);
	}
	return rc < 0 ? commit_error(rc, id, what) : 0;
}

/* ------------------------------------------------------------- graph */

static void graph_init(graph *g, gkv_repo *repo)
{
	memset(g, 0, sizeof(*g));
	g->repo = repo;
}

static void graph_free(graph *g)
{
	free(g->nodes);
	free(g->slots);
	gkv__u32vec_free(&g->edges);
	gkv__u32vec_free(&g->heap);
	gkv__u32vec_free(&g->stack);
	gkv__commit_graph_dispose(&g->scratch);
	memset(g, 0, sizeof(*g));
}

/* SHA-1 output is uniform: its first 8 bytes are as good as any hash. */
static size_t oid_hash(const gkv_oid *id)
{
	uint64_t k;

	memcpy(&k, id->id, sizeof(k));
	return (size_t)k;
}

/* The slot holding id, or the free slot where it would go. */
static size_t graph_slot(const graph *g, const gkv_oid *id)
{
	size_t i = oid_hash(id) & g->mask;

	while (g->slots[i] != NO_NODE &&
	       memcmp(g->nodes[g->slots[i]].id.id, id->id, GKV_OID_RAWSZ) != 0)
		i = (i + 1) & g->mask;
	return i;
}

/* Double the table (kept at most half full, so probes stay short). */
static int graph_rehash(graph *g)
{
	size_t cap = g->mask ? (g->mask + 1) * 2 : 1024;

	if (cap > SIZE_MAX / sizeof(uint32_t))
		return gkv__oom();
	free(g->slots);
	g->slots = malloc(cap * sizeof(uint32_t));
	if (!g->slots) {
		g->mask = 0;
		return gkv__oom();
	}
	memset(g->slots, 0xff, cap * sizeof(uint32_t)); /* NO_NODE everywhere */
	g->mask = cap - 1;
	for (size_t i = 0; i < g->nnodes; i++)
		g->slots[graph_slot(g, &g->nodes[i].id)] = (uint32_t)i;
	return 0;
}

/* The node of id, made (unparsed) if the graph has none yet. */
static int graph_intern(uint32_t *out, graph *g, const gkv_oid *id)
{
	size_t slot, cap;
	node *p;
	int rc;

	if ((g->nnodes + 1) * 2 > g->mask + 1 && (rc = graph_rehash(g)) < 0)
		return rc;
	slot = graph_slot(g, id);
	if (g->slots[slot] != NO_NODE) {
		*out = g->slots[slot];
		return 0;
	}
	if (g->nnodes >= NO_NODE - 1)
		return gkv__error(GKV_E_NOMEM, "history: more than 2^32 commits in one walk");
	if (g->nnodes == g->nodes_cap) {
		cap = g->nodes_cap ? g->nodes_cap * 2 : 1024;
		if (cap > SIZE_MAX / sizeof(node) || !(p = realloc(g->nodes, cap * sizeof(node))))
			return gkv__oom();
		g->nodes = p;
		g->nodes_cap = cap;
	}
	memset(&g->nodes[g->nnodes], 0, sizeof(node));
	g->nodes[g->nnodes].id = *id;
	g->slots[slot] = (uint32_t)g->nnodes;
	*out = (uint32_t)g->nnodes++;
	return 0;
}

/*
 * Load node i's commit once: keep its time and parents. The parent buffer
 * of g->scratch is reused from one commit to the next. Interning the
 * parents may move g->nodes: callers hold indices, never node pointers,
 * across this call.
 */
static int graph_parse(graph *g, uint32_t i)
{
	gkv__commit_graph *c = &g->scratch;
	gkv_oid id = g->nodes[i].id;
	size_t first;
	uint32_t p;
	int rc;

	if (g->nodes[i].flags & F_PARSED)
		return 0;
	if ((rc = commit_load(c, g->repo, &id, "history")) < 0)
		return rc;
	first = g->edges.n;
	if (c->nparents > UINT32_MAX - first)
		return gkv__error(GKV_E_NOMEM, "history: too many parents in one walk");
	if ((rc = gkv__u32vec_reserve(&g->edges, c->nparents)) < 0)
		return rc;
	for (size_t k = 0; k < c->nparents; k++) {
		if ((rc = graph_intern(&p, g, &c->parents[k])) < 0)
			return rc;
		g->edges.v[g->edges.n++] = p;
	}
	g->nodes[i].time = c->time;
	g->nodes[i].edges = (uint32_t)first;
	g->nodes[i].nparents = (uint32_t)c->nparents;
	g->nodes[i].flags |= F_PARSED;
	return 0;
}

/* The k-th parent of parsed node i. */
static uint32_t graph_parent(const graph *g, uint32_t i, uint32_t k)
{
	return g->edges.v[g->nodes[i].edges + k];
}

/* Intern and parse id: the node of an existing commit. */
static int graph_load(uint32_t *out, graph *g, const gkv_oid *id)
{
	int rc = graph_intern(out, g, id);

	return rc < 0 ? rc : graph_parse(g, *out);
}

/* Set flags on node i, keeping the count of active queue entries right. */
static void graph_flag(graph *g, uint32_t i, uint16_t flags)
{
	node *n = &g->nodes[i];

	if ((flags & g->stop_flag) && !(n->flags & g->stop_flag))
		g->active -= n->queued;
	n->flags |= flags;
}

/* Forget every flag but PARSED, and the queue: ready for another search. */
static void graph_reset(graph *g)
{
	for (size_t i = 0; i < g->nnodes; i++) {
		g->nodes[i].flags &= F_PARSED;
		g->nodes[i].queued = 0;
		g->nodes[i].indegree = 0;
	}
	g->heap.n = 0;
	g->active = 0;
}

/* ------------------------------------------------------ priority queue */

/* Newest first; equal times in the order the graph found them. */
static int heap_before(const void *ctx, uint32_t a, uint32_t b)
{
	const graph *g = ctx;
	int64_t ta = g->nodes[a].time, tb = g->nodes[b].time;

	return ta != tb ? ta > tb : a < b;
}

static int heap_push(graph *g, uint32_t i)
{
	int rc;

	if ((rc = gkv__pqueue_push(&g->heap, i, heap_before, g)) < 0)
		return rc;
	g->nodes[i].queued++;
	if (!(g->nodes[i].flags & g->stop_flag))
		g->active++;
	return 0;
}

static uint32_t heap_pop(graph *g)
{
	uint32_t top = gkv__pqueue_pop(&g->heap, heap_before, g);

	g->nodes[top].queued--;
	if (!(g->nodes[top].flags & g->stop_flag))
		g->active--;
	return top;
}

/* Queue node i (parsing it for its time) unless it was queued before. */
static int graph_queue_once(graph *g, uint32_t i)
{
	int rc;

	if (g->nodes[i].flags & F_SEEN)
		return 0;
	if ((rc = graph_parse(g, i)) < 0)
		return rc;
	g->nodes[i].flags |= F_SEEN;
	return heap_push(g, i);
}

/* ------------------------------------------------------------- revwalk */

/*
 * The walk runs in two phases. The first, at the first gkv_revwalk_next,
 * finds every commit of the walk: it pops commits newest first, queues
 * their parents and paints hidden ones and all their ancestors (as git's
 * limit_list does), until no interesting commit is left in the queue.
 * The second emits them: a commit becomes ready when all its children in
 * the walk were emitted (in-degree counting), and the newest ready commit
 * goes next. So the order is by committer time, but a parent never comes
 * before one of its children, whatever the clocks said. The price is that
 * the first call loads the whole walk; each commit is loaded only once.
 */
struct gkv_revwalk {
	graph g;
	int started; /* the walk is sorted: no more push or hide */
	int status;  /* the error that broke the walk, or 0 */
};

int gkv_revwalk_new(gkv_revwalk **out, gkv_repo *repo)
{
	gkv_revwalk *w;

	if (!out || !repo)
		return gkv__error(GKV_E_INVALID, "revwalk: NULL argument");
	*out = NULL;
	if (!(w = calloc(1, sizeof(*w))))
		return gkv__oom();
	graph_init(&w->g, repo);
	w->g.stop_flag = F_HIDDEN;
	*out = w;
	return 0;
}

void gkv_revwalk_free(gkv_revwalk *walk)
{
	if (!walk)
		return;
	graph_free(&walk->g);
	free(walk);
}

static int revwalk_add(gkv_revwalk *w, const gkv_oid *id, uint16_t flags, const char *what)
{
	uint32_t i;
	int rc;

	if (!w || !id)
		return gkv__error(GKV_E_INVALID, "revwalk %s: NULL argument", what);
	if (w->started)
		return gkv__error(GKV_E_INVALID, "revwalk %s: the walk has already started", what);
	if ((rc = graph_load(&i, &w->g, id)) < 0)
		return rc;
	graph_flag(&w->g, i, flags);
	return graph_queue_once(&w->g, i);
}

int gkv_revwalk_push(gkv_revwalk *walk, const gkv_oid *id)
{
	return revwalk_add(walk, id, 0, "push");
}

int gkv_revwalk_hide(gkv_revwalk *walk, const gkv_oid *id)
{
	return revwalk_add(walk, id, F_HIDDEN, "hide");
}

/*
 * Node i became hidden after it was expanded: hide its ancestors found
 * so far. Only expanded nodes have their parents queued, so the painting
 * goes on through those; a queued node passes the flag on when popped.
 */
static int revwalk_hide_ancestors(graph *g, uint32_t i)
{
	uint32_t x, p;
	int rc;

	g->stack.n = 0;
	if ((rc = gkv__u32vec_push(&g->stack, i)) < 0)
		return rc;
	while (g->stack.n > 0) {
		x = g->stack.v[--g->stack.n];
		for (uint32_t k = 0; k < g->nodes[x].nparents; k++) {
			p = graph_parent(g, x, k);
			if (g->nodes[p].flags & F_HIDDEN)
				continue;
			graph_flag(g, p, F_HIDDEN);
			if ((g->nodes[p].flags & F_ADDED) && (rc = gkv__u32vec_push(&g->stack, p)) < 0)
				return rc;
		}
	}
	return 0;
}

/* Pop-time work of phase one: pass hiding on, queue the parents. */
static int revwalk_expand(graph *g, uint32_t i)
{
	int rc;

	g->nodes[i].flags |= F_ADDED;
	if ((g->nodes[i].flags & F_HIDDEN) && (rc = revwalk_hide_ancestors(g, i)) < 0)
		return rc;
	for (uint32_t k = 0; k < g->nodes[i].nparents; k++)
		if ((rc = graph_queue_once(g, graph_parent(g, i, k))) < 0)
			return rc;
	return 0;
}

/* Phase one: find the commits of the walk. */
static int revwalk_limit(graph *g)
{
	int slop = HIDE_SLOP, rc;

	while (g->heap.n > 0) {
		if (g->active > 0)
			slop = HIDE_SLOP;
		else if (slop-- == 0)
			break;
		if ((rc = revwalk_expand(g, heap_pop(g))) < 0)
			return rc;
	}
	return 0;
}

static int in_walk(const node *n)
{
	return (n->flags & (F_ADDED | F_HIDDEN)) == F_ADDED;
}

/* Phase two's start: count children in the walk, queue the childless. */
static int revwalk_sort(graph *g)
{
	node *n;
	int rc;

	g->heap.n = 0;
	g->stop_flag = 0;
	g->active = 0;
	for (size_t i = 0; i < g->nnodes; i++)
		g->nodes[i].queued = 0;
	for (uint32_t i = 0; i < g->nnodes; i++) {
		if (!in_walk(&g->nodes[i]))
			continue;
		for (uint32_t k = 0; k < g->nodes[i].nparents; k++) {
			n = &g->nodes[graph_parent(g, i, k)];
			n->indegree += in_walk(n);
		}
	}
	for (uint32_t i = 0; i < g->nnodes; i++) {
		n = &g->nodes[i];
		if (in_walk(n) && n->indegree == 0 && (rc = heap_push(g, i)) < 0)
			return rc;
	}
	return 0;
}

static int revwalk_start(gkv_revwalk *w)
{
	int rc;

	w->started = 1;
	if ((rc = revwalk_limit(&w->g)) < 0 || (rc = revwalk_sort(&w->g)) < 0)
		w->status = rc;
	return rc;
}

int gkv_revwalk_next(gkv_oid *out, gkv_revwalk *walk)
{
	graph *g;
	uint32_t i, p;
	int rc;

	if (!out || !walk)
		return gkv__error(GKV_E_INVALID, "revwalk next: NULL argument");
	g = &walk->g;
	if (!walk->started && (rc = revwalk_start(walk)) < 0)
		return rc;
	if (walk->status < 0)
		return gkv__error(walk->status, "revwalk next: the walk failed earlier");
	if (g->heap.n == 0)
		return GKV_ITEROVER;
	i = heap_pop(g);
	for (uint32_t k = 0; k < g->nodes[i].nparents; k++) {
		p = graph_parent(g, i, k);
		if (!in_walk(&g->nodes[p]) || --g->nodes[p].indegree > 0)
			continue;
		if ((rc = heap_push(g, p)) < 0)
			return walk->status = rc;
	}
	*out = g->nodes[i].id;
	return 0;
}

/* ----------------------------------------------- common ancestors */

/*
 * git's paint-down: paint one's ancestors PARENT1 and two's PARENT2,
 * newest first. A commit with both colours is a common ancestor; what lies
 * below it is painted STALE, since no lowest common ancestor can be there.
 * A commit gaining a colour is queued again, so that late paint (a skewed
 * clock) still spreads, and the search ends when only stale commits are
 * queued. Found commits carry RESULT; those still not STALE at the end are
 * the candidates. With watch set, it stops as soon as watch is PARENT2
 * (*found = 1): watch is then reachable from two.
 */
static int paint_down(int *found, graph *g, uint32_t one, uint32_t two, uint32_t watch)
{
	uint16_t f;
	uint32_t i, p;
	int rc;

	g->stop_flag = F_STALE;
	graph_flag(g, one, F_PARENT1);
	graph_flag(g, two, F_PARENT2);
	if ((rc = heap_push(g, one)) < 0 || (rc = heap_push(g, two)) < 0)
		return rc;
	while (g->active > 0) {
		i = heap_pop(g);
		f = g->nodes[i].flags & (F_PARENT1 | F_PARENT2 | F_STALE);
		if (f == (F_PARENT1 | F_PARENT2)) {
			graph_flag(g, i, F_RESULT);
			f |= F_STALE;
		}
		for (uint32_t k = 0; k < g->nodes[i].nparents; k++) {
			p = graph_parent(g, i, k);
			if ((g->nodes[p].flags & f) == f)
				continue;
			if ((rc = graph_parse(g, p)) < 0)
				return rc;
			graph_flag(g, p, f);
			if ((rc = heap_push(g, p)) < 0)
				return rc;
		}
		if (watch != NO_NODE && (g->nodes[watch].flags & F_PARENT2)) {
			*found = 1;
			break;
		}
	}
	return 0;
}

/* Whether node a is reachable from node d (both parsed), on a reset graph. */
static int graph_reaches(int *out, graph *g, uint32_t a, uint32_t d)
{
	*out = a == d;
	if (*out)
		return 0;
	graph_reset(g);
	return paint_down(out, g, a, d, a);
}

int gkv_is_ancestor(int *out, gkv_repo *repo, const gkv_oid *ancestor, const gkv_oid *descendant)
{
	graph g;
	uint32_t a, d;
	int rc;

	if (!out || !repo || !ancestor || !descendant)
		return gkv__error(GKV_E_INVALID, "is_ancestor: NULL argument");
	*out = 0;
	graph_init(&g, repo);
	if ((rc = graph_load(&a, &g, ancestor)) == 0 && (rc = graph_load(&d, &g, descendant)) == 0)
		rc = graph_reaches(out, &g, a, d);
	graph_free(&g);
	return rc;
}

/*
 * Drop the candidates that are ancestors of another candidate (a skewed
 * clock can let paint-down report one). Candidates are few: pairwise.
 */
static int remove_redundant(graph *g, gkv__u32vec *cand)
{
	size_t kept = 0;
	int below, rc;

	for (size_t i = 0; i < cand->n; i++) {
		below = 0;
		for (size_t j = 0; j < cand->n && !below; j++)
			if (j != i && (rc = graph_reaches(&below, g, cand->v[i], cand->v[j])) < 0)
				return rc;
		if (!below)
			cand->v[kept++] = cand->v[i];
	}
	cand->n = kept;
	return 0;
}

static int oid_order(const void *a, const void *b)
{
	return memcmp(((const gkv_oid *)a)->id, ((const gkv_oid *)b)->id, GKV_OID_RAWSZ);
}

/* The ids of the candidates into out, sorted by id. */
static int bases_out(gkv_oidarray *out, const graph *g, const gkv__u32vec *cand)
{
	if (cand->n == 0)
		return 0;
	if (!(out->ids = malloc(cand->n * sizeof(gkv_oid))))
		return gkv__oom();
	for (size_t i = 0; i < cand->n; i++)
		out->ids[i] = g->nodes[cand->v[i]].id;
	out->count = cand->n;
	qsort(out->ids, out->count, sizeof(gkv_oid), oid_order);
	return 0;
}

static int merge_bases(gkv_oidarray *out, graph *g, const gkv_oid *a, const gkv_oid *b)
{
	gkv__u32vec cand = GKV__U32VEC_INIT;
	uint32_t ia, ib;
	int rc;

	if ((rc = graph_load(&ia, g, a)) < 0 || (rc = graph_load(&ib, g, b)) < 0)
		return rc;
	if ((rc = paint_down(NULL, g, ia, ib, NO_NODE)) < 0)
		return rc;
	for (uint32_t i = 0; i < g->nnodes; i++) {
		if ((g->nodes[i].flags & (F_RESULT | F_STALE)) != F_RESULT)
			continue;
		if ((rc = gkv__u32vec_push(&cand, i)) < 0)
			goto done;
	}
	if (cand.n > 1 && (rc = remove_redundant(g, &cand)) < 0)
		goto done;
	rc = bases_out(out, g, &cand);
done:
	gkv__u32vec_free(&cand);
	return rc;
}

int gkv_merge_bases(gkv_oidarray *out, gkv_repo *repo, const gkv_oid *a, const gkv_oid *b)
{
	graph g;
	int rc;

	if (!out)
		return gkv__error(GKV_E_INVALID, "merge_bases: NULL argument");
	out->ids = NULL;
	out->count = 0;
	if (!repo || !a || !b)
		return gkv__error(GKV_E_INVALID, "merge_bases: NULL argument");
	graph_init(&g, repo);
	rc = merge_bases(out, &g, a, b);
	graph_free(&g);
	return rc;
}

/* -------------------------------------------------------- path history */

/* What a path names in one commit: nothing, or an object id and mode. */
typedef struct {
	int present;
	uint32_t mode;
	gkv_oid id;
} entry;

static int entry_equal(const entry *a, const entry *b)
{
	if (a->present != b->present)
		return 0;
	return !a->present || (a->mode == b->mode && gkv_oid_equal(&a->id, &b->id));
}

static int tree_entry(entry *e, gkv_tree *tree, const char *path)
{
	int rc;

	memset(e, 0, sizeof(*e));
	/* git has no empty directories: an empty root holds nothing. */
	if (path[0] == '\0' && gkv_tree_is_empty(tree))
		return 0;
	rc = gkv__tree_entry_at(&e->id, &e->mode, tree, path);
	if (rc == GKV_E_NOTFOUND)
		return 0;
	e->present = rc == 0;
	return rc;
}

/*
 * What path names in commit id, and the commit's first parent (*parent
 * is zeroed for a root commit), from one load of the commit.
 */
static int commit_entry(entry *e, gkv_oid *parent, gkv_repo *repo, const gkv_oid *id,
			const char *path)
{
	gkv__commit_graph c;
	gkv_tree *tree;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = commit_load(&c, repo, id, "path history")) < 0)
		goto done;
	if (c.nparents > 0)
		*parent = c.parents[0];
	else
		memset(parent, 0, sizeof(*parent));
	if ((rc = gkv_tree_lookup(&tree, repo, &c.tree)) < 0) {
		rc = commit_error(rc, id, "path history: tree");
	} else {
		rc = tree_entry(e, tree, path);
		gkv_tree_free(tree);
	}
done:
	gkv__commit_graph_dispose(&c);
	return rc;
}

static int path_args(gkv_oid *out, gkv_repo *repo, const gkv_oid *from, const char *path,
		     const char *what)
{
	if (!out || !repo || !from || !path)
		return gkv__error(GKV_E_INVALID, "%s: NULL argument", what);
	return gkv__path_check(path, 1);
}

static int never_changed(const char *path, const gkv_oid *from)
{
	char hex[GKV_OID_HEXSZ + 1];

	gkv_oid_fmt(hex, from);
	return gkv__error(GKV_E_NOTFOUND, "path '%s' was never changed in the history of commit %s",
			  path, hex);
}

/*
 * The entry of the commit last looked at as a first parent: in a linear
 * stretch it is the next commit popped, so each commit's tree is read
 * once, not twice.
 */
typedef struct {
	gkv_oid id;
	entry e;
	int valid;
} entry_cache;

/* What path names in commit id, from the cache if it was the last parent. */
static int cached_entry(entry *e, entry_cache *cache, gkv_repo *repo, const gkv_oid *id,
			const char *path)
{
	gkv_oid skip;

	if (cache->valid && gkv_oid_equal(&cache->id, id)) {
		*e = cache->e;
		return 0;
	}
	return commit_entry(e, &skip, repo, id, path);
}

/* *hit = 1 if parsed node i changed path compared with its first parent. */
static int changed_path(int *hit, entry_cache *cache, const graph *g, uint32_t i, const char *path)
{
	entry mine, theirs;
	gkv_oid id = g->nodes[i].id, skip;
	int rc;

	if ((rc = cached_entry(&mine, cache, g->repo, &id, path)) < 0)
		return rc;
	if (g->nodes[i].nparents == 0) {
		*hit = mine.present;
		return 0;
	}
	cache->id = g->nodes[graph_parent(g, i, 0)].id;
	cache->valid = 0;
	if ((rc = commit_entry(&theirs, &skip, g->repo, &cache->id, path)) < 0)
		return rc;
	cache->e = theirs;
	cache->valid = 1;
	*hit = !entry_equal(&mine, &theirs);
	return 0;
}

/*
 * Newest first by committer time, streaming (no topological sort): the
 * answer is usually near the top, and loading the whole history to order
 * it first would cost more than the search.
 */
static int last_change(gkv_oid *out, graph *g, const gkv_oid *from, const char *path)
{
	entry_cache cache = {{{0}}, {0, 0, {{0}}}, 0};
	uint32_t i;
	int hit = 0, rc;

	if ((rc = graph_load(&i, g, from)) < 0 || (rc = graph_queue_once(g, i)) < 0)
		return rc;
	while (g->heap.n > 0) {
		i = heap_pop(g);
		if ((rc = changed_path(&hit, &cache, g, i, path)) < 0)
			return rc;
		if (hit) {
			*out = g->nodes[i].id;
			return 0;
		}
		for (uint32_t k = 0; k < g->nodes[i].nparents; k++)
			if ((rc = graph_queue_once(g, graph_parent(g, i, k))) < 0)
				return rc;
	}
	return never_changed(path, from);
}

int gkv_history_last_change(gkv_oid *out, gkv_repo *repo, const gkv_oid *from, const char *path)
{
	graph g;
	int rc;

	if ((rc = path_args(out, repo, from, path, "last_change")) < 0)
		return rc;
	graph_init(&g, repo);
	rc = last_change(out, &g, from, path);
	graph_free(&g);
	return rc;
}

/*
 * Along first parents, the oldest commit whose entry for path differs
 * from its first parent's (or a root commit holding path): the earliest
 * change. For a path removed and added again, that is its first
 * creation, not the re-addition. The whole first-parent chain is read.
 */
int gkv_history_first_change(gkv_oid *out, gkv_repo *repo, const gkv_oid *from, const char *path)
{
	entry mine, theirs;
	gkv_oid cur, parent, grand;
	int found = 0, rc;

	if ((rc = path_args(out, repo, from, path, "first_change")) < 0)
		return rc;
	cur = *from;
	if ((rc = commit_entry(&mine, &parent, repo, &cur, path)) < 0)
		return rc;
	while (!gkv_oid_is_zero(&parent)) {
		if ((rc = commit_entry(&theirs, &grand, repo, &parent, path)) < 0)
			return rc;
		if (!entry_equal(&mine, &theirs)) {
			*out = cur;
			found = 1;
		}
		cur = parent;
		parent = grand;
		mine = theirs;
	}
	if (mine.present) {
		*out = cur;
		found = 1;
	}
	return found ? 0 : never_changed(path, from);
}
