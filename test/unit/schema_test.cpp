#include "core/schema.hpp"

#include <gtest/gtest.h>

namespace schema_guard::core {
namespace {

TEST(CanonicalType, SpellingsOfTheSameTypeAreEqual) {
  EXPECT_EQ(CanonicalType("varchar(128)"), "character varying(128)");
  EXPECT_EQ(CanonicalType("character varying(128)"), "character varying(128)");
  EXPECT_EQ(CanonicalType("VARCHAR ( 128 )"), "character varying(128)");
  EXPECT_EQ(CanonicalType("int8"), "bigint");
  EXPECT_EQ(CanonicalType("bigserial"), "bigint");
  EXPECT_EQ(CanonicalType("serial"), "integer");
  EXPECT_EQ(CanonicalType("int"), "integer");
  EXPECT_EQ(CanonicalType("timestamptz"), "timestamp with time zone");
  EXPECT_EQ(CanonicalType("timestamptz(3)"), "timestamp(3) with time zone");
  EXPECT_EQ(CanonicalType("timestamp(6)"), "timestamp(6) without time zone");
  EXPECT_EQ(CanonicalType("timestamp without time zone"),
            "timestamp without time zone");
  EXPECT_EQ(CanonicalType("decimal(14,2)"), "numeric(14,2)");
  EXPECT_EQ(CanonicalType("numeric(14, 2)"), "numeric(14,2)");
  EXPECT_EQ(CanonicalType("bool"), "boolean");
  EXPECT_EQ(CanonicalType("float8"), "double precision");
  EXPECT_EQ(CanonicalType("int4[]"), "integer[]");
  EXPECT_EQ(CanonicalType("char(2)"), "character(2)");
  EXPECT_EQ(CanonicalType("jsonb"), "jsonb");
  EXPECT_EQ(CanonicalType("\"MyType\""), "\"MyType\"");
}

TEST(CanonicalType, DifferentTypesStayDifferent) {
  EXPECT_NE(CanonicalType("varchar(128)"), CanonicalType("varchar(255)"));
  EXPECT_NE(CanonicalType("int8"), CanonicalType("int4"));
  EXPECT_NE(CanonicalType("timestamptz"), CanonicalType("timestamp"));
}

TEST(IsSerialType, KnowsTheSerialSpellings) {
  EXPECT_TRUE(IsSerialType("serial"));
  EXPECT_TRUE(IsSerialType("BIGSERIAL"));
  EXPECT_TRUE(IsSerialType("serial8"));
  EXPECT_FALSE(IsSerialType("integer"));
}

TEST(LikeMatch, FollowsSqlLike) {
  EXPECT_TRUE(
      LikeMatch("token_blacklist_outstandingtoken", "token_blacklist_%"));
  EXPECT_FALSE(LikeMatch("token_whitelist", "token_blacklist_%"));
  EXPECT_TRUE(LikeMatch("abc", "a_c"));
  EXPECT_FALSE(LikeMatch("abbc", "a_c"));
  EXPECT_TRUE(LikeMatch("a%c", "a\\%c"));
  EXPECT_FALSE(LikeMatch("abc", "a\\%c"));
  EXPECT_TRUE(LikeMatch("", "%"));
  EXPECT_TRUE(LikeMatch("public.x_y", "%.x\\_%"));
}

TEST(DjangoApp, PrefersTheLongestKnownApp) {
  std::vector<std::string> apps{"bill", "bill_of_entry", "core"};
  EXPECT_EQ(DjangoApp("bill_of_entry_billofentry", apps), "bill_of_entry");
  EXPECT_EQ(DjangoApp("bill_invoice", apps), "bill");
  EXPECT_EQ(DjangoApp("core_company", apps), "core");
  EXPECT_EQ(DjangoApp("license_licensedetail", {}), "license");
  EXPECT_EQ(DjangoApp("standalone", {}), "");
}

TEST(DetectJoinTables, FindsDjangoManyToManyTables) {
  Schema s;
  Table join;
  join.schema = "public";
  join.name = "core_company_users";
  join.columns = {
      {"id", "bigint", true, std::nullopt, "by_default", "", "", false},
      {"company_id", "bigint", true, std::nullopt, "", "", "", false},
      {"user_id", "integer", true, std::nullopt, "", "", "", false}};
  join.foreign_keys.push_back(
      {"a", {"company_id"}, "public", "core_company", {"id"}});
  join.foreign_keys.push_back(
      {"b", {"user_id"}, "public", "auth_user", {"id"}});
  join.uniques.push_back({"u", {"user_id", "company_id"}});
  s.tables.push_back(join);
  Table plain = join;
  plain.name = "core_membership";
  plain.uniques.clear();
  s.tables.push_back(plain);
  EXPECT_EQ(DetectJoinTables(s),
            std::vector<std::string>{"public.core_company_users"});
}

}  // namespace
}  // namespace schema_guard::core
