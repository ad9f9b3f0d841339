"""
The code sandbox's entrypoint: load the candidate program, check its entry point, run the tests
in the same namespace, and end with one verdict line that the host trusts and the candidate
cannot forge by accident.

Inputs come from the environment (the root file system is read-only and nothing is mounted):
  PROCTOR_SANDBOX_PROGRAM      the candidate's source
  PROCTOR_SANDBOX_TESTS        the hidden tests' source, run after the program, same namespace
  PROCTOR_SANDBOX_ENTRY_POINT  optional: a name the program must define as a callable
  PROCTOR_SANDBOX_NONCE        a per-run random token that goes into the verdict line

The verdict line is `PROCTOR-SANDBOX <nonce> <verdict>` on a duplicate of the original stdout,
written after everything else: a program that exits early (sys.exit, os._exit), replaces
sys.stdout or dies never writes it, so the host reads that as a crash rather than as a pass.
The variables are removed from os.environ before the candidate runs.
"""
import os
import sys
import traceback

VERDICT_PREFIX = "PROCTOR-SANDBOX"


def _take(name):
    value = os.environ.pop(name, None)
    return value if value is not None else ""


def _verdict(fd, nonce, verdict):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    try:
        os.write(fd, ("\n%s %s %s\n" % (VERDICT_PREFIX, nonce, verdict)).encode("ascii"))
    except OSError:
        pass


def _run(source, filename, namespace):
    exec(compile(source, filename, "exec"), namespace)


def main():
    program = _take("PROCTOR_SANDBOX_PROGRAM")
    tests = _take("PROCTOR_SANDBOX_TESTS")
    entry_point = _take("PROCTOR_SANDBOX_ENTRY_POINT")
    nonce = _take("PROCTOR_SANDBOX_NONCE")
    verdict_fd = os.dup(1)
    # Not "__main__": a candidate's `if __name__ == "__main__":` demo block must not run.
    namespace = {"__name__": "__candidate__", "__builtins__": __builtins__}

    try:
        _run(program, "candidate.py", namespace)
    except SystemExit:
        traceback.print_exc()
        _verdict(verdict_fd, nonce, "exited_early")
        os._exit(1)
    except BaseException:
        traceback.print_exc()
        _verdict(verdict_fd, nonce, "program_error")
        os._exit(1)

    if entry_point and not callable(namespace.get(entry_point)):
        print("the program does not define a callable %r" % entry_point, file=sys.stderr)
        _verdict(verdict_fd, nonce, "entry_point_missing")
        os._exit(1)

    try:
        _run(tests, "tests.py", namespace)
    except AssertionError:
        traceback.print_exc()
        _verdict(verdict_fd, nonce, "tests_failed")
        os._exit(1)
    except SystemExit:
        traceback.print_exc()
        _verdict(verdict_fd, nonce, "exited_early")
        os._exit(1)
    except BaseException:
        traceback.print_exc()
        _verdict(verdict_fd, nonce, "tests_error")
        os._exit(1)

    _verdict(verdict_fd, nonce, "passed")
    # os._exit: no atexit handlers or thread joins of the candidate's run after the verdict.
    os._exit(0)
