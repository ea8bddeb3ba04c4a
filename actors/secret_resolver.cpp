#include "actors/secret_resolver.hpp"

#include "actors/probe.hpp"
#include "config/logging.hpp"
#include "messages/errors.hpp"

namespace stagee {

namespace {

using self_ptr = secret_resolver_actor::stateful_pointer<secret_resolver_state>;

spdlog::logger& lg() {
  static auto l = logging::get("secrets");
  return *l;
}

caf::error unavailable(const std::string& name, std::string why) {
  return make_stagee_error(stagee_errc::secret_unavailable, "secret:" + name, std::move(why));
}

caf::result<resolved_secrets> resolve(self_ptr self, const resolve_secrets& req) {
  auto& st = self->state;
  auto sealed = st.store->get(req.tenant_id, req.names);
  if (!sealed)
    return sealed.error();
  resolved_secrets out;
  for (auto& name : req.names) {
    std::string where = "the store";
    try {
      if (auto i = sealed->find(name); i != sealed->end()) {
        if (!st.sources.key)
          return unavailable(name, "secret '" + name + "' is in the store, but this node has "
                                   "no --secret-key-file to open it");
        if (i->second.key_id != st.sources.key->key_id())
          return unavailable(name, "secret '" + name + "' was sealed with key "
                                     + i->second.key_id + "; this node's key is "
                                     + st.sources.key->key_id());
        out.values[name] = secrets::open(*st.sources.key, req.tenant_id, name,
                                         i->second.sealed);
        continue;
      }
      where = "the secret directory";
      if (st.sources.dir)
        if (auto v = st.sources.dir->read(req.tenant_id, name)) {
          out.values[name] = std::move(*v);
          continue;
        }
    } catch (const std::exception& e) { // messages never hold values (secret_box.hpp)
      return unavailable(name, "secret '" + name + "' from " + where + ": " + e.what());
    }
    return unavailable(name, "no secret '" + name + "' for tenant '" + req.tenant_id
                               + "' in the store" + (st.sources.dir ? " or the secret directory"
                                                                    : "")
                               + "; add it with `stagee secret put`");
  }
  logging::write(lg(), spdlog::level::info, "secrets resolved for a step",
                 {{"exec_id", req.execution_id}, {"tenant_id", req.tenant_id},
                  {"names", req.names}, {"worker_id", st.node}});
  return out;
}

} // namespace

secret_resolver_actor::behavior_type
secret_resolver(self_ptr self, std::string node, secret_sources sources, std::string db_url) {
  auto& st = self->state;
  st.node = std::move(node);
  st.sources = std::move(sources);
  st.db = std::make_unique<db_session>(std::move(db_url));
  st.store = std::make_unique<secret_store>(*st.db);
  return {
    [=](const resolve_secrets& req) { return resolve(self, req); },
    [=](inspect_atom) { return probe_of_worker(self); },
  };
}

} // namespace stagee
