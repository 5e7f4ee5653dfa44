#include "core/staging_payload.hpp"

#include <gtest/gtest.h>

#include <string>

namespace schema_guard::core {
namespace {

TEST(PayloadScanner, TakesTheTopLevelApartAsWritten) {
  PayloadScanner s;
  ASSERT_EQ(s.Scan(R"( {"a": 1, "b" : "x\"y", "c": null, "d": true,
                      "e": {"n": [1, {"m": 2}]}, "f": [], "g": -1.5e3} )"),
            PayloadShape::kObject);
  const auto& f = s.fields();
  ASSERT_EQ(f.size(), 7u);
  EXPECT_EQ(f[0].key, "a");
  EXPECT_EQ(f[0].kind, PayloadValue::kNumber);
  EXPECT_EQ(f[0].raw, "1");
  EXPECT_EQ(f[1].kind, PayloadValue::kString);
  EXPECT_EQ(f[1].raw, R"("x\"y")");
  EXPECT_TRUE(f[1].escaped);
  EXPECT_EQ(f[2].kind, PayloadValue::kNull);
  EXPECT_EQ(f[3].kind, PayloadValue::kBool);
  EXPECT_EQ(f[3].raw, "true");
  EXPECT_EQ(f[4].kind, PayloadValue::kObject);
  EXPECT_EQ(f[4].raw, R"({"n": [1, {"m": 2}]})");
  EXPECT_EQ(f[5].kind, PayloadValue::kArray);
  EXPECT_EQ(f[5].raw, "[]");
  EXPECT_EQ(f[6].raw, "-1.5e3");
  EXPECT_EQ(s.FirstDuplicate(), -1);
  EXPECT_EQ(s.Scan("{}"), PayloadShape::kObject);
  EXPECT_TRUE(s.fields().empty());
}

TEST(PayloadScanner, KeysWithEscapesAreUnescaped) {
  PayloadScanner s;
  ASSERT_EQ(s.Scan(R"({"caf\u00e9": 1, "a\"b": 2, "plain": 3})"),
            PayloadShape::kObject);
  EXPECT_EQ(s.fields()[0].key, "café");
  EXPECT_EQ(s.fields()[1].key, "a\"b");
  EXPECT_EQ(s.fields()[2].key, "plain");
}

TEST(PayloadScanner, FindsAFieldSentTwice) {
  PayloadScanner s;
  ASSERT_EQ(s.Scan(R"({"v": 1, "k": "a", "v": 2})"), PayloadShape::kObject);
  EXPECT_EQ(s.FirstDuplicate(), 2);
  // Written differently, the same key.
  ASSERT_EQ(s.Scan(R"({"v": 1, "\u0076": 2})"), PayloadShape::kObject);
  EXPECT_EQ(s.FirstDuplicate(), 1);
  // Many fields: found by sorting.
  std::string many = "{";
  for (int i = 0; i < 40; ++i) many += "\"f" + std::to_string(i) + "\": 1, ";
  many += "\"f7\": 2, \"f3\": 3}";
  ASSERT_EQ(s.Scan(many), PayloadShape::kObject);
  EXPECT_EQ(s.FirstDuplicate(), 40);
}

// Strings are scanned a word at a time: a quote, an escape or a control
// character is found wherever it falls in a word.
TEST(PayloadScanner, FindsWhereAStringEndsAtAnyOffset) {
  PayloadScanner s;
  for (std::size_t n = 0; n < 24; ++n) {
    std::string body(n, 'x');
    std::string plain = "{\"k\": \"" + body + "\", \"e\": 1}";
    ASSERT_EQ(s.Scan(plain), PayloadShape::kObject) << n;
    EXPECT_EQ(s.fields()[0].raw, "\"" + body + "\"");
    EXPECT_FALSE(s.fields()[0].escaped);
    std::string escaped = "{\"k\": \"" + body + "\\\"é" + body + "\"}";
    ASSERT_EQ(s.Scan(escaped), PayloadShape::kObject) << n;
    EXPECT_EQ(s.fields()[0].raw, "\"" + body + "\\\"é" + body + "\"");
    EXPECT_TRUE(s.fields()[0].escaped);
    std::string tab = "{\"k\": \"" + body + "\t" + body + "\"}";
    EXPECT_EQ(s.Scan(tab), PayloadShape::kInvalid) << n;
    std::string nul = "{\"k\": \"" + body + std::string(1, '\0') + "\"}";
    EXPECT_EQ(s.Scan(nul), PayloadShape::kInvalid) << n;
    std::string open = "{\"k\": \"" + body;
    EXPECT_EQ(s.Scan(open), PayloadShape::kInvalid) << n;
  }
}

TEST(PayloadScanner, OtherJsonIsNotAnObjectAndBrokenTextIsInvalid) {
  PayloadScanner s;
  EXPECT_EQ(s.Scan("[1, 2]"), PayloadShape::kNotAnObject);
  EXPECT_EQ(s.Scan(R"("text")"), PayloadShape::kNotAnObject);
  EXPECT_EQ(s.Scan(" 12 "), PayloadShape::kNotAnObject);
  EXPECT_EQ(s.Scan("null"), PayloadShape::kNotAnObject);
  for (const char* bad :
       {"", "{", "{\"a\"}", "{\"a\": }", "{\"a\": 1,}", "{\"a\": 1} x",
        "{\"a\": tru}", "{\"a\": 01}", "{\"a\": \"\\x\"}", "{a: 1}",
        "{\"a\": [1, 2}", "{\"a\": \"line\nbreak\"}", "[1,]", "{\"a\": -}"}) {
    EXPECT_EQ(s.Scan(bad), PayloadShape::kInvalid) << bad;
  }
  std::string deep(20000, '[');
  EXPECT_EQ(s.Scan("{\"a\": " + deep + "}"), PayloadShape::kInvalid);
}

TEST(AppendUnescaped, ResolvesEscapesIntoUtf8) {
  std::string out;
  EXPECT_EQ(AppendUnescaped(R"("a\nb\t\"\\\/")", &out), Unescaped::kOk);
  EXPECT_EQ(out, "a\nb\t\"\\/");
  out.clear();
  EXPECT_EQ(AppendUnescaped(R"("\u00e9\u20ac\ud83d\udd11")", &out),
            Unescaped::kOkNonAscii);
  EXPECT_EQ(out, "é€🔑");
  out.clear();
  EXPECT_EQ(AppendUnescaped(R"("a\u0000b")", &out), Unescaped::kNulCharacter);
  EXPECT_EQ(AppendUnescaped(R"("\ud83d x")", &out), Unescaped::kLoneSurrogate);
  EXPECT_EQ(AppendUnescaped(R"("\udd11")", &out), Unescaped::kLoneSurrogate);
}

}  // namespace
}  // namespace schema_guard::core
