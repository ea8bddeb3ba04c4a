/// JSON renderings of replies and events for the CLI (stdout contract in README).
#pragma once

#include <caf/error.hpp>
#include <nlohmann/json.hpp>

#include "messages/gateway.hpp"

namespace stagee {

nlohmann::json to_json(const submit_reply& r);
nlohmann::json to_json(const status_reply& r);
nlohmann::json to_json(const execution_event& ev);
nlohmann::json to_json(const dlq_entry& e);
nlohmann::json to_json(const dlq_page& p);
nlohmann::json to_json(const dlq_summary& s);
nlohmann::json to_json(const cancel_reply& r);
nlohmann::json to_json(const lock_list& l);
nlohmann::json to_json(const approve_reply& r);
nlohmann::json to_json(const cluster_status& s);
/// {"error":{"code","message","field"?}}
nlohmann::json error_json(const caf::error& err);
nlohmann::json error_json(const std::string& code, const std::string& message,
                          const std::string& field = "");

} // namespace stagee
