"""Test-process settings, applied before any test module imports torch.

The release-shape tier (test_release_shapes.py) allocates multi-GB buffers (a 7B-wide embedding's gradients, Adam's
moments, bf16 -> fp32 copies at load). On first touch the kernel maps them page by page; PyTorch's
`THP_MEM_ALLOC_ENABLE` asks for transparent huge pages for CPU buffers of 2 MB and more (honoured where
/sys/kernel/mm/transparent_hugepage/enabled allows `madvise`). On the 2-core CI machine a fresh 2.2 GB buffer then
takes 0.3 s instead of 0.9 s (the first one 2.4 s), and the tier ran in 172 s instead of 201 s (one pair of runs).
It only changes how memory is mapped, never a computed value.
"""

import os

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


import ctypes  # noqa: E402  (after the environment above)
import gc  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def return_freed_memory():
    "After each test, hand back to the system the memory its tensors used (glibc keeps freed pages otherwise)."
    yield
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


BIGMEM = "LLAVE_BIGMEM_TESTS"


def pytest_collection_modifyitems(config, items):
    """Tests marked `bigmem` (a 7B-wide training step: about 19 GB resident) run only with LLAVE_BIGMEM_TESTS=1, so
    that the suite fits a 16 GB laptop (peak under 8 GB)."""
    if os.environ.get(BIGMEM) == "1":
        return
    skip = pytest.mark.skip(reason=f"needs about 19 GB of memory; set {BIGMEM}=1 to run it")
    for item in items:
        if "bigmem" in item.keywords:
            item.add_marker(skip)
