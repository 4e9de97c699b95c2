/*
 * git.c -- the git backend: a store that is a real git repository, bare
 * or not, read by gitkv's own code and written through libgit2, so that
 * git log, git fsck, git clone and ordinary git commits work on it
 * alongside gitkv.
 *
 * This file opens (and, with GKV_GIT_CREATE, makes) the repository,
 * detects one at a plain path, names the default branch, starts libgit2
 * when something needs it, and closes. The other files: git_files.c (the
 * repository and its refs as files), git_odb.c (objects), git_refs.c
 * (refs), git_batch.c (batches), git_error.c (errors); git_internal.h
 * says how they fit.
 *
 * What gitkv touches in a repository: objects (objects/, loose or packed)
 * and refs (refs/, packed-refs, with their reflogs when git keeps them);
 * HEAD and the config file only when asked to (set_default_branch,
 * config_set: git_config.c). Never the index or the working tree: in a
 * non-bare repository a branch gitkv moves while it is checked out
 * looks, to git status, like changes to the working tree -- as after a
 * push to it; and pointing HEAD at another branch there is what `git
 * symbolic-ref HEAD` does, not a checkout.
 *
 * Durability: by default the backend does what git does, no fsync.
 * GKV_GIT_FSYNC asks libgit2 to fsync objects, packs and refs, through
 * GIT_OPT_ENABLE_FSYNC_GITDIR -- an option of the whole process, not of a
 * repository (libgit2 1.5 has nothing finer for refs and packs). So it is
 * reference-counted here: on while at least one handle opened with
 * GKV_GIT_FSYNC is open, off again when the last one closes. Meanwhile
 * every libgit2 write of the process fsyncs: more durable than asked for,
 * never less. (It cannot be read back, so a value set by the application
 * itself before is not restored.)
 *
 * libgit2 keeps global state between git_libgit2_init and the matching
 * shutdown. A handle on a repository recognised as plain files
 * (git_files.c) starts it only when something needs it (gkv__git_start:
 * a write, config, reflogs, a ref the files leave unsure), so a process
 * that opens a store and reads it never does; the handle then holds one
 * init reference until it is freed.
 */
#define _GNU_SOURCE /* nftw */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>

#include "git_internal.h"

static pthread_mutex_t fsync_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t fsync_users;

size_t gkv__git_fsync_users(void)
{
	size_t n;

	pthread_mutex_lock(&fsync_lock);
	n = fsync_users;
	pthread_mutex_unlock(&fsync_lock);
	return n;
}

static void fsync_acquire(void)
{
	pthread_mutex_lock(&fsync_lock);
	if (fsync_users++ == 0)
		git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
	pthread_mutex_unlock(&fsync_lock);
}

static void fsync_release(void)
{
	pthread_mutex_lock(&fsync_lock);
	if (--fsync_users == 0)
		git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 0);
	pthread_mutex_unlock(&fsync_lock);
}

/* ---- the default branch ---- */

static int dup_branch(char **out, const char *name)
{
	size_t n = strlen(name) + 1;

	if (!(*out = gkv_backend_data_alloc(n)))
		return GKV_E_NOMEM;
	memcpy(*out, name, n);
	return 0;
}

static int ref_exists(gkv__git *g, const char *name)
{
	git_oid id;
	gkv_oid gid;

	if (g->native) {
		int rc = gkv__git_files_resolve(&gid, g, name);

		if (rc != GKV__GIT_UNSURE)
			return rc; /* 1, 0, or an error */
		if ((rc = gkv__git_start(g)) < 0)
			return rc;
	}
	return git_reference_name_to_id(&id, g->repo, name) == 0;
}

/* HEAD's target read through libgit2: 1 and *out, 0 if it names none. */
static int head_by_libgit2(char **out, gkv__git *g)
{
	git_reference *head = NULL;
	const char *target;
	int rc;

	if ((rc = gkv__git_start(g)) < 0)
		return rc;
	rc = git_reference_lookup(&head, g->repo, "HEAD");
	if (rc == 0 && git_reference_type(head) == GIT_REFERENCE_SYMBOLIC &&
	    (target = git_reference_symbolic_target(head)) != NULL) {
		rc = (*out = gkv__strdup(target)) ? 1 : GKV_E_NOMEM;
	} else {
		rc = 0;
		git_error_clear();
	}
	git_reference_free(head);
	return rc;
}

/*
 * The branch HEAD names, born or not ("master" in most repositories git
 * made, "main" in the ones gitkv makes). A detached HEAD names no branch:
 * then main if it exists, else master if it exists, else main. HEAD and
 * the branches are read from the files when they are plain (git_files.c).
 */
static int git_default_branch(char **out, gkv_backend *b)
{
	gkv__git *g = (gkv__git *)b;
	char *target = NULL;
	int rc = g->native ? gkv__git_files_head(&target, g) : GKV__GIT_UNSURE;

	if (rc == GKV__GIT_UNSURE)
		rc = head_by_libgit2(&target, g);
	if (rc < 0)
		return rc;
	if (rc == 1 && strncmp(target, "refs/heads/", 11) == 0 &&
	    gkv_branch_name_validate(target + 11) == 0) {
		rc = dup_branch(out, target + 11);
		free(target);
		return rc;
	}
	free(target);
	gkv_error_clear();
	if ((rc = ref_exists(g, "refs/heads/main")) == 0)
		rc = ref_exists(g, "refs/heads/master") == 1 ? 2 : 0;
	if (rc < 0)
		return rc;
	if (g->libgit2)
		git_error_clear();
	return dup_branch(out, rc == 2 ? "master" : "main");
}

/*
 * Point HEAD at refs/heads/<name>, as `git symbolic-ref HEAD` does (the
 * branch need not exist: HEAD then names an unborn branch, as in a new
 * repository). Under HEAD.lock, through the writer handle.
 */
static int git_set_default_branch(gkv_backend *b, const char *name)
{
	gkv__git *g = (gkv__git *)b;
	git_reference *head = NULL;
	char target[1024], msg[1100];
	int rc;

	if ((rc = gkv__git_check_writable(g)) < 0)
		return rc;
	if (!name || !*name ||
	    (size_t)snprintf(target, sizeof(target), "refs/heads/%s", name) >= sizeof(target))
		return gkv_error_set(GKV_E_INVALID, "git:%s: bad default branch name", g->path);
	snprintf(msg, sizeof(msg), "gitkv: default branch %s", name);
	pthread_mutex_lock(&g->write_lock);
	if ((rc = gkv__git_writer_ready(g)) == 0) {
		int gitrc = git_reference_symbolic_create(&head, g->wrepo, "HEAD", target, 1, msg);

		if (gitrc < 0)
			rc = gkv__git_error(gitrc, GKV_E_IO, "git:%s: cannot point HEAD at '%s'",
					    g->path, target);
		git_reference_free(head);
	}
	pthread_mutex_unlock(&g->write_lock);
	return rc;
}

/* ---- lifetime ---- */

static void git_backend_free(gkv_backend *b)
{
	gkv__git *g = (gkv__git *)b;

	if (!g)
		return;
	if (g->libgit2) { /* the handles exist only once it started */
		git_odb_free(g->wodb);
		git_repository_free(g->wrepo);
		git_odb_free(g->odb);
		git_repository_free(g->repo);
	}
	gkv__git_packs_free(g);
	gkv__git_cache_free(g->cache);
	gkv__git_watch_free(g);
	if (g->loose_zs_ready)
		deflateEnd(&g->loose_zs);
	if (g->fsync)
		fsync_release();
	pthread_mutex_destroy(&g->write_lock);
	pthread_mutex_destroy(&g->start_lock);
	free(g->path);
	free(g->own_gitdir);
	free(g->own_commondir);
	free(g->ident_name);
	free(g->ident_email);
	if (g->libgit2)
		git_libgit2_shutdown();
	free(g);
}

static void git_fill_vtable(gkv_backend *b)
{
	b->name = "git";
	b->read = gkv__git_read;
	b->read_header = gkv__git_read_header;
	b->read_stream = gkv__git_read_stream;
	b->exists = gkv__git_exists;
	b->foreach = gkv__git_foreach;
	b->ref_read = gkv__git_ref_read;
	b->ref_list = gkv__git_ref_list;
	b->ref_cas = gkv__git_ref_cas;
	b->refs_version = gkv__git_refs_version;
	b->ref_read_versioned = gkv__git_ref_read_versioned;
	b->default_branch = git_default_branch;
	b->batch_begin = gkv__git_batch_begin;
	b->batch_write = gkv__git_batch_write;
	b->batch_ref_cas = gkv__git_batch_ref_cas;
	b->batch_write_pack = gkv__git_batch_write_pack;
	b->batch_commit = gkv__git_batch_commit;
	b->batch_abort = gkv__git_batch_abort;
	b->free = git_backend_free;
	b->batch_ref_log = gkv__git_batch_ref_log;
	b->reflog_read = gkv__git_reflog_read;
	b->config_get = gkv__git_config_get;
	b->config_set = gkv__git_config_set;
	b->config_list = gkv__git_config_list;
	b->set_default_branch = git_set_default_branch;
	b->stats = gkv__git_stats;
	/* batch_delete, batch_reflog_delete, reflog_list: NULL. Reclaiming
	 * space in a git repository is git gc's job. */
}

/* 1 if path is a directory with something in it, 0 if not (or absent). */
static int nonempty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d)) != NULL)
		found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return found;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* mkdir -p of the folder holding path. */
static int make_parents(const char *path)
{
	char *p = gkv__strdup(path);
	int rc = 0;

	if (!p)
		return GKV_E_NOMEM;
	for (char *s = strchr(p + 1, '/'); s && rc == 0; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST)
			rc = gkv_error_set(errno == ENOSPC ? GKV_E_FULL : GKV_E_IO,
					   "git:%s: cannot make the directory '%s': %s", path, p,
					   strerror(errno));
		*s = '/';
	}
	free(p);
	return rc;
}

/* Make a bare repository whose HEAD names main, in dir. */
static int init_bare(const char *dir, const char *path)
{
	git_repository_init_options opts;
	git_repository *repo = NULL;
	int rc;

	git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	opts.flags =
	    GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_MKDIR;
	opts.initial_head = "main";
	if ((rc = git_repository_init_ext(&repo, dir, &opts)) < 0)
		return gkv__git_error(rc, GKV_E_IO, "git:%s: cannot create the repository", path);
	git_repository_free(repo);
	return 0;
}

static int reopen(git_repository **out, const char *path)
{
	return git_repository_open_ext(out, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
}

/*
 * Make the repository at path. Several processes may try at once: each
 * builds a whole repository in a temporary sibling folder and renames it
 * into place (rename replaces an empty directory, and fails on a full
 * one), so that path holds nothing or a complete repository, never half
 * of one. The losers drop theirs and open the winner's. Where the rename
 * cannot work (path is a mount point, say), the repository is made in
 * place.
 */
static int create_repo(git_repository **out, const char *path)
{
	struct stat st;
	char *tmp;
	int rc;

	if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode))
		return gkv_error_set(GKV_E_INVALID, "git:%s: not a directory", path);
	if (nonempty_dir(path)) {
		if (reopen(out, path) == 0)
			return 0;
		git_error_clear();
		return gkv_error_set(
		    GKV_E_INVALID, "git:%s: the directory is not empty and holds no git repository",
		    path);
	}
	if ((rc = make_parents(path)) < 0)
		return rc;
	if (!(tmp = malloc(strlen(path) + sizeof(".gitkv-new-XXXXXX"))))
		return gkv__oom();
	sprintf(tmp, "%s.gitkv-new-XXXXXX", path);
	if (!mkdtemp(tmp)) {
		free(tmp);
		if ((rc = init_bare(path, path)) < 0)
			return rc;
	} else {
		rc = init_bare(tmp, path);
		if (rc == 0 && rename(tmp, path) != 0 && errno != EEXIST && errno != ENOTEMPTY)
			rc = init_bare(path, path);	     /* cannot rename here: in place */
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS); /* gone if renamed */
		free(tmp);
		if (rc < 0)
			return rc;
	}
	if ((rc = reopen(out, path)) < 0)
		return gkv__git_error(rc, GKV_E_IO, "git:%s: cannot open the new repository", path);
	return 0;
}

static int open_repo(git_repository **out, const char *path, unsigned int flags)
{
	int rc = reopen(out, path);

	if (rc == 0)
		return 0;
	if (rc != GIT_ENOTFOUND)
		return gkv__git_error(rc, GKV_E_IO, "git:%s: cannot open the repository", path);
	git_error_clear();
	if (!(flags & GKV_GIT_CREATE) || (flags & GKV_GIT_READONLY))
		return gkv_error_set(GKV_E_NOTFOUND, "git:%s: no git repository there", path);
	return create_repo(out, path);
}

/* Who moves refs, for the reflogs git keeps (in non-bare repositories). */
static int read_identity(gkv__git *g)
{
	git_signature *sig = NULL;

	if (git_signature_default(&sig, g->repo) == 0) {
		g->ident_name = gkv__strdup(sig->name);
		g->ident_email = gkv__strdup(sig->email);
		git_signature_free(sig);
	} else {
		git_error_clear();
		g->ident_name = gkv__strdup("gitkv");
		g->ident_email = gkv__strdup("gitkv@localhost");
	}
	return g->ident_name && g->ident_email ? 0 : gkv__oom();
}

/*
 * Fetch the odb and refdb now, on one thread: libgit2 makes them lazily,
 * and the handle is then shared by threads that only read.
 */
static int load_databases(git_odb **odb, gkv__git *g, git_repository *repo)
{
	git_refdb *refdb = NULL;
	int rc;

	if ((rc = git_repository_odb(odb, repo)) < 0)
		return gkv__git_error(rc, GKV_E_IO, "git:%s: cannot open the object database",
				      g->path);
	if ((rc = git_repository_refdb(&refdb, repo)) < 0)
		return gkv__git_error(rc, GKV_E_IO, "git:%s: cannot open the ref database",
				      g->path);
	git_refdb_free(refdb);
	return 0;
}

/* The writer handle: the same repository, opened again (git_internal.h says why). */
static int open_writer(gkv__git *g)
{
	int rc = git_repository_open_ext(&g->wrepo, g->gitdir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);

	if (rc < 0)
		return gkv__git_error(rc, GKV_E_IO,
				      "git:%s: cannot open the repository for writing", g->path);
	return load_databases(&g->wodb, g, g->wrepo);
}

int gkv__git_reopen_writer(gkv__git *g)
{
	git_odb_free(g->wodb);
	git_repository_free(g->wrepo);
	g->wodb = NULL;
	g->wrepo = NULL;
	if (g->readonly)
		return 0;
	return open_writer(g);
}

/* ---- core.sharedRepository ---- */

static int shared_error(const gkv__git *g, const char *v)
{
	return gkv_error_set(GKV_E_CORRUPT, "git:%s: core.sharedRepository has a bad value '%s'",
			     g->path, v);
}

/* As git reads it: a word, or an octal mode (0, 1 and 2 stand for umask,
 * group and everybody). */
static int parse_shared(int *out, const gkv__git *g, const char *v)
{
	static const struct {
		const char *word;
		int perm;
	} words[] = {{"umask", 0},     {"false", 0},	{"no", 0},	 {"off", 0},
		     {"group", 0660},  {"true", 0660},	{"yes", 0660}, {"on", 0660},
		     {"all", 0664},    {"world", 0664}, {"everybody", 0664}};
	char *end;
	long mode;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(v, words[i].word)) {
			*out = words[i].perm;
			return 0;
		}
	errno = 0;
	mode = strtol(v, &end, 8);
	if (!*v || *end || errno || mode < 0 || mode > 0777)
		return shared_error(g, v);
	if (mode <= 2) {
		*out = mode == 0 ? 0 : mode == 1 ? 0660 : 0664;
		return 0;
	}
	if ((mode & 0600) != 0600)
		return shared_error(g, v); /* the owner must read and write */
	*out = -(int)(mode & 0666);
	return 0;
}

int gkv__git_read_shared(gkv__git *g)
{
	git_config *cfg = NULL;
	const char *v;
	int rc;

	g->shared_perm = 0;
	if ((rc = git_repository_config_snapshot(&cfg, g->repo)) < 0)
		return gkv__git_error(rc, GKV_E_IO, "git:%s: cannot read the configuration", g->path);
	rc = git_config_get_string(&v, cfg, "core.sharedrepository");
	if (rc == GIT_ENOTFOUND) {
		git_error_clear();
		rc = 0;
	} else if (rc < 0) {
		rc = gkv__git_error(rc, GKV_E_CORRUPT, "git:%s: cannot read core.sharedRepository",
				    g->path);
	} else {
		rc = parse_shared(&g->shared_perm, g, v);
	}
	git_config_free(cfg);
	return rc;
}

/* git's calc_shared_perm: the mode a shared repository gives a path. */
static mode_t shared_mode(int perm, mode_t mode, int is_dir)
{
	int tweak = perm < 0 ? -perm : perm;

	if (!(mode & S_IWUSR))
		tweak &= ~0222;
	if (mode & S_IXUSR)
		tweak |= (tweak & 0444) >> 2; /* read bits give search bits */
	mode = perm < 0 ? (mode_t)((mode & ~0777u) | (unsigned)tweak) : (mode | (mode_t)tweak);
	return is_dir ? mode | S_ISGID : mode;
}

int gkv__git_share_path(const gkv__git *g, const char *path)
{
	struct stat st;
	mode_t m;

	if (!g->shared_perm)
		return 0;
	if (stat(path, &st) < 0)
		return -1;
	m = shared_mode(g->shared_perm, st.st_mode & 07777, S_ISDIR(st.st_mode));
	return m == (st.st_mode & 07777) ? 0 : chmod(path, m);
}

int gkv__git_share_fd(const gkv__git *g, int fd)
{
	struct stat st;
	mode_t m;

	if (!g->shared_perm)
		return 0;
	if (fstat(fd, &st) < 0)
		return -1;
	m = shared_mode(g->shared_perm, st.st_mode & 07777, 0);
	return m == (st.st_mode & 07777) ? 0 : fchmod(fd, m);
}

int gkv__git_make_dir(const gkv__git *g, const char *dir)
{
	if (mkdir(dir, 0777) == 0)
		return gkv__git_share_path(g, dir);
	return errno == EEXIST ? 0 : -1;
}

/* Start libgit2 for this handle (one init reference, dropped at free). */
static int libgit2_up(gkv__git *g)
{
	if (g->libgit2)
		return 0;
	if (git_libgit2_init() < 0)
		return gkv_error_set(GKV_E_ERROR, "git:%s: libgit2 did not start: %s", g->path,
				     gkv__git2_why());
	g->libgit2 = true;
	return 0;
}

/* The handles, the identity and core.sharedRepository; start_lock held
 * (or the handle not yet shared). On failure nothing is kept but the
 * init reference. */
static int open_handles(gkv__git *g, unsigned int flags)
{
	int rc;

	if ((rc = libgit2_up(g)) < 0)
		return rc;
	if ((!g->repo && (rc = open_repo(&g->repo, g->gitdir ? g->gitdir : g->path, flags)) < 0) ||
	    (rc = load_databases(&g->odb, g, g->repo)) < 0 || (rc = read_identity(g)) < 0)
		goto fail;
	if (!g->gitdir) { /* not recognised as files: as libgit2 found it */
		if (!(g->own_gitdir = gkv__strdup(git_repository_path(g->repo))) ||
		    !(g->own_commondir = gkv__strdup(git_repository_commondir(g->repo)))) {
			rc = GKV_E_NOMEM;
			goto fail;
		}
		g->gitdir = g->own_gitdir;
		g->commondir = g->own_commondir;
	}
	if ((rc = gkv__git_read_shared(g)) < 0)
		goto fail;
	if (!g->readonly && (rc = open_writer(g)) < 0)
		goto fail;
	return 0;
fail:
	git_odb_free(g->wodb);
	git_repository_free(g->wrepo);
	git_odb_free(g->odb);
	git_repository_free(g->repo);
	g->wodb = NULL;
	g->wrepo = NULL;
	g->odb = NULL;
	g->repo = NULL;
	free(g->ident_name);
	free(g->ident_email);
	g->ident_name = g->ident_email = NULL;
	return rc;
}

int gkv__git_start(gkv__git *g)
{
	int rc = 0;

	if (atomic_load_explicit(&g->started, memory_order_acquire))
		return 0;
	pthread_mutex_lock(&g->start_lock);
	if (!atomic_load_explicit(&g->started, memory_order_relaxed) &&
	    (rc = open_handles(g, 0)) == 0)
		atomic_store_explicit(&g->started, true, memory_order_release);
	pthread_mutex_unlock(&g->start_lock);
	return rc;
}

int gkv_backend_git_open(gkv_backend **out, const char *path, unsigned int flags)
{
	char *shared = NULL;
	gkv__git *g;
	int rc;

	if (!out || !path || !*path)
		return gkv_error_set(GKV_E_INVALID, "git: no path given");
	*out = NULL;
	if (flags & ~(unsigned)(GKV_GIT_CREATE | GKV_GIT_READONLY | GKV_GIT_FSYNC))
		return gkv_error_set(GKV_E_INVALID, "git:%s: unknown flags 0x%x", path, flags);
	if (!(g = calloc(1, sizeof(*g))))
		return gkv__oom();
	gkv_backend_init(&g->parent, GKV_BACKEND_VERSION);
	git_fill_vtable(&g->parent);
	pthread_mutex_init(&g->write_lock, NULL);
	pthread_mutex_init(&g->start_lock, NULL);
	atomic_init(&g->started, false);
	gkv__git_watch_init(g);
	g->readonly = (flags & GKV_GIT_READONLY) != 0;
	/* Before anything is opened: libgit2 reads the option when it makes
	 * its ref database and writers. */
	if ((flags & GKV_GIT_FSYNC) && !g->readonly) {
		fsync_acquire();
		g->fsync = true;
	}
	if (!(g->path = gkv__strdup(path))) {
		rc = GKV_E_NOMEM;
		goto fail;
	}
	if ((rc = gkv__git_find(&g->own_gitdir, &g->own_commondir, &shared, path)) < 0)
		goto fail;
	if (rc == 1) {
		/* plain files: libgit2 waits for the first thing that needs it.
		 * A bad core.sharedRepository refuses the repository now, as
		 * git does (libgit2 reads it again when it starts, with the
		 * user's and the system's config, for the writes). */
		g->native = true;
		g->gitdir = g->own_gitdir;
		g->commondir = g->own_commondir;
		rc = shared ? parse_shared(&g->shared_perm, g, shared) : 0;
		free(shared);
		if (rc < 0)
			goto fail;
	} else {
		/* anything else, or nothing there: libgit2 judges (and makes
		 * the repository, with GKV_GIT_CREATE) at once */
		if ((rc = open_handles(g, flags)) < 0)
			goto fail;
		atomic_store(&g->started, true);
	}
	if ((rc = gkv__git_packs_init(g)) < 0 || (rc = gkv__git_cache_new(&g->cache)) < 0)
		goto fail;
	gkv__git_watch_start(g);
	*out = &g->parent;
	return 0;
fail:
	git_backend_free(&g->parent);
	return rc;
}

int gkv_backend_git_detect(const char *path)
{
	char *gitdir = NULL, *commondir = NULL, *shared = NULL;
	int rc;

	if (!path || !*path)
		return 0;
	rc = gkv__git_find(&gitdir, &commondir, &shared, path);
	free(gitdir);
	free(commondir);
	free(shared);
	if (rc == 1)
		return 1;
	gkv_error_clear();
	if (git_libgit2_init() < 0)
		return 0;
	rc = git_repository_open_ext(NULL, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	git_error_clear();
	git_libgit2_shutdown();
	return rc == 0;
}
