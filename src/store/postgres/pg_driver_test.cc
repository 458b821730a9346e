#include "store/postgres/pg_driver.h"

#include <gtest/gtest.h>

#include "store/postgres/postgres_store.h"

namespace coffer::postgres {
namespace {

TEST(PgDriver, ParametersAreNumberedOutsideQuotesAndNumberedOnesKeepTheirNumbers) {
  EXPECT_EQ(NumberParameters("SELECT a FROM t WHERE b = ? AND c = ?"),
            "SELECT a FROM t WHERE b = $1 AND c = $2");
  EXPECT_EQ(NumberParameters("SELECT '?', \"?\" FROM t WHERE x = ? AND y = 'it''s ?'"),
            "SELECT '?', \"?\" FROM t WHERE x = $1 AND y = 'it''s ?'");
  EXPECT_EQ(NumberParameters("WHERE a = ?1 AND (b, id) > (?2, ?3) LIMIT ?12"),
            "WHERE a = $1 AND (b, id) > ($2, $3) LIMIT $12");
}

TEST(PgDriver, AUrlIsShownWithoutItsPassword) {
  EXPECT_EQ(RedactPostgresUrl("postgresql://coffer:s3cret@db:5432/coffer?sslmode=verify-full"),
            "postgresql://coffer:***@db:5432/coffer?sslmode=verify-full");
  EXPECT_EQ(RedactPostgresUrl("postgresql://db/coffer?user=c&password=s3cret&sslmode=require"),
            "postgresql://db/coffer?user=c&password=***&sslmode=require");
  EXPECT_EQ(RedactPostgresUrl("postgres://db/coffer?password=s3cret"),
            "postgres://db/coffer?password=***");
  EXPECT_EQ(RedactPostgresUrl("postgresql://coffer@db/coffer"), "postgresql://coffer@db/coffer");
  EXPECT_TRUE(IsPostgresUrl("postgres://db"));
  EXPECT_FALSE(IsPostgresUrl("sqlite:///x"));
}

}  // namespace
}  // namespace coffer::postgres
