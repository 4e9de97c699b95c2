"""Synthetic histories for git fast-import, shared by the W5 and LIST
workloads: the header of one commit on main, made by "bench" at a time
that grows with the commit's number, its parent the commit before."""


def commit_header(out, j):
    """Write commit j's header (mark :j+1, parent :j) to the stream out."""
    msg = ("commit %d\n" % j).encode()
    out.write(b"commit refs/heads/main\nmark :%d\n" % (j + 1))
    for who in (b"author", b"committer"):
        out.write(b"%s bench <bench@example.com> %d +0000\n" % (who, 1600000000 + j))
    out.write(b"data %d\n%s" % (len(msg), msg))
    if j:
        out.write(b"from :%d\n" % j)
