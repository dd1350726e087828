// Metadata filters (--where KEY=VALUE) as SQL over the documents' JSON
// metadata, and the search mode names. The matching rule is index.h's
// SearchFilter comment; the SQL compares the field's JSON text form, so
// 3, "3" and 3.0 are told apart as JSON tells them apart (3.0 is "3.0").
#pragma once
#include <string>
#include <vector>

#include "search/index.h"

namespace peft {

// SQL boolean expression over column `meta_col` (a JSON text column), with
// its parameters (bound in order as text): "1" for an empty filter.
struct FilterSql {
  std::string expr;
  std::vector<std::string> params;
};
FilterSql filter_sql(const SearchFilter& f, const std::string& meta_col);

// The JSON path ($."a"."b") of a dotted key already checked by parse_where.
std::string json_path_of(const std::string& key);

}  // namespace peft
