// A session saved to and loaded from a file the guest reaches through WASI
// (the host preopens the file's directory): the model's K/V rows and the
// sampler's state go in and out here; session.h is the format.
#pragma once

#include <string>
#include <vector>

#include "model.h"
#include "sampler.h"
#include "session.h"

namespace llm {

// Writes state (tokens, n_past = model.n_past(), chat messages) with the
// model's K/V rows and the sampler's state to path, through path.tmp and a
// rename: a failed save leaves an older file whole.
Status save_session_file(const std::string& path, Model& model, const Sampler& sampler, SessionState state,
                         const std::string& hash_scope, const std::string& mode);

// Where a load's time went (--session-bench reports it), in ms.
struct SessionLoadTimes {
  double read_ms = 0;    // the file into guest memory
  double check_ms = 0;   // parsed and checked against the model
  double upload_ms = 0;  // the K/V rows written into the cache
};

// Reads and checks path against the model (all of it, before anything
// changes), then restores the K/V rows, n_past and the sampler's state.
// buffer, when given, holds the file's bytes and is kept for the next
// load: a process that restores again and again reads into the same guest
// pages (touched already, registered already with a GPU backend).
Result<SessionState> load_session_file(const std::string& path, Model& model, Sampler& sampler,
                                       SessionLoadTimes* times = nullptr, std::vector<uint8_t>* buffer = nullptr);

}  // namespace llm
