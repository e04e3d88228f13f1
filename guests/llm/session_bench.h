// --session-bench FILE: restore against re-prefill, both measured in one warm
// process (the model uploaded, its identity hash computed once), so the
// numbers are the restore's own and not a new process's first upload.
//   prefill the prompt (warms everything) → save the session to FILE (timed)
//   → decode the next token: the uninterrupted run's logits → re-prefill the
//   prompt from an empty cache (timed) and decode the same token: the
//   re-prefill's logits → for each of kRestoreReps: zero the cache rows,
//   restore FILE into the live model (timed: read + checks + KV upload) →
//   decode the same token: its logits must equal both bit for bit (a restore
//   that wrote nothing would leave zeros; a backend whose prefill is not
//   deterministic would show as a re-prefill that differs alone).
// At the end, another session of the same length (the prompt rotated) is
// saved and restored through the same buffer: its logits must equal its
// own uninterrupted run's (the restore's recorded upload reads new bytes).
// The device-memory checkpoint, beside the file: right after the prefill the
// caches' filled rows are copied into runtime tensors (timed, allocation
// included: checkpoint_ms); at the end,
// kRestoreReps times, the cache rows are zeroed and the copies restored
// (timed), then the same token decoded: its logits must equal the
// re-prefilled ones bit for bit too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model.h"
#include "sampler.h"
#include "status.h"

namespace llm {

constexpr int kRestoreReps = 3;

struct SessionBenchResult {
  size_t n_tokens = 0;
  double prefill_ms = 0;        // the first prefill (cold caches, first uploads)
  double hash_ms = 0;           // the model identity hash, once per process
  double save_ms = 0;           // build + K/V read-back + write + rename
  double restore_ms = 0;        // median of kRestoreReps restores
  double restore_first_ms = 0;  // the first of them
  double read_ms = 0, check_ms = 0, upload_ms = 0;  // the median restore's parts (SessionLoadTimes)
  double reprefill_ms = 0;      // the prompt again from an empty cache
  double decode_ms = 0;         // one decode step after the last restore
  uint64_t file_bytes = 0;
  bool logits_equal = false;    // after the restore vs after the re-prefill, bitwise
  bool uninterrupted_equal = false;  // after the restore vs the uninterrupted run, bitwise
  float max_abs_diff = 0;       // after the restore vs after the re-prefill
  int32_t next_token = -1;
  // The device-memory checkpoint (Model::checkpoint_kv / restore_kv).
  double checkpoint_ms = 0;                // the filled rows copied out (and allocated), after the prefill
  double checkpoint_restore_ms = 0;        // median of kRestoreReps copies back
  double checkpoint_restore_first_ms = 0;  // the first of them
  uint64_t checkpoint_bytes = 0;           // device memory the copies hold
  bool checkpoint_logits_equal = false;    // after it vs after the re-prefill, bitwise
  // Another session (the prompt rotated by one) restored through the same
  // buffer: its logits vs its own uninterrupted run's, bitwise; and how many
  // times the model recorded a restore's upload in all (1: every restore
  // after the first, the other session's too, replayed it).
  bool other_session_equal = false;
  uint64_t upload_records = 0;
};

// The model must be fresh (n_past 0); prompt + 1 must fit its context.
Result<SessionBenchResult> run_session_bench(Model& model, const SamplerOptions& sampler_options,
                                             const std::vector<int32_t>& prompt, const std::string& path,
                                             const std::string& hash_scope);

// One JSON line: {"n_tokens", "save_ms", "restore_ms", "reprefill_ms", "file_bytes", "speedup",
// ..., "checkpoint_ms", "checkpoint_restore_ms", "checkpoint_speedup", ...}.
std::string session_bench_json(const SessionBenchResult& r, const Model& model);

}  // namespace llm
