// SHA-256 against FIPS 180-4 test vectors, through whichever compression
// this CPU uses (the SHA extensions or the portable rounds), and the same
// digest however the input is split across update() calls.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "engine/sha256.h"

namespace samepage {
namespace {

std::string hex_of(const std::string& text) {
  Sha256 sha;
  sha.update(text);
  return sha.finish_hex();
}

TEST(Sha256, FipsVectors) {
  EXPECT_EQ(hex_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex_of(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, SplitUpdatesGiveTheSameDigest) {
  std::mt19937 rng(5);
  std::vector<uint8_t> data(100000);
  for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
  Sha256 whole;
  whole.update(data.data(), data.size());
  const std::string expected = whole.finish_hex();
  for (size_t piece : {1u, 7u, 63u, 64u, 65u, 1000u, 4096u}) {
    Sha256 split;
    for (size_t at = 0; at < data.size(); at += piece) split.update(data.data() + at, std::min(piece, data.size() - at));
    EXPECT_EQ(split.finish_hex(), expected) << "pieces of " << piece;
  }
}

}  // namespace
}  // namespace samepage
