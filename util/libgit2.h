/*
 * libgit2.h -- libgit2, loaded when a process first needs it.
 *
 * gitkv does not link libgit2: every process that did paid for loading
 * it and the ~20 libraries it brings (libssh2, OpenSSL, mbedTLS,
 * Kerberos, PCRE2...) before main, some 6 ms of CPU, more than listing a
 * directory of a store costs. Most processes never call it: an lmdb or
 * mem store, and a git store read through backends/git/git_files.c, do
 * without. So the layers that use libgit2 (store/oid.c's collision-
 * detecting hash, store/identity.c, backends/git, sync) include this
 * header instead of <git2.h>: it declares libgit2's API as <git2.h> does
 * and turns each function gitkv calls into a call through a table that
 * util/libgit2.c fills from dlopen() of libgit2's shared library, the first
 * time git_libgit2_init() is called.
 *
 * git_libgit2_init() is where loading is checked: it returns -1 when
 * libgit2 cannot be loaded (gkv__git2_why() says why), and every use of
 * libgit2 in gitkv follows a successful git_libgit2_init(), as libgit2
 * requires anyway. A call through the table before that loads libgit2
 * too, and aborts the process if it cannot be loaded: a bug of the
 * caller, which did not start libgit2 first.
 *
 * To call another libgit2 function, add it to GKV__GIT2_FUNCS and give it
 * a #define below, as the others have. Internal.
 */
#ifndef GKV_LIBGIT2_H
#define GKV_LIBGIT2_H

#include <stdatomic.h>
#include <stdbool.h>

#include <git2.h>
#include <git2/sys/config.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/refdb_backend.h>
#include <git2/sys/refs.h>
#include <git2/sys/repository.h>

#define GKV__GIT2_FUNCS(X) \
	X(git_libgit2_init) \
	X(git_buf_dispose) \
	X(git_config_add_backend) \
	X(git_config_delete_entry) \
	X(git_config_delete_multivar) \
	X(git_config_entry_free) \
	X(git_config_free) \
	X(git_config_get_entry) \
	X(git_config_get_multivar_foreach) \
	X(git_config_get_string) \
	X(git_config_get_string_buf) \
	X(git_config_init_backend) \
	X(git_config_iterator_free) \
	X(git_config_iterator_new) \
	X(git_config_new) \
	X(git_config_next) \
	X(git_config_open_default) \
	X(git_config_open_level) \
	X(git_config_open_ondisk) \
	X(git_config_set_string) \
	X(git_credential_ssh_key_from_agent) \
	X(git_credential_ssh_key_new) \
	X(git_credential_username_new) \
	X(git_credential_userpass_plaintext_new) \
	X(git_error_clear) \
	X(git_error_last) \
	X(git_error_set) \
	X(git_error_set_oom) \
	X(git_error_set_str) \
	X(git_fetch_options_init) \
	X(git_indexer_append) \
	X(git_indexer_commit) \
	X(git_indexer_free) \
	X(git_indexer_name) \
	X(git_indexer_new) \
	X(git_indexer_options_init) \
	X(git_libgit2_opts) \
	X(git_libgit2_shutdown) \
	X(git_odb_add_backend) \
	X(git_odb_backend_data_alloc) \
	X(git_odb_backend_data_free) \
	X(git_odb_backend_one_pack) \
	X(git_odb_free) \
	X(git_odb_hash) \
	X(git_odb_init_backend) \
	X(git_odb_new) \
	X(git_odb_write) \
	X(git_push_options_init) \
	X(git_refdb_free) \
	X(git_refdb_init_backend) \
	X(git_refdb_new) \
	X(git_refdb_set_backend) \
	X(git_reference__alloc) \
	X(git_reference_free) \
	X(git_reference_iterator_free) \
	X(git_reference_iterator_glob_new) \
	X(git_reference_iterator_new) \
	X(git_reference_lookup) \
	X(git_reference_name) \
	X(git_reference_name_to_id) \
	X(git_reference_next) \
	X(git_reference_symbolic_create) \
	X(git_reference_symbolic_target) \
	X(git_reference_target) \
	X(git_reference_type) \
	X(git_reflog_entry_byindex) \
	X(git_reflog_entry_committer) \
	X(git_reflog_entry_id_new) \
	X(git_reflog_entry_id_old) \
	X(git_reflog_entry_message) \
	X(git_reflog_entrycount) \
	X(git_reflog_free) \
	X(git_reflog_read) \
	X(git_remote_connect) \
	X(git_remote_create_anonymous) \
	X(git_remote_default_branch) \
	X(git_remote_disconnect) \
	X(git_remote_download) \
	X(git_remote_free) \
	X(git_remote_init_callbacks) \
	X(git_remote_ls) \
	X(git_remote_upload) \
	X(git_repository_commondir) \
	X(git_repository_config) \
	X(git_repository_config_snapshot) \
	X(git_repository_free) \
	X(git_repository_init_ext) \
	X(git_repository_init_options_init) \
	X(git_repository_new) \
	X(git_repository_odb) \
	X(git_repository_open_ext) \
	X(git_repository_path) \
	X(git_repository_refdb) \
	X(git_repository_set_config) \
	X(git_repository_set_odb) \
	X(git_repository_set_refdb) \
	X(git_signature_default) \
	X(git_signature_free) \
	X(git_signature_now) \
	X(git_transaction_commit) \
	X(git_transaction_free) \
	X(git_transaction_lock_ref) \
	X(git_transaction_new) \
	X(git_transaction_remove) \
	X(git_transaction_set_target)

typedef struct {
#define GKV__GIT2_SLOT(f) __typeof__(f) *f;
	GKV__GIT2_FUNCS(GKV__GIT2_SLOT)
#undef GKV__GIT2_SLOT
} gkv__git2_table;

extern gkv__git2_table gkv__git2_t;
extern atomic_bool gkv__git2_loaded;

/* Load libgit2 once per process: 0, or -1 (gkv__git2_why() tells why). */
int gkv__git2_load(void);
/* Why libgit2 could not be loaded ("" if it could, or was not tried). */
const char *gkv__git2_why(void);
/* The table, libgit2 loaded; aborts if it cannot be (see above). */
const gkv__git2_table *gkv__git2_need(void);

static inline const gkv__git2_table *gkv__git2(void)
{
	if (__builtin_expect(atomic_load_explicit(&gkv__git2_loaded, memory_order_acquire), 1))
		return &gkv__git2_t;
	return gkv__git2_need();
}

/* git_libgit2_init(), after loading libgit2: its count of inits, or -1. */
int gkv__git2_init(void);

#ifndef GKV__GIT2_IMPL
#define git_libgit2_init() gkv__git2_init()
#define git_buf_dispose (gkv__git2()->git_buf_dispose)
#define git_config_add_backend (gkv__git2()->git_config_add_backend)
#define git_config_delete_entry (gkv__git2()->git_config_delete_entry)
#define git_config_delete_multivar (gkv__git2()->git_config_delete_multivar)
#define git_config_entry_free (gkv__git2()->git_config_entry_free)
#define git_config_free (gkv__git2()->git_config_free)
#define git_config_get_entry (gkv__git2()->git_config_get_entry)
#define git_config_get_multivar_foreach (gkv__git2()->git_config_get_multivar_foreach)
#define git_config_get_string (gkv__git2()->git_config_get_string)
#define git_config_get_string_buf (gkv__git2()->git_config_get_string_buf)
#define git_config_init_backend (gkv__git2()->git_config_init_backend)
#define git_config_iterator_free (gkv__git2()->git_config_iterator_free)
#define git_config_iterator_new (gkv__git2()->git_config_iterator_new)
#define git_config_new (gkv__git2()->git_config_new)
#define git_config_next (gkv__git2()->git_config_next)
#define git_config_open_default (gkv__git2()->git_config_open_default)
#define git_config_open_level (gkv__git2()->git_config_open_level)
#define git_config_open_ondisk (gkv__git2()->git_config_open_ondisk)
#define git_config_set_string (gkv__git2()->git_config_set_string)
#define git_credential_ssh_key_from_agent (gkv__git2()->git_credential_ssh_key_from_agent)
#define git_credential_ssh_key_new (gkv__git2()->git_credential_ssh_key_new)
#define git_credential_username_new (gkv__git2()->git_credential_username_new)
#define git_credential_userpass_plaintext_new (gkv__git2()->git_credential_userpass_plaintext_new)
#define git_error_clear (gkv__git2()->git_error_clear)
#define git_error_last (gkv__git2()->git_error_last)
#define git_error_set (gkv__git2()->git_error_set)
#define git_error_set_oom (gkv__git2()->git_error_set_oom)
#define git_error_set_str (gkv__git2()->git_error_set_str)
#define git_fetch_options_init (gkv__git2()->git_fetch_options_init)
#define git_indexer_append (gkv__git2()->git_indexer_append)
#define git_indexer_commit (gkv__git2()->git_indexer_commit)
#define git_indexer_free (gkv__git2()->git_indexer_free)
#define git_indexer_name (gkv__git2()->git_indexer_name)
#define git_indexer_new (gkv__git2()->git_indexer_new)
#define git_indexer_options_init (gkv__git2()->git_indexer_options_init)
#define git_libgit2_opts (gkv__git2()->git_libgit2_opts)
#define git_libgit2_shutdown (gkv__git2()->git_libgit2_shutdown)
#define git_odb_add_backend (gkv__git2()->git_odb_add_backend)
#define git_odb_backend_data_alloc (gkv__git2()->git_odb_backend_data_alloc)
#define git_odb_backend_data_free (gkv__git2()->git_odb_backend_data_free)
#define git_odb_backend_one_pack (gkv__git2()->git_odb_backend_one_pack)
#define git_odb_free (gkv__git2()->git_odb_free)
#define git_odb_hash (gkv__git2()->git_odb_hash)
#define git_odb_init_backend (gkv__git2()->git_odb_init_backend)
#define git_odb_new (gkv__git2()->git_odb_new)
#define git_odb_write (gkv__git2()->git_odb_write)
#define git_push_options_init (gkv__git2()->git_push_options_init)
#define git_refdb_free (gkv__git2()->git_refdb_free)
#define git_refdb_init_backend (gkv__git2()->git_refdb_init_backend)
#define git_refdb_new (gkv__git2()->git_refdb_new)
#define git_refdb_set_backend (gkv__git2()->git_refdb_set_backend)
#define git_reference__alloc (gkv__git2()->git_reference__alloc)
#define git_reference_free (gkv__git2()->git_reference_free)
#define git_reference_iterator_free (gkv__git2()->git_reference_iterator_free)
#define git_reference_iterator_glob_new (gkv__git2()->git_reference_iterator_glob_new)
#define git_reference_iterator_new (gkv__git2()->git_reference_iterator_new)
#define git_reference_lookup (gkv__git2()->git_reference_lookup)
#define git_reference_name (gkv__git2()->git_reference_name)
#define git_reference_name_to_id (gkv__git2()->git_reference_name_to_id)
#define git_reference_next (gkv__git2()->git_reference_next)
#define git_reference_symbolic_create (gkv__git2()->git_reference_symbolic_create)
#define git_reference_symbolic_target (gkv__git2()->git_reference_symbolic_target)
#define git_reference_target (gkv__git2()->git_reference_target)
#define git_reference_type (gkv__git2()->git_reference_type)
#define git_reflog_entry_byindex (gkv__git2()->git_reflog_entry_byindex)
#define git_reflog_entry_committer (gkv__git2()->git_reflog_entry_committer)
#define git_reflog_entry_id_new (gkv__git2()->git_reflog_entry_id_new)
#define git_reflog_entry_id_old (gkv__git2()->git_reflog_entry_id_old)
#define git_reflog_entry_message (gkv__git2()->git_reflog_entry_message)
#define git_reflog_entrycount (gkv__git2()->git_reflog_entrycount)
#define git_reflog_free (gkv__git2()->git_reflog_free)
#define git_reflog_read (gkv__git2()->git_reflog_read)
#define git_remote_connect (gkv__git2()->git_remote_connect)
#define git_remote_create_anonymous (gkv__git2()->git_remote_create_anonymous)
#define git_remote_default_branch (gkv__git2()->git_remote_default_branch)
#define git_remote_disconnect (gkv__git2()->git_remote_disconnect)
#define git_remote_download (gkv__git2()->git_remote_download)
#define git_remote_free (gkv__git2()->git_remote_free)
#define git_remote_init_callbacks (gkv__git2()->git_remote_init_callbacks)
#define git_remote_ls (gkv__git2()->git_remote_ls)
#define git_remote_upload (gkv__git2()->git_remote_upload)
#define git_repository_commondir (gkv__git2()->git_repository_commondir)
#define git_repository_config (gkv__git2()->git_repository_config)
#define git_repository_config_snapshot (gkv__git2()->git_repository_config_snapshot)
#define git_repository_free (gkv__git2()->git_repository_free)
#define git_repository_init_ext (gkv__git2()->git_repository_init_ext)
#define git_repository_init_options_init (gkv__git2()->git_repository_init_options_init)
#define git_repository_new (gkv__git2()->git_repository_new)
#define git_repository_odb (gkv__git2()->git_repository_odb)
#define git_repository_open_ext (gkv__git2()->git_repository_open_ext)
#define git_repository_path (gkv__git2()->git_repository_path)
#define git_repository_refdb (gkv__git2()->git_repository_refdb)
#define git_repository_set_config (gkv__git2()->git_repository_set_config)
#define git_repository_set_odb (gkv__git2()->git_repository_set_odb)
#define git_repository_set_refdb (gkv__git2()->git_repository_set_refdb)
#define git_signature_default (gkv__git2()->git_signature_default)
#define git_signature_free (gkv__git2()->git_signature_free)
#define git_signature_now (gkv__git2()->git_signature_now)
#define git_transaction_commit (gkv__git2()->git_transaction_commit)
#define git_transaction_free (gkv__git2()->git_transaction_free)
#define git_transaction_lock_ref (gkv__git2()->git_transaction_lock_ref)
#define git_transaction_new (gkv__git2()->git_transaction_new)
#define git_transaction_remove (gkv__git2()->git_transaction_remove)
#define git_transaction_set_target (gkv__git2()->git_transaction_set_target)
#endif

#endif
