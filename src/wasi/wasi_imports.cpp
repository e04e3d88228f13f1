// The list of WASI functions samepage offers, with their wasm types. Each
// type is derived from the C signature of the function itself, so the list
// and the symbols the guest links against cannot disagree.
#include <type_traits>

#include "wasi/wasi_imports.h"
#include "wasi/wasi_functions.h"

namespace samepage {
namespace {

template <typename T>
constexpr ValType val_type_of() {
  static_assert(std::is_same_v<T, uint32_t> || std::is_same_v<T, uint64_t>,
                "WASI host functions take only i32 (uint32_t) and i64 (uint64_t)");
  return std::is_same_v<T, uint32_t> ? ValType::ValType_i32 : ValType::ValType_i64;
}

template <typename R, typename... Params>
FuncType func_type_of(R (*)(GuestContext*, Params...)) {
  FuncType type;
  (type.params.push_back(val_type_of<Params>()), ...);
  if constexpr (!std::is_void_v<R>) type.results.push_back(val_type_of<R>());
  return type;
}

#define SAMEPAGE_WASI_IMPORT(name) \
  HostImport { "wasi_snapshot_preview1", #name, func_type_of(&Z_wasi_snapshot_preview1Z_##name) }

}  // namespace

const std::vector<HostImport>& wasi_host_imports() {
  static const std::vector<HostImport> imports = {
      SAMEPAGE_WASI_IMPORT(args_get),
      SAMEPAGE_WASI_IMPORT(args_sizes_get),
      SAMEPAGE_WASI_IMPORT(environ_get),
      SAMEPAGE_WASI_IMPORT(environ_sizes_get),
      SAMEPAGE_WASI_IMPORT(clock_res_get),
      SAMEPAGE_WASI_IMPORT(clock_time_get),
      SAMEPAGE_WASI_IMPORT(random_get),
      SAMEPAGE_WASI_IMPORT(proc_exit),
      SAMEPAGE_WASI_IMPORT(proc_raise),
      SAMEPAGE_WASI_IMPORT(sched_yield),
      SAMEPAGE_WASI_IMPORT(fd_advise),
      SAMEPAGE_WASI_IMPORT(fd_allocate),
      SAMEPAGE_WASI_IMPORT(fd_close),
      SAMEPAGE_WASI_IMPORT(fd_datasync),
      SAMEPAGE_WASI_IMPORT(fd_sync),
      SAMEPAGE_WASI_IMPORT(fd_fdstat_get),
      SAMEPAGE_WASI_IMPORT(fd_fdstat_set_flags),
      SAMEPAGE_WASI_IMPORT(fd_fdstat_set_rights),
      SAMEPAGE_WASI_IMPORT(fd_filestat_get),
      SAMEPAGE_WASI_IMPORT(fd_filestat_set_size),
      SAMEPAGE_WASI_IMPORT(fd_filestat_set_times),
      SAMEPAGE_WASI_IMPORT(fd_pread),
      SAMEPAGE_WASI_IMPORT(fd_pwrite),
      SAMEPAGE_WASI_IMPORT(fd_read),
      SAMEPAGE_WASI_IMPORT(fd_write),
      SAMEPAGE_WASI_IMPORT(fd_readdir),
      SAMEPAGE_WASI_IMPORT(fd_renumber),
      SAMEPAGE_WASI_IMPORT(fd_seek),
      SAMEPAGE_WASI_IMPORT(fd_tell),
      SAMEPAGE_WASI_IMPORT(fd_prestat_get),
      SAMEPAGE_WASI_IMPORT(fd_prestat_dir_name),
      SAMEPAGE_WASI_IMPORT(path_create_directory),
      SAMEPAGE_WASI_IMPORT(path_filestat_get),
      SAMEPAGE_WASI_IMPORT(path_filestat_set_times),
      SAMEPAGE_WASI_IMPORT(path_link),
      SAMEPAGE_WASI_IMPORT(path_open),
      SAMEPAGE_WASI_IMPORT(path_readlink),
      SAMEPAGE_WASI_IMPORT(path_remove_directory),
      SAMEPAGE_WASI_IMPORT(path_rename),
      SAMEPAGE_WASI_IMPORT(path_symlink),
      SAMEPAGE_WASI_IMPORT(path_unlink_file),
      SAMEPAGE_WASI_IMPORT(poll_oneoff),
      SAMEPAGE_WASI_IMPORT(sock_accept),
      SAMEPAGE_WASI_IMPORT(sock_recv),
      SAMEPAGE_WASI_IMPORT(sock_send),
      SAMEPAGE_WASI_IMPORT(sock_shutdown),
  };
  return imports;
}

}  // namespace samepage
