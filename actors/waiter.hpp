/// Waiter: answers one `wait` request. It subscribes to the event bus for live
/// events, then reads the status; it answers as soon as the execution is terminal
/// (seen in an event or in a periodic re-read, which also covers executions running
/// on another node), or with deadline_exceeded when the deadline passes. Then it stops.
#pragma once

#include <chrono>

#include "messages/event_bus.hpp"
#include "messages/gateway.hpp"
#include "messages/store.hpp"

namespace stagee {

using waiter_actor = event_subscriber_actor::extend<caf::reacts_to<caf::tick_atom>>;

struct waiter_settings {
  int64_t recheck_ms = 1000; // status re-read period
};

struct waiter_state {
  static inline const char* name = "waiter";
  wait_request request;
  caf::typed_response_promise<status_reply> promise;
  reader_actor reader;
  std::chrono::steady_clock::time_point deadline;
  bool reading = false;
  bool read_again = false; // a terminal event came during the read
  waiter_settings settings;
};

/// @param req     what to wait for, with its timeout
/// @param promise answered exactly once
waiter_actor::behavior_type waiter(waiter_actor::stateful_pointer<waiter_state> self,
                                   wait_request req,
                                   caf::typed_response_promise<status_reply> promise,
                                   reader_actor reader, event_bus_actor bus,
                                   waiter_settings settings);

} // namespace stagee
