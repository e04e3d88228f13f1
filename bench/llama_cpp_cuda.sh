#!/usr/bin/env bash
# llama.cpp built for CUDA, the rival on the H200, from the same
# llama-cpp-python source distribution as bench/build_llama_cpp.sh.
# The device machine has no network and this one has no GPU, so:
#   stage          (here) packs a pruned copy of the source (no models, docs,
#                  tests or other GPU backends) into build-device/xfer/, which
#                  travels with the build tree (scripts/device_prepare.sh);
#   build          (device) unpacks and builds llama-bench for sm_90 in
#                  /tmp/llama-cuda (about as long as nvcc takes on 16 cores),
#                  prints the bin directory; reused when already built;
#   bench M.gguf.. (device) llama-bench with every layer on the GPU and flash
#                  attention on: prefill of 512 tokens, decode of 128, 5 runs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tarball="$root/build-device/xfer/llama.cpp-src.tar.xz"
work=/tmp/llama-cuda
case "${1:-}" in
  stage)
    src="$("$root/bench/build_llama_cpp.sh" --source-only)"
    mkdir -p "$(dirname "$tarball")"
    others=(cann openvino webgpu et metal hexagon sycl vulkan opencl virtgpu musa hip zdnn rpc blas)
    excludes=(--exclude=./models --exclude=./docs --exclude=./tests --exclude=./examples --exclude=./benches
              --exclude=./media --exclude=./tools/ui --exclude=./tools/server --exclude=./pocs --exclude=.git)
    for b in "${others[@]}"; do excludes+=(--exclude="./ggml/src/ggml-$b"); done
    tar -C "$src" "${excludes[@]}" -cJf "$tarball" .
    du -h "$tarball"
    ;;
  build)
    bin="$work/build/bin"
    if [[ -x "$bin/llama-bench" ]]; then echo "$bin"; exit 0; fi
    rm -rf "$work" && mkdir -p "$work/src"
    tar -C "$work/src" -xJf "$tarball"
    cmake -S "$work/src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON \
      -DCMAKE_CUDA_ARCHITECTURES=90 -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF \
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF >&2
    ninja -C "$work/build" -j"$(nproc)" llama-bench >&2
    echo "$bin"
    ;;
  bench)
    shift
    for m in "$@"; do
      "$work/build/bin/llama-bench" -m "$m" -ngl 99 -fa 1 -p 512 -n 128 -r 5
    done
    ;;
  *) echo "usage: $0 stage | build | bench MODEL.gguf..." >&2; exit 2;;
esac
