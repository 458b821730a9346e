// Tags of every resource kind live in tables of one shape: (owner, position, key, value),
// read back in the order they were given.
#pragma once

#include "core/status.h"
#include "core/tags.h"
#include "store/sql/driver.h"

namespace coffer::sql {

// The three statements of one tag table.
struct TagTableSql {
  const char* select;
  const char* clear;
  const char* insert;
};

template <typename Id>
Result<Tags> ReadTagRows(Connection& conn, const TagTableSql& table, const Id& owner) {
  COFFER_QUERY(q, conn, table.select);
  q.Bind(1, owner);
  Tags tags;
  while (q.Step()) tags.emplace_back(q.Text(0), q.Text(1));
  COFFER_RETURN_IF_ERROR(q.status());
  return tags;
}

// Replaces the owner's tags with `tags`.
template <typename Id>
Status WriteTagRows(Connection& conn, const TagTableSql& table, const Id& owner, const Tags& tags) {
  {
    COFFER_QUERY(q, conn, table.clear);
    COFFER_RETURN_IF_ERROR(q.Bind(1, owner).Run());
  }
  int64_t position = 0;
  for (const auto& [key, value] : tags) {
    COFFER_QUERY(q, conn, table.insert);
    COFFER_RETURN_IF_ERROR(q.Bind(1, owner).Bind(2, position++).Bind(3, key).Bind(4, value).Run());
  }
  return Status::Ok();
}

}  // namespace coffer::sql
