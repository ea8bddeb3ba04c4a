/// Turns a store's caf::expected<T> into the caf::result<T> a handler returns.
#pragma once

#include <utility>

#include <caf/expected.hpp>
#include <caf/result.hpp>

namespace stagee {

template <class T>
caf::result<T> to_result(caf::expected<T> x) {
  if (!x)
    return x.error();
  return std::move(*x);
}

} // namespace stagee
