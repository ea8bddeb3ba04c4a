#include "actors/waiter.hpp"

#include "messages/errors.hpp"

namespace stagee {

namespace {

using self_ptr = waiter_actor::stateful_pointer<waiter_state>;

void answer(self_ptr self, caf::error err) {
  self->state.promise.deliver(std::move(err));
  self->quit();
}

void answer(self_ptr self, status_reply rep) {
  self->state.promise.deliver(std::move(rep));
  self->quit();
}

void answer_deadline(self_ptr self);

/// Reads the status; answers when terminal, or when the deadline passed meanwhile.
void check(self_ptr self) {
  if (self->state.reading) {
    // A terminal event while a read is in flight: that read may predate it.
    self->state.read_again = true;
    return;
  }
  self->state.reading = true;
  self->state.read_again = false;
  status_request req{self->state.request.tenant_id, self->state.request.execution_id};
  self->request(self->state.reader, std::chrono::seconds(30), req)
    .then(
      [=](status_reply& rep) {
        self->state.reading = false;
        if (is_terminal(rep.status))
          answer(self, std::move(rep));
        else if (std::chrono::steady_clock::now() >= self->state.deadline)
          answer_deadline(self);
        else if (self->state.read_again)
          check(self);
      },
      [=](caf::error& err) {
        self->state.reading = false;
        if (err == stagee_errc::not_found || err == stagee_errc::invalid_request)
          answer(self, std::move(err));
      });
}

void answer_deadline(self_ptr self) {
  answer(self, make_stagee_error(stagee_errc::deadline_exceeded, "timeout",
                                 "execution " + self->state.request.execution_id
                                   + " not terminal after "
                                   + std::to_string(self->state.request.timeout_ms)
                                   + " ms; wait again or check its status"));
}

void tick(self_ptr self) {
  check(self); // answers on a terminal status, or on the deadline
  auto now = std::chrono::steady_clock::now();
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(self->state.deadline - now);
  auto next = std::clamp(left, std::chrono::milliseconds{1},
                         std::chrono::milliseconds{self->state.settings.recheck_ms});
  self->delayed_send(self, next, caf::tick_atom::value);
}

} // namespace

waiter_actor::behavior_type waiter(self_ptr self, wait_request req,
                                   caf::typed_response_promise<status_reply> promise,
                                   reader_actor reader, event_bus_actor bus,
                                   waiter_settings settings) {
  auto& st = self->state;
  st.deadline = std::chrono::steady_clock::now()
                + std::chrono::milliseconds{std::max<int64_t>(req.timeout_ms, 0)};
  st.request = std::move(req);
  st.promise = std::move(promise);
  st.reader = std::move(reader);
  st.settings = settings;
  subscribe_request sub{st.request.tenant_id, st.request.execution_id, -1,
                        caf::actor_cast<event_subscriber_actor>(self)};
  // Subscribe first, then read: a terminal event cannot slip between the two.
  self->request(bus, std::chrono::seconds(30), std::move(sub))
    .then([=](subscribed&) { tick(self); }, [=](caf::error&) { tick(self); });
  return {
    [=](const execution_event& ev) {
      if (is_terminal(ev.status))
        check(self);
    },
    [=](caf::tick_atom) { tick(self); },
  };
}

} // namespace stagee
