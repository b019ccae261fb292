# -*- Python -*-
# lit configuration of LowBit's IR, conversion, tool and integration tests.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "LOWBIT"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.lowbit_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%lowbit_src_root", config.lowbit_src_root))
config.substitutions.append(("%lowbit_obj_root", config.lowbit_obj_root))
# The shared real data (models, text) beside the project checkout.
config.substitutions.append(
    ("%shared_data", os.path.join(os.path.dirname(config.lowbit_src_root),
                                  "shared", "data")))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()
# `not` and `count` are substituted only after a pipe; find them on PATH too.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.lowbit_tools_dir, config.llvm_tools_dir]
tools = ["quant-opt", "lowbit-run", "quant-compile", "lowbit-gpu-kernels", "lowbit-gpu-check"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# Assembling PTX into cubins needs the CUDA toolkit's ptxas (no GPU).
import os, shutil
if shutil.which("ptxas") or os.access(os.path.join(os.environ.get("CUDA_PATH", "/usr/local/cuda"), "bin", "ptxas"), os.X_OK):
    config.available_features.add("ptxas")

# Kernels for AVX-512 VNNI run only where the CPU has it.
try:
    with open("/proc/cpuinfo") as cpuinfo:
        if "avx512_vnni" in cpuinfo.read().split():
            config.available_features.add("avx512vnni")
except OSError:
    pass

# A machine with the CUDA driver runs the kernels; one without gets an error.
try:
    import ctypes

    ctypes.CDLL("libcuda.so.1")
    config.available_features.add("cuda-driver")
except OSError:
    pass
