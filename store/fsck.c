/*
 * fsck.c -- gkv_repo_fsck: is every stored object whole and well formed,
 * and is everything the refs reach present and of the right kind?
 *
 * Two passes over what the backend holds, as git fsck does them:
 *
 *  1. every object the backend lists (foreach) is read, hashed again and
 *     compared with its id, then checked as git fsck --strict checks it
 *     (gkv__object_check); what it is (its type, whether it is damaged)
 *     is kept in a set of ids, 21 bytes an object;
 *  2. from every ref, the graph is walked through that set: a ref names
 *     a present object (a commit under refs/heads/ and refs/remotes/), a
 *     commit its tree and parents, a tree its subtrees and blobs by mode
 *     (a submodule's commit is another repository's), a tag the object
 *     and type its header says; a blob named .gitmodules or
 *     .gitattributes is read and checked as git fsck checks it. A
 *     missing object is reported once; a
 *     link to an object of the wrong kind, at each link. Damaged objects
 *     are not followed.
 *
 * Each problem is one call of the caller's callback, with the id of the
 * object concerned (and the ref, for refs). The walk holds a stack of
 * ids, not a recursion: history and trees of any depth cost heap only.
 */
#include <stdarg.h>
#include <stdio.h>

#include "codec.h"
#include "maint.h"
#include "path.h"
#include "repo.h"

/* An object's byte in the set: its type, and marks. */
#define T_MASK 0x07
#define F_BAD 0x08      /* failed its checks: not followed */
#define F_REACHED 0x10  /* reached from a ref */
#define F_SPECIAL 0x20  /* a blob checked as .gitmodules or .gitattributes */
#define V_UNREAD 0xff   /* listed, not read yet */
#define V_GONE 0xfe     /* listed, then not found: removed meanwhile */
#define V_MISSING 0xfc  /* not stored, named by something: reported once */

typedef struct {
	gkv_repo *repo;
	gkv_backend *b;
	gkv_fsck_cb cb;
	void *payload;
	gkv_work_cb progress;
	void *progress_payload;
	size_t problems;
	gkv__oidmap objs;
	uint64_t done, total;
	gkv__oidstack todo; /* ids still to follow */
} fsck_state;

static int problem(fsck_state *s, const gkv_oid *id, const char *ref, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* One problem for the callback; GKV_E_USER if it says stop. */
static int problem(fsck_state *s, const gkv_oid *id, const char *ref, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	s->problems++;
	if (s->cb && s->cb(id, ref, text, s->payload) != 0)
		return gkv__error(GKV_E_USER, "fsck stopped by its callback");
	return 0;
}

/* Progress every 1024 steps and at the end (force). */
static int step(fsck_state *s, int force)
{
	if (++s->done % 1024 != 0 && !force)
		return 0;
	if (s->progress && s->progress(s->done, s->total, s->progress_payload) != 0)
		return gkv__error(GKV_E_USER, "fsck stopped by its progress callback");
	return 0;
}

/* ---------------------------------------------------- pass 1: objects */

static int check_object(fsck_state *s, size_t slot)
{
	const gkv_oid *id = &s->objs.ids[slot];
	char hex[GKV_OID_HEXSZ + 1];
	gkv_otype type;
	gkv_oid got;
	void *data;
	size_t len;
	int rc;

	rc = s->b->read(&data, &len, &type, s->b, id);
	if (rc == GKV_E_NOTFOUND) {
		s->objs.val[slot] = V_GONE;
		gkv_error_clear();
		return 0;
	}
	if (rc == GKV_E_CORRUPT) {
		s->objs.val[slot] = F_BAD;
		return problem(s, id, NULL, "%s", gkv_error_last());
	}
	if (rc < 0)
		return rc;
	if (type < GKV_OBJ_COMMIT || type > GKV_OBJ_TAG) {
		s->objs.val[slot] = F_BAD;
		rc = problem(s, id, NULL, "object %s has no valid type (%d)", gkv__hex(id), (int)type);
		goto out;
	}
	s->objs.val[slot] = (uint8_t)type;
	if ((rc = gkv_hash(&got, type, data, len)) < 0 && rc != GKV_E_CORRUPT)
		goto out;
	if (rc == GKV_E_CORRUPT || !gkv_oid_equal(&got, id)) {
		s->objs.val[slot] |= F_BAD;
		gkv_oid_fmt(hex, &got);
		rc = rc == GKV_E_CORRUPT
		    ? problem(s, id, NULL, "%s", gkv_error_last())
		    : problem(s, id, NULL, "hashMismatch: %s %s holds bytes whose id is %s",
			  gkv__otype_name(type), gkv__hex(id), hex);
		goto out;
	}
	if ((rc = gkv__object_check(type, data, len, id)) == GKV_E_CORRUPT) {
		s->objs.val[slot] |= F_BAD;
		rc = problem(s, id, NULL, "%s", gkv_error_last());
	}
out:
	gkv_backend_data_free(data);
	return rc;
}

static int check_objects(fsck_state *s)
{
	int rc;

	for (size_t i = 0; i < s->objs.nslots; i++) {
		if (!s->objs.val[i])
			continue;
		if ((rc = check_object(s, i)) < 0 || (rc = step(s, 0)) < 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------ pass 2: reachability */

/*
 * A link from `from` (a ref's name when from_ref, else the hex id and
 * type of the object) to id, which must be of type want (GKV_OBJ_ANY:
 * any). Reported if id is missing (once) or of another type (each
 * time); queued to be followed the first time it is reached.
 */
static int link_to(fsck_state *s, const gkv_oid *id, gkv_otype want, const char *ref,
    const gkv_oid *from, int from_type)
{
	uint8_t *v = gkv__oidmap_at(&s->objs, id);
	char fhex[GKV_OID_HEXSZ + 1] = "";
	int t;

	if (from)
		gkv_oid_fmt(fhex, from);
	if (!v || *v == V_GONE) {
		if (v && *v == V_MISSING)
			return 0;
		if (v)
			*v = V_MISSING;
		else if (gkv__oidmap_put(&s->objs, id, V_MISSING) < 0)
			return GKV_E_NOMEM;
		if (ref)
			return problem(s, id, ref, "missingObject: ref %s names %s, which is missing",
			    ref, gkv__hex(id));
		return problem(s, id, NULL, "missingObject: %s %s names %s %s, which is missing",
		    gkv__otype_name(from_type), fhex, gkv__otype_name(want), gkv__hex(id));
	}
	if (*v == V_MISSING)
		return 0;
	t = *v & T_MASK;
	if (want != GKV_OBJ_ANY && t != 0 && t != (int)want) {
		if (ref)
			return problem(s, id, ref, "badRefTarget: ref %s names %s, a %s, not a %s",
			    ref, gkv__hex(id), gkv__otype_name(t), gkv__otype_name(want));
		return problem(s, id, NULL, "badLink: %s %s names %s as a %s, but it is a %s",
		    gkv__otype_name(from_type), fhex, gkv__hex(id), gkv__otype_name(want), gkv__otype_name(t));
	}
	if (*v & F_REACHED)
		return 0;
	*v |= F_REACHED;
	if ((*v & F_BAD) || t == GKV_OBJ_BLOB || t == 0)
		return step(s, 0);
	return gkv__oidstack_push(&s->todo, id);
}

/* The tagged object of a tag already checked: "object <hex>\ntype <t>\n". */
static int tag_target(gkv_oid *out, gkv_otype *type, const char *data, size_t len)
{
	static const char *const names[] = {"", "commit", "tree", "blob", "tag"};
	const char *t = data + 7 + GKV_OID_HEXSZ + 1 + 5, *nl;
	char hex[GKV_OID_HEXSZ + 1];

	memcpy(hex, data + 7, GKV_OID_HEXSZ);
	hex[GKV_OID_HEXSZ] = '\0';
	if (gkv_oid_fromstr(out, hex) < 0 || !(nl = memchr(t, '\n', (size_t)(data + len - t))))
		return -1;
	for (int i = 1; i <= 4; i++)
		if ((size_t)(nl - t) == strlen(names[i]) && !memcmp(t, names[i], (size_t)(nl - t))) {
			*type = (gkv_otype)i;
			return 0;
		}
	return -1;
}

/*
 * A blob that a tree names ".gitmodules" or ".gitattributes" (in any
 * spelling) is read by git, which fsck checks it for (a url or path read
 * as an option, a line too long, ...): checked once per blob.
 */
static int check_special(fsck_state *s, const gkv__raw_entry *e)
{
	uint8_t *v = gkv__oidmap_at(&s->objs, &e->id);
	char name[GKV__SEGMENT_MAX + 1];
	gkv_otype type;
	void *data;
	size_t len;
	int rc;

	if (!v || *v >= V_MISSING || (*v & T_MASK) != GKV_OBJ_BLOB || (*v & (F_SPECIAL | F_BAD)))
		return 0;
	*v |= F_SPECIAL;
	if ((rc = s->b->read(&data, &len, &type, s->b, &e->id)) < 0)
		return rc == GKV_E_NOTFOUND || rc == GKV_E_CORRUPT
		    ? problem(s, &e->id, NULL, "%s", gkv_error_last()) : rc;
	memcpy(name, e->name, e->namelen);
	name[e->namelen] = '\0';
	rc = gkv__value_check(name, data, len);
	gkv_backend_data_free(data);
	if (rc == GKV_E_INVALID)
		return problem(s, &e->id, NULL, "blob %s: %s", gkv__hex(&e->id), gkv_error_last());
	return rc;
}

static int follow(fsck_state *s, const gkv_oid *id, gkv__commit_graph *g)
{
	gkv__raw_entry *ents = NULL;
	gkv_otype type, want;
	gkv_oid target;
	size_t len, n = 0;
	void *data;
	int rc;

	rc = s->b->read(&data, &len, &type, s->b, id);
	if (rc == GKV_E_NOTFOUND || rc == GKV_E_CORRUPT)
		return problem(s, id, NULL, "%s %s could not be read again: %s", "object",
		    gkv__hex(id), gkv_error_last());
	if (rc < 0)
		return rc;
	switch (type) {
	case GKV_OBJ_COMMIT:
		if ((rc = gkv__commit_parse_graph(g, data, len, id)) < 0) {
			rc = rc == GKV_E_CORRUPT ? problem(s, id, NULL, "%s", gkv_error_last()) : rc;
			break;
		}
		if ((rc = link_to(s, &g->tree, GKV_OBJ_TREE, NULL, id, type)) < 0)
			break;
		for (size_t i = 0; rc == 0 && i < g->nparents; i++)
			rc = link_to(s, &g->parents[i], GKV_OBJ_COMMIT, NULL, id, type);
		break;
	case GKV_OBJ_TREE:
		if ((rc = gkv__tree_parse(&ents, &n, data, len, id)) < 0) {
			rc = rc == GKV_E_CORRUPT ? problem(s, id, NULL, "%s", gkv_error_last()) : rc;
			break;
		}
		for (size_t i = 0; rc == 0 && i < n; i++) {
			switch (gkv__mode_kind(ents[i].mode)) {
			case GKV_KIND_DIR:
				rc = link_to(s, &ents[i].id, GKV_OBJ_TREE, NULL, id, type);
				break;
			case GKV_KIND_SUBMODULE:
				break; /* a commit of another repository */
			default:
				rc = link_to(s, &ents[i].id, GKV_OBJ_BLOB, NULL, id, type);
				if (rc == 0 && ents[i].namelen <= GKV__SEGMENT_MAX &&
				    gkv__name_special(ents[i].name, ents[i].namelen))
					rc = check_special(s, &ents[i]);
			}
		}
		free(ents);
		break;
	case GKV_OBJ_TAG:
		if (tag_target(&target, &want, data, len) < 0)
			rc = problem(s, id, NULL, "tag %s: its object line does not parse", gkv__hex(id));
		else
			rc = link_to(s, &target, want, NULL, id, type);
		break;
	default:
		rc = 0;
	}
	gkv_backend_data_free(data);
	return rc;
}

typedef struct {
	char **names;
	gkv_oid *targets;
	size_t n, cap;
} ref_vec;

static int collect_ref(const char *name, const gkv_oid *target, void *payload)
{
	ref_vec *v = payload;

	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		char **nn = realloc(v->names, cap * sizeof(*nn));

		if (!nn)
			return gkv__oom();
		v->names = nn;
		gkv_oid *nt = realloc(v->targets, cap * sizeof(*nt));
		if (!nt)
			return gkv__oom();
		v->targets = nt;
		v->cap = cap;
	}
	if (!(v->names[v->n] = gkv__strdup(name)))
		return GKV_E_NOMEM;
	v->targets[v->n++] = *target;
	return 0;
}

static void ref_vec_free(ref_vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->names[i]);
	free(v->names);
	free(v->targets);
	memset(v, 0, sizeof(*v));
}

int gkv__refs_all(char ***names, gkv_oid **targets, size_t *n, gkv_backend *b)
{
	ref_vec v = {NULL, NULL, 0, 0};
	int rc;

	if ((rc = b->ref_list(b, "", collect_ref, &v)) < 0) {
		ref_vec_free(&v);
		return rc;
	}
	*names = v.names;
	*targets = v.targets;
	*n = v.n;
	return 0;
}

static int check_reachable(fsck_state *s)
{
	gkv__commit_graph g;
	char **names = NULL;
	gkv_oid *targets = NULL;
	size_t nrefs = 0;
	int rc;

	memset(&g, 0, sizeof(g));
	rc = gkv__refs_all(&names, &targets, &nrefs, s->b);
	if (rc == GKV_E_CORRUPT)
		return problem(s, NULL, NULL, "badRefContent: %s", gkv_error_last());
	if (rc < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < nrefs; i++) {
		int branch = !strncmp(names[i], "refs/heads/", 11) ||
			     !strncmp(names[i], "refs/remotes/", 13);

		rc = link_to(s, &targets[i], branch ? GKV_OBJ_COMMIT : GKV_OBJ_ANY, names[i], NULL, 0);
		while (rc == 0 && s->todo.n) {
			gkv_oid id = s->todo.ids[--s->todo.n];

			if ((rc = follow(s, &id, &g)) == 0)
				rc = step(s, 0);
		}
	}
	for (size_t i = 0; i < nrefs; i++)
		free(names[i]);
	free(names);
	free(targets);
	gkv__commit_graph_dispose(&g);
	return rc;
}

int gkv_repo_fsck(size_t *problems, gkv_repo *repo, gkv_fsck_cb cb, void *payload,
    gkv_work_cb progress, void *progress_payload)
{
	fsck_state s;
	int rc;

	if (problems)
		*problems = 0;
	if (!repo)
		return gkv__error(GKV_E_INVALID, "gkv_repo_fsck: NULL repo");
	memset(&s, 0, sizeof(s));
	s.repo = repo;
	s.b = repo->backend;
	s.cb = cb;
	s.payload = payload;
	s.progress = progress;
	s.progress_payload = progress_payload;
	gkv__oidmap_init(&s.objs);
	if ((rc = gkv__oidmap_load_all(&s.objs, s.b, 0)) < 0)
		goto out;
	/* Each object is read once to be checked, and each reachable one
	 * is reached once: twice the objects is the work. */
	s.total = 2 * (uint64_t)s.objs.count;
	if ((rc = check_objects(&s)) < 0)
		goto out;
	s.done = s.objs.count;
	if ((rc = check_reachable(&s)) < 0)
		goto out;
	s.done = s.total - 1;
	rc = step(&s, 1);
out:
	if (problems)
		*problems = s.problems;
	gkv__oidmap_free(&s.objs);
	free(s.todo.ids);
	return rc;
}
