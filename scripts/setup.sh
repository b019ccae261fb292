#!/usr/bin/env bash
# Installs the system packages LowBit builds and tests with: LLVM/MLIR 22 from
# Debian's packages, clang/lld, CMake, Ninja and GoogleTest. Safe to run again:
# it installs only what is missing.
set -euo pipefail

packages=(
  cmake ninja-build python3
  clang-22 lld-22
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libgtest-dev libomp-22-dev
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
      grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]})); then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
fi
echo "setup: system packages present"

# The Python bindings and their tests: pybind11, NumPy and pytest for the
# python3 on PATH.
if ! python3 -c "import numpy, pytest, pybind11" 2>/dev/null; then
  echo "setup: installing numpy, pytest and pybind11 with pip"
  python3 -m pip install -q numpy pytest pybind11 ||
    python3 -m pip install -q --break-system-packages numpy pytest pybind11
fi
echo "setup: Python packages present"
