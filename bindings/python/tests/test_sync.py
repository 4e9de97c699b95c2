"""Clone, fetch, pull and push through the binding: with a store given by
path, and with a git daemon on 127.0.0.1 (started and stopped by pid by
the project's servers.py), with progress callbacks, also ones that raise."""

import pytest

import gitkv
from conftest import AUTHOR, fsck, git
from servers import GitDaemon


def seed(uri, n=30):
    with gitkv.Repo.open(uri, create=True, author=AUTHOR) as repo:
        main = repo.branch("main")
        with main.transaction(message="seed\n") as tx:
            for i in range(n):
                tx[f"d{i % 4}/k{i}"] = f"v{i}".encode()
        main.set("extra", b"1", message="extra\n")
        return main.head


@pytest.mark.parametrize("dst_kind", ["mem", "lmdb", "git"])
def test_clone_from_a_plain_path(tmp_path, dst_kind):
    src = tmp_path / "src"
    head = seed(f"lmdb:{src}")
    uri = "mem:" if dst_kind == "mem" else f"{dst_kind}:{tmp_path / 'dst'}"
    stages = []
    with gitkv.Repo.clone(str(src), uri, progress=lambda p: stages.append(p.stage)) as repo:
        assert repo.branches["main"] == head
        assert repo.branch()["d1/k5"] == b"v5"
        assert repo.remotes["origin"] == str(src)
        assert repo.refs("refs/remotes/") == {"refs/remotes/origin/main": head}
        assert stages and stages[-1] == gitkv.Stage.DONE
    if dst_kind == "git":
        fsck(tmp_path / "dst")
        assert git(tmp_path / "dst", "rev-parse", "main").strip() == head


def test_fetch_pull_push_with_git_daemon(tmp_path):
    with GitDaemon(tmp_path / "srv") as srv:
        bare = srv.make_repo("r.git")
        url = srv.url("r.git")
        with gitkv.Repo.open(f"lmdb:{tmp_path / 'a'}", create=True, author=AUTHOR) as a:
            main = a.branch()
            main["x"] = b"1"
            progress = []
            a.push(url, "main", progress=progress.append)
            assert git(bare, "rev-parse", "main").strip() == main.head
            stages = [p.stage for p in progress]
            assert stages[0] == gitkv.Stage.CONNECTING and gitkv.Stage.SENDING in stages
            assert progress[-1].received_objects == progress[-1].total_objects == 3
            fsck(bare)
            with gitkv.Repo.clone(url, f"git:{tmp_path / 'b'}", author=("B", "b@x")) as b:
                bm = b.branch()
                assert bm["x"] == b"1"
                bm["y"] = b"2"
                b.push("origin")
                assert git(bare, "show", "main:y") == "2"
            a.remotes["origin"] = url
            res = a.fetch("origin")
            assert res.branches["main"] == git(bare, "rev-parse", "main").strip()
            assert res.default_branch == "main" and res.objects > 0
            assert a.refs("refs/remotes/")["refs/remotes/origin/main"] == res.branches["main"]
            assert "y" not in main  # fetch moves no local branch
            head = a.pull("origin", "main", strategy=gitkv.PullStrategy.FF)
            assert main.head == head and main["y"] == b"2"
            # diverge: push refused unless forced
            main["z"] = b"local"
            git_side = tmp_path / "wt"
            git(tmp_path, "clone", "-q", str(bare), str(git_side))
            (git_side / "w").write_text("git")
            git(git_side, "add", "w")
            git(git_side, "-c", "user.name=G", "-c", "user.email=g@x", "commit", "-qm", "from git")
            git(git_side, "push", "-q", "origin", "main")
            remote_head = git(bare, "rev-parse", "main").strip()
            with pytest.raises(gitkv.NonFastForward):
                a.push("origin", "main")
            assert git(bare, "rev-parse", "main").strip() == remote_head
            merged = a.pull("origin", "main")
            assert main["w"] == b"git" and main["z"] == b"local"
            assert len(a.lookup(merged).parents) == 2
            a.push("origin", "main")
            assert git(bare, "rev-parse", "main").strip() == merged
            fsck(bare)


def test_progress_callback_that_raises_changes_nothing(tmp_path):
    with GitDaemon(tmp_path / "srv") as srv:
        bare = srv.make_repo("r.git")
        seed(f"git:{bare}")
        url = srv.url("r.git")
        with gitkv.Repo.open(f"lmdb:{tmp_path / 'a'}", create=True) as a:
            a.remotes["origin"] = url

            class Stop(Exception):
                pass

            def stop(p):
                if p.stage >= gitkv.Stage.RECEIVING:
                    raise Stop(p.stage)

            with pytest.raises(Stop):
                a.fetch("origin", progress=stop)
            assert a.refs("refs/remotes/") == {}
            assert a.stats()["count"]["commit"] == 0
            with pytest.raises(gitkv.UserAbort):
                a.fetch("origin", progress=lambda p: False)  # False stops it too
            assert a.refs("refs/remotes/") == {}
            a.fetch("origin")
            assert len(a.refs("refs/remotes/")) == 1
        with pytest.raises(Stop):
            gitkv.Repo.clone(url, f"lmdb:{tmp_path / 'c'}", progress=stop)


def test_sync_errors(tmp_path):
    with gitkv.Repo.open("mem:") as repo:
        repo.branch()["a"] = b"1"
        with pytest.raises(gitkv.NotFound):
            repo.fetch("nosuchremote")
        with pytest.raises(gitkv.InvalidArgument):
            repo.remotes["bad name"] = "git://127.0.0.1/x"
        repo.remotes["dead"] = "git://127.0.0.1:1/none.git"
        with pytest.raises(gitkv.NetworkError) as ei:
            repo.fetch("dead")
        assert "127.0.0.1" in str(ei.value)
        with pytest.raises(gitkv.Exists):
            repo.remotes["dead"] = "git://127.0.0.1:1/other.git"
        del repo.remotes["dead"]
        assert list(repo.remotes) == []
        with pytest.raises(gitkv.NotFound) as ei:
            repo.fetch("ssh://git@127.0.0.1:1/x.git", known_hosts=str(tmp_path / "none"))
        assert "none" in str(ei.value)
        with pytest.raises(gitkv.NotFound):
            repo.fetch("ssh://git@127.0.0.1:1/x.git", ca_file=str(tmp_path / "none.pem"))


def test_known_hosts_option(tmp_path):
    from gitkv.sync import SyncOptions
    with pytest.raises(gitkv.NotFound):
        SyncOptions(known_hosts=str(tmp_path / "none"))
    kh = tmp_path / "known_hosts"
    kh.write_text("")
    SyncOptions(known_hosts=str(kh)).close()


def test_copy_between_stores(tmp_path):
    head = seed(f"lmdb:{tmp_path / 'src'}")
    with gitkv.Repo.open(f"lmdb:{tmp_path / 'src'}") as src, gitkv.Repo.open("mem:") as dst:
        n = dst.copy_from(src, [head])
        assert n > 0
        assert dst.copy_from(src, [head]) == 0
        dst.branches.create("main", head)
        assert dst.branch()["d2/k6"] == b"v6"
