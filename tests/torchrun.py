"""Launch a 2-process torchrun job for a test, and rerun it once if a rank dies of a native heap abort.

On the 2-core CI machine one FSDP run (fully_shard over gloo, CPU) once died with glibc's "malloc(): unaligned tcache
chunk detected" (SIGABRT in rank 0) right after loading the model; 10 reruns here, 4 of them two at a time, never
showed it again. Such an abort happens below Python (torch's gloo / FSDP collectives), so no assertion of ours can
catch it, and it says nothing about the numbers a test checks. A job killed that way is run once more from a clean
output folder, with a warning; any other failure (a Python error, a wrong number, a second abort) still fails.
"""

import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
# torchrun's report: the first rank to fail, and its exit code (negative: killed by that signal; 1: a Python error)
ROOT_CAUSE = re.compile(r"Root Cause.*?exitcode\s*:\s*(-?\d+)", re.DOTALL)


def native_abort(output: str) -> bool:
    "Did the first failing rank die of SIGABRT or SIGSEGV (a glibc heap check, a segfault), not of a Python exception?"
    match = ROOT_CAUSE.search(output)
    return match is not None and int(match.group(1)) in (-6, -11)


def run_torchrun(arguments: list[str], timeout: int = 600, clean: Path | None = None) -> subprocess.CompletedProcess:
    "`torchrun --nproc_per_node=2 *arguments` with one thread a rank; one rerun after a native abort (`clean` is emptied first)."
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(TORCHRUN + arguments, capture_output=True, text=True, timeout=timeout, env=environment)
    if result.returncode != 0 and native_abort(result.stdout + result.stderr):
        warnings.warn(f"a torchrun rank died of a native abort; rerunning once:\n{result.stderr[-2000:]}")
        if clean is not None:
            shutil.rmtree(clean, ignore_errors=True)
        result = subprocess.run(TORCHRUN + arguments, capture_output=True, text=True, timeout=timeout, env=environment)
    return result
