"""Runs a command as a child subreaper and reports the CPU of its whole process tree.

Usage: python3 reap-tree.py OUT_FILE COMMAND [ARGS...]

Why not GNU time: rusage of children counts only descendants whose every ancestor waited for
them. Chromium's browser process exits without waiting for its zygotes, so the zygotes (and the
renderers they reaped) are adopted and reaped by init, and their CPU never reaches the crawler's
rusage — about half of a rendered crawl's CPU. As a child subreaper (prctl
PR_SET_CHILD_SUBREAPER), every orphan in the tree is reparented to this process instead; it reaps
them all (the command and every straggler, until it has no children left), so
getrusage(RUSAGE_CHILDREN) is the CPU of every process the command started. Orphans also stay in
the process tree while they live, so a /proc walk from this process sees their memory.

OUT_FILE gets one line: "user_s sys_s max_rss_kb exit_epoch_ms reaped_epoch_ms" — user and system
CPU seconds of the whole tree, the largest single process's maximum RSS (KiB), when the command
itself exited and when the last process of the tree was reaped (ms since the epoch). The exit
status is the command's.
"""

import ctypes
import os
import resource
import sys
import time

PR_SET_CHILD_SUBREAPER = 36

out, argv = sys.argv[1], sys.argv[2:]
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit(f"reap-tree: prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}")
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
status = 0
exited_ms = 0.0
while True:
    try:
        p, st = os.waitpid(-1, 0)
    except ChildProcessError:
        break
    if p == pid:
        status = st
        exited_ms = time.time() * 1000
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as f:
    f.write(f"{ru.ru_utime} {ru.ru_stime} {ru.ru_maxrss} {exited_ms:.1f} {time.time() * 1000:.1f}\n")
sys.exit(os.waitstatus_to_exitcode(status))
