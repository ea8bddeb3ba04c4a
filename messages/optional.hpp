/// Bridge that lets std::optional members take part in CAF 0.17's inspect().
/// CAF 0.17 has no inspect for std::optional; we round-trip through caf::optional.
#pragma once

#include <optional>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/none.hpp>
#include <caf/optional.hpp>

namespace stagee {

template <class T>
struct opt_ref {
  std::optional<T>& ref;
};

template <class T>
opt_ref<T> as_opt(std::optional<T>& x) {
  return {x};
}

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, opt_ref<T>& x) {
  caf::optional<T> tmp;
  if (x.ref)
    tmp = *x.ref;
  auto sync = caf::meta::load_callback([&]() -> caf::error {
    if (tmp)
      x.ref = *tmp;
    else
      x.ref.reset();
    return caf::none;
  });
  return f(tmp, sync);
}

} // namespace stagee
