/*
 * git_refs.c -- refs of the git backend: loose refs (refs/heads/main, a
 * file holding an id) and packed-refs, as git keeps them, read from the
 * files themselves where they are plain (git_files.c) and otherwise, and
 * for every update, through libgit2's ref database, with git's lock files.
 *
 * Compare-and-swap. git updates a ref by creating "<ref>.lock" with
 * O_CREAT|O_EXCL, writing the new id into it and renaming it over the ref;
 * whoever fails to create the lock file backs off. So a CAS here is: take
 * the lock (git_transaction_lock_ref), read the ref while holding it,
 * compare with what the caller expects, then write and rename
 * (git_transaction_commit) or drop the lock. Every writer that plays by
 * git's rules -- git itself, libgit2, another gitkv -- is shut out between
 * our read and our write, so no update is lost, whether the ref is loose
 * or packed, and whether the CAS creates, moves or deletes it (deleting a
 * packed ref also takes packed-refs.lock). A lock file held by someone
 * else is GKV_E_CONFLICT at once, naming the lock file: the store's retry
 * loop re-reads the head and tries again, as git's own
 * core.filesRefLockTimeout loop would. The race that remains is only with
 * writers that ignore lock files (a hand edit of refs/heads/x), which git
 * does not guard against either. A lock file left by a dead writer is
 * cleared by the rule under "stale lock files" below.
 *
 * A batch moving several refs locks them all (in name order) before
 * checking any, so the checks hold together; the renames that follow are
 * one per ref, as in git's own multi-ref transactions: a crash in the
 * middle of them can land some of the refs, never a ref the checks refused.
 *
 * Reflogs: every move gitkv makes is appended to the ref's reflog
 * (logs/refs/heads/NAME, git's format), in every repository, bare or
 * not, whatever core.logAllRefUpdates says -- gitkv's logs are what lets
 * a deleted branch or a head moved back be restored. gitkv writes the
 * line itself, under the ref's lock and before the ref is renamed into
 * place, as git does; libgit2 is told (an in-memory configuration level
 * of the writer handle only) not to write its own, so that no move is
 * logged twice. A line whose move then fails is taken back. Deleting a
 * ref appends a line to the zero id and keeps its log (git would remove
 * it); so a log may outlive its ref, and since logs are files as refs
 * are, the log of a deleted refs/heads/a stands in the way of a new
 * refs/heads/a/b (GKV_E_EXISTS, as a ref would).
 *
 * Names: git stores refs as paths, so refs/heads/a and refs/heads/a/b
 * cannot both exist; creating one next to the other is GKV_E_EXISTS.
 * ref_list reports refs that name an object (symbolic refs such as
 * refs/remotes/origin/HEAD are aliases and are left out), sorted by name.
 */
#include <dirent.h>
#include <errno.h>
#include "libgit2.h"
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "git_internal.h"

#define REFLOG_MESSAGE "gitkv: compare-and-swap"

static void to_gkv(gkv_oid *out, const git_oid *id)
{
	memcpy(out->id, id->id, GKV_OID_RAWSZ);
}

static void to_git(git_oid *out, const gkv_oid *id)
{
	memcpy(out->id, id->id, GKV_OID_RAWSZ);
}

/*
 * The loose ref file of name, read as libgit2 would read it first: 1 and
 * *out if it holds an id; 0 for everything else (no such file: the ref
 * may be packed; a symbolic ref; a linked work tree; an odd name), which
 * libgit2 then handles. A loose ref always wins over a packed one, and
 * git replaces the file by rename, so the bytes read are one whole state
 * of the ref. Three system calls instead of libgit2's name checks,
 * allocations and buffer handling: a get reads its branch's head
 * whenever the refs may have moved (see "versions of the refs" below),
 * and on every get when this handle cannot tell.
 */
static int loose_read(gkv_oid *out, const gkv__git *g, const char *name)
{
	char path[PATH_MAX], buf[64];
	size_t dlen = strlen(g->commondir), nlen = strlen(name);
	ssize_t n;
	int fd;

	if (strcmp(g->commondir, g->gitdir) != 0 || dlen + nlen + 1 > sizeof(path) ||
	    !gkv__git_plain_ref_name(name))
		return 0;
	memcpy(path, g->commondir, dlen);
	memcpy(path + dlen, name, nlen + 1);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	close(fd);
	/* 40 hex digits, then the end or white space (as libgit2 takes it) */
	if (n < GKV_OID_HEXSZ || (n > GKV_OID_HEXSZ && buf[GKV_OID_HEXSZ] != '\n' &&
				  buf[GKV_OID_HEXSZ] != ' ' && buf[GKV_OID_HEXSZ] != '\t' &&
				  buf[GKV_OID_HEXSZ] != '\r'))
		return 0;
	buf[GKV_OID_HEXSZ] = '\0';
	if (gkv_oid_fromstr(out, buf) < 0) {
		gkv_error_clear(); /* not an id: libgit2's to judge */
		return 0;
	}
	return 1;
}

/* The ref's current target as repo sees it: 0 (and *found 0 or 1), or an error. */
static int current(gkv_oid *out, int *found, gkv__git *g, git_repository *repo, const char *name)
{
	git_oid id;
	int rc;

	if (loose_read(out, g, name)) {
		*found = 1;
		return 0;
	}
	rc = git_reference_name_to_id(&id, repo, name);

	*found = 0;
	if (rc == GIT_ENOTFOUND) {
		git_error_clear();
		return 0;
	}
	if (rc < 0)
		return gkv__git_error(rc, GKV_E_IO, "git repository '%s': cannot read ref '%s'",
				      g->path, name);
	to_gkv(out, &id);
	*found = 1;
	return 0;
}

int gkv__git_ref_read(gkv_oid *out, gkv_backend *b, const char *name)
{
	gkv__git *g = (gkv__git *)b;
	gkv_oid id;
	int found, rc;

	if (!name || !*name)
		return gkv_error_set(GKV_E_INVALID, "empty ref name");
	/* from the files (git_files.c), else through libgit2 */
	rc = g->native ? gkv__git_files_resolve(&id, g, name) : GKV__GIT_UNSURE;
	if (rc == 1) {
		*out = id;
		return 0;
	}
	if (rc == 0)
		return gkv_error_set(GKV_E_NOTFOUND, "ref '%s' not found", name);
	if (rc < 0)
		return rc;
	if ((rc = gkv__git_start(g)) < 0 || (rc = current(&id, &found, g, g->repo, name)) < 0)
		return rc;
	if (!found)
		return gkv_error_set(GKV_E_NOTFOUND, "ref '%s' not found", name);
	*out = id;
	return 0;
}

/* ---- listing ---- */

typedef struct {
	char *name;
	gkv_oid target;
} ref_item;

typedef struct {
	ref_item *items;
	size_t n, cap;
} ref_vec;

static void ref_vec_free(ref_vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->items[i].name);
	free(v->items);
}

static int ref_vec_push(ref_vec *v, const char *name, const gkv_oid *target)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 32;
		ref_item *p = realloc(v->items, cap * sizeof(*p));

		if (!p)
			return gkv__oom();
		v->items = p;
		v->cap = cap;
	}
	if (!(v->items[v->n].name = gkv__strdup(name)))
		return GKV_E_NOMEM;
	v->items[v->n++].target = *target;
	return 0;
}

static int push_cb(const char *name, const gkv_oid *target, void *payload)
{
	return ref_vec_push(payload, name, target);
}

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const ref_item *)a)->name, ((const ref_item *)b)->name);
}

/* An iterator over the refs starting with prefix: a glob on it when it
 * holds no glob character (so that libgit2 reads only that folder). */
static int open_iterator(git_reference_iterator **it, gkv__git *g, const char *prefix)
{
	size_t plen = strlen(prefix);
	char *glob;
	int rc;

	if (plen == 0 || strpbrk(prefix, "*?[\\"))
		return git_reference_iterator_new(it, g->repo);
	if (!(glob = malloc(plen + 2)))
		return gkv__oom();
	memcpy(glob, prefix, plen);
	memcpy(glob + plen, "*", 2);
	rc = git_reference_iterator_glob_new(it, g->repo, glob);
	free(glob);
	return rc;
}

static int collect_refs(ref_vec *v, gkv__git *g, const char *prefix)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	size_t plen = strlen(prefix);
	int rc;

	if ((rc = open_iterator(&it, g, prefix)) < 0)
		return rc == GKV_E_NOMEM
			   ? rc
			   : gkv__git_error(rc, GKV_E_IO, "git repository '%s': cannot list refs",
					    g->path);
	while ((rc = git_reference_next(&ref, it)) == 0) {
		const char *name = git_reference_name(ref);

		if (git_reference_type(ref) == GIT_REFERENCE_DIRECT &&
		    strncmp(name, prefix, plen) == 0) {
			gkv_oid id;

			to_gkv(&id, git_reference_target(ref));
			rc = ref_vec_push(v, name, &id);
		}
		git_reference_free(ref);
		if (rc < 0)
			break;
	}
	git_reference_iterator_free(it);
	if (rc == GIT_ITEROVER) {
		git_error_clear();
		return 0;
	}
	if (rc < 0 && rc != GKV_E_NOMEM)
		rc = gkv__git_error(rc, GKV_E_IO, "git repository '%s': cannot list refs", g->path);
	return rc;
}

int gkv__git_ref_list(gkv_backend *b, const char *prefix, gkv_backend_ref_cb cb, void *payload)
{
	gkv__git *g = (gkv__git *)b;
	ref_vec v = {NULL, 0, 0};
	int rc = GKV__GIT_UNSURE;

	if (!prefix)
		prefix = "";
	/* from the files (git_files.c), else through libgit2 */
	if (g->native && (rc = gkv__git_files_list(g, prefix, push_cb, &v)) == GKV__GIT_UNSURE) {
		ref_vec_free(&v);
		v = (ref_vec){NULL, 0, 0};
	}
	if (rc == GKV__GIT_UNSURE && (rc = gkv__git_start(g)) == 0)
		rc = collect_refs(&v, g, prefix);

	if (rc == 0 && v.n)
		qsort(v.items, v.n, sizeof(*v.items), item_cmp);
	for (size_t i = 0; rc == 0 && i < v.n; i++)
		rc = cb(v.items[i].name, &v.items[i].target, payload);
	ref_vec_free(&v);
	return rc;
}

/* ---- compare-and-swap ---- */

static const gkv_oid *expected_of(const gkv__git_cas *c)
{
	return c->has_expected ? &c->expected : NULL;
}

static const gkv_oid *target_of(const gkv__git_cas *c)
{
	return c->has_target ? &c->target : NULL;
}

int gkv__git_cas_fold(gkv__git_cas **out, size_t *nout, const gkv__git_cas *cas, size_t n)
{
	gkv__git_cas *f = malloc((n ? n : 1) * sizeof(*f));
	size_t k = 0;

	if (!f)
		return gkv__oom();
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;

		while (j < k && strcmp(f[j].name, cas[i].name) != 0)
			j++;
		if (j == k) {
			f[k++] = cas[i];
			continue;
		}
		/* A later CAS on the same ref finds what the earlier one left. */
		if (!gkv__backend_cas_ok(target_of(&f[j]), expected_of(&cas[i]))) {
			int rc = gkv__backend_conflict(cas[i].name, expected_of(&cas[i]),
						       target_of(&f[j]));

			free(f);
			return rc;
		}
		f[j].has_target = cas[i].has_target;
		f[j].target = cas[i].target;
	}
	*out = f;
	*nout = k;
	return 0;
}

int gkv__git_cas_precheck(gkv__git *g, const gkv__git_cas *cas, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		gkv_oid cur;
		int found, rc;

		if ((rc = current(&cur, &found, g, g->wrepo, cas[i].name)) < 0)
			return rc;
		if (!gkv__backend_cas_ok(found ? &cur : NULL, expected_of(&cas[i])))
			return gkv__backend_conflict(cas[i].name, expected_of(&cas[i]),
						     found ? &cur : NULL);
	}
	return 0;
}

/* A CAS that leaves the ref as it expects it: a check, nothing to write. */
static bool is_noop(const gkv__git_cas *c)
{
	return gkv__backend_cas_ok(target_of(c), expected_of(c));
}

/* Is there a ref whose name is a folder of name, or under name as a folder? */
static int path_taken(char **clash, gkv__git *g, const char *name)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	size_t len = strlen(name);
	char *buf;
	git_oid id;
	int rc;

	*clash = NULL;
	if (!(buf = malloc(len + 3)))
		return gkv__oom();
	memcpy(buf, name, len + 1);
	/* Every folder above name: refs/heads/a for refs/heads/a/b. */
	for (char *slash = strrchr(buf, '/'); slash && slash > buf + 5; slash = strrchr(buf, '/')) {
		*slash = '\0';
		if (git_reference_name_to_id(&id, g->wrepo, buf) == 0) {
			*clash = buf;
			return 0;
		}
	}
	git_error_clear();
	/* Anything under name/ */
	memcpy(buf, name, len);
	memcpy(buf + len, "/*", 3);
	rc = git_reference_iterator_glob_new(&it, g->wrepo, buf);
	if (rc == 0 && git_reference_next(&ref, it) == 0) {
		if (!(*clash = gkv__strdup(git_reference_name(ref))))
			rc = GKV_E_NOMEM;
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	git_error_clear();
	free(buf);
	return rc == GKV_E_NOMEM ? rc : 0;
}

static int check_path_free(gkv__git *g, const gkv__git_cas *c)
{
	char *clash;
	int rc;

	if (c->has_expected || !c->has_target)
		return 0;
	if ((rc = path_taken(&clash, g, c->name)) < 0 || !clash)
		return rc;
	rc = gkv_error_set(
	    GKV_E_EXISTS,
	    "branch ref '%s' cannot be created: ref '%s' exists, and git keeps refs as files, "
	    "so one cannot be a folder of the other",
	    c->name, clash);
	free(clash);
	return rc;
}

/* ---- stale lock files ----
 *
 * A writer killed between creating "<ref>.lock" and renaming it over the
 * ref leaves the lock file behind, and git's rules make it block that ref
 * for every writer until someone removes it (a kill -9 storm on a gitkv
 * writer left one about once in 230 kills). gitkv clears such a lock
 * itself, by this rule:
 *
 * 1. Every gitkv ref update holds an exclusive flock() on "gitkv.lock" in
 *    the common git directory for its whole length (from taking the first
 *    ref lock to the last rename). The kernel drops a flock when its
 *    holder dies, however it dies. So while we hold it, no live gitkv
 *    writer of this repository holds any ref lock: a lock file we meet
 *    then was left by a dead gitkv writer, or belongs to git (or another
 *    libgit2 program), live or dead.
 * 2. A live git is respected: a lock file is cleared only if its mtime is
 *    STALE_LOCK_SECS or more in the past (git takes, writes and renames a
 *    ref lock within milliseconds; a dead gitkv's lock ages into this),
 *    and no process has it open (looked up in /proc/<pid>/fd, as far as
 *    this user may look: libgit2 keeps a lock open until its rename).
 * 3. The lock is renamed to a unique name, then removed only if the file
 *    renamed is the one judged (same inode): a lock taken afresh in
 *    between is put back, not lost.
 *
 * Anything else (a fresh lock, one held open, a gitkv.lock held by another
 * writer for over WRITERS_WAIT_MS) is GKV_E_CONFLICT, and the store's writes retry as for any lost
 * race. What remains unguarded: a git process that holds a ref lock for
 * more than STALE_LOCK_SECS without keeping it open (git update-ref
 * --stdin left between "prepare" and "commit"), and writers of other
 * users whose /proc entries cannot be read.
 */
#define STALE_LOCK_SECS 10
#define WRITERS_LOCK "gitkv.lock"
#define WRITERS_WAIT_MS 5000

/* Take the writers' flock of this repository: its fd, or a negative code. */
static int writers_lock(gkv__git *g)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s" WRITERS_LOCK, g->commondir);
	/* (read-only is enough for flock: a repository shared with a group
	 * may hold a gitkv.lock another user made) */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666)) >= 0)
		(void)gkv__git_share_fd(g, fd);
	else if (errno == EACCES)
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return gkv_error_set(GKV_E_IO, "git repository '%s': cannot open '%s': %s", g->path,
				     path, strerror(errno));
	/* Holders keep it for one ref update (a few system calls), and writers
	 * of different refs share it, so a busy flock is waited for -- a
	 * bounded wait, 1 ms at a time, so that a stopped holder cannot hang
	 * us -- rather than failed at once: a single-attempt CAS on one branch
	 * must not lose to a write on another. */
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0;) {
		const struct timespec ms = {0, 1000000};
		int e = errno;

		if (e == EINTR)
			continue;
		if (e == EWOULDBLOCK && ++waited < WRITERS_WAIT_MS) {
			nanosleep(&ms, NULL);
			continue;
		}
		close(fd);
		if (e == EWOULDBLOCK)
			return gkv_error_set(GKV_E_CONFLICT,
					     "git repository '%s': another gitkv writer is moving "
					     "refs ('%s' is locked)",
					     g->path, path);
		return gkv_error_set(GKV_E_IO, "git repository '%s': cannot lock '%s': %s", g->path,
				     path, strerror(e));
	}
	return fd;
}

/* Does any other process have the file (dev, ino) open? */
static bool open_elsewhere(dev_t dev, ino_t ino)
{
	DIR *proc = opendir("/proc"), *fds;
	struct dirent *p, *f;
	char path[64];
	bool found = false;

	if (!proc)
		return true; /* cannot tell: assume it is held */
	while (!found && (p = readdir(proc)) != NULL) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9' || atol(p->d_name) == (long)getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%.16s/fd", p->d_name);
		if (!(fds = opendir(path)))
			continue;
		while (!found && (f = readdir(fds)) != NULL) {
			struct stat st;

			snprintf(path, sizeof(path), "/proc/%.16s/fd/%.16s", p->d_name, f->d_name);
			found = f->d_name[0] != '.' && stat(path, &st) == 0 && st.st_dev == dev &&
				st.st_ino == ino;
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

/* With the writers' flock held: clear the lock file of ref name if it is
 * stale by the rule above. True if it was cleared. */
static bool clear_stale_lock(gkv__git *g, const char *name)
{
	char lock[PATH_MAX], aside[PATH_MAX + 64];
	struct stat st, moved;
	struct timespec now;

	snprintf(lock, sizeof(lock), "%s%s.lock", g->commondir, name);
	clock_gettime(CLOCK_REALTIME, &now);
	if (lstat(lock, &st) != 0 || !S_ISREG(st.st_mode) ||
	    now.tv_sec - st.st_mtim.tv_sec < STALE_LOCK_SECS || open_elsewhere(st.st_dev, st.st_ino))
		return false;
	/* Aside in the git directory's root, under a name ending ".lock": no
	 * ref can have it, so a writer killed before the unlink below leaves
	 * a file that git and gitkv never list as a branch. */
	snprintf(aside, sizeof(aside), "%sgitkv-stale-%ld-%ld.lock", g->commondir, (long)getpid(),
	    (long)now.tv_nsec);
	if (rename(lock, aside) != 0)
		return false;
	if (lstat(aside, &moved) != 0 || moved.st_ino != st.st_ino || moved.st_dev != st.st_dev) {
		/* taken afresh since we looked: give it back */
		if (rename(aside, lock) != 0)
			unlink(aside);
		return false;
	}
	unlink(aside);
	return true;
}

/* Lock ref name in tx, clearing a stale lock file once if one is in the way. */
static int lock_ref(git_transaction *tx, gkv__git *g, const char *name)
{
	int rc = git_transaction_lock_ref(tx, name);

	if (rc == GIT_ELOCKED && clear_stale_lock(g, name)) {
		git_error_clear();
		rc = git_transaction_lock_ref(tx, name);
	}
	return rc;
}

static int lock_error(gkv__git *g, int rc, const char *name)
{
	if (rc == GIT_ELOCKED) {
		git_error_clear();
		return gkv_error_set(
		    GKV_E_CONFLICT,
		    "branch ref '%s' is locked by another writer ('%s%s.lock' exists)", name,
		    g->commondir, name);
	}
	return gkv__git_error(rc, GKV_E_IO, "git repository '%s': cannot lock ref '%s'", g->path,
			      name);
}

/* Under the locks: every CAS must still hold. */
static int check_locked(gkv__git *g, const gkv__git_cas *cas, size_t n)
{
	int rc = gkv__git_cas_precheck(g, cas, n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (!cas[i].has_target || is_noop(&cas[i]))
			continue;
		if ((rc = gkv__git_exists(&g->parent, &cas[i].target)) < 0)
			break;
		if (rc == 0) {
			char hex[GKV_OID_HEXSZ + 1];

			gkv__backend_hex(hex, &cas[i].target);
			rc = gkv_error_set(
			    GKV_E_NOTFOUND,
			    "ref '%s' cannot point at %s: no such object in git repository '%s'",
			    cas[i].name, hex, g->path);
		}
	}
	return rc;
}

static int stage_updates(git_transaction *tx, gkv__git *g, const gkv__git_cas *cas, size_t n)
{
	git_signature *sig = NULL;
	int rc = 0;

	if (git_signature_now(&sig, g->ident_name, g->ident_email) < 0)
		return gkv__git_error(-1, GKV_E_ERROR, "git repository '%s': no reflog identity",
				      g->path);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		git_oid id;

		if (is_noop(&cas[i]))
			continue;
		if (cas[i].has_target) {
			to_git(&id, &cas[i].target);
			rc = git_transaction_set_target(tx, cas[i].name, &id, sig, REFLOG_MESSAGE);
		} else {
			rc = git_transaction_remove(tx, cas[i].name);
		}
		if (rc < 0)
			rc = gkv__git_error(rc, GKV_E_IO,
					    "git repository '%s': cannot update ref '%s'", g->path,
					    cas[i].name);
	}
	git_signature_free(sig);
	return rc;
}

/* ---- reflogs ---- */

/*
 * A configuration level that says only core.logAllRefUpdates = false,
 * added to the writer handle's configuration (never to a file): libgit2
 * then writes no reflog of its own, and gitkv writes every one.
 */
static void nolog_entry_free(git_config_entry *e)
{
	free(e);
}

static int nolog_open(git_config_backend *b, git_config_level_t level, const git_repository *r)
{
	return 0;
}

static int nolog_get(git_config_backend *b, const char *key, git_config_entry **out)
{
	git_config_entry *e;

	if (strcmp(key, "core.logallrefupdates") != 0)
		return GIT_ENOTFOUND;
	if (!(e = calloc(1, sizeof(*e))))
		return -1;
	e->name = "core.logallrefupdates";
	e->value = "false";
	e->level = GIT_CONFIG_LEVEL_APP;
	e->free = nolog_entry_free;
	*out = e;
	return 0;
}

static int nolog_set(git_config_backend *b, const char *key, const char *value)
{
	return -1;
}

static int nolog_set_multivar(git_config_backend *b, const char *n, const char *re, const char *v)
{
	return -1;
}

static int nolog_del(git_config_backend *b, const char *key)
{
	return -1;
}

static int nolog_del_multivar(git_config_backend *b, const char *key, const char *re)
{
	return -1;
}

static int nolog_iter_next(git_config_entry **e, git_config_iterator *it)
{
	return GIT_ITEROVER;
}

static void nolog_iter_free(git_config_iterator *it)
{
	free(it);
}

static int nolog_iterator(git_config_iterator **out, git_config_backend *b)
{
	git_config_iterator *it = calloc(1, sizeof(*it));

	if (!it)
		return -1;
	it->backend = b;
	it->next = nolog_iter_next;
	it->free = nolog_iter_free;
	*out = it;
	return 0;
}

static int nolog_lock(git_config_backend *b)
{
	return 0;
}

static int nolog_unlock(git_config_backend *b, int success)
{
	return 0;
}

static void nolog_free(git_config_backend *b)
{
	free(b);
}

static git_config_backend *nolog_new(void);

static int nolog_snapshot(git_config_backend **out, git_config_backend *b)
{
	return (*out = nolog_new()) ? 0 : -1;
}

static git_config_backend *nolog_new(void)
{
	git_config_backend *b = calloc(1, sizeof(*b));

	if (!b || git_config_init_backend(b, GIT_CONFIG_BACKEND_VERSION) < 0) {
		free(b);
		return NULL;
	}
	b->readonly = 1; /* so that libgit2 never picks it to write to */
	b->open = nolog_open;
	b->get = nolog_get;
	b->set = nolog_set;
	b->set_multivar = nolog_set_multivar;
	b->del = nolog_del;
	b->del_multivar = nolog_del_multivar;
	b->iterator = nolog_iterator;
	b->snapshot = nolog_snapshot;
	b->lock = nolog_lock;
	b->unlock = nolog_unlock;
	b->free = nolog_free;
	return b;
}

/* Give the writer handle the level above, once (a reopened handle anew);
 * write_lock held, before its first ref update. */
static int writer_logs_nothing(gkv__git *g)
{
	git_config *cfg = NULL, *level = NULL;
	git_config_backend *b;
	int rc;

	if ((rc = git_repository_config(&cfg, g->wrepo)) < 0)
		return gkv__git_error(rc, GKV_E_IO, "git repository '%s': cannot read its config",
				      g->path);
	if (git_config_open_level(&level, cfg, GIT_CONFIG_LEVEL_APP) == 0) {
		git_config_free(level);
		git_config_free(cfg);
		return 0;
	}
	git_error_clear();
	if (!(b = nolog_new())) {
		git_config_free(cfg);
		return gkv__oom();
	}
	if ((rc = git_config_add_backend(cfg, b, GIT_CONFIG_LEVEL_APP, g->wrepo, 0)) < 0) {
		free(b);
		rc = gkv__git_error(rc, GKV_E_ERROR, "git repository '%s': cannot set up reflogs",
				    g->path);
	}
	git_config_free(cfg);
	return rc;
}

/* Append s to the sbuf, without the characters a reflog line cannot
 * carry in that place: '<', '>' and newlines in an identity (as git
 * strips them), newlines in a message (made spaces). */
static int put_clean(gkv__sbuf *b, const char *s, bool ident)
{
	int rc = 0;

	for (; rc == 0 && *s; s++) {
		if (*s == '\n' || *s == '\r')
			rc = ident ? 0 : gkv__sbuf_putc(b, ' ');
		else if (ident && (*s == '<' || *s == '>'))
			continue;
		else
			rc = gkv__sbuf_putc(b, *s);
	}
	return rc;
}

/* "Name <email> time +hhmm\tmessage" (no tab for an empty message, as git). */
static int who_format(char **out, const char *name, const char *email, int64_t when, int offset,
		      const char *message)
{
	gkv__sbuf b = GKV__SBUF_INIT;
	int off = offset < 0 ? -offset : offset;
	char tail[64];
	int rc;

	snprintf(tail, sizeof(tail), "> %lld %c%02d%02d", (long long)when, offset < 0 ? '-' : '+',
		 off / 60 % 100, off % 60);
	if ((rc = put_clean(&b, name, true)) < 0 || (rc = gkv__sbuf_puts(&b, " <")) < 0 ||
	    (rc = put_clean(&b, email, true)) < 0 || (rc = gkv__sbuf_puts(&b, tail)) < 0 ||
	    (*message && ((rc = gkv__sbuf_putc(&b, '\t')) < 0 ||
			  (rc = put_clean(&b, message, false)) < 0)) ||
	    (rc = gkv__sbuf_putc(&b, '\0')) < 0) {
		gkv__sbuf_free(&b);
		return rc;
	}
	*out = (char *)b.ptr;
	return 0;
}

int gkv__git_who_make(gkv__git_who *out, const char *ref, const gkv_backend_reflog_entry *e)
{
	int rc;

	if (!e || !e->name || !e->email || !e->message || strchr(e->message, '\n'))
		return gkv_error_set(GKV_E_INVALID,
				     "log entry for ref '%s' missing, lacking a field or holding a "
				     "newline",
				     ref);
	if (!(out->ref = gkv__strdup(ref)))
		return GKV_E_NOMEM;
	if ((rc = who_format(&out->who, e->name, e->email, e->time, e->offset, e->message)) < 0) {
		free(out->ref);
		return rc;
	}
	return 0;
}

void gkv__git_who_free(gkv__git_who *w)
{
	free(w->ref);
	free(w->who);
}

/* One reflog appended to by a ref update: where it ended before. */
typedef struct {
	int fd; /* -1: not opened (nothing appended) */
	off_t before, after;
} log_file;

static int log_exists_error(gkv__git *g, const char *name)
{
	return gkv_error_set(GKV_E_EXISTS,
			     "branch ref '%s' cannot be logged: git repository '%s' keeps the "
			     "log of another ref (one deleted, whose log gitkv keeps) where "
			     "its log would be, and git keeps logs as files, so one cannot be "
			     "a folder of the other",
			     name, g->path);
}

/* Open the reflog of name for appending, making its folders. */
static int log_open(int *fd, gkv__git *g, const char *name)
{
	char path[PATH_MAX];
	size_t base;
	int n;

	n = snprintf(path, sizeof(path), "%slogs/%s", g->commondir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return gkv_error_set(GKV_E_INVALID, "ref name '%.60s...' is too long to log", name);
	base = strlen(g->commondir);
	for (char *slash = strchr(path + base, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		n = gkv__git_make_dir(g, path);
		*slash = '/';
		if (n < 0 && (errno == ENOTDIR || errno == EEXIST))
			return log_exists_error(g, name);
		if (n < 0)
			goto io;
	}
	for (int tries = 0; tries < 2; tries++) {
		*fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
		if (*fd >= 0) {
			(void)gkv__git_share_fd(g, *fd); /* as for gitkv.lock */
			return 0;
		}
		if (errno == ENOTDIR)
			return log_exists_error(g, name);
		/* an empty folder left by the logs of refs below it: git
		 * takes it away too */
		if (errno != EISDIR || rmdir(path) != 0)
			break;
	}
	if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST)
		return log_exists_error(g, name);
io:
	return gkv_error_set(GKV_E_IO, "git repository '%s': cannot open the reflog of '%s': %s",
			     g->path, name, strerror(errno));
}

/* The who of ref name's move: the batch's, or the handle's identity. */
static const char *who_of(const gkv__git_who *who, size_t nwho, const char *name)
{
	for (size_t i = 0; i < nwho; i++)
		if (strcmp(who[i].ref, name) == 0)
			return who[i].who;
	return NULL;
}

/* Take back what was appended to the reflogs whose move did not land:
 * landed[i] false. A log someone appended to since is left as it is. */
static void logs_take_back(log_file *logs, size_t n, const bool *landed)
{
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (logs[i].fd < 0 || (landed && landed[i]))
			continue;
		if (fstat(logs[i].fd, &st) == 0 && st.st_size == logs[i].after &&
		    ftruncate(logs[i].fd, logs[i].before) != 0)
			errno = 0; /* nothing better to do: the line stays */
	}
}

static void logs_close(log_file *logs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (logs[i].fd >= 0)
			close(logs[i].fd);
	free(logs);
}

/*
 * Append a line for each move of cas (locked and checked) to its ref's
 * reflog: "<old> <new> <who>\n", the zero id for absent. *out gets one
 * log_file per CAS (fd -1 where nothing was written). On failure
 * whatever was appended is taken back.
 */
static int logs_append(log_file **out, gkv__git *g, const gkv__git_cas *cas, size_t n,
		       const gkv__git_who *who, size_t nwho)
{
	log_file *logs = calloc(n ? n : 1, sizeof(*logs));
	char *dflt = NULL;
	bool sync = gkv__git_fsync_users() > 0;
	int rc = 0;

	if (!logs)
		return gkv__oom();
	for (size_t i = 0; i < n; i++)
		logs[i].fd = -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *w = who_of(who, nwho, cas[i].name);
		char old[GKV_OID_HEXSZ + 1], new[GKV_OID_HEXSZ + 1];
		gkv__sbuf line = GKV__SBUF_INIT;
		struct stat st;

		if (is_noop(&cas[i]))
			continue;
		if (!w && !dflt &&
		    (rc = who_format(&dflt, g->ident_name, g->ident_email, (int64_t)time(NULL), 0,
				     REFLOG_MESSAGE)) < 0)
			break;
		memset(old, '0', GKV_OID_HEXSZ);
		memset(new, '0', GKV_OID_HEXSZ);
		old[GKV_OID_HEXSZ] = new[GKV_OID_HEXSZ] = '\0';
		if (cas[i].has_expected)
			gkv__backend_hex(old, &cas[i].expected);
		if (cas[i].has_target)
			gkv__backend_hex(new, &cas[i].target);
		if ((rc = gkv__sbuf_puts(&line, old)) < 0 || (rc = gkv__sbuf_putc(&line, ' ')) < 0 ||
		    (rc = gkv__sbuf_puts(&line, new)) < 0 || (rc = gkv__sbuf_putc(&line, ' ')) < 0 ||
		    (rc = gkv__sbuf_puts(&line, w ? w : dflt)) < 0 ||
		    (rc = gkv__sbuf_putc(&line, '\n')) < 0 ||
		    (rc = log_open(&logs[i].fd, g, cas[i].name)) < 0) {
			gkv__sbuf_free(&line);
			break;
		}
		if (fstat(logs[i].fd, &st) != 0 ||
		    (logs[i].before = st.st_size,
		     gkv__git_write_all(logs[i].fd, line.ptr, line.size) != 0) ||
		    (sync && fsync(logs[i].fd) != 0)) {
			int e = errno;

			rc = gkv_error_set(e == ENOSPC || e == EDQUOT ? GKV_E_FULL : GKV_E_IO,
					   "git repository '%s': cannot append to the reflog of '%s': %s",
					   g->path, cas[i].name, strerror(e));
		}
		logs[i].after = logs[i].before + (off_t)line.size;
		gkv__sbuf_free(&line);
	}
	free(dflt);
	if (rc < 0) {
		logs_take_back(logs, n, NULL);
		logs_close(logs, n);
		return rc;
	}
	*out = logs;
	return 0;
}

/* After a failed commit: which moves landed all the same (git's commit
 * renames one ref after the other). */
static void logs_after_failure(gkv__git *g, log_file *logs, const gkv__git_cas *cas, size_t n)
{
	bool *landed = calloc(n ? n : 1, sizeof(*landed));

	for (size_t i = 0; landed && i < n; i++) {
		gkv_oid cur;
		int found = loose_read(&cur, g, cas[i].name);

		landed[i] = cas[i].has_target ? found && gkv_oid_equal(&cur, &cas[i].target) : !found;
	}
	logs_take_back(logs, n, landed);
	free(landed);
}

int gkv__git_reflog_read(gkv_backend *b, const char *name, gkv_backend_reflog_cb cb,
			 void *payload)
{
	gkv__git *g = (gkv__git *)b;
	git_reflog *log = NULL;
	size_t n;
	int rc;

	if (!name || !*name)
		return gkv_error_set(GKV_E_INVALID, "empty ref name");
	if ((rc = gkv__git_start(g)) < 0)
		return rc;
	if ((rc = git_reflog_read(&log, g->repo, name)) < 0)
		return gkv__git_error(rc, GKV_E_CORRUPT,
				      "git repository '%s': cannot read the reflog of '%s'", g->path,
				      name);
	n = git_reflog_entrycount(log);
	rc = 0;
	/* entry 0 is the newest */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const git_reflog_entry *e = git_reflog_entry_byindex(log, i);
		const git_signature *sig = git_reflog_entry_committer(e);
		const char *msg = git_reflog_entry_message(e);
		gkv_backend_reflog_entry ent;

		to_gkv(&ent.old_id, git_reflog_entry_id_old(e));
		to_gkv(&ent.new_id, git_reflog_entry_id_new(e));
		ent.name = sig && sig->name ? sig->name : "";
		ent.email = sig && sig->email ? sig->email : "";
		ent.time = sig ? (int64_t)sig->when.time : 0;
		ent.offset = sig ? sig->when.offset : 0;
		ent.message = msg ? msg : "";
		rc = cb(&ent, payload);
	}
	git_reflog_free(log);
	return rc;
}

static void reopen_keeping_error(gkv__git *g)
{
	char msg[1024];
	int code = gkv_error_last_code();

	snprintf(msg, sizeof(msg), "%s", gkv_error_last());
	if (gkv__git_reopen_writer(g) < 0)
		gkv_error_set(code, "%s", msg);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((*(const gkv__git_cas *const *)a)->name,
		      (*(const gkv__git_cas *const *)b)->name);
}

int gkv__git_cas_apply(gkv__git *g, const gkv__git_cas *cas, size_t n, const gkv__git_who *who,
		       size_t nwho)
{
	git_transaction *tx = NULL;
	const gkv__git_cas **order;
	log_file *logs = NULL;
	bool failed_commit = false;
	size_t nlock = 0;
	int rc, wfd = -1;

	/* Checks with nothing to write need no lock: the read is the CAS. */
	for (size_t i = 0; i < n; i++)
		nlock += !is_noop(&cas[i]);
	if (nlock == 0)
		return gkv__git_cas_precheck(g, cas, n);
	for (size_t i = 0; i < n; i++)
		if ((rc = check_path_free(g, &cas[i])) < 0)
			return rc;
	if (!(order = malloc(n * sizeof(*order))))
		return gkv__oom();
	for (size_t i = 0; i < n; i++)
		order[i] = &cas[i];
	qsort(order, n, sizeof(*order), name_cmp);
	if ((rc = writer_logs_nothing(g)) < 0)
		goto out;
	if ((rc = git_transaction_new(&tx, g->wrepo)) < 0) {
		rc = gkv__git_error(rc, GKV_E_IO, "git repository '%s': cannot start a ref update",
				    g->path);
		goto out;
	}
	if ((wfd = writers_lock(g)) < 0) {
		rc = wfd;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!is_noop(order[i]) && (rc = lock_ref(tx, g, order[i]->name)) < 0) {
			rc = lock_error(g, rc, order[i]->name);
			goto out;
		}
	if ((rc = check_locked(g, cas, n)) < 0 ||
	    (rc = logs_append(&logs, g, cas, n, who, nwho)) < 0)
		goto out;
	if ((rc = stage_updates(tx, g, cas, n)) < 0) {
		logs_take_back(logs, n, NULL);
		goto out;
	}
	if ((rc = git_transaction_commit(tx)) < 0) {
		rc = gkv__git_error(rc, GKV_E_IO, "git repository '%s': cannot move ref '%s'%s",
				    g->path, order[0]->name, nlock > 1 ? " and others" : "");
		logs_after_failure(g, logs, cas, n);
		failed_commit = true;
	}
out:
	if (logs)
		logs_close(logs, n);
	git_transaction_free(tx); /* drops whatever locks are still held */
	if (wfd >= 0)
		close(wfd); /* after the ref locks: drops the writers' flock */
	free(order);
	/* libgit2 may now hold a wrong picture of packed-refs: start afresh,
	 * keeping the error that brought us here. */
	if (failed_commit)
		reopen_keeping_error(g);
	return rc;
}

int gkv__git_ref_cas(gkv_backend *b, const char *name, const gkv_oid *expected,
		     const gkv_oid *new_target)
{
	gkv__git *g = (gkv__git *)b;
	gkv__git_cas c;
	int rc;

	if ((rc = gkv__git_check_writable(g)) < 0)
		return rc;
	if (!name || !*name)
		return gkv_error_set(GKV_E_INVALID, "empty ref name");
	memset(&c, 0, sizeof(c));
	c.name = (char *)name;
	if ((c.has_expected = expected != NULL))
		c.expected = *expected;
	if ((c.has_target = new_target != NULL))
		c.target = *new_target;
	pthread_mutex_lock(&g->write_lock);
	if ((rc = gkv__git_writer_ready(g)) == 0)
		rc = gkv__git_cas_apply(g, &c, 1, NULL, 0);
	pthread_mutex_unlock(&g->write_lock);
	return rc;
}

/* ---- versions of the refs ---- */

/*
 * A view reads its branch's head on every get; loose_read above is three
 * system calls and a path walk, a third of a small get. The store skips
 * it while the backend's refs_version stays at the version of its last
 * read (backend.h), so this handle must know, without reading anything,
 * that no ref can have moved -- through this handle, another handle,
 * git itself or any other process.
 *
 * Refs live as files in <commondir>/refs/ and its folders, in
 * <commondir>/packed-refs, and in a linked work tree's own git dir
 * (HEAD, refs/bisect/...). Every writer changes them by a system call on
 * a directory entry or a file in one of those directories: git and
 * libgit2 rename "<ref>.lock" over the ref and packed-refs.lock over
 * packed-refs, unlink a deleted loose ref, mkdir a folder for a name
 * with '/'; a hand edit writes the file in place. An inotify watch on
 * each of those directories queues an event for each such call, and
 * queues it inside the call, after the change is visible and before the
 * call returns. Hence the rule:
 *
 *   refs_version = drain the queue, bump the counter if anything came
 *   out, return the counter; ref_read_versioned = the same, then read.
 *
 * A change whose system call returned before a drain began is seen by
 * that drain, or by an earlier one that has already bumped the counter
 * (both happen under watch.lock, so no thread takes the counter between
 * another's read of an event and its bump). So if refs_version returns
 * the version a read reported, every change that finished before this
 * call was either counted before that read took its version -- and the
 * read, which comes after, saw it -- or not at all, i.e. there was none.
 * A change racing with the read only costs a needless re-read later.
 *
 * Folders: a name with '/' lives in a folder that may appear after the
 * handle opened. Its mkdir queues an event on its parent; the drain that
 * finds it adds a watch on the new folder before it returns, then looks
 * inside for folders made before the watch existed. Whatever happened in
 * the folder before its watch came after the mkdir, so before this
 * drain, and a read after the drain sees it. Spurious events (the
 * index, config, lock files, our own writes) only cost re-reads.
 *
 * What inotify cannot promise makes the handle "unreliable" for good,
 * and then every version is new, so the store reads as it always did: no
 * inotify instance (limits), a watch that cannot be added, a queue that
 * overflowed (events were lost), a watched folder moved (its path is
 * stale), a file system where other machines may write (NFS, FUSE...:
 * only local file systems are trusted), a forked child using its
 * parent's handle (the queue is shared: it would eat the parent's
 * events). Not covered, as git never does them: writing a ref through a
 * hard link in a folder that is not watched, or through a shared mmap.
 */
#define WATCH_MASK                                                                                 \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_MODIFY |        \
	 IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

static void set_unreliable(gkv__git *g)
{
	atomic_store(&g->watch.unreliable, true);
}

/* File systems whose changes all pass through this kernel's inotify. */
static bool local_fs(const char *path)
{
	static const unsigned long local[] = {
	    0xEF53,	/* ext2, ext3, ext4 */
	    0x58465342, /* xfs */
	    0x9123683E, /* btrfs */
	    0x01021994, /* tmpfs */
	    0x858458F6, /* ramfs */
	    0x794C7630, /* overlayfs */
	    0xF2F52010, /* f2fs */
	    0x2FC12FC1, /* zfs */
	    0xCA451A4E, /* bcachefs */
	    0x3153464A, /* jfs */
	    0x52654973, /* reiserfs */
	};
	struct statfs st;

	if (statfs(path, &st) != 0)
		return false;
	errno = 0;
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if ((unsigned long)st.f_type == local[i])
			return true;
	return false;
}

static gkv__git_wdir *find_dir(gkv__git_watch *w, int wd)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->dirs[i].wd == wd)
			return &w->dirs[i];
	return NULL;
}

static void forget_dir(gkv__git_watch *w, int wd)
{
	gkv__git_wdir *d = find_dir(w, wd);

	if (d) {
		free(d->path);
		*d = w->dirs[--w->n];
	}
}

/* Watch one directory (path is taken over); false if it cannot be. */
static bool remember_dir(gkv__git_watch *w, int wd, bool root, char *path)
{
	gkv__git_wdir *d = find_dir(w, wd);

	if (d) { /* the same directory again (a watch is per inode) */
		free(d->path);
		d->path = path;
		d->root |= root;
		return true;
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		gkv__git_wdir *p = realloc(w->dirs, cap * sizeof(*p));

		if (!p) {
			free(path);
			return false;
		}
		w->dirs = p;
		w->cap = cap;
	}
	w->dirs[w->n++] = (gkv__git_wdir){wd, root, path};
	return true;
}

static char *join(const char *dir, const char *name)
{
	size_t dlen = strlen(dir), nlen = strlen(name);
	char *p = malloc(dlen + nlen + 2);

	if (p) {
		memcpy(p, dir, dlen);
		p[dlen] = '/';
		memcpy(p + dlen + 1, name, nlen + 1);
	}
	return p;
}

/*
 * Watch the directory path and every directory below it: the watch
 * first, then a look inside, so that a folder made meanwhile is either
 * seen here or reported by the new watch. A directory already gone is
 * nothing to watch (its removal is an event of its parent). false, and
 * the handle unreliable, for anything else that fails.
 */
static bool watch_tree(gkv__git *g, const char *path, bool root)
{
	gkv__git_watch *w = &g->watch;
	struct dirent *e;
	char *copy;
	DIR *dir;
	int wd;

	if (!local_fs(path)) {
		if (!root && (errno == ENOENT || errno == ENOTDIR))
			return true;
		set_unreliable(g);
		return false;
	}
	if ((wd = inotify_add_watch(w->fd, path, WATCH_MASK)) < 0) {
		if (!root && (errno == ENOENT || errno == ENOTDIR))
			return true;
		set_unreliable(g);
		return false;
	}
	if (!(copy = gkv__strdup(path)) || !remember_dir(w, wd, root, copy)) {
		set_unreliable(g);
		return false;
	}
	if (root) /* only its folder refs/ holds refs in folders */
		return true;
	if (!(dir = opendir(path))) {
		if (errno == ENOENT || errno == ENOTDIR)
			return true;
		set_unreliable(g);
		return false;
	}
	while ((e = readdir(dir)) != NULL) {
		char *sub;
		bool ok;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN && e->d_type != DT_LNK)
			continue;
		if (!(sub = join(path, e->d_name))) {
			set_unreliable(g);
			break;
		}
		if (e->d_type != DT_DIR) {
			struct stat st;

			if (stat(sub, &st) != 0 || !S_ISDIR(st.st_mode)) {
				free(sub);
				continue;
			}
		}
		ok = watch_tree(g, sub, false);
		free(sub);
		if (!ok)
			break;
	}
	closedir(dir);
	return !atomic_load(&g->watch.unreliable);
}

/* A root (the common dir, a work tree's git dir) and its refs/. */
static bool watch_root(gkv__git *g, const char *root)
{
	char *refs;
	bool ok;

	if (!watch_tree(g, root, true))
		return false;
	if (!(refs = join(root, "refs"))) {
		set_unreliable(g);
		return false;
	}
	ok = watch_tree(g, refs, false);
	free(refs);
	return ok;
}

/* One event: follow the directories it makes, unmakes or spoils. */
static void take_event(gkv__git *g, const struct inotify_event *ev)
{
	gkv__git_watch *w = &g->watch;
	gkv__git_wdir *d;
	char *sub;

	if (ev->mask & IN_Q_OVERFLOW) {
		set_unreliable(g); /* events were dropped */
		return;
	}
	if (!(d = find_dir(w, ev->wd))) {
		/* a watch already forgotten; anything else is a bug */
		if (!(ev->mask & IN_IGNORED))
			set_unreliable(g);
		return;
	}
	if ((ev->mask & (IN_MOVE_SELF | IN_UNMOUNT)) ||
	    (d->root && (ev->mask & (IN_DELETE_SELF | IN_IGNORED)))) {
		set_unreliable(g); /* its path is stale, or the repository is gone */
		return;
	}
	if (ev->mask & IN_IGNORED) { /* a folder of refs/ was removed */
		forget_dir(w, ev->wd);
		return;
	}
	if (!(ev->mask & IN_ISDIR) || !(ev->mask & (IN_CREATE | IN_MOVED_TO)) || !ev->len)
		return;
	if (d->root && strcmp(ev->name, "refs") != 0)
		return; /* objects/, logs/...: no refs there */
	if (!(sub = join(d->path, ev->name))) {
		set_unreliable(g);
		return;
	}
	watch_tree(g, sub, false);
	free(sub);
}

/* Read every event queued; true if there was any. watch.lock held. */
static bool drain(gkv__git *g)
{
	gkv__git_watch *w = &g->watch;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false;

	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return any;
		if (n <= 0) {
			set_unreliable(g);
			return true;
		}
		any = true;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			take_event(g, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}

/* The version of the refs as they are now (see above). */
static uint64_t refs_now(gkv__git *g)
{
	gkv__git_watch *w = &g->watch;
	uint64_t v;

	/* A forked child shares the queue with its parent and must not eat
	 * its events (nor take a lock a thread of the parent may have held
	 * at the fork). */
	if (!atomic_load(&w->unreliable) && !*w->owner)
		set_unreliable(g);
	if (!atomic_load(&w->unreliable)) {
		pthread_mutex_lock(&w->lock);
		if (drain(g))
			atomic_fetch_add(&w->version, 1);
		v = atomic_load(&w->version);
		pthread_mutex_unlock(&w->lock);
		if (!atomic_load(&w->unreliable))
			return v;
	}
	return atomic_fetch_add(&w->version, 1) + 1;
}

int gkv__git_refs_version(uint64_t *out, gkv_backend *b)
{
	*out = refs_now((gkv__git *)b);
	return 0;
}

int gkv__git_ref_read_versioned(gkv_oid *out, uint64_t *version, gkv_backend *b, const char *name)
{
	*version = refs_now((gkv__git *)b);
	return gkv__git_ref_read(out, b, name);
}

void gkv__git_watch_init(gkv__git *g)
{
	gkv__git_watch *w = &g->watch;

	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	w->fd = -1;
	atomic_init(&w->version, 0);
	atomic_init(&w->unreliable, true);
}

void gkv__git_watch_start(gkv__git *g)
{
	gkv__git_watch *w = &g->watch;
	long page = sysconf(_SC_PAGESIZE);
	void *owner;

	owner =
	    mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (owner == MAP_FAILED)
		return;
	w->owner = owner;
	if (madvise(owner, (size_t)page, MADV_WIPEONFORK) != 0)
		return;
	w->owner[0] = 1;
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		return;
	atomic_store(&w->unreliable, false);
	if (watch_root(g, g->commondir) && strcmp(g->gitdir, g->commondir) != 0)
		watch_root(g, g->gitdir);
}

void gkv__git_watch_free(gkv__git *g)
{
	gkv__git_watch *w = &g->watch;

	if (w->fd >= 0)
		close(w->fd); /* drops every watch */
	for (size_t i = 0; i < w->n; i++)
		free(w->dirs[i].path);
	free(w->dirs);
	if (w->owner)
		munmap((void *)w->owner, (size_t)sysconf(_SC_PAGESIZE));
	pthread_mutex_destroy(&w->lock);
}
