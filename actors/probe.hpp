/// How an actor answers the console's inspect_atom (messages/console.hpp): its state
/// in a word, its mailbox size read from inside (CAF's mailbox may only be read by
/// its owner), and a few facts.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "messages/console.hpp"

namespace stagee {

using probe_details = std::map<std::string, std::string>;

template <class Self>
actor_probe probe_of(Self* self, std::string state, probe_details details = {}) {
  actor_probe p;
  p.state = std::move(state);
  p.mailbox = static_cast<int64_t>(self->mailbox().size());
  p.details = std::move(details);
  return p;
}

/// "idle" or "busy": whether anything waits in the mailbox behind the probe.
template <class Self>
actor_probe probe_of_worker(Self* self, probe_details details = {}) {
  auto p = probe_of(self, "", std::move(details));
  p.state = p.mailbox > 0 ? "busy" : "idle";
  return p;
}

} // namespace stagee
