/*
 * bench_libgit2.c -- libgit2 called from C, as pygit2 calls it but without
 * Python: blobs through the odb, trees through tree builders, loose
 * objects in a bare repository (libgit2's defaults, except the strict
 * object creation checks, turned off to see libgit2 at its strongest).
 *
 *   bench-libgit2 w1 DIR N       D(N) as one commit on main of a new repository
 *   bench-libgit2 w2 DIR N0 U    load D(N0), then U commits of one update each
 *   bench-libgit2 w3 DIR N R     R reads at main: git_tree_entry_bypath + blob lookup
 *   bench-libgit2 w4 DIR         count the commits of main; merge base of a and b
 *   bench-libgit2 hashfloor DIR  hash, and nothing else, every object main's commits
 *                                made over their first parents (W2's floor)
 *   bench-libgit2 init           git_libgit2_init and nothing else (LIST's floor of a
 *                                process that uses libgit2)
 *   bench-libgit2 lstree DIR TREEISH [-r]
 *                                print the names under a tree, one level or (-r) every
 *                                path that is not a directory (LIST's floor: libgit2's
 *                                own tree read)
 *   bench-libgit2 diff DIR A B   print "OP PATH" for each path that differs between the
 *                                trees of commits A and B, no rename detection (LIST)
 *
 * Only the core loop is timed here (core_s); run.py times the whole process.
 */
#include "common.h"

#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static git_signature *sig;

static void check(int rc, const char *what)
{
	if (rc < 0) {
		const git_error *e = git_error_last();
		bench_die("%s: %s", what, e ? e->message : "libgit2 error");
	}
}

static void report_oid(const char *key, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), id);
	bench_report_str(key, hex);
}

static git_repository *create_repo(const char *dir)
{
	git_repository_init_options o;
	git_repository *repo;

	check(git_repository_init_options_init(&o, GIT_REPOSITORY_INIT_OPTIONS_VERSION), "init options");
	o.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
	o.initial_head = "main";
	check(git_repository_init_ext(&repo, dir, &o), dir);
	return repo;
}

/*
 * D(n) as one commit on main: every blob, then each leaf directory's tree
 * builder, each top directory's, the root's. paths/values may be NULL
 * (computed on the fly).
 */
static void load(git_oid *out, git_repository *repo, uint64_t n, char (*paths)[32],
    char (*values)[65])
{
	git_treebuilder *leaf[64][64], *top[64], *root;
	git_oid id, tid;
	git_tree *tree;
	char name[32], path[32], value[65];
	uint64_t i;
	int a, b;

	memset(leaf, 0, sizeof(leaf));
	memset(top, 0, sizeof(top));
	for (i = 0; i < n; i++) {
		const char *p = paths ? paths[i] : path, *v = values ? values[i] : value;
		a = (int)(i % 64), b = (int)((i / 64) % 64);
		if (!paths) {
			bench_path(path, i);
			bench_value(value, i);
		}
		check(git_blob_create_from_buffer(&id, repo, v, 64), "git_blob_create_from_buffer");
		if (!leaf[a][b])
			check(git_treebuilder_new(&leaf[a][b], repo, NULL), "git_treebuilder_new");
		check(git_treebuilder_insert(NULL, leaf[a][b], strrchr(p, '/') + 1, &id,
			  GIT_FILEMODE_BLOB),
		    p);
	}
	check(git_treebuilder_new(&root, repo, NULL), "git_treebuilder_new");
	for (a = 0; a < 64; a++) {
		for (b = 0; b < 64; b++) {
			if (!leaf[a][b])
				continue;
			check(git_treebuilder_write(&id, leaf[a][b]), "git_treebuilder_write");
			git_treebuilder_free(leaf[a][b]);
			if (!top[a])
				check(git_treebuilder_new(&top[a], repo, NULL), "git_treebuilder_new");
			snprintf(name, sizeof(name), "d%02x", b);
			check(git_treebuilder_insert(NULL, top[a], name, &id, GIT_FILEMODE_TREE), name);
		}
		if (!top[a])
			continue;
		check(git_treebuilder_write(&id, top[a]), "git_treebuilder_write");
		git_treebuilder_free(top[a]);
		snprintf(name, sizeof(name), "d%02x", a);
		check(git_treebuilder_insert(NULL, root, name, &id, GIT_FILEMODE_TREE), name);
	}
	check(git_treebuilder_write(&tid, root), "git_treebuilder_write");
	git_treebuilder_free(root);
	check(git_tree_lookup(&tree, repo, &tid), "git_tree_lookup");
	check(git_commit_create(out, repo, "refs/heads/main", sig, sig, NULL, "bulk\n", tree, 0,
		  NULL),
	    "git_commit_create");
	git_tree_free(tree);
}

static void cmd_w1(const char *dir, uint64_t n)
{
	char(*paths)[32] = malloc(n * sizeof(*paths));
	char(*values)[65] = malloc(n * sizeof(*values));
	git_repository *repo = create_repo(dir);
	git_oid id;
	uint64_t i;
	double t0, t1;

	if (!paths || !values)
		bench_die("out of memory");
	for (i = 0; i < n; i++) {
		bench_path(paths[i], i);
		bench_value(values[i], i);
	}
	t0 = bench_now();
	load(&id, repo, n, paths, values);
	t1 = bench_now();
	bench_report_num("core_s", t1 - t0);
	bench_report_num("ops", (double)n);
	report_oid("commit", &id);
	git_repository_free(repo);
	free(paths);
	free(values);
}

/* A copy of tree's entry `name` (a subtree), looked up. */
static git_tree *subtree(git_repository *repo, git_tree *tree, const char *name)
{
	const git_tree_entry *e = git_tree_entry_byname(tree, name);
	git_tree *sub;

	if (!e)
		bench_die("no entry %s", name);
	check(git_tree_lookup(&sub, repo, git_tree_entry_id(e)), name);
	return sub;
}

/* tree with entry name set to id (mode), written; its id in out. */
static void replace(git_oid *out, git_repository *repo, git_tree *tree, const char *name,
    const git_oid *id, git_filemode_t mode)
{
	git_treebuilder *tb;

	check(git_treebuilder_new(&tb, repo, tree), "git_treebuilder_new");
	check(git_treebuilder_insert(NULL, tb, name, id, mode), name);
	check(git_treebuilder_write(out, tb), "git_treebuilder_write");
	git_treebuilder_free(tb);
}

static void cmd_w2(const char *dir, uint64_t n0, uint64_t u)
{
	uint64_t *pick = bench_choices(BENCH_SEED_W2, u, n0), j;
	char(*paths)[32] = malloc((u + 1) * sizeof(*paths));
	char(*values)[65] = malloc((u + 1) * sizeof(*values));
	char(*msgs)[48] = malloc((u + 1) * sizeof(*msgs));
	double *lat = malloc((u + 1) * sizeof(*lat)), t0, t, core;
	git_repository *repo = create_repo(dir);
	git_oid head, id;

	if (!pick || !paths || !values || !msgs || !lat)
		bench_die("out of memory");
	load(&head, repo, n0, NULL, NULL);
	report_oid("base", &head);
	for (j = 0; j < u; j++) {
		bench_path(paths[j], pick[j]);
		bench_update_value(values[j], "update", j);
		bench_update_message(msgs[j], "update", j);
	}
	t0 = t = bench_now();
	for (j = 0; j < u; j++) {
		git_commit *parent;
		git_tree *root, *top, *leaf, *newroot;
		char da[4] = { paths[j][0], paths[j][1], paths[j][2], 0 };
		char db[4] = { paths[j][4], paths[j][5], paths[j][6], 0 };

		check(git_commit_lookup(&parent, repo, &head), "git_commit_lookup");
		check(git_commit_tree(&root, parent), "git_commit_tree");
		top = subtree(repo, root, da);
		leaf = subtree(repo, top, db);
		check(git_blob_create_from_buffer(&id, repo, values[j], 64), "blob");
		replace(&id, repo, leaf, paths[j] + 8, &id, GIT_FILEMODE_BLOB);
		replace(&id, repo, top, db, &id, GIT_FILEMODE_TREE);
		replace(&id, repo, root, da, &id, GIT_FILEMODE_TREE);
		check(git_tree_lookup(&newroot, repo, &id), "git_tree_lookup");
		check(git_commit_create(&head, repo, "refs/heads/main", sig, sig, NULL, msgs[j],
			  newroot, 1, (const git_commit **)&parent),
		    "git_commit_create");
		git_tree_free(newroot);
		git_tree_free(leaf);
		git_tree_free(top);
		git_tree_free(root);
		git_commit_free(parent);
		bench_lap(&lat[j], &t);
	}
	core = bench_now() - t0;
	bench_report_commits(core, lat, u);
	report_oid("commit", &head);
	git_repository_free(repo);
	free(pick);
	free(paths);
	free(values);
	free(msgs);
	free(lat);
}

static void cmd_w3(const char *dir, uint64_t n, uint64_t r)
{
	uint64_t *pick = bench_choices(BENCH_SEED_W3, r, n), k;
	char(*paths)[32] = malloc((r + 1) * sizeof(*paths));
	char(*values)[65] = malloc((r + 1) * sizeof(*values));
	git_repository *repo;
	git_object *obj;
	git_tree *tree;
	double t0, t1;

	if (!pick || !paths || !values)
		bench_die("out of memory");
	for (k = 0; k < r; k++) {
		bench_path(paths[k], pick[k]);
		bench_value(values[k], pick[k]);
	}
	check(git_repository_open_bare(&repo, dir), dir);
	t0 = bench_now();
	check(git_revparse_single(&obj, repo, "refs/heads/main^{tree}"), "main^{tree}");
	tree = (git_tree *)obj;
	for (k = 0; k < r; k++) {
		git_tree_entry *e;
		git_blob *blob;
		check(git_tree_entry_bypath(&e, tree, paths[k]), paths[k]);
		check(git_blob_lookup(&blob, repo, git_tree_entry_id(e)), paths[k]);
		if (git_blob_rawsize(blob) != 64 || memcmp(git_blob_rawcontent(blob), values[k], 64))
			bench_die("wrong value at %s", paths[k]);
		git_blob_free(blob);
		git_tree_entry_free(e);
	}
	git_tree_free(tree);
	t1 = bench_now();
	bench_report_num("core_s", t1 - t0);
	bench_report_num("ops", (double)r);
	git_repository_free(repo);
	free(pick);
	free(paths);
	free(values);
}

static void cmd_w4(const char *dir)
{
	git_repository *repo;
	git_revwalk *walk;
	git_oid head, ha, hb, base, id;
	uint64_t count = 0;
	double t0, t1, t2;
	int rc;

	check(git_repository_open_bare(&repo, dir), dir);
	check(git_reference_name_to_id(&head, repo, "refs/heads/main"), "main");
	check(git_reference_name_to_id(&ha, repo, "refs/heads/a"), "a");
	check(git_reference_name_to_id(&hb, repo, "refs/heads/b"), "b");
	t0 = bench_now();
	check(git_revwalk_new(&walk, repo), "git_revwalk_new");
	check(git_revwalk_push(walk, &head), "git_revwalk_push");
	while ((rc = git_revwalk_next(&id, walk)) == 0)
		count++;
	if (rc != GIT_ITEROVER)
		check(rc, "git_revwalk_next");
	git_revwalk_free(walk);
	t1 = bench_now();
	check(git_merge_base(&base, repo, &ha, &hb), "git_merge_base");
	t2 = bench_now();
	bench_report_num("walk_s", t1 - t0);
	bench_report_num("walk_count", (double)count);
	bench_report_num("mb_s", t2 - t1);
	report_oid("merge_base", &base);
	git_repository_free(repo);
}

/*
 * The objects a commit made over its first parent: the commit, and every
 * tree and blob of its tree whose id the parent's tree does not have at
 * the same name (for W2: the root, one top directory, one leaf, a blob).
 */
typedef struct {
	git_odb_object **v;
	size_t n, cap;
} objlist;

static void add_object(objlist *l, git_odb *odb, const git_oid *id)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		if (!(l->v = realloc(l->v, l->cap * sizeof(*l->v))))
			bench_die("out of memory");
	}
	check(git_odb_read(&l->v[l->n++], odb, id), "git_odb_read");
}

static void new_objects(objlist *l, git_repository *repo, git_odb *odb, const git_tree *t,
    const git_tree *old)
{
	add_object(l, odb, git_tree_id(t));
	for (size_t i = 0; i < git_tree_entrycount(t); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i), *o;
		git_tree *sub, *osub = NULL;

		o = old ? git_tree_entry_byname(old, git_tree_entry_name(e)) : NULL;
		if (o && git_oid_equal(git_tree_entry_id(o), git_tree_entry_id(e)))
			continue;
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
			add_object(l, odb, git_tree_entry_id(e));
			continue;
		}
		check(git_tree_lookup(&sub, repo, git_tree_entry_id(e)), "git_tree_lookup");
		if (o && git_tree_entry_type(o) == GIT_OBJECT_TREE)
			check(git_tree_lookup(&osub, repo, git_tree_entry_id(o)), "git_tree_lookup");
		new_objects(l, repo, odb, sub, osub);
		git_tree_free(sub);
		git_tree_free(osub);
	}
}

/*
 * The floor of a commit-per-write workload for a writer that hashes with
 * libgit2's SHA-1 (collision-detecting sha1dc, as git and gitkv use by
 * default): the objects W2's commits made, read beforehand, then only
 * hashed (git_odb_hash, header included) and checked. No writer making
 * the same objects can beat this loop.
 */
static void cmd_hashfloor(const char *dir)
{
	git_repository *repo;
	git_revwalk *walk;
	git_odb *odb;
	git_oid id, got;
	objlist l = { NULL, 0, 0 };
	uint64_t commits = 0, bytes = 0;
	double t0, core;

	check(git_repository_open_bare(&repo, dir), dir);
	check(git_repository_odb(&odb, repo), "git_repository_odb");
	check(git_revwalk_new(&walk, repo), "git_revwalk_new");
	check(git_revwalk_push_ref(walk, "refs/heads/main"), "push main");
	git_revwalk_simplify_first_parent(walk);
	while (git_revwalk_next(&id, walk) == 0) {
		git_commit *c, *p;
		git_tree *t, *pt;

		check(git_commit_lookup(&c, repo, &id), "git_commit_lookup");
		if (git_commit_parentcount(c) == 0) { /* the load: not a W2 commit */
			git_commit_free(c);
			continue;
		}
		check(git_commit_parent(&p, c, 0), "git_commit_parent");
		check(git_commit_tree(&t, c), "git_commit_tree");
		check(git_commit_tree(&pt, p), "git_commit_tree");
		add_object(&l, odb, &id);
		new_objects(&l, repo, odb, t, pt);
		git_tree_free(t);
		git_tree_free(pt);
		git_commit_free(p);
		git_commit_free(c);
		commits++;
	}
	for (size_t i = 0; i < l.n; i++)
		bytes += git_odb_object_size(l.v[i]);
	t0 = bench_now();
	for (size_t i = 0; i < l.n; i++) {
		git_odb_object *o = l.v[i];

		check(git_odb_hash(&got, git_odb_object_data(o), git_odb_object_size(o),
			  git_odb_object_type(o)), "git_odb_hash");
		if (!git_oid_equal(&got, git_odb_object_id(o)))
			bench_die("hash of object %zu differs from its id", i);
	}
	core = bench_now() - t0;
	bench_report_num("core_s", core);
	bench_report_num("ops", (double)commits);
	bench_report_num("objects", (double)l.n);
	bench_report_num("bytes_hashed", (double)bytes);
	for (size_t i = 0; i < l.n; i++)
		git_odb_object_free(l.v[i]);
	free(l.v);
	git_revwalk_free(walk);
	git_odb_free(odb);
	git_repository_free(repo);
}

/* ---- LIST: listings, as kvctl tree, list and diff print them ---- */

static int print_entry(const char *root, const git_tree_entry *e, void *payload)
{
	(void)payload;
	if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
		return 0;
	fputs(root, stdout);
	fputs(git_tree_entry_name(e), stdout);
	putchar('\n');
	return 0;
}

static git_tree *tree_of(git_repository *repo, const char *spec)
{
	git_object *obj;
	git_tree *tree;

	check(git_revparse_single(&obj, repo, spec), spec);
	check(git_object_peel((git_object **)&tree, obj, GIT_OBJECT_TREE), "peel to a tree");
	git_object_free(obj);
	return tree;
}

static void cmd_lstree(const char *dir, const char *spec, int recursive)
{
	git_repository *repo;
	git_tree *tree;

	check(git_repository_open_bare(&repo, dir), "open");
	tree = tree_of(repo, spec);
	if (recursive) {
		check(git_tree_walk(tree, GIT_TREEWALK_PRE, print_entry, NULL), "walk");
	} else {
		for (size_t i = 0; i < git_tree_entrycount(tree); i++)
			puts(git_tree_entry_name(git_tree_entry_byindex(tree, i)));
	}
	git_tree_free(tree);
	git_repository_free(repo);
}

static void cmd_diff(const char *dir, const char *a, const char *b)
{
	static const char ops[] = " ADM";
	git_diff_options opts;
	git_repository *repo;
	git_tree *ta, *tb;
	git_diff *diff;

	check(git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION), "diff options");
	check(git_repository_open_bare(&repo, dir), "open");
	ta = tree_of(repo, a);
	tb = tree_of(repo, b);
	check(git_diff_tree_to_tree(&diff, repo, ta, tb, &opts), "diff");
	for (size_t i = 0; i < git_diff_num_deltas(diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		int op = d->status == GIT_DELTA_ADDED ? 1 : d->status == GIT_DELTA_DELETED ? 2 : 3;

		printf("%c %s\n", ops[op], op == 2 ? d->old_file.path : d->new_file.path);
	}
	git_diff_free(diff);
	git_tree_free(ta);
	git_tree_free(tb);
	git_repository_free(repo);
}

/* The LIST commands, which take names rather than numbers: 1 if argv was one. */
static int list_cmd(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "init")) {
		git_libgit2_init();
		git_libgit2_shutdown();
		return 1;
	}
	if (argc < 4 || (strcmp(argv[1], "lstree") && strcmp(argv[1], "diff")))
		return 0;
	git_libgit2_init();
	if (!strcmp(argv[1], "lstree") && (argc == 4 || (argc == 5 && !strcmp(argv[4], "-r"))))
		cmd_lstree(argv[2], argv[3], argc == 5);
	else if (!strcmp(argv[1], "diff") && argc == 5)
		cmd_diff(argv[2], argv[3], argv[4]);
	else
		bench_die("bad command or arguments: %s", argv[1]);
	git_libgit2_shutdown();
	return 1;
}

int main(int argc, char **argv)
{
	uint64_t num[2] = { 0, 0 };
	int i, nnum = 0;

	if (list_cmd(argc, argv))
		return 0;
	if (argc < 3)
		bench_die("usage: bench-libgit2 w1|w2|w3|w4|hashfloor DIR [numbers]");
	for (i = 3; i < argc; i++) {
		if (nnum >= 2)
			bench_die("too many arguments");
		num[nnum++] = bench_parse_u64(argv[i]);
	}
	git_libgit2_init();
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0);
	check(git_signature_new(&sig, BENCH_NAME, BENCH_EMAIL, BENCH_TIME, 0), "signature");
	if (!strcmp(argv[1], "w1") && nnum == 1)
		cmd_w1(argv[2], num[0]);
	else if (!strcmp(argv[1], "w2") && nnum == 2)
		cmd_w2(argv[2], num[0], num[1]);
	else if (!strcmp(argv[1], "w3") && nnum == 2)
		cmd_w3(argv[2], num[0], num[1]);
	else if (!strcmp(argv[1], "w4") && nnum == 0)
		cmd_w4(argv[2]);
	else if (!strcmp(argv[1], "hashfloor") && nnum == 0)
		cmd_hashfloor(argv[2]);
	else
		bench_die("bad command or arguments: %s", argv[1]);
	git_signature_free(sig);
	git_libgit2_shutdown();
	bench_report_num("rss_kib", (double)bench_peak_rss_kib());
	return 0;
}
