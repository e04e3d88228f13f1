// A tour of the guest SDK's C++ layer: a tiny MLP step and a recorded
// sequence, computed by the host on this guest's own arrays.
//   api_tour            prints the results and "api_tour ok"
//   api_tour const_write  writes into a const view: must trap
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "samepage.hpp"

namespace {

alignas(4096) float g_weights[64 * 64];  // page-aligned so SP_CONST can protect whole pages
float g_x[64], g_h[64], g_y[64];

bool check(sp::Status s, const char* what) {
  if (s) return true;
  printf("%s failed (%d): %s\n", what, s.code, sp::Status::last_error());
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 0; i < 64 * 64; ++i) g_weights[i] = sinf(0.37f * i);
  for (int i = 0; i < 64; ++i) g_x[i] = cosf(0.11f * i);

  sp::Tensor w = sp::Tensor::view(g_weights, SP_F32, {64, 64}, SP_CONST);
  sp::Tensor x = sp::Tensor::view(g_x, SP_F32, {1, 64});
  sp::Tensor h = sp::Tensor::view(g_h, SP_F32, {1, 64});
  sp::Tensor y = sp::Tensor::view(g_y, SP_F32, {1, 64});
  if (!check(w.status(), "view") || !check(x.status(), "view")) return 1;

  if (argc > 1 && strcmp(argv[1], "const_write") == 0) {
    g_weights[1024] = 1.0f;  // the host made these pages read-only: this traps
    printf("const write did not trap\n");
    return 1;
  }

  // h = W x; y = silu(h) * h, checked against plain C++ on the same arrays.
  if (!check(sp::matmul(h, x, w), "matmul") || !check(sp::silu_mul(y, h, h), "silu_mul")) return 1;
  double max_err = 0;
  for (int n = 0; n < 64; ++n) {
    double ref = 0;
    for (int k = 0; k < 64; ++k) ref += (double)g_weights[n * 64 + k] * g_x[k];
    const double want = ref / (1 + exp(-ref)) * ref;
    max_err = fmax(max_err, fabs(want - g_y[n]) / (1 + fabs(want)));
  }
  printf("mlp max relative error %.3g\n", max_err);

  // The same two ops recorded once, replayed as one call (and freed with seq).
  sp::Sequence seq = sp::Sequence::record([&] {
    sp::matmul(h, x, w);
    sp::silu_mul(y, h, h);
  });
  if (!check(seq.status(), "record")) return 1;
  float before[64];
  memcpy(before, g_y, sizeof before);
  memset(g_y, 0, sizeof g_y);
  if (!check(seq.replay(), "replay")) return 1;
  const bool same = memcmp(before, g_y, sizeof before) == 0;
  printf("replay matches: %s\n", same ? "yes" : "no");

  // A K/V-style write at a replay parameter, then greedy argmax into an i32 tensor.
  static float cache[8 * 64];
  static int32_t best[8];
  sp::Tensor kv = sp::Tensor::view(cache, SP_F32, {8, 64});
  sp::Tensor idx = sp::Tensor::view(best, SP_I32, {8});
  sp::Sequence write = sp::Sequence::record([&] { sp::set_rows(kv, y, sp::param(0)); });
  if (!check(write.status(), "record set_rows")) return 1;
  for (int32_t row = 0; row < 8; ++row)
    if (!check(write.replay(sp::Params<1>().set(0, row)), "replay set_rows")) return 1;
  if (!check(sp::argmax(idx, kv), "argmax")) return 1;
  int32_t want = 0;
  for (int n = 1; n < 64; ++n) want = g_y[n] > g_y[want] ? n : want;
  bool rows_ok = true;
  for (int r = 0; r < 8; ++r) rows_ok = rows_ok && best[r] == want;
  sp::Status out_of_range = write.replay(sp::Params<1>().set(0, 8));  // row 8 of 8: refused
  printf("set_rows + argmax: %s, row 8 refused: %s\n", rows_ok ? "yes" : "no", out_of_range.ok() ? "no" : "yes");

  // A bad call is an error with a message, not a crash.
  sp::Status bad{sp_matmul(y.handle(), w.handle(), x.handle())};
  printf("bad call: %d (%s)\n", bad.code, sp::Status::last_error());
  if (max_err < 1e-5 && same && rows_ok && !out_of_range.ok() && !bad.ok()) {
    printf("api_tour ok\n");
    return 0;
  }
  return 1;
}
