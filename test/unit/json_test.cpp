#include "core/json.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/json_node.hpp"

#include "core/error.hpp"

namespace schema_guard::core {
namespace {

TEST(Json, ParsesEveryKindAndKeepsMemberOrder) {
  Json j = ParseJson(
      R"( {"b": [1, -2.5e3, true, false, null], "a": "x\"\u00e9\ud83d\ude00"} )");
  ASSERT_EQ(j.kind(), Json::Kind::kObject);
  ASSERT_EQ(j.members().size(), 2u);
  EXPECT_EQ(j.members()[0].first, "b");
  EXPECT_EQ(j.Find("b")->items()[1].text(), "-2.5e3");
  EXPECT_TRUE(j.Find("b")->items()[2].boolean());
  EXPECT_TRUE(j.Find("b")->items()[4].is_null());
  EXPECT_EQ(j.Find("a")->text(), "x\"é😀");
  EXPECT_EQ(j.Find("missing"), nullptr);
}

TEST(Json, RoundTripsThroughText) {
  std::string text = R"({"k": ["a\nb", 1, {"x": null}], "t": true})";
  EXPECT_EQ(ToJsonText(ParseJson(text)),
            R"({"k": ["a\nb", 1, {"x": null}], "t": true})");
  EXPECT_EQ(ToJsonText(Json::String(std::string("\x01\t", 2))),
            R"("\u0001\t")");
}

TEST(Json, RejectsMalformedTextWithItsPosition) {
  for (const char* bad :
       {"", "{", "[1,]", "{\"a\" 1}", "\"unterminated", "tru", "01x",
        "{\"a\":1} x", "\"\\ud800\"", "\"\\u0000\"", "\"a\tb\""}) {
    EXPECT_THROW(ParseJson(bad), Error) << bad;
  }
  try {
    ParseJson("[1, 2, }");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidTextRepresentation);
    EXPECT_EQ(e.detail(), "At byte 8 of 8.");
  }
}

TEST(Json, RefusesPathologicalNesting) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_THROW(ParseJson(deep), Error);
}

TEST(JsonNodes, ReadTheSameAsTheTreeWithoutCopyingPlainStrings) {
  std::string text =
      R"( {"b": [1, -2.5e3, true, false, null, []], "a": "x\"\u00e9",)"
      R"( "o": {"k": "plain", "e": {}}} )";
  ParsedJson doc = ParseJsonNodes(text);
  const JsonNode& j = doc.root();
  ASSERT_EQ(j.kind(), Json::Kind::kObject);
  std::string keys;
  for (const auto& [key, value] : j.members()) {
    keys += std::string(key) + ":" + KindName(value.kind()) + ";";
  }
  EXPECT_EQ(keys, "b:an array;a:a string;o:an object;");
  const JsonNode* b = j.Find("b");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->items().size(), 6u);
  EXPECT_EQ(b->items()[1].text(), "-2.5e3");
  EXPECT_TRUE(b->items()[2].boolean());
  EXPECT_FALSE(b->items()[3].boolean());
  EXPECT_TRUE(b->items()[4].is_null());
  EXPECT_TRUE(b->items()[5].items().empty());
  EXPECT_EQ(j.Find("a")->text(), "x\"é");
  std::string_view plain = j.Find("o")->Find("k")->text();
  EXPECT_EQ(plain, "plain");
  EXPECT_TRUE(plain.data() > text.data() &&
              plain.data() < text.data() + text.size());
  EXPECT_EQ(j.Find("o")->Find("e")->kind(), Json::Kind::kObject);
  EXPECT_EQ(j.Find("missing"), nullptr);
}

TEST(JsonNodes, RejectTheSameTextsAsTheTree) {
  for (const char* bad :
       {"", "{", "[1,]", "{\"a\" 1}", "\"unterminated", "tru", "01x",
        "{\"a\":1} x", "\"\\ud800\"", "\"\\u0000\"", "\"a\tb\""}) {
    EXPECT_THROW(ParseJsonNodes(bad), Error) << bad;
  }
  try {
    ParseJsonNodes("[1, 2, }");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidTextRepresentation);
    EXPECT_EQ(e.detail(), "At byte 8 of 8.");
  }
}

}  // namespace
}  // namespace schema_guard::core
