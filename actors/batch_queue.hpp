/// Request batching for detached store actors (admission, event-bus).
///
/// Each request is parked with its response promise; the first one schedules a
/// flush_atom to the actor itself. Because that message queues behind everything
/// already in the mailbox, one flush takes every request that arrived meanwhile:
/// while a batch commits, the next one fills up. No timers, no tuning knob.
#pragma once

#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <caf/typed_response_promise.hpp>

#include "messages/errors.hpp"
#include "messages/event_bus.hpp"

namespace stagee {

template <class Request, class Reply>
class batch_queue {
public:
  using promise_type = caf::typed_response_promise<Reply>;

  struct entry {
    Request request;
    promise_type promise;
  };

  /// Parks a request; schedules a flush on `self` if none is pending.
  template <class Self>
  promise_type park(Self* self, Request req) {
    auto rp = self->template make_response_promise<Reply>();
    entries_.push_back(entry{std::move(req), rp});
    if (!flush_scheduled_) {
      flush_scheduled_ = true;
      self->send(self, flush_atom::value);
    }
    return rp;
  }

  /// Takes up to max_size parked requests; schedules another flush when some stay.
  template <class Self>
  std::vector<entry> take(Self* self, size_t max_size) {
    flush_scheduled_ = false;
    std::vector<entry> out;
    if (entries_.size() <= max_size) {
      out.swap(entries_);
    } else {
      out.assign(std::make_move_iterator(entries_.begin()),
                 std::make_move_iterator(entries_.begin() + max_size));
      entries_.erase(entries_.begin(), entries_.begin() + max_size);
    }
    if (!entries_.empty()) {
      flush_scheduled_ = true;
      self->send(self, flush_atom::value);
    }
    return out;
  }

  /// Puts entries back at the front (e.g. a second write of the same execution).
  template <class Self>
  void requeue(Self* self, std::vector<entry> later) {
    if (later.empty())
      return;
    entries_.insert(entries_.begin(), std::make_move_iterator(later.begin()),
                    std::make_move_iterator(later.end()));
    if (!flush_scheduled_) {
      flush_scheduled_ = true;
      self->send(self, flush_atom::value);
    }
  }

  size_t size() const { return entries_.size(); }

private:
  std::vector<entry> entries_;
  bool flush_scheduled_ = false;
};

/// Runs `call` (one transaction) on the whole batch. When that fails for any
/// reason but the database being away, runs it once per request instead, so one
/// poisoned request (say, a value a column rejects) cannot fail its neighbours.
/// Returns one result per request.
template <class Request, class F>
auto run_isolated(const std::vector<Request>& requests, F&& call) {
  using out_type = typename std::invoke_result_t<F, const std::vector<Request>&>::value_type::value_type;
  std::vector<caf::expected<out_type>> out;
  auto all = call(requests);
  if (all) {
    for (auto&& x : *all)
      out.emplace_back(std::move(x));
    return out;
  }
  if (requests.size() == 1 || all.error() == stagee_errc::db_unavailable) {
    for (size_t i = 0; i < requests.size(); ++i)
      out.emplace_back(all.error());
    return out;
  }
  for (auto& r : requests) {
    auto one = call(std::vector<Request>{r});
    if (one)
      out.emplace_back(out_type(std::move(one->front())));
    else
      out.emplace_back(one.error());
  }
  return out;
}

} // namespace stagee
