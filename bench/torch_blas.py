"""OpenBLAS for the PyTorch side of the embedding benchmarks.

Debian's python3-torch (BLAS_INFO=generic) multiplies matrices through the
system libblas.so.3. Where no optimised BLAS is installed that is netlib's
reference BLAS: one thread, no cache blocking, about 0.5 GFLOP/s on this
machine's Zen 3 core against 15-22 GFLOP/s for OpenBLAS on the same core
(a 1024x384 by 384x1536 product, measured 2026-12-07). A PyTorch encoder on
netlib is 30-40x slower than it is for any user with a real BLAS, which is
no fair peer.

reexec_with_openblas() restarts the running script once with
LD_LIBRARY_PATH pointing at Debian's OpenBLAS (libopenblas0-openmp): the
installed copy when there is one, else the package unpacked into
bench/out/openblas with `apt-get download` and `dpkg-deb -x` (nothing is
installed into the system, nothing else on the machine changes). It also
sets OMP_NUM_THREADS (OpenBLAS's OpenMP threads and ATen's) and, if asked,
OPENBLAS_CORETYPE. clean_env() is the environment for child processes that
are not PyTorch (peft), without these variables.
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBDIR = os.path.join("usr", "lib", "x86_64-linux-gnu", "openblas-openmp")
_MARK = "PEFT_BENCH_TORCH_BLAS"
_ADDED = ("LD_LIBRARY_PATH", "OPENBLAS_CORETYPE", "OMP_NUM_THREADS", _MARK)


def openblas_dir():
    installed = os.path.join("/", SUBDIR)
    if os.path.exists(os.path.join(installed, "libblas.so.3")):
        return installed
    local = os.path.join(ROOT, "bench", "out", "openblas")
    lib = os.path.join(local, SUBDIR)
    if not os.path.exists(os.path.join(lib, "libblas.so.3")):
        os.makedirs(local, exist_ok=True)
        subprocess.run(["apt-get", "download", "libopenblas0-openmp"], cwd=local, check=True,
                       stdout=subprocess.DEVNULL)
        deb = next(f for f in sorted(os.listdir(local)) if f.startswith("libopenblas0-openmp") and f.endswith(".deb"))
        subprocess.run(["dpkg-deb", "-x", deb, "."], cwd=local, check=True)
    return lib


def reexec_with_openblas(threads, coretype=""):
    """Restarts this script under OpenBLAS unless it already runs under it."""
    if os.environ.get(_MARK):
        return
    env = dict(os.environ)
    env[_MARK] = env.get("LD_LIBRARY_PATH", "") or "-"
    lib = openblas_dir()
    env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    env["OMP_NUM_THREADS"] = str(threads)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def clean_env():
    """The environment without what reexec_with_openblas added."""
    env = dict(os.environ)
    prev = env.get(_MARK)
    for k in _ADDED:
        env.pop(k, None)
    if prev and prev != "-":
        env["LD_LIBRARY_PATH"] = prev
    return env


def loaded_blas():
    """The BLAS library this process has mapped (after `import torch` and a product)."""
    import torch
    torch.ones(8, 8) @ torch.ones(8, 8)
    paths = set()
    for line in open("/proc/self/maps"):
        p = line.split()[-1] if len(line.split()) >= 6 else ""
        if "blas" in os.path.basename(p):
            paths.add(os.path.realpath(p))
    return ", ".join(sorted(paths)) or "?"
