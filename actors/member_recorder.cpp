#include "actors/member_recorder.hpp"

#include "actors/probe.hpp"
#include "actors/result.hpp"

namespace stagee {

namespace {

/// Our row, then the dead members' leases, then every row: one round of the
/// membership's database heartbeat. A failed write is an error (the membership
/// counts it towards "isolated"); a failed early expiry only costs time (the
/// reaper frees the leases when they expire).
caf::expected<member_rows> beat(member_store& store, const member_heartbeat& hb) {
  if (auto ok = store.heartbeat(hb.self); !ok)
    return ok.error();
  member_rows out;
  for (auto& name : hb.link_down) {
    auto freed = store.declare_dead(name, hb.stale_ms, hb.self.name);
    if (freed)
      out.expired.insert(out.expired.end(), freed->begin(), freed->end());
  }
  auto rows = store.list(hb.with_leases);
  if (!rows)
    return rows.error();
  out.rows = std::move(*rows);
  return out;
}

} // namespace

member_recorder_actor::behavior_type
member_recorder(member_recorder_actor::stateful_pointer<member_recorder_state> self,
                std::string db_url) {
  self->state.db = std::make_unique<db_session>(std::move(db_url));
  self->state.store = std::make_unique<member_store>(*self->state.db);
  return {
    [=](const member_heartbeat& hb) { return to_result(beat(*self->state.store, hb)); },
    [=](inspect_atom) { return probe_of_worker(self); },
  };
}

} // namespace stagee
