// The teacher-forced check of the LLM guest against the float64 reference
// (tests/llm/reference_forward.py):
//
//   1. the guest generates n tokens greedily from a prompt and dumps the
//      logits that chose each one (samepage generate --dump-logits, f32);
//   2. the reference runs once over prompt + the guest's own tokens and
//      writes the logits of every position (--all-logits-bin, f64), so step s
//      of the guest lines up with position P - 1 + s of the reference even
//      after the two would have chosen different tokens;
//   3. every step is compared: logits within tolerances relative to the
//      spread (standard deviation) of that step's reference logits, and the
//      guest's token the reference's argmax unless it is a near tie: the
//      reference's own logit of the guest's token is within near_tie of its
//      top logit (which implies the top-2 gap is below near_tie).
//
// The guest runs on the CPU backend: the tolerances are measured there.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "test_paths.h"
#include "test_support.h"

namespace samepage::test {

struct Tolerance {
  double max_rel;   // per step: max |guest - ref| / std(ref logits)
  double rms_rel;   // per step: rms(guest - ref) / std(ref logits)
  double near_tie;  // logit units: how far below the top the guest's token may be
};

// A prompt and what the guest made of it.
struct GuestRun {
  std::string what;             // for messages
  std::vector<int32_t> prompt;  // (P) ids
  std::vector<int32_t> ids;     // (n) greedy tokens
  std::vector<float> logits;    // (n, V) the logits that chose ids[s]
  size_t n_vocab = 0;
};

// What one comparison measured (worst over its steps).
struct Measured {
  int steps = 0;
  double max_abs = 0, max_rel = 0, rms_rel = 0;
  double max_pair_error = 0;  // max |(g[a] - g[b]) - (r[a] - r[b])| over the reference's top 2 a, b
  double min_gap = 1e30;      // smallest reference top-2 gap
  std::vector<std::pair<int, double>> near_ties;  // (step, reference top-2 gap) where the tokens differ
  std::vector<int> steps_over;                    // steps whose max abs error exceeds a threshold (see compare)
};

inline std::string quoted(const std::string& s) { return "'" + s + "'"; }

inline std::string join_ids(const std::vector<int32_t>& ids, char sep) {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? std::string(1, sep) : "") + std::to_string(ids[i]);
  return out;
}

inline std::vector<char> read_binary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The interpreter and script, or "" with *why set (the env var is unset).
inline std::string reference_python(std::string* why) {
  const char* py = std::getenv("SAMEPAGE_PYTHON");
  if (py == nullptr || *py == '\0') {
    *why = "SAMEPAGE_PYTHON is unset (scripts/test.sh sets it to scripts/pyenv.sh's python)";
    return "";
  }
  return py;
}

inline std::string reference_script() { return beside_test_binary(SAMEPAGE_TEST_LLM_SCRIPTS_DIR) + "/reference_forward.py"; }

// samepage generate, greedy, n tokens (end-of-generation tokens do not stop it).
inline void run_guest(const std::string& model, const std::string& dir, GuestRun* run, int n) {
  const std::string tag = dir + "/guest" + std::to_string(std::rand());
  const std::string cmd = quoted(samepage_binary()) + " generate -m " + quoted(model) +
                          " --backend cpu --ignore-eos --ids -p " + quoted(join_ids(run->prompt, ' ')) + " -n " +
                          std::to_string(n) + " --dump-logits " + quoted(tag + ".bin") + " >" + quoted(tag + ".out") +
                          " 2>" + quoted(tag + ".err");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << "\n" << read_text(tag + ".err");
  std::istringstream out(read_text(tag + ".out"));
  for (int32_t id; out >> id;) run->ids.push_back(id);
  ASSERT_EQ(run->ids.size(), size_t(n)) << run->what;
  const std::vector<char> bytes = read_binary(tag + ".bin");
  ASSERT_EQ(bytes.size() % (size_t(n) * sizeof(float)), 0u) << run->what;
  run->n_vocab = bytes.size() / (size_t(n) * sizeof(float));
  run->logits.resize(bytes.size() / sizeof(float));
  std::memcpy(run->logits.data(), bytes.data(), bytes.size());
}

// The reference's logits at every position of prompt + ids[0 .. n-2] for each
// run, in one process (the model is loaded once): rows[r] is (P + n - 1, V).
inline void run_reference(const std::string& python, const std::string& model, const std::string& dir,
                          const std::vector<GuestRun>& runs, bool emulate_cpu, std::vector<std::vector<double>>* rows) {
  const std::string bin = dir + (emulate_cpu ? "/ref_emulated.bin" : "/ref.bin");
  std::string cmd = quoted(python) + " " + quoted(reference_script()) + " --model " + quoted(model);
  std::vector<size_t> lengths;
  for (const GuestRun& r : runs) {
    std::vector<int32_t> seq = r.prompt;
    seq.insert(seq.end(), r.ids.begin(), r.ids.end() - 1);
    cmd += " --ids " + join_ids(seq, ',');
    lengths.push_back(seq.size() * r.n_vocab);
  }
  cmd += std::string(emulate_cpu ? " --emulate-cpu" : "") + " --all-logits-bin " + quoted(bin) + " >" +
         quoted(dir + "/ref.log") + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_text(dir + "/ref.log");
  const std::vector<char> bytes = read_binary(bin);
  size_t total = 0;
  for (size_t n : lengths) total += n;
  ASSERT_EQ(bytes.size(), total * sizeof(double));
  const double* at = reinterpret_cast<const double*>(bytes.data());
  for (size_t n : lengths) {
    rows->emplace_back(at, at + n);
    at += n;
  }
}

// Every step of run against the reference rows (P + n - 1, V). Steps whose
// max abs error exceeds over_abs are listed in steps_over (not failed).
inline Measured compare(const GuestRun& run, const std::vector<double>& ref, const Tolerance& tol,
                        double over_abs = 1e30) {
  Measured m;
  const size_t V = run.n_vocab, P = run.prompt.size();
  for (size_t s = 0; s < run.ids.size(); ++s, ++m.steps) {
    const double* r = ref.data() + (P - 1 + s) * V;
    const float* g = run.logits.data() + s * V;
    double mean = 0;
    for (size_t i = 0; i < V; ++i) mean += r[i];
    mean /= double(V);
    double var = 0, sq = 0, max_abs = 0;
    size_t a = 0, b = 1, guest_top = 0;
    for (size_t i = 0; i < V; ++i) {
      var += (r[i] - mean) * (r[i] - mean);
      const double e = std::fabs(double(g[i]) - r[i]);
      sq += e * e;
      max_abs = std::max(max_abs, e);
      if (g[i] > g[guest_top]) guest_top = i;
    }
    for (size_t i = 0; i < V; ++i) {  // the reference's top two
      if (r[i] > r[a]) b = a, a = i;
      else if (i != a && (r[i] > r[b] || b == a)) b = i;
    }
    const double spread = std::sqrt(var / double(V));
    const double rms = std::sqrt(sq / double(V));
    const double gap = r[a] - r[b];
    m.max_abs = std::max(m.max_abs, max_abs);
    m.max_rel = std::max(m.max_rel, max_abs / spread);
    m.rms_rel = std::max(m.rms_rel, rms / spread);
    m.min_gap = std::min(m.min_gap, gap);
    m.max_pair_error = std::max(m.max_pair_error, std::fabs((double(g[a]) - g[b]) - gap));
    if (max_abs > over_abs) m.steps_over.push_back(int(s));
    EXPECT_LE(max_abs, tol.max_rel * spread) << run.what << " step " << s << " (spread " << spread << ")";
    EXPECT_LE(rms, tol.rms_rel * spread) << run.what << " step " << s << " (spread " << spread << ")";
    // The dumped logits are the ones the token came from.
    EXPECT_EQ(int32_t(guest_top), run.ids[s]) << run.what << " step " << s;
    const int32_t token = run.ids[s];
    if (token != int32_t(a)) {
      m.near_ties.push_back({int(s), gap});
      EXPECT_LT(r[a] - r[token], tol.near_tie) << run.what << " step " << s << ": guest " << token << ", reference "
                                               << a << " (top-2 gap " << gap << ")";
    }
  }
  return m;
}

inline void print_measured(const std::string& what, const Measured& m) {
  std::string ties;
  for (const auto& [s, gap] : m.near_ties) ties += " " + std::to_string(s) + "(gap " + std::to_string(gap) + ")";
  std::printf("[ ref ] %s: %d steps, max abs %.3g (%.3g of spread), worst-step rms %.3g of spread, top-2 gap error "
              "%.3g, min gap %.3g, near-tie divergences %zu%s\n",
              what.c_str(), m.steps, m.max_abs, m.max_rel, m.rms_rel, m.max_pair_error, m.min_gap,
              m.near_ties.size(), ties.c_str());
}

}  // namespace samepage::test
