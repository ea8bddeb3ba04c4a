/// Storage encodings of wire types: the msgpack FSM snapshot (executions.state_snapshot)
/// and the JSON payload of execution_events. Storage structs are private to this
/// codec, so a change to a wire struct cannot silently change what is on disk.
#pragma once

#include <string>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "messages/execution.hpp"

namespace stagee {

/// Current snapshot schema version (stored inside every snapshot).
constexpr int snapshot_schema_version = 1;

std::string encode_snapshot(const execution_snapshot& s);
caf::expected<execution_snapshot> decode_snapshot(const std::string& bytes);

/// Event payload stored in execution_events.payload (everything but id/seq/kind).
nlohmann::json event_payload(const execution_event& ev);
caf::expected<execution_event> event_from_row(const std::string& execution_id, int64_t seq,
                                              const std::string& kind,
                                              const std::string& payload_json);

std::string to_hex(const std::string& bytes);

} // namespace stagee
