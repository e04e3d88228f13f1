#include "runtime/export_call.h"

namespace samepage {
namespace {

// On x86-64 and AArch64 integer arguments of 32 and 64 bits travel in the
// same registers, so a u64 argument list reaches i32 parameters intact (the
// callee reads the low half). Results are truncated for i32.
template <typename R, typename... A>
R call_with(void (*fn)(void), void* inst, A... a) {
  return reinterpret_cast<R (*)(void*, A...)>(fn)(inst, a...);
}

template <typename R>
R dispatch(const ExportCall& c) {
  const uint64_t* a = c.args;
  switch (c.n_args) {
    case 0: return call_with<R>(c.fn, c.instance_struct);
    case 1: return call_with<R>(c.fn, c.instance_struct, a[0]);
    case 2: return call_with<R>(c.fn, c.instance_struct, a[0], a[1]);
    case 3: return call_with<R>(c.fn, c.instance_struct, a[0], a[1], a[2]);
    case 4: return call_with<R>(c.fn, c.instance_struct, a[0], a[1], a[2], a[3]);
    case 5: return call_with<R>(c.fn, c.instance_struct, a[0], a[1], a[2], a[3], a[4]);
    case 6: return call_with<R>(c.fn, c.instance_struct, a[0], a[1], a[2], a[3], a[4], a[5]);
    case 7: return call_with<R>(c.fn, c.instance_struct, a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
    default: return call_with<R>(c.fn, c.instance_struct, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
  }
}

}  // namespace

Status prepare_export_call(const GlueExport& fn, void* instance_struct, const std::vector<uint64_t>& args,
                           ExportCall* out) {
  const char* where = "instance::call";
  const size_t colon = fn.signature.find(':');
  const std::string params = fn.signature.substr(0, colon);
  const std::string results = fn.signature.substr(colon + 1);
  const bool ints_only = params.find_first_not_of("iI") == std::string::npos &&
                         results.find_first_not_of("iI") == std::string::npos;
  if (!ints_only || params.size() > 8 || results.size() > 1)
    return err(where, "export '" + fn.name + "' has signature " + fn.signature +
                          "; only up to 8 i32/i64 parameters and one i32/i64 result can be called");
  if (args.size() != params.size())
    return err(where, "export '" + fn.name + "' takes " + std::to_string(params.size()) + " arguments, got " +
                          std::to_string(args.size()));
  out->fn = fn.fn;
  out->instance_struct = instance_struct;
  out->n_args = static_cast<int>(args.size());
  for (size_t i = 0; i < args.size(); ++i)
    out->args[i] = params[i] == 'i' ? (args[i] & 0xffffffffu) : args[i];
  out->returns_value = !results.empty();
  out->result_is_i32 = results == "i";
  return Status::ok();
}

void invoke_export(void* export_call) {
  auto* c = static_cast<ExportCall*>(export_call);
  if (!c->returns_value) {
    dispatch<void>(*c);
    return;
  }
  const uint64_t r = dispatch<uint64_t>(*c);
  c->result = c->result_is_i32 ? (r & 0xffffffffu) : r;
}

}  // namespace samepage
