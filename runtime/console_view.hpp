/// How `stagee console` shows what nodes answer: every reply becomes one JSON
/// document (printed as is with --json), and text mode lays that same document out
/// as a table or as "field: value" lines. Both pass the masker first (R-SAFE-5).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/console.hpp"

namespace stagee {

nlohmann::json to_json(const execution_probe& e);
nlohmann::json to_json(const actor_view& v);
nlohmann::json to_json(const node_inspection& n);
nlohmann::json to_json(const timer_list& t);
nlohmann::json to_json(const node_stats& s);
nlohmann::json to_json(const execution_list& l);
nlohmann::json to_json(const queue_list& l);
nlohmann::json to_json(const journal_page& p);

/// One column of a text table (or one line of a field list): its title and the
/// key of the value in each row object. Nested keys use '/' ("probe/state").
struct column {
  std::string title;
  std::string key;
  size_t max_width = 48; // longer values are cut, ending in "..."
};

/// A value as text: strings as they are (C0 and C1 control characters shown as '?', so a
/// hostile name cannot drive the terminal), numbers, yes/no, "-" for null or "".
std::string cell_text(const nlohmann::json& v);

/// Rows (a JSON array of objects) as an aligned table with a header line;
/// "(none)" when there are no rows.
std::string render_table(const nlohmann::json& rows, const std::vector<column>& cols);

/// "title: value" lines for one object, titles aligned.
std::string render_fields(const nlohmann::json& obj, const std::vector<column>& fields);

/// Milliseconds as "850ms", "3.2s", "5m12s", "2h03m".
std::string human_ms(int64_t ms);

} // namespace stagee
