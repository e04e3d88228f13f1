# Sourced by the device scripts: makes libcublas.so.13 (the CUDA backend's
# prefill GEMM, linked dynamically) findable when the loader's own paths and
# the library's run path (the build machine's toolkit folder) miss it: the
# toolkit's usual folders first, then a pip-installed nvidia-cublas.
samepage_cuda_libs() {
  local d
  for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib \
           /usr/local/cuda-13*/lib64 /usr/local/cuda-13*/targets/x86_64-linux/lib \
           /opt/*/.venv/lib/python3*/site-packages/nvidia/cu13/lib \
           /opt/*/.venv/lib/python3*/site-packages/nvidia/cublas/lib; do
    if [ -e "$d/libcublas.so.13" ]; then
      export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
      return 0
    fi
  done
  echo "note: libcublas.so.13 not found in the usual folders; relying on the loader's paths" >&2
}
samepage_cuda_libs
