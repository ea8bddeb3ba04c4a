/// Request batching for detached store actors (admission, event-bus).
///
/// Each request is parked with its response promise; the first one schedules a
/// flush_atom to the actor itself. Because that message queues behind everything
/// already in the mailbox, one flush takes every request that arrived meanwhile:
/// while a batch commits, the next one fills up. No timers, no tuning knob.
#pragma once

#include <utility>
#include <vector>

#include <caf/typed_response_promise.hpp>

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

} // namespace stagee
