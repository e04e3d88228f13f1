#!/usr/bin/env bash
# On the device machine: the CUDA backend's checks, from the tree that
# scripts/device_prepare.sh built (build-device) and staged (.devcarry):
#   tests     every test over the CUDA backend (BackendOps op test, sequences)
#   memcheck  the same under compute-sanitizer --tool memcheck, when installed
#             (SAMEPAGE_MEMCHECK_TIMEOUT seconds, default 500; tests
#             SAMEPAGE_MEMCHECK_FILTER, default the same as tests)
#   bench     samepage bench zero-copy --backend cuda, and the gemv and prefill-op
#             benches if built
#   llm       the LLM guest on synthetic models written here (no network):
#             cpu, cuda op by op (--no-graphs), cuda graphs without PDL
#             (--no-pdl) and cuda with graphs and PDL side by side, with their
#             timings and the backend's own (--backend-stats); cpu and cuda logits
#             compared step by step under the near-tie rule
#   decode    decode tok/s on the synthetic 1B models with every launch
#             option on, with --no-fusion and with --no-pdl (medians of 3)
#   session   LLM session restore against re-prefill in one warm process
#             (bench/session_bench.sh) on a synthetic 1B BF16 model written
#             here, cuda then cpu, at 24, 512 and 4096 tokens (--batch 512);
#             not in the default list (the cpu 4096 row takes minutes)
#   rival     the LLM guest against llama.cpp built for CUDA there (from the
#             source bench/llama_cpp_cuda.sh stage put in build-device/xfer;
#             the build starts first and overlaps the other steps) on the
#             same synthetic 1B GGUFs: decode, prefill at 512, first token
#   real      cpu and cuda on the real SmolLM2-135M-Instruct, carried in two
#             parts (build-model-a/part, build-model-b/part: two calls)
# Usage: scripts/device_cuda.sh [tests] [memcheck] [bench] [llm] [decode] [rival] [real] [session]
#        (none: tests memcheck bench llm rival).
# Logs go under $OUT (the device tool's folder) or /tmp/samepage-out.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-/tmp/samepage-out}"
build="$root/build-device"
# The generate runs' logs, one file each, go to $out together as gen.tgz at
# the end: the device tool brings back at most 8 files from $OUT.
gen="$(mktemp -d /tmp/samepage-gen.XXXXXX)"
mkdir -p "$out"
export PATH="$root/.devcarry/bin:$PATH"
export SAMEPAGE_CACHE_DIR=/tmp/samepage-cache
source "$root/scripts/cuda_libs.sh"  # libcublas.so.13
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(tests memcheck bench llm rival)
filter='*cuda*:CudaBackend.*:CudaFusion.*:FusionPlan.*'

sanitizer() {
  command -v compute-sanitizer 2>/dev/null && return
  ls /usr/local/cuda*/bin/compute-sanitizer /opt/nvidia/*/compute-sanitizer 2>/dev/null | head -1
}

# Runs the LLM guest on MODEL on the CPU and on CUDA (op by op, graphs
# without PDL, graphs), prints their timings and compares their tokens and
# logits under the near-tie rule with TOL; VOCAB is the model's.
# compare_backends NAME STEM MODEL TOL VOCAB PROMPT-ARGS...
compare_backends() {
  local name="$1" stem="$2" model="$3" tol="$4" vocab="$5"
  shift 5
  local prompt=("$@") failed be extra rc
  failed=0
  # cuda-dump: cuda (graphs) again, writing its logits, apart from the
  # timed run (the dump adds a logits copy and a write per step).
  for be in cpu cuda-eager cuda-nopdl cuda cuda-dump; do
    extra=()
    case "$be" in cpu) extra=(--dump-logits "/tmp/logits-$stem-cpu.f32");;
      cuda-eager) extra=(--no-graphs);;
      cuda-nopdl) extra=(--no-pdl);;
      cuda-dump) extra=(--dump-logits "/tmp/logits-$stem-cuda.f32");; esac
    timeout 300 "$build/samepage" generate -m "$model" "${prompt[@]}" -n 64 \
      --backend "${be%-*}" --json --backend-stats "${extra[@]}" >"$gen/gen-$stem-$be.txt" 2>&1
    rc=$?
    [ $rc -ne 0 ] && failed=1
    echo "$name $be: exit $rc $(grep '^{' "$gen/gen-$stem-$be.txt" | grep -v '"backend_stats"' | tail -1)"
    echo "$name $be: $(grep '"backend_stats"' "$gen/gen-$stem-$be.txt" | tail -1)"
    [ $rc -ne 0 ] && head -c 300 "$gen/gen-$stem-$be.txt" && echo
  done
  if [ $failed -ne 0 ]; then echo "$name: not compared (a run failed)"; return; fi
  for be in cuda-eager cuda-nopdl cuda cuda-dump; do
    if cmp -s <(grep -v '^{' "$gen/gen-$stem-cpu.txt") <(grep -v '^{' "$gen/gen-$stem-$be.txt"); then
      echo "$name: cpu and $be ids identical"
    else
      echo "$name: cpu and $be ids differ"
    fi
  done
  # The near-tie rule (tests/llm_reference_test.cpp: how far below the
  # top a token may be, in logits: 0.05 for float weights, 0.6 for
  # quantized): up to the first step where the greedy tokens part, both
  # backends saw the same context, so their logits compare step by
  # step; at that step the parting is a near tie when each backend's
  # token is within the tolerance of the other's top in its own logits.
  # Later steps are not compared (the contexts differ; the CLI cannot
  # teacher-force decode).
  paste <(od -An -v -f -w4 "/tmp/logits-$stem-cpu.f32") <(od -An -v -f -w4 "/tmp/logits-$stem-cuda.f32") |
    awk -v V="$vocab" -v tol="$tol" -v name="$name" '
      function flush() {
        steps++
        if (ta != tb) {
          ga = a[ta] - a[tb]; gb = b[tb] - b[ta]
          printf "%s: tokens part at step %d (cpu %d, cuda %d): cuda token %.4g below the top in cpu logits, cpu token %.4g below in cuda logits: %s (tolerance %s); max |cpu - cuda| logit through it %.3g\n", name, cur, ta - 1, tb - 1, ga, gb, (ga < tol && gb < tol) ? "near tie" : "NOT a near tie", tol, worst
          parted = 1; exit
        }
      }
      {
        i = (NR - 1) % V + 1; s = int((NR - 1) / V)
        if (i == 1) { if (NR > 1) flush(); ta = 1; tb = 1; cur = s }
        a[i] = $1; b[i] = $2
        if ($1 > a[ta]) ta = i
        if ($2 > b[tb]) tb = i
        d = $1 - $2; if (d < 0) d = -d; if (d > worst) worst = d
      }
      END { if (!parted && NR > 0) { flush(); if (!parted) printf "%s: same greedy token at all %d dumped steps; max |cpu - cuda| logit %.3g\n", name, steps, worst } }'
  rm -f "/tmp/logits-$stem-"*.f32
}

{
  # The rival's build (CPU-bound, minutes) starts first and runs beside the
  # correctness steps; steps that time anything come after it in the list and
  # wait for it (rival does), so it never competes with a measurement.
  rival_build=""
  if [[ " ${steps[*]} " == *" rival "* ]]; then
    "$root/bench/llama_cpp_cuda.sh" build >"$out/llama_cpp_build.log" 2>&1 &
    rival_build=$!
  fi
  wait_rival_build() {
    [ -n "$rival_build" ] || return 0
    wait "$rival_build"; echo "llama.cpp build: exit $? ($(tail -1 "$out/llama_cpp_build.log"))"; rival_build=""
  }
  echo "## machine"; nvidia-smi -L 2>&1; nvidia-smi --query-gpu=driver_version,memory.total --format=csv,noheader 2>&1
  "$build/samepage" devices
  for step in "${steps[@]}"; do
    case "$step" in
      tests)
        echo "## tests ($filter)"
        (cd "$build/tests" && ./samepage_tests --gtest_filter="$filter" >"$out/cuda_tests.log" 2>&1)
        echo "exit $?"
        grep -E '^\[ BackendOps \]|^\[  (PASSED|FAILED|SKIPPED) |Failure|error' "$out/cuda_tests.log" | head -80
        ;;
      memcheck)
        echo "## memcheck"
        cs="$(sanitizer)"
        if [ -z "$cs" ]; then echo "compute-sanitizer: not installed on this machine"; continue; fi
        (cd "$build/tests" && timeout "${SAMEPAGE_MEMCHECK_TIMEOUT:-500}" "$cs" --tool memcheck --error-exitcode 3 --print-limit 20 \
           ./samepage_tests --gtest_filter="${SAMEPAGE_MEMCHECK_FILTER:-$filter}" >"$out/memcheck.log" 2>&1)
        echo "exit $?"
        grep -E 'ERROR SUMMARY|^\[  (PASSED|FAILED) |Invalid|========= ' "$out/memcheck.log" | head -30
        ;;
      bench)
        wait_rival_build
        echo "## zero-copy"
        "$build/samepage" bench zero-copy --backend cuda --size-mb 16 --repeats 20
        "$build/samepage" bench zero-copy --backend cuda --size-mb 256 --repeats 20
        if [ -x "$build/bench/cuda_gemv_bench" ]; then
          # Every variant is in gemv.md (with the fastest-variant summary);
          # here the defaults' rows and cuBLAS's.
          echo "## gemv (every variant and the fastest per case: $out/gemv.md)"
          # SAMEPAGE_GEMV_VARIANTS: the variants to time (default all; "default": those the backend picks from);
          # SAMEPAGE_GEMV_ARGS: more flags (--pdl, --dtype bf16,q4_0).
          "$build/bench/cuda_gemv_bench" --variant "${SAMEPAGE_GEMV_VARIANTS:-all}" ${SAMEPAGE_GEMV_ARGS:-} >"$out/gemv.md" 2>&1
          echo "exit $?"
          head -1 "$out/gemv.md"
          grep -E "^\|---|^\| (variant|cublas|warp|staged-w8-s4|staged-w8-s2-fq) \|" "$out/gemv.md"
        fi
        if [ -x "$build/bench/cuda_prefill_ops_bench" ]; then echo "## prefill ops"; "$build/bench/cuda_prefill_ops_bench"; fi
        ;;
      decode)
        # What each launch option gains, on the synthetic 1B models: decode
        # tok/s (255 steps after 8 prompt ids) with everything on, without
        # the fused steps, without PDL; medians of 3.
        wait_rival_build
        echo "## decode by launch option (synthetic llama-3.2-1b, medians of 3)"
        median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
        field() { grep -o "\"$1\": [0-9.]*" | tail -1 | awk '{print $2}'; }
        for dt in bf16 q4_0; do
          model="/tmp/decode-$dt.gguf"
          "$build/samepage-synth-model" --shape llama-3.2-1b --dtype "$dt" --threads "$(nproc)" -o "$model" >/dev/null || continue
          for opt in "" --no-fusion --no-pdl; do
            runs=()
            for r in 1 2 3; do
              j="$("$build/samepage" generate -m "$model" --ids --backend cuda --json -p "1 2 3 4 5 6 7 8" -n 256 \
                   --ignore-eos $opt 2>&1 | grep '^{' | tail -1)"
              runs+=("$(field decode_tok_s <<<"$j")")
            done
            echo "decode $dt ${opt:-(all on)}: $(printf '%s\n' "${runs[@]}" | median) tok/s (runs ${runs[*]})"
          done
          rm -f "$model"
        done
        ;;
      session)
        wait_rival_build
        echo "## session restore vs re-prefill (synthetic llama-3.2-1b bf16, one warm process per row)"
        SAMEPAGE="$build/samepage" BATCH=512 "$root/bench/session_bench.sh" synth:llama-3.2-1b:bf16 "$(nproc)" \
          "${SAMEPAGE_SESSION_BACKENDS:-cuda,cpu}" ${SAMEPAGE_SESSION_LENGTHS:-24 512 4096}
        echo "exit $?"
        ;;
      llm)
        wait_rival_build
        echo "## llm (greedy, 64 tokens after 8 prompt ids; cuda: one graph per step, cuda-eager: op by op, cuda-nopdl: graphs without PDL)"
        for spec in "smollm2-135m q4_0" "smollm2-135m bf16" "llama-3.2-1b bf16" "llama-3.2-1b q4_0"; do
          set -- $spec
          model="/tmp/synth-$1-$2.gguf"
          "$build/samepage-synth-model" --shape "$1" --dtype "$2" --threads "$(nproc)" -o "$model" >/dev/null || continue
          tol=$([ "$2" = bf16 ] && echo 0.05 || echo 0.6)
          vocab=$([ "$1" = llama-3.2-1b ] && echo 128256 || echo 49152)
          compare_backends "$1 $2" "$1-$2" "$model" "$tol" "$vocab" --ids -p "1 2 3 4 5 6 7 8"
          rm -f "$model"
        done
        ;;
      real)
        # SmolLM2-135M-Instruct (Q4_1, the README's model), carried in two
        # parts (the tool carries 64 MiB a call): build-model-a/part then
        # build-model-b/part, checked against its SHA-256.
        echo "## real model (SmolLM2-135M-Instruct Q4_1): cpu and cuda"
        model=/tmp/SmolLM2-135M-Instruct.Q4_1.gguf
        cat "$root/build-model-a/part" "$root/build-model-b/part" >"$model" 2>/dev/null
        if ! echo "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53  $model" | sha256sum -c --quiet; then
          echo "real model: parts missing or damaged"; continue
        fi
        compare_backends "smollm2-135m-instruct q4_1 (text)" smollm2-real "$model" 0.6 49152 -p "The capital of France is"
        compare_backends "smollm2-135m-instruct q4_1 (story)" smollm2-real-story "$model" 0.6 49152 \
          -p "Once upon a time, in a small village by the sea,"
        ;;
      rival)
        wait_rival_build
        echo "## rival (samepage generate vs llama-bench, synthetic llama-3.2-1b, medians of 3)"
        median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
        field() { grep -o "\"$1\": [0-9.]*" | tail -1 | awk '{print $2}'; }
        ids512="$(seq 1 512 | tr '\n' ' ')"
        for dt in bf16 q4_0; do
          model="/tmp/rival-$dt.gguf"
          "$build/samepage-synth-model" --shape llama-3.2-1b --dtype "$dt" --threads "$(nproc)" -o "$model" >/dev/null || continue
          gen() { "$build/samepage" generate -m "$model" --ids --backend cuda --json "$@" 2>&1 | grep '^{' | tail -1; }
          dec=(); pre=(); ttft=(); whole=(); share=()
          for r in 1 2 3; do
            j="$(gen -p "1 2 3 4 5 6 7 8" -n 256 --ignore-eos)"; dec+=("$(field decode_tok_s <<<"$j")"); share+=("$(field guest_share <<<"$j")")
            # --warmup: the prompt's forward steps alone (llama-bench warms up too), not the first
            # run's recording, graph capture and weight upload.
            j="$(gen -p "$ids512" -n 1 -c 1024 --batch 512 --warmup)"; pre+=("$(field prefill_tok_s <<<"$j")")
            # The first token: to its id on stdout, and to the process's exit (bench/first_token.sh).
            read -r first exit_ms < <("$root/bench/first_token.sh" "$build/samepage" -m "$model" --ids --backend cuda \
              -p "1 2 3 4 5 6 7 8" -n 1)
            ttft+=("$first"); whole+=("$exit_ms")
          done
          echo "samepage $dt: decode tok/s $(printf '%s\n' "${dec[@]}" | median) (runs ${dec[*]}), guest share $(printf '%s\n' "${share[@]}" | median); prefill 512 tok/s $(printf '%s\n' "${pre[@]}" | median) (runs ${pre[*]}); first token ms $(printf '%s\n' "${ttft[@]}" | median) (runs ${ttft[*]}), to the process's exit $(printf '%s\n' "${whole[@]}" | median) (runs ${whole[*]})"
        done
        wait_rival_build
        if [ -x /tmp/llama-cuda/build/bin/llama-bench ]; then
          "$root/bench/llama_cpp_cuda.sh" bench /tmp/rival-bf16.gguf /tmp/rival-q4_0.gguf 2>&1 | grep -E '^\| llama'
        fi
        rm -f /tmp/rival-*.gguf
        ;;
      *) echo "unknown step $step";;
    esac
  done
} 2>&1 | tee "$out/device_cuda.log"
[ -n "$(ls -A "$gen")" ] && tar -C "$gen" -czf "$out/gen.tgz" .
rm -rf "$gen"
