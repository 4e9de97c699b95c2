"""Real git servers on 127.0.0.1 for kvctl's sync tests.

Each server is a real program started by the test and stopped by its
pid: `git daemon` (receive-pack enabled), `git http-backend` behind
lighttpd (basic auth from a user file the test writes; plain http, or
https with a CA and a server certificate the test makes with openssl),
and `sshd` (its own configuration, host key, client key pair and
authorized_keys, on a free port; `git-upload-pack`/`git-receive-pack`
run as the user running the tests). They listen on 127.0.0.1 only, and
every wait is bounded: a server that does not answer within
START_TIMEOUT seconds is stopped and its log is in the error.

A server that cannot be started raises ServerError, so that its tests
fail rather than skip: the programs come from Debian packages that
scripts/deps.sh installs (git, lighttpd, lighttpd-mod-openssl, openssl,
openssh-server).

Use as context managers, or start()/stop():

    with GitDaemon(tmp_path / "srv") as srv:
        bare = srv.make_repo("r.git")
        url = srv.url("r.git")        # what kvctl is given
        srv.git("clone", srv.git_url("r.git"), "copy")  # the git CLI
"""

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 10.0  # seconds a server has to start listening
STOP_TIMEOUT = 5.0
GIT_TIMEOUT = 60

GIT_HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
LIGHTTPD = "/usr/sbin/lighttpd"
LIGHTTPD_MODULES = "/usr/lib/lighttpd"
SSHD = "/usr/sbin/sshd"


class ServerError(RuntimeError):
    """A server could not be started (its log is in the message)."""


def free_port():
    """A TCP port free on 127.0.0.1 now (the server binds it next; a
    server that loses the race is started again on another port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def run(args, cwd=None, env=None, input=None, timeout=GIT_TIMEOUT):
    """Run a helper program; raise with its output if it fails."""
    p = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        input=input,
        capture_output=True,
        timeout=timeout,
    )
    if p.returncode != 0:
        raise ServerError(
            f"{' '.join(map(str, args))} exited {p.returncode}:\n"
            f"{p.stdout.decode(errors='replace')}{p.stderr.decode(errors='replace')}"
        )
    return p.stdout.decode(errors="replace")


def git_env(extra=None):
    """An environment for the git CLI that reads no user or system
    configuration and commits with a fixed identity."""
    e = {
        k: v for k, v in os.environ.items() if not k.startswith("GIT_") and not k.startswith("GITKV_")
    }
    e.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME="Git Side",
        GIT_AUTHOR_EMAIL="git@example.com",
        GIT_COMMITTER_NAME="Git Side",
        GIT_COMMITTER_EMAIL="git@example.com",
        LC_ALL="C",
    )
    if extra:
        e.update(extra)
    return e


def make_bare_repo(path, branch="main"):
    """A new bare repository at path whose HEAD names branch, that
    accepts pushes over every protocol."""
    path = Path(path)
    run(["git", "init", "-q", "--bare", "-b", branch, path], env=git_env())
    run(["git", "-C", path, "config", "http.receivepack", "true"], env=git_env())
    return path


class Server:
    """What the servers share: a directory, a process, a port, and the
    bounded start and the stop by pid."""

    name = "server"

    def __init__(self, root):
        self.root = Path(root)
        self.repos = self.root / "repos"  # the repositories it serves
        self.proc = None
        self.port = None
        self.log_path = self.root / f"{self.name}.log"

    # -- what subclasses provide
    def command(self):
        raise NotImplementedError

    def prepare(self):
        """Write configuration for self.port before the process starts."""

    def url(self, repo):
        """The URL kvctl is given for repository repo (a name under repos)."""
        raise NotImplementedError

    def git_url(self, repo):
        """The URL the git CLI is given (credentials included when the
        server needs them)."""
        return self.url(repo)

    def git_extra_env(self):
        """What the git CLI needs in its environment to reach the server."""
        return {}

    # -- shared
    def make_repo(self, name, branch="main"):
        return make_bare_repo(self.repos / name, branch)

    def git(self, *args, cwd=None):
        """Run the git CLI against this server."""
        return run(["git", *args], cwd=cwd, env=git_env(self.git_extra_env()))

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def start(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.repos.mkdir(exist_ok=True)
        last = None
        for _ in range(3):  # another process may take the port first
            self.port = free_port()
            self.prepare()
            try:
                self._start_once()
                return self
            except ServerError as e:
                last = e
                if "in use" not in str(e):
                    break
        raise last

    def _start_once(self):
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [str(a) for a in self.command()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env=self.server_env(),
                start_new_session=True,
            )
        except OSError as e:
            raise ServerError(f"{self.name}: cannot run {self.command()[0]}: {e}") from e
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self.proc = None
                raise ServerError(f"{self.name} exited {rc} at start:\n{self.log()}")
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise ServerError(
            f"{self.name} did not listen on {LOOPBACK}:{self.port} "
            f"within {START_TIMEOUT} s:\n{self.log()}"
        )

    def server_env(self):
        return git_env()

    def stop(self):
        """Stop the server by its pid: SIGTERM, then SIGKILL after a
        bounded wait."""
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=STOP_TIMEOUT)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class GitDaemon(Server):
    """git's own protocol: git daemon serving repos/, push enabled."""

    name = "git-daemon"

    def command(self):
        # git-daemon itself, not the git wrapper: the pid is the server's.
        exec_path = run(["git", "--exec-path"]).strip()
        return [
            os.path.join(exec_path, "git-daemon"),
            "--reuseaddr",
            f"--listen={LOOPBACK}",
            f"--port={self.port}",
            f"--base-path={self.repos}",
            "--export-all",
            "--enable=receive-pack",
            "--informative-errors",
            "--log-destination=stderr",
            self.repos,
        ]

    def url(self, repo):
        return f"git://{LOOPBACK}:{self.port}/{repo}"


class TestCA:
    """A certificate authority and a server certificate for 127.0.0.1
    and localhost, made with openssl in dir."""

    __test__ = False  # not a pytest class

    def __init__(self, dir):
        self.dir = Path(dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca_key = self.dir / "ca.key"
        self.ca_cert = self.dir / "ca.pem"
        self.key = self.dir / "server.key"
        self.cert = self.dir / "server.pem"
        d = self.dir
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
             "-keyout", self.ca_key, "-out", self.ca_cert, "-days", "2",
             "-subj", "/CN=gitkv test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256",
             "-keyout", self.key, "-out", d / "server.csr", "-subj", f"/CN={LOOPBACK}"])
        # mbedTLS (libgit2's TLS on Debian) matches the host against DNS
        # names only; curl (the git CLI) matches an address against IP.
        ext = d / "server.ext"
        ext.write_text(
            "basicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
            f"subjectAltName=DNS:{LOOPBACK},DNS:localhost,IP:{LOOPBACK}\n"
        )
        run(["openssl", "x509", "-req", "-sha256", "-in", d / "server.csr",
             "-CA", self.ca_cert, "-CAkey", self.ca_key, "-CAcreateserial",
             "-out", self.cert, "-days", "2", "-extfile", ext])


class HttpServer(Server):
    """git http-backend behind lighttpd, at /git/REPO, every request
    behind basic auth with the users in `users` (name: password). With
    ca (a TestCA), https with ca's server certificate."""

    name = "lighttpd"

    def __init__(self, root, users=None, ca=None):
        super().__init__(root)
        self.users = dict(users or {"alice": "s3cret-pw"})
        self.ca = ca
        self.conf = self.root / "lighttpd.conf"

    @property
    def scheme(self):
        return "https" if self.ca else "http"

    def prepare(self):
        userfile = self.root / "users"
        userfile.write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))
        docroot = self.root / "htdocs"
        docroot.mkdir(exist_ok=True)
        tls = ""
        modules = '"mod_alias", "mod_setenv", "mod_cgi", "mod_auth", "mod_authn_file"'
        if self.ca:
            modules += ', "mod_openssl"'
            tls = (
                'ssl.engine = "enable"\n'
                f'ssl.pemfile = "{self.ca.cert}"\n'
                f'ssl.privkey = "{self.ca.key}"\n'
            )
        self.conf.write_text(
            f"server.modules = ({modules})\n"
            f'server.bind = "{LOOPBACK}"\n'
            f"server.port = {self.port}\n"
            f'server.document-root = "{docroot}"\n'
            f'server.errorlog = "{self.log_path}"\n'
            'server.breakagelog = "/dev/stderr"\n'
            f"{tls}"
            f'alias.url = ("/git" => "{GIT_HTTP_BACKEND}")\n'
            '$HTTP["url"] =~ "^/git" {\n'
            '  cgi.assign = ("" => "")\n'
            "  setenv.add-environment = (\n"
            f'    "GIT_PROJECT_ROOT" => "{self.repos}",\n'
            '    "GIT_HTTP_EXPORT_ALL" => "",\n'
            '    "GIT_CONFIG_NOSYSTEM" => "1"\n'
            "  )\n"
            '  auth.backend = "plain"\n'
            f'  auth.backend.plain.userfile = "{userfile}"\n'
            '  auth.require = ("" => ("method" => "basic", "realm" => "git",'
            ' "require" => "valid-user"))\n'
            "}\n"
        )

    def command(self):
        return [LIGHTTPD, "-D", "-f", self.conf, "-m", LIGHTTPD_MODULES]

    def url(self, repo):
        return f"{self.scheme}://{LOOPBACK}:{self.port}/git/{repo}"

    def git_url(self, repo):
        user, pw = next(iter(self.users.items()))
        return f"{self.scheme}://{user}:{pw}@{LOOPBACK}:{self.port}/git/{repo}"

    def git_extra_env(self):
        return {"GIT_SSL_CAINFO": str(self.ca.ca_cert)} if self.ca else {}


class SshServer(Server):
    """sshd with its own configuration on a free port: a host key, a
    client key pair (client_key, client_key.pub) whose public half is the
    only authorized key, no passwords. Logs in as the user running the
    tests (root in CI, which PermitRootLogin allows for keys)."""

    name = "sshd"

    def __init__(self, root):
        super().__init__(root)
        self.user = getpass.getuser()
        self.conf = self.root / "sshd_config"
        self.host_key = self.root / "host_key"
        self.client_key = self.root / "client_key"
        self.authorized = self.root / "authorized_keys"
        self.known_hosts = self.root / "known_hosts"

    def known_line(self, key_file=None):
        """The known_hosts line that names this server with the public key
        of key_file (default: its own host key)."""
        kind, blob = Path(f"{key_file or self.host_key}.pub").read_text().split()[:2]
        return f"[{LOOPBACK}]:{self.port} {kind} {blob}\n"

    def prepare(self):
        self.root.mkdir(parents=True, exist_ok=True)
        # ECDSA keys in PEM: what libssh2 1.10 (libgit2's ssh on Debian)
        # reads and signs with; OpenSSH 9 refuses ssh-rsa with SHA-1.
        for key in (self.host_key, self.client_key):
            if not key.exists():
                run(["ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-m", "PEM", "-N", "",
                     "-C", "gitkv-test", "-f", key])
        shutil.copyfile(f"{self.client_key}.pub", self.authorized)
        self.known_hosts.write_text(self.known_line())
        os.chmod(self.authorized, 0o600)
        if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
            # sshd running as root needs its privilege separation directory.
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.conf.write_text(
            f"Port {self.port}\n"
            f"ListenAddress {LOOPBACK}\n"
            f"HostKey {self.host_key}\n"
            f"PidFile none\n"
            f"AuthorizedKeysFile {self.authorized}\n"
            "StrictModes no\n"
            "PermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "PrintMotd no\n"
            "AllowAgentForwarding no\n"
            "AllowTcpForwarding no\n"
            "X11Forwarding no\n"
            "LogLevel VERBOSE\n"
        )

    def command(self):
        return [SSHD, "-D", "-e", "-f", self.conf]

    def url(self, repo):
        return f"ssh://{self.user}@{LOOPBACK}:{self.port}{self.repos / repo}"

    def git_extra_env(self):
        return {
            "GIT_SSH_COMMAND": (
                f"ssh -i {self.client_key} -o IdentitiesOnly=yes -o BatchMode=yes "
                "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                "-o LogLevel=ERROR"
            )
        }


KINDS = ("daemon", "http", "https", "ssh", "path")


class ServerPool:
    """One server of each kind, started when first asked for and stopped
    (by pid) by close(); "path" is no server: the repository's path is
    the remote. For a module-scoped fixture."""

    def __init__(self, root):
        self.root = Path(root)
        self.servers = {}
        self._ca = None
        self.count = 0

    @property
    def ca(self):
        if self._ca is None:
            self._ca = TestCA(self.root / "ca")
        return self._ca

    def server(self, kind):
        if kind == "path":
            return None
        if kind not in self.servers:
            d = self.root / kind
            srv = {
                "daemon": lambda: GitDaemon(d),
                "http": lambda: HttpServer(d),
                "https": lambda: HttpServer(d, ca=self.ca),
                "ssh": lambda: SshServer(d),
            }[kind]()
            srv.start()
            self.servers[kind] = srv
        return self.servers[kind]

    def remote(self, kind, branch="main"):
        """A new bare repository served by kind: (its path, the URL kvctl
        is given, the server or None)."""
        self.count += 1
        name = f"r{self.count}.git"
        srv = self.server(kind)
        if srv is None:
            bare = make_bare_repo(self.root / "plain" / name, branch)
            return bare, str(bare), None
        return srv.make_repo(name, branch), srv.url(name), srv

    def close(self):
        for srv in self.servers.values():
            srv.stop()
        self.servers.clear()


# The environment of a kvctl run that reaches an ssh remote: the leaks of
# libgit2's ssh transport are suppressed there (see lsan-ssh.supp).
SSH_ENV = {"LSAN_OPTIONS": "suppressions=" + str(Path(__file__).resolve().parent / "lsan-ssh.supp")
           + ":print_suppressions=0"}


def credentials(kind, srv):
    """What kvctl needs to reach srv: (options, environment)."""
    if kind in ("http", "https"):
        user, pw = next(iter(srv.users.items()))
        env = {"GITKV_USERNAME": user, "GITKV_PASSWORD": pw}
        return (["--ca-file", str(srv.ca.ca_cert)] if kind == "https" else []), env
    if kind == "ssh":
        return (["--ssh-key", str(srv.client_key), "--known-hosts", str(srv.known_hosts)],
                dict(SSH_ENV))
    return [], {}


class GitSide:
    """A work tree of the git CLI on a bare repository (reached by its
    path): what a git user does to the remote between kvctl's commands."""

    def __init__(self, bare, work):
        self.bare = Path(bare)
        self.work = Path(work)
        self.env = git_env()

    def git(self, *args, cwd=None):
        return run(["git", *args], cwd=cwd or self.work, env=self.env)

    def seed(self, files, branch="main"):
        """The bare repository's first commit, holding files."""
        run(["git", "init", "-q", "-b", branch, self.work], env=self.env)
        self.git("remote", "add", "origin", str(self.bare))
        return self.commit(files, "seed", branch)

    def commit(self, files, message, branch="main"):
        """Bring the work tree to the remote's branch, write files (a
        value None removes the file), commit and push; the new head."""
        if self.git("ls-remote", "origin", f"refs/heads/{branch}").strip():
            self.git("fetch", "-q", "origin")
            self.git("checkout", "-q", "-B", branch, f"origin/{branch}")
        for name, text in files.items():
            path = self.work / name
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", f"HEAD:refs/heads/{branch}")
        return self.head(branch)

    def head(self, branch="main"):
        return run(["git", "-C", self.bare, "rev-parse", f"refs/heads/{branch}"],
                   env=self.env).strip()

    def refs(self):
        """Every ref of the bare repository and where it points."""
        return run(["git", "-C", self.bare, "for-each-ref",
                    "--format=%(refname) %(objectname)"], env=self.env)


def fsck_strict(gitdir):
    """git fsck --strict of a repository: raise unless it is clean."""
    p = subprocess.run(["git", "--git-dir", str(gitdir), "fsck", "--strict", "--no-dangling"],
                       env=git_env(), capture_output=True, timeout=GIT_TIMEOUT)
    assert p.returncode == 0 and p.stdout == b"" and p.stderr == b"", p
