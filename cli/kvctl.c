/*
 * kvctl.c -- the command line of gitkv: option parsing, the command
 * table, help, and main(). The commands themselves live in cmd_*.c and
 * only use the public API (gitkv.h); docs/cli.md is their contract.
 *
 * Options may come before the command (global ones only), and before,
 * between or after its arguments (global ones and the command's own);
 * "--" ends the options, so that `kvctl set -- -k -1` works.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvctl.h"
#include "progress.h"

static int cmd_help(struct kv_ctx *ctx);

/* What every command that reaches a remote says about REMOTE and credentials. */
#define KV_SYNC_HELP                                                                       \
	"\n"                                                                               \
	"REMOTE: a recorded remote's name (\"origin\"), a git URL (git://, http://,\n"      \
	"https://, ssh://, file://, user@host:path), a path to a git repository, or\n"     \
	"another store (lmdb:PATH, git:PATH). Credentials, never prompted for:\n"          \
	"  GITKV_USERNAME, GITKV_PASSWORD or GITKV_TOKEN\n"                                \
	"                       http(s) basic auth (user \"git\" when only a\n"            \
	"                       password or token is set)\n"                               \
	"  --ssh-key FILE       ssh: the private key FILE (FILE.pub beside it),\n"         \
	"                       default $GITKV_SSH_KEY, unlocked by\n"                     \
	"                       $GITKV_SSH_PASSPHRASE; without one, the ssh-agent\n"       \
	"                       of $SSH_AUTH_SOCK\n"                                       \
	"  --ca-file FILE       https: trust the CA certificates in the PEM FILE\n"        \
	"                       too (default $GITKV_CA_FILE)\n"                            \
	"  --known-hosts FILE   ssh: the host's key must be the one FILE gives\n"         \
	"                       (default $GITKV_SSH_KNOWN_HOSTS, else\n"                  \
	"                       ~/.ssh/known_hosts, then /etc/ssh/ssh_known_hosts)\n"     \
	"A transfer shows a progress bar on stderr when stdout is a terminal.\n"          \
	"Exit 4 when REMOTE cannot be reached, refuses the credentials or sends\n"         \
	"something bad; the error names REMOTE, never a password.\n"                       \
	"\n"

static const struct kv_cmd commands[] = {
    {"init", kv_cmd_init, 0, 0, 0, "init", "create an empty store",
     "Create the store (--store, $GITKV_STORE or ./.gitkv). A store that\n"
     "already exists is left as it is, and the command succeeds.\n"
     "\n"
     "Examples:\n"
     "  kvctl --store git:/srv/data.git init\n"
     "  GITKV_STORE=lmdb:/var/lib/kv kvctl init\n"},
    {"get", kv_cmd_get, 0, 1, 1, "get PATH", "print the value at PATH",
     "Write the bytes of the value at PATH to stdout, unchanged (no newline\n"
     "is added). Exit 1 if PATH is absent or is a directory.\n"
     "With --json: {\"path\",\"kind\",\"encoding\",\"value\"}, the value as a\n"
     "string when it is UTF-8 (encoding \"utf-8\"), else base64 (\"base64\").\n"
     "\n"
     "Examples:\n"
     "  kvctl get posts/2016/marrakech.md\n"
     "  kvctl --branch draft --json get config/title\n"},
    {"set", kv_cmd_set, KV_OPT_MESSAGE | KV_OPT_AUTHOR, 1, 2,
     "set PATH [VALUE] [-m MSG] [--author \"NAME <EMAIL>\"]", "set the value at PATH",
     "Make one commit on the branch that sets PATH to VALUE; without VALUE,\n"
     "or when VALUE is \"-\", the value is all of stdin (any bytes). Setting\n"
     "the value already there makes no commit.\n"
     "\n"
     "  -m, --message MSG    the commit message (default \"set PATH\")\n"
     "  --author \"NAME <EMAIL>\"\n"
     "                       the commit's author\n"
     "\n"
     "With --json: {\"branch\",\"hash\",\"changed\"}, hash being the head after.\n"
     "\n"
     "Examples:\n"
     "  kvctl set posts/hello.md \"Hello\"\n"
     "  kvctl set images/logo.png < logo.png -m \"new logo\"\n"},
    {"remove", kv_cmd_remove, KV_OPT_MESSAGE | KV_OPT_AUTHOR, 1, 1, "remove PATH [-m MSG]",
     "remove the value or directory at PATH",
     "Make one commit on the branch that removes PATH (a value, or a\n"
     "directory and everything under it). Exit 1 if PATH is absent.\n"
     "\n"
     "  -m, --message MSG    the commit message (default \"remove PATH\")\n"
     "  --author \"NAME <EMAIL>\"\n"
     "                       the commit's author\n"
     "\n"
     "With --json: {\"branch\",\"hash\",\"changed\"}.\n"
     "\n"
     "Examples:\n"
     "  kvctl remove posts/old\n"
     "  kvctl remove drafts -m \"clean up\"\n"},
    {"list", kv_cmd_list, KV_OPT_NUL, 0, 1, "list [-z] [PATH]", "list the children of a directory",
     "Print the names in the directory PATH (default: the root), one a line,\n"
     "sorted by their bytes; a directory's name ends with '/'. Exit 1 if PATH\n"
     "is absent or is a value. A name holding a control byte, '\"', '\\' or a\n"
     "byte >= 0x80 is quoted as git quotes paths (\"a\\nb\", octal \\ooo).\n"
     "\n"
     "  -z                   names raw, each ended by a NUL instead of a newline\n"
     "\n"
     "With --json: an array of {\"name\",\"kind\"}, kind being \"value\", \"dir\",\n"
     "\"exec\", \"link\" or \"submodule\".\n"
     "\n"
     "Examples:\n"
     "  kvctl list posts/\n"
     "  kvctl list -z | xargs -0 -n1 echo\n"},
    {"tree", kv_cmd_tree, KV_OPT_NUL, 0, 1, "tree [-z] [PATH]", "list every value under PATH",
     "Print the full path of every value under PATH (default: the root), one\n"
     "a line, sorted by their bytes, quoted as list quotes names. Exit 1 if\n"
     "PATH is absent.\n"
     "\n"
     "  -z                   paths raw, each ended by a NUL instead of a newline\n"
     "\n"
     "With --json: an array of {\"path\",\"kind\"}.\n"
     "\n"
     "Examples:\n"
     "  kvctl tree posts\n"
     "  kvctl --json tree\n"},
    {"log", kv_cmd_log, KV_OPT_COUNT | KV_OPT_NUL, 0, 1, "log [-n N] [-z] [PATH]",
     "show the commits of the branch",
     "Print the commits of the branch, newest first, one a line:\n"
     "\"<40-hex hash> <subject>\". With PATH, only the commits that changed\n"
     "what PATH holds compared with their first parent. A subject holding a\n"
     "control byte or bytes that are not UTF-8 is quoted as names are.\n"
     "\n"
     "  -n, --max-count N    print at most N commits\n"
     "  -z                   subjects raw, each line ended by a NUL\n"
     "\n"
     "With --json: an array of\n"
     "{\"hash\",\"parents\",\"author\",\"email\",\"time\",\"message\"}.\n"
     "\n"
     "Examples:\n"
     "  kvctl log -n 5\n"
     "  kvctl log posts/hello.md\n"},
    {"branch", kv_cmd_branch, KV_OPT_NUL | KV_OPT_FORCE, 0, 3,
     "branch [-z] [create NAME [FROM] | delete [--force] NAME]",
     "list, create or delete branches",
     "Without arguments, print the branch names, one a line, sorted (quoted\n"
     "as list quotes names; -z: raw, each ended by a NUL).\n"
     "  branch create NAME [FROM]  make branch NAME at FROM: a branch, a full\n"
     "                             commit id or a unique prefix of at least 4\n"
     "                             hex digits (default: the head of --branch)\n"
     "  branch delete NAME         delete branch NAME; the store's default\n"
     "                             branch only with --force (-f)\n"
     "With --json: an array of {\"name\",\"head\"}, or the one branch made or\n"
     "deleted.\n"
     "\n"
     "Examples:\n"
     "  kvctl branch create draft\n"
     "  kvctl branch delete draft\n"
     "  kvctl --json branch\n"},
    {"reflog", kv_cmd_reflog, KV_OPT_NUL, 0, 1, "reflog [-z] [BRANCH]",
     "show every move of a branch",
     "Print every move of BRANCH (default: --branch), newest first, one a\n"
     "line: \"<old> <new> <time> <message>\" -- the ids before and after\n"
     "(40 zeros for none: a branch made, or deleted), the time in seconds\n"
     "since the epoch, and what moved it (\"commit: SUBJECT\", \"merge ...\",\n"
     "\"branch: Created from ...\", \"reset: moving to ...\", \"branch:\n"
     "deleted\"). A deleted branch's log is kept: `branch create NAME OLD`\n"
     "with the old id of its newest entry brings it back. Exit 1 if the\n"
     "branch never existed. A message with control bytes is quoted as log\n"
     "quotes subjects.\n"
     "\n"
     "  -z                   messages raw, each line ended by a NUL\n"
     "\n"
     "With --json: an array of {\"old\",\"new\",\"name\",\"email\",\"time\",\"message\"}.\n"
     "\n"
     "Examples:\n"
     "  kvctl reflog\n"
     "  kvctl reflog draft  (then: kvctl branch create draft OLD)\n"},
    {"snapshot", kv_cmd_snapshot, 0, 0, 0, "snapshot", "print the head commit's hash",
     "Print the 40-hex id of the branch's head commit. Exit 1 if the branch\n"
     "has no commit yet.\n"
     "With --json: {\"branch\",\"hash\"}.\n"
     "\n"
     "Examples:\n"
     "  kvctl snapshot\n"
     "  kvctl --branch draft --json snapshot\n"},
    {"merge", kv_cmd_merge, KV_OPT_MESSAGE | KV_OPT_AUTHOR, 1, 1, "merge FROM [-m MSG]",
     "merge a branch or commit into the branch",
     "Three-way merge of FROM (a branch, a full commit id or a unique prefix\n"
     "of at least 4 hex digits) into --branch. When the branch already\n"
     "contains FROM nothing changes; when FROM contains the branch, the branch\n"
     "moves forward to it (no new commit); otherwise a merge commit is made\n"
     "whose first parent is the branch's head and second is FROM. Paths both\n"
     "sides changed are merged by the function .gitattributes names for them\n"
     "(merge=counter, merge=lww, merge=lines), else they conflict: exit 3,\n"
     "one \"kvctl: conflict: PATH: REASON\" line per path on stderr, and\n"
     "nothing moves.\n"
     "\n"
     "  -m, --message MSG    the message (default \"Merge FROM into BRANCH\")\n"
     "  --author \"NAME <EMAIL>\"\n"
     "                       the merge commit's author\n"
     "\n"
     "With --json: {\"branch\",\"hash\",\"changed\"}; on conflict the error\n"
     "document has \"conflicts\": [{\"path\",\"reason\"}].\n"
     "\n"
     "Examples:\n"
     "  kvctl merge draft\n"
     "  kvctl --branch main merge 1a2b3c4d -m \"take the fix\"\n"},
    {"diff", kv_cmd_diff, KV_OPT_NUL, 2, 2, "diff [-z] FROM TO", "show the paths that differ between two commits",
     "Print one line per value path that differs between the trees of FROM\n"
     "and TO (each a branch, a full commit id or a unique prefix of at least\n"
     "4 hex digits), sorted by the bytes of the path: \"A PATH\" (only in TO),\n"
     "\"D PATH\" (only in FROM), \"M PATH\" (changed). Only names and object\n"
     "ids are compared; no value is read. Paths are quoted as list quotes\n"
     "names. Exit 1 if FROM or TO is unknown.\n"
     "\n"
     "  -z                   each line raw (\"A PATH\"), ended by a NUL\n"
     "\n"
     "With --json: an array of {\"op\",\"path\"}.\n"
     "\n"
     "Examples:\n"
     "  kvctl diff main feature\n"
     "  kvctl --json diff 1a2b3c4d main\n"},
    {"revert", kv_cmd_revert, 0, 1, 1, "revert COMMIT", "move the branch head back (or on) to COMMIT",
     "Move the head of --branch to COMMIT (a branch, a full commit id or a\n"
     "unique prefix of at least 4 hex digits). No commit is made: the\n"
     "branch then holds exactly what COMMIT holds. The move is recorded in\n"
     "the branch's reflog (\"reset: moving to ...\"), so `kvctl reflog`\n"
     "shows the old head and another revert brings it back. If another\n"
     "writer moves the branch meanwhile, nothing moves and the exit is 3.\n"
     "\n"
     "With --json: {\"branch\",\"hash\",\"previous\",\"changed\"}.\n"
     "\n"
     "Examples:\n"
     "  kvctl revert 1a2b3c4d\n"
     "  kvctl --branch test revert main\n"},
    {"watch", kv_cmd_watch, KV_OPT_NUL, 0, 1, "watch [-z] [PATH]", "print changes under PATH as they happen",
     "Watch the head of --branch and, each time it moves (by this or any\n"
     "other process), print one line per value path under PATH (default:\n"
     "the root) that changed, as diff prints them (\"A PATH\", \"D PATH\",\n"
     "\"M PATH\"), flushed at once. The head is looked at ten times a\n"
     "second; several moves between two looks are shown as one. Runs until\n"
     "interrupted (SIGINT or SIGTERM: exit 0).\n"
     "\n"
     "  -z                   each line raw, ended by a NUL\n"
     "\n"
     "With --json: one {\"commit\",\"op\",\"path\"} object a line (commit is\n"
     "null when the branch was deleted).\n"
     "\n"
     "Examples:\n"
     "  kvctl watch posts/\n"
     "  kvctl --json watch | while read -r change; do ...; done\n"},
    {"dot", kv_cmd_dot, 0, 0, 0, "dot", "print the commit graph as Graphviz",
     "Print the graph of every branch's commits in Graphviz's DOT language:\n"
     "one node per commit (its short id and subject), an edge from each\n"
     "commit to each of its parents, and one box per branch with an edge to\n"
     "its head.\n"
     "\n"
     "With --json: {\"nodes\":[{\"id\",\"kind\",\"label\"}],\"edges\":[{\"from\",\"to\"}]},\n"
     "kind being \"commit\" (id: the 40-hex id, label: the subject) or \"branch\"\n"
     "(id: \"refs/heads/NAME\", label: NAME).\n"
     "\n"
     "Examples:\n"
     "  kvctl dot | dot -Tsvg > history.svg\n"},
    {"export", kv_cmd_export, 0, 1, 2, "export DIR [PATH]", "write the tree at PATH as files under DIR",
     "Write every value under PATH (default: the root) of --branch as a file\n"
     "under DIR (made if absent), directories as directories. Files already\n"
     "in DIR are left, or replaced where the tree has a value of the same\n"
     "name; nothing is ever written outside DIR: a name in the store that\n"
     "could escape it (\"..\", \".git\" and what file systems read as such) stops\n"
     "the export before anything is written (exit 4), a symbolic link met in\n"
     "DIR where a directory goes is never followed (exit 4), and a file is\n"
     "replaced by renaming a new file over it, never written through a link.\n"
     "Values are streamed to disk. Symbolic links and submodules in the\n"
     "tree are skipped with a warning. A progress bar is drawn on stderr\n"
     "when stdout is a terminal.\n"
     "\n"
     "With --json: {\"dir\",\"path\",\"branch\",\"files\",\"bytes\",\"skipped\"}.\n"
     "\n"
     "Examples:\n"
     "  kvctl export /tmp/site\n"
     "  kvctl --branch v2 export out posts/2016\n"},
    {"import", kv_cmd_import, KV_OPT_MESSAGE | KV_OPT_AUTHOR, 1, 2,
     "import DIR [PATH] [-m MSG] [--author \"NAME <EMAIL>\"]", "make the tree at PATH exactly DIR's files",
     "Make one commit on --branch whose tree at PATH (default: the root)\n"
     "holds exactly the regular files under DIR, each as a value: values\n"
     "not in DIR are removed, empty directories vanish. Symbolic links,\n"
     "devices, FIFOs and sockets are skipped with a \"kvctl: warning:\" line\n"
     "on stderr, and no link is followed. A file whose name cannot be a\n"
     "gitkv path (\".git\", ...) is exit 2, naming it, and nothing is\n"
     "committed. When the tree would not change, no commit is made. A\n"
     "progress bar is drawn on stderr when stdout is a terminal.\n"
     "\n"
     "  -m, --message MSG    the commit message (default \"import [PATH]\")\n"
     "  --author \"NAME <EMAIL>\"\n"
     "                       the commit's author\n"
     "\n"
     "With --json: {\"branch\",\"hash\",\"changed\",\"files\",\"bytes\",\"skipped\"}.\n"
     "\n"
     "Examples:\n"
     "  kvctl import ./site -m \"publish\"\n"
     "  kvctl import ./drafts posts/drafts\n"},
    {"gc", kv_cmd_gc, 0, 0, 0, "gc", "remove the objects no ref reaches",
     "Remove every object that no ref of the store reaches (branches,\n"
     "remote-tracking refs; reflog entries keep nothing), and the logs of\n"
     "deleted branches, in one batch that lands only if no ref moved\n"
     "meanwhile (else exit 3: run it again). Prints \"removed N objects\n"
     "(B bytes)\", B being their uncompressed size. On a git store nothing is\n"
     "removed and the exit is 0: `git gc` reclaims a git repository's space.\n"
     "A progress bar is drawn on stderr when stdout is a terminal.\n"
     "\n"
     "With --json: {\"supported\",\"objects_removed\",\"bytes_removed\",\n"
     "\"objects_kept\",\"reflogs_removed\"}; on a git store\n"
     "{\"supported\":false,\"message\"}.\n"
     "\n"
     "Examples:\n"
     "  kvctl branch delete draft && kvctl gc\n"
     "  kvctl --store lmdb:/var/lib/kv --json gc\n"},
    {"fsck", kv_cmd_fsck, 0, 0, 0, "fsck", "check every object and ref",
     "Read every object of the store, check it hashes to its id and is well\n"
     "formed (as git fsck --strict checks), and check every ref names a\n"
     "commit that is present and everything reachable from the refs is\n"
     "present and of the right kind. Prints one line per problem,\n"
     "\"<id> <problem>\" (a ref's problem names the ref in place of the id),\n"
     "and exits 4 when there is any, 0 when there is none. A progress bar is\n"
     "drawn on stderr when stdout is a terminal.\n"
     "\n"
     "With --json: {\"problems\":[]} for a sound store, else the error\n"
     "document with \"problems\":[{\"id\",\"ref\",\"problem\"}].\n"
     "\n"
     "Examples:\n"
     "  kvctl fsck || echo damaged\n"
     "  kvctl --store git:/srv/data.git --json fsck\n"},
    {"stats", kv_cmd_stats, 0, 0, 0, "stats", "show counts and sizes of what the store holds",
     "Print what the store holds: its backend; the number and uncompressed\n"
     "size of its objects, by kind (commits, trees, blobs, tags); its refs\n"
     "and branches; what the head tree of --branch holds (values,\n"
     "directories, other entries, and the values' bytes, read from names and\n"
     "object headers only); then the backend's own figures as\n"
     "\"BACKEND.NAME VALUE\" lines (lmdb: map and page sizes, pages used;\n"
     "git: loose objects, packs).\n"
     "\n"
     "With --json: {\"backend\",\"objects\":{KIND:{\"count\",\"bytes\"}},\"refs\",\n"
     "\"branches\",\"branch\":{\"name\",\"values\",\"dirs\",\"other\",\"bytes\"},\n"
     "\"backend_stats\":{NAME:VALUE}}.\n"
     "\n"
     "Examples:\n"
     "  kvctl stats\n"
     "  kvctl --json stats | jq .objects.blob\n"},
    {"upgrade", kv_cmd_upgrade, 0, 0, 0, "upgrade", "rewrite an lmdb store in the newest format",
     "Rewrite the lmdb store in the newest on-disk format (4: trees in a\n"
     "database of their own, which makes tree and diff on a large store\n"
     "faster, and every record checksummed). Objects, branches, reflogs and\n"
     "settings stay exactly as they were. One transaction: if it fails or\n"
     "is interrupted the store is as it was, and running it again starts\n"
     "over. The store must not be open in any other process (else exit 3,\n"
     "naming them). A store already in the newest format, a git store and\n"
     "mem: are left as they are (exit 0). No store is ever upgraded without\n"
     "this command; a kvctl older than format 4 cannot open an upgraded one.\n"
     "\n"
     "With --json: {\"backend\",\"from\",\"to\",\"upgraded\"} (from and to only\n"
     "for lmdb).\n"
     "\n"
     "Examples:\n"
     "  kvctl --store lmdb:/var/lib/kv upgrade\n"},
    {"clone", kv_cmd_clone, KV_OPT_SYNC, 1, 1, "clone REMOTE [--ssh-key FILE] [--ca-file FILE]",
     "fill a new store with every branch of REMOTE",
     "Copy every branch of REMOTE into the store (--store, $GITKV_STORE or\n"
     "./.gitkv), which must not exist, be an empty directory, or be a store\n"
     "with no refs (else exit 3, and it is not touched). A plain PATH where\n"
     "nothing is becomes an LMDB store; git:PATH a bare git repository. Each\n"
     "branch also gets refs/remotes/origin/BRANCH, REMOTE is recorded as\n"
     "\"origin\", and the store's default branch is the one REMOTE's HEAD names.\n"
     "A failed clone leaves nothing behind.\n"
     KV_SYNC_HELP
     "With --json: {\"store\",\"remote\",\"default_branch\",\"branches\":[{\"name\",\"head\"}]}.\n"
     "\n"
     "Examples:\n"
     "  kvctl --store lmdb:/srv/kv clone https://git.example.org/blog.git\n"
     "  kvctl --store git:/srv/copy.git clone lmdb:/srv/kv\n"},
    {"fetch", kv_cmd_fetch, KV_OPT_SYNC, 1, 2, "fetch REMOTE [BRANCH]",
     "get a remote's new commits without moving a branch",
     "Store the objects of BRANCH (default: every branch) of REMOTE that the\n"
     "store lacks. For a recorded remote (see `remote`), move\n"
     "refs/remotes/REMOTE/BRANCH to the remote's heads and print nothing; for\n"
     "a URL, path or store, move no ref and print \"<hash> <branch>\" for each\n"
     "head fetched. No branch of the store moves.\n"
     KV_SYNC_HELP
     "With --json: {\"remote\",\"recorded\",\"default_branch\",\"objects\",\n"
     "\"branches\":[{\"name\",\"head\"}]}.\n"
     "\n"
     "Examples:\n"
     "  kvctl fetch origin\n"
     "  kvctl --json fetch git://127.0.0.1/blog.git main\n"},
    {"pull", kv_cmd_pull, KV_OPT_SYNC | KV_OPT_STRATEGY, 1, 2,
     "pull REMOTE [BRANCH] [--strategy merge|ff|reset]",
     "fetch a remote's branch and bring --branch to it",
     "Fetch BRANCH of REMOTE (default: the name of --branch), then bring\n"
     "--branch to it:\n"
     "  --strategy merge     three-way merge, a fast-forward when possible\n"
     "                       (the default); conflicting paths are listed on\n"
     "                       stderr, exit 3, and the branch does not move\n"
     "  --strategy ff        fast-forward only: exit 3 when it is not one\n"
     "  --strategy reset     the branch becomes the remote's, whatever it was\n"
     "The fetched objects and refs/remotes/REMOTE/BRANCH stay even when the\n"
     "merge fails, as git's do.\n"
     KV_SYNC_HELP
     "With --json: {\"branch\",\"remote\",\"remote_branch\",\"hash\",\"changed\"}; on\n"
     "conflict the error document has \"conflicts\": [{\"path\",\"reason\"}].\n"
     "\n"
     "Examples:\n"
     "  kvctl pull origin\n"
     "  kvctl --branch live pull origin main --strategy reset\n"},
    {"push", kv_cmd_push, KV_OPT_SYNC | KV_OPT_FORCE, 1, 2, "push REMOTE [BRANCH] [--force]",
     "send --branch to a remote's branch",
     "Send --branch to BRANCH of REMOTE (default: the same name), only the\n"
     "objects REMOTE lacks. When REMOTE's branch is not an ancestor of\n"
     "--branch the push is refused (exit 3) and nothing changes on either\n"
     "side, unless --force (-f) replaces it. For a recorded remote,\n"
     "refs/remotes/REMOTE/BRANCH then names what was pushed.\n"
     KV_SYNC_HELP
     "With --json: {\"branch\",\"remote\",\"remote_branch\",\"hash\"}.\n"
     "\n"
     "Examples:\n"
     "  kvctl push origin\n"
     "  kvctl --branch draft push origin draft --force\n"},
    {"remote", kv_cmd_remote, 0, 0, 3, "remote [add NAME URL | remove NAME]",
     "list, record or forget remotes",
     "Without arguments, print each recorded remote as \"NAME<TAB>URL\", sorted\n"
     "by name (a password in a URL is shown as ***).\n"
     "  remote add NAME URL    record remote NAME (a branch-style name, such as\n"
     "                         \"origin\") for URL (a git URL or path, or a store);\n"
     "                         exit 3 if NAME is recorded\n"
     "  remote remove NAME     forget NAME and its refs/remotes/NAME/*; exit 1\n"
     "                         if NAME is not recorded\n"
     "On a git store these are git's own remote.NAME.url and\n"
     "remote.NAME.fetch, which git sees.\n"
     "With --json: an array of {\"name\",\"url\"}, or the one remote added or\n"
     "removed.\n"
     "\n"
     "Examples:\n"
     "  kvctl remote add origin ssh://git@example.org/blog.git\n"
     "  kvctl remote remove origin\n"},
    {"help", cmd_help, 0, 0, 1, "help [COMMAND]", "show help for kvctl or a command",
     "Print the help of COMMAND, or the list of commands.\n"
     "\n"
     "With --json: {\"commands\":[{\"name\",\"usage\",\"summary\"}]}, or for one\n"
     "command {\"name\",\"usage\",\"summary\",\"help\"}.\n"
     "\n"
     "Examples:\n"
     "  kvctl help\n"
     "  kvctl help import\n"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_help[] =
    "Global options (anywhere on the line):\n"
    "  --store STORE   lmdb:PATH, git:PATH, mem: or PATH (default: $GITKV_STORE,\n"
    "                  else ./.gitkv, an LMDB store made by the first write)\n"
    "  --branch NAME   the branch to act on (default: the store's default branch)\n"
    "  --json          print one JSON document (errors: {\"error\",\"code\"})\n"
    "  -q, --quiet     print nothing but results and errors\n"
    "  -v, --verbose   say what was done, on stderr\n"
    "  -h, --help      show help\n"
    "  --version       show the version\n"
    "\n"
    "Exit status: 0 done, 1 not found, 2 bad usage or invalid input,\n"
    "3 conflict, 4 anything else (I/O, corrupt store). See kvctl(1).\n";

/* ------------------------------------------------------------ options */

enum opt_id {
	O_STORE,
	O_BRANCH,
	O_JSON,
	O_QUIET,
	O_VERBOSE,
	O_HELP,
	O_VERSION,
	O_MESSAGE,
	O_AUTHOR,
	O_COUNT,
	O_NUL,
	O_FORCE,
	O_STRATEGY,
	O_SSH_KEY,
	O_CA_FILE,
	O_KNOWN_HOSTS
};

struct optdef {
	char shortname; /* 0: none */
	const char *longname;
	int has_arg;
	unsigned need; /* the KV_OPT_* a command must accept; 0: global */
	enum opt_id id;
};

static const struct optdef optdefs[] = {
    {0, "store", 1, 0, O_STORE},
    {0, "branch", 1, 0, O_BRANCH},
    {0, "json", 0, 0, O_JSON},
    {'q', "quiet", 0, 0, O_QUIET},
    {'v', "verbose", 0, 0, O_VERBOSE},
    {'h', "help", 0, 0, O_HELP},
    {0, "version", 0, 0, O_VERSION},
    {'m', "message", 1, KV_OPT_MESSAGE, O_MESSAGE},
    {0, "author", 1, KV_OPT_AUTHOR, O_AUTHOR},
    {'n', "max-count", 1, KV_OPT_COUNT, O_COUNT},
    {'z', NULL, 0, KV_OPT_NUL, O_NUL},
    {'f', "force", 0, KV_OPT_FORCE, O_FORCE},
    {0, "strategy", 1, KV_OPT_STRATEGY, O_STRATEGY},
    {0, "ssh-key", 1, KV_OPT_SYNC, O_SSH_KEY},
    {0, "ca-file", 1, KV_OPT_SYNC, O_CA_FILE},
    {0, "known-hosts", 1, KV_OPT_SYNC, O_KNOWN_HOSTS},
};

static void apply(struct kv_opts *o, enum opt_id id, const char *val)
{
	switch (id) {
	case O_STORE:
		o->store = val;
		break;
	case O_BRANCH:
		o->branch = val;
		break;
	case O_JSON:
		o->json = 1;
		break;
	case O_QUIET:
		o->verbosity = -1;
		break;
	case O_VERBOSE:
		o->verbosity = 1;
		break;
	case O_HELP:
		o->help = 1;
		break;
	case O_VERSION:
		o->version = 1;
		break;
	case O_MESSAGE:
		o->message = val;
		break;
	case O_AUTHOR:
		o->author = val;
		break;
	case O_COUNT:
		o->count = val;
		break;
	case O_NUL:
		o->nul = 1;
		break;
	case O_FORCE:
		o->force = 1;
		break;
	case O_STRATEGY:
		o->strategy = val;
		break;
	case O_SSH_KEY:
		o->ssh_key = val;
		break;
	case O_CA_FILE:
		o->ca_file = val;
		break;
	case O_KNOWN_HOSTS:
		o->known_hosts = val;
		break;
	}
}

/* The definition arg names ("--name", "--name=VAL", "-x", "-xVAL"), with
 * *val pointing at an attached value; NULL if none. */
static const struct optdef *find_opt(const char *arg, unsigned accepted, const char **val)
{
	size_t i, n;
	const struct optdef *d;

	*val = NULL;
	for (i = 0; i < sizeof(optdefs) / sizeof(optdefs[0]); i++) {
		d = &optdefs[i];
		if (d->need && !(d->need & accepted))
			continue;
		if (arg[1] == '-') {
			if (!d->longname)
				continue;
			n = strlen(d->longname);
			if (strncmp(arg + 2, d->longname, n) != 0 ||
			    (arg[2 + n] != '\0' && !(d->has_arg && arg[2 + n] == '=')))
				continue;
			*val = arg[2 + n] ? arg + 3 + n : NULL;
			return d;
		}
		if (d->shortname && arg[1] == d->shortname && (arg[2] == '\0' || d->has_arg)) {
			*val = arg[2] ? arg + 2 : NULL;
			return d;
		}
	}
	return NULL;
}

/*
 * Parse argv from *i. Without a command (cmd NULL), stop at the first
 * argument that is not an option: the command's name. With one, collect
 * the positional arguments into ctx->o.args.
 */
static int parse_opts(struct kv_ctx *ctx, const struct kv_cmd *cmd, int argc, char **argv, int *i)
{
	const char *arg, *val;
	const struct optdef *d;
	int only_args = 0;

	for (; *i < argc; (*i)++) {
		arg = argv[*i];
		if (only_args || arg[0] != '-' || arg[1] == '\0') { /* "-" is stdin */
			if (!cmd)
				return KV_OK;
			ctx->o.args[ctx->o.nargs++] = argv[*i];
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_args = 1;
			continue;
		}
		if ((d = find_opt(arg, cmd ? cmd->opts : 0, &val)) == NULL)
			return kv_err(ctx, KV_USAGE, "unknown option '%s'%s%s%s", arg,
				      cmd ? " for '" : "", cmd ? cmd->name : "", cmd ? "'" : "");
		if (d->has_arg && !val) {
			if (*i + 1 >= argc)
				return kv_err(ctx, KV_USAGE, "option '%s' needs a value", arg);
			val = argv[++*i];
		}
		apply(&ctx->o, d->id, val);
	}
	return KV_OK;
}

/* ------------------------------------------------------------ help */

static const struct kv_cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void print_cmd_help(FILE *f, const struct kv_cmd *cmd)
{
	fprintf(f, "usage: kvctl [GLOBAL OPTIONS] %s\n\n%s.\n\n%s\n%s", cmd->usage, cmd->summary,
		cmd->help, global_help);
}

static void print_help(FILE *f)
{
	size_t i;

	fputs("usage: kvctl [GLOBAL OPTIONS] COMMAND [ARGS]\n\n"
	      "gitkv's command line: a versioned key-value store whose objects are git's.\n\n"
	      "Commands:\n",
	      f);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\n'kvctl help COMMAND' or 'kvctl COMMAND --help' shows a command's help.\n\n", f);
	fputs(global_help, f);
}

/* One command as a JSON object: {"name","usage","summary"[,"help"]}. */
static void cmd_json(FILE *f, const struct kv_cmd *cmd, int full)
{
	putc('{', f);
	kv_json_key(f, "name", 1);
	kv_json_cstr(f, cmd->name);
	kv_json_key(f, "usage", 0);
	kv_json_cstr(f, cmd->usage);
	kv_json_key(f, "summary", 0);
	kv_json_cstr(f, cmd->summary);
	if (full) {
		kv_json_key(f, "help", 0);
		kv_json_cstr(f, cmd->help);
	}
	putc('}', f);
}

static int cmd_help(struct kv_ctx *ctx)
{
	const struct kv_cmd *cmd;

	if (ctx->o.json && ctx->o.nargs == 0) {
		fputs("{\"commands\":[", ctx->out);
		for (size_t i = 0; i < NCOMMANDS; i++) {
			if (i)
				putc(',', ctx->out);
			cmd_json(ctx->out, &commands[i], 0);
		}
		fputs("]}\n", ctx->out);
		return KV_OK;
	}
	if (ctx->o.json) {
		if ((cmd = find_cmd(ctx->o.args[0])) == NULL)
			return kv_err(ctx, KV_USAGE, "unknown command '%s' (see 'kvctl help')",
				      ctx->o.args[0]);
		cmd_json(ctx->out, cmd, 1);
		putc('\n', ctx->out);
		return KV_OK;
	}
	if (ctx->o.nargs == 0) {
		print_help(stdout);
		return KV_OK;
	}
	if ((cmd = find_cmd(ctx->o.args[0])) == NULL)
		return kv_err(ctx, KV_USAGE, "unknown command '%s' (see 'kvctl help')",
			      ctx->o.args[0]);
	print_cmd_help(stdout, cmd);
	return KV_OK;
}

/* ------------------------------------------------------------ main */

/* Find the command and its arguments; KV_OK with ctx->cmd NULL when
 * there is nothing to run (help or version printed). */
static int parse_command_line(struct kv_ctx *ctx, int argc, char **argv)
{
	int i = 1, rc;
	const struct kv_cmd *cmd;

	if ((rc = parse_opts(ctx, NULL, argc, argv, &i)) != KV_OK)
		return rc;
	if (i >= argc && !ctx->o.help && !ctx->o.version)
		return kv_err(ctx, KV_USAGE, "no command given (see 'kvctl help')");
	if (i >= argc) {
		if (ctx->o.version)
			printf("kvctl %s (gitkv %s)\n", GKV_VERSION_STRING, gkv_version_string());
		else
			print_help(stdout);
		return KV_OK;
	}
	if ((cmd = find_cmd(argv[i])) == NULL)
		return kv_err(ctx, KV_USAGE, "unknown command '%s' (see 'kvctl help')", argv[i]);
	i++;
	if ((rc = parse_opts(ctx, cmd, argc, argv, &i)) != KV_OK)
		return rc;
	if (ctx->o.help || ctx->o.version) {
		if (ctx->o.help)
			print_cmd_help(stdout, cmd);
		else
			printf("kvctl %s (gitkv %s)\n", GKV_VERSION_STRING, gkv_version_string());
		return KV_OK;
	}
	if (ctx->o.nargs < cmd->min_args || ctx->o.nargs > cmd->max_args)
		return kv_err(ctx, KV_USAGE, "usage: kvctl %s (see 'kvctl %s --help')", cmd->usage,
			      cmd->name);
	ctx->cmd = cmd;
	return KV_OK;
}

/* Run the command; with --json, its output is held back until it is
 * known to have succeeded, and an error becomes the document. */
static int run(struct kv_ctx *ctx)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int rc;

	if (!ctx->o.json) {
		ctx->out = stdout;
		return ctx->cmd->run(ctx);
	}
	if ((mem = open_memstream(&buf, &len)) == NULL)
		return kv_err(ctx, KV_FAIL, "cannot buffer output: %s", strerror(errno));
	/* A command that streams (get, watch) points ctx->out at stdout. */
	ctx->out = mem;
	rc = ctx->cmd->run(ctx);
	fclose(mem);
	if (rc == KV_OK)
		fwrite(buf, 1, len, stdout);
	free(buf);
	return rc;
}

static void print_json_error(const struct kv_ctx *ctx, int rc)
{
	fputs("{", stdout);
	kv_json_key(stdout, "error", 1);
	kv_json_cstr(stdout, ctx->errcode ? ctx->errmsg : "failed");
	kv_json_key(stdout, "code", 0);
	printf("%d", rc);
	if (ctx->conflicts) {
		kv_json_key(stdout, "conflicts", 0);
		putc('[', stdout);
		for (size_t i = 0; i < gkv_conflicts_count(ctx->conflicts); i++) {
			fputs(i ? ",{" : "{", stdout);
			kv_json_key(stdout, "path", 1);
			kv_json_cstr(stdout, gkv_conflicts_path(ctx->conflicts, i));
			kv_json_key(stdout, "reason", 0);
			kv_json_cstr(stdout, gkv_conflicts_reason(ctx->conflicts, i));
			putc('}', stdout);
		}
		putc(']', stdout);
	}
	if (ctx->errjson)
		fputs(ctx->errjson, stdout);
	puts("}");
}

int main(int argc, char **argv)
{
	struct kv_ctx ctx;
	int rc;

	memset(&ctx, 0, sizeof(ctx));
	if ((ctx.o.args = calloc((size_t)argc + 1, sizeof(char *))) == NULL) {
		fputs("kvctl: out of memory\n", stderr);
		return KV_FAIL;
	}
	rc = parse_command_line(&ctx, argc, argv);
	kv_progress_allow(ctx.o.verbosity >= 0); /* -q: no progress bar */
	if (rc == KV_OK && ctx.cmd)
		rc = run(&ctx);
	gkv_repo_free(ctx.repo);
	free(ctx.o.args);
	if (rc != KV_OK && ctx.o.json)
		print_json_error(&ctx, rc);
	gkv_conflicts_free(ctx.conflicts);
	free(ctx.errjson);
	/* A result that did not reach stdout (a full disk) is a failure. */
	if ((fflush(stdout) != 0 || ferror(stdout)) && rc == KV_OK)
		rc = kv_err(&ctx, KV_FAIL, "cannot write to stdout: %s", strerror(errno));
	return rc;
}
