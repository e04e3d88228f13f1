#!/usr/bin/env bash
# Prints the path of a Python virtual environment that holds the independent
# references the LLM tests compare against: numpy (float64 forward pass),
# gguf (the GGUF reader and dequantizer of the llama.cpp project) and
# tokenizers (Hugging Face). Made once, outside git, and reused; versions
# pinned so a reference never drifts under the tests.
set -euo pipefail
venv="${SAMEPAGE_PYENV:-${XDG_CACHE_HOME:-$HOME/.cache}/samepage/pyenv}"
requirements=(numpy==2.4.6 gguf==0.19.0 tokenizers==0.23.3)
stamp="$venv/.samepage-requirements"
if [[ ! -x "$venv/bin/python" ]] || [[ "$(cat "$stamp" 2>/dev/null)" != "${requirements[*]}" ]]; then
  if ! python3 -m venv --help >/dev/null 2>&1; then
    sudo_cmd=""
    [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq python3-venv >/dev/null
  fi
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "${requirements[@]}" >&2
  echo "${requirements[*]}" > "$stamp"
fi
echo "$venv/bin/python"
