/// Row factories for store tests: admission requests built the way the gateway
/// builds them (same codec, same FSM), without the actors.
#pragma once

#include <string>

#include "messages/store.hpp"

namespace stagee::test {

/// A valid plan document; `name` varies it, `targets` is a JSON array text.
std::string plan_json(const std::string& name = "p",
                      const std::string& targets = R"(["web-1","web-2"])",
                      const std::string& executor = "noop");

/// Parses `json` (must be valid) and builds an admit_request with a fresh
/// execution id. key empty: derived from canonical plan + tenant + principal.
admit_request admission(const std::string& json, const std::string& tenant,
                        const std::string& principal = "alice",
                        execution_mode mode = execution_mode::background,
                        const std::string& key = "");

/// A random RFC 4122 version 4 UUID.
std::string random_uuid();

} // namespace stagee::test
