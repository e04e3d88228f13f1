// The LLM guest's sampler, built natively: each option's effect on a known
// distribution, seed determinism, and stop strings.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "sampler.h"

namespace llm {
namespace {

// Logits whose softmax is probs (exactly, up to a constant).
std::vector<float> logits_of(const std::vector<double>& probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(float(std::log(p)));
  return l;
}

std::map<int32_t, int> histogram(SamplerOptions o, const std::vector<float>& logits, int n) {
  Sampler s(o);
  std::map<int32_t, int> h;
  for (int i = 0; i < n; ++i) ++h[s.sample(logits.data(), logits.size())];
  return h;
}

TEST(LlmGuestSampler, GreedyPicksTheMaximum) {
  Sampler s(SamplerOptions{});
  const std::vector<float> l = {0.1f, 2.0f, -1.0f, 1.9f};
  EXPECT_TRUE(s.device_argmax_suffices());
  EXPECT_EQ(s.sample(l.data(), l.size()), 1);
}

TEST(LlmGuestSampler, TemperatureOneFollowsTheDistribution) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  const std::vector<double> p = {0.5, 0.3, 0.15, 0.05};
  const int n = 40000;
  auto h = histogram(o, logits_of(p), n);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(double(h[i]) / n, p[size_t(i)], 0.01) << i;
}

TEST(LlmGuestSampler, SameSeedSameTokensOtherSeedOthers) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  const std::vector<float> l = logits_of({0.25, 0.25, 0.25, 0.25});
  auto draw = [&](uint64_t seed) {
    o.seed = seed;
    Sampler s(o);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.sample(l.data(), l.size()));
    return out;
  };
  EXPECT_EQ(draw(42), draw(42));
  EXPECT_NE(draw(42), draw(43));
}

TEST(LlmGuestSampler, TopKKeepsOnlyTheKBest) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.top_k = 2;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  auto h = histogram(o, logits_of({0.1, 0.4, 0.3, 0.2}), 5000);
  EXPECT_EQ(h.count(0) + h.count(3), 0u);
  EXPECT_GT(h[1], h[2]);
  EXPECT_GT(h[2], 1000);
}

TEST(LlmGuestSampler, TopPKeepsTheSmallestSetReachingP) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.top_k = 0;
  o.top_p = 0.75f;  // 0.5 + 0.3 reaches it: tokens 0 and 1 only
  o.min_p = 0.0f;
  auto h = histogram(o, logits_of({0.5, 0.3, 0.15, 0.05}), 5000);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_NEAR(double(h[0]) / 5000, 0.5 / 0.8, 0.03);
}

TEST(LlmGuestSampler, MinPDropsTokensBelowAFractionOfTheBest) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.35f;  // floor 0.175: keeps 0.5 and 0.3, drops 0.15 and 0.05
  auto h = histogram(o, logits_of({0.5, 0.3, 0.15, 0.05}), 5000);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.count(2) + h.count(3), 0u);
}

TEST(LlmGuestSampler, LowTemperatureSharpens) {
  SamplerOptions o;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  const std::vector<float> l = logits_of({0.4, 0.35, 0.25});
  o.temperature = 0.05f;
  auto cold = histogram(o, l, 2000);
  o.temperature = 5.0f;
  auto hot = histogram(o, l, 2000);
  EXPECT_GT(cold[0], 1800);  // (0.4/0.35)^20 = 14.4 : 1 against the runner-up: p ~ 0.93
  EXPECT_LT(hot[0], 1000);
}

TEST(LlmGuestSampler, RepetitionPenaltyAvoidsRecentTokens) {
  SamplerOptions o;
  o.repeat_penalty = 2.0f;
  o.repeat_last_n = 2;
  Sampler s(o);
  EXPECT_FALSE(s.device_argmax_suffices());
  const std::vector<float> l = {3.0f, 2.0f, -1.0f};
  EXPECT_EQ(s.sample(l.data(), l.size()), 0);
  s.accept(0);  // 3 / 2 = 1.5 < 2: token 1 wins
  EXPECT_EQ(s.sample(l.data(), l.size()), 1);
  s.accept(1);  // both penalized: 1.5 vs 1.0
  EXPECT_EQ(s.sample(l.data(), l.size()), 0);
  s.accept(2);
  s.accept(2);  // last 2 tokens are {2, 2}: 0 and 1 are free again
  EXPECT_EQ(s.sample(l.data(), l.size()), 0);
  // A negative logit is multiplied: -1 * 2 = -2, further away.
  const std::vector<float> neg = {-1.0f, -1.5f};
  Sampler t(o);
  t.accept(0);
  EXPECT_EQ(t.sample(neg.data(), neg.size()), 1);
}

TEST(LlmGuestSampler, StopStringsHoldBackPrefixesAndCut) {
  StopStrings s({"</end>"});
  EXPECT_EQ(s.push("hello </"), "hello ");
  EXPECT_FALSE(s.stopped());
  EXPECT_EQ(s.push("en"), "");
  EXPECT_EQ(s.push("d> more"), "");
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(s.flush(), "");
  StopStrings t({"STOP"});
  EXPECT_EQ(t.push("a S"), "a ");
  EXPECT_EQ(t.push("x"), "Sx");  // not a stop after all: released
  EXPECT_EQ(t.push("ST"), "");
  EXPECT_EQ(t.flush(), "ST");
}

}  // namespace
}  // namespace llm
