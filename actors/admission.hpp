/// Admission writer: turns submits into execution rows, in batches (one transaction
/// per batch). Spawned detached: it owns a database connection and blocks on it.
#pragma once

#include "messages/store.hpp"
#include "persistence/admission_store.hpp"
#include "persistence/db_session.hpp"
#include "actors/batch_queue.hpp"

namespace stagee {

struct admission_state {
  static inline const char* name = "admission";
  std::unique_ptr<db_session> db;
  std::unique_ptr<admission_store> store;
  batch_queue<admit_request, admit_reply> pending;
  size_t max_batch = 512;
};

/// @param db_url   database to write to
/// @param settings dedup window
admission_actor::behavior_type admission(admission_actor::stateful_pointer<admission_state> self,
                                         std::string db_url, admission_settings settings);

} // namespace stagee
