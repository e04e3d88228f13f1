// The WASI preview1 host functions, under the C names wasm2c gives imports of
// module "wasi_snapshot_preview1". The first argument is the import-module
// instance pointer, which samepage sets to the guest's GuestContext. wasm i32
// is uint32_t and i64 is uint64_t; every function returns a WASI errno except
// proc_exit. They have default visibility: dlopen'ed guest objects resolve
// them in the samepage shared library.
#pragma once

#include <cstdint>

#include "guest_call/guest_context.h"

#pragma GCC visibility push(default)
extern "C" {

uint32_t Z_wasi_snapshot_preview1Z_args_get(samepage::GuestContext* ctx, uint32_t argv,
                                            uint32_t argv_buf);
uint32_t Z_wasi_snapshot_preview1Z_args_sizes_get(samepage::GuestContext* ctx, uint32_t argc_ptr,
                                                  uint32_t argv_buf_size_ptr);
uint32_t Z_wasi_snapshot_preview1Z_environ_get(samepage::GuestContext* ctx, uint32_t environ_ptrs,
                                               uint32_t environ_buf);
uint32_t Z_wasi_snapshot_preview1Z_environ_sizes_get(samepage::GuestContext* ctx,
                                                     uint32_t count_ptr, uint32_t buf_size_ptr);
uint32_t Z_wasi_snapshot_preview1Z_clock_res_get(samepage::GuestContext* ctx, uint32_t clock_id,
                                                 uint32_t resolution_ptr);
uint32_t Z_wasi_snapshot_preview1Z_clock_time_get(samepage::GuestContext* ctx, uint32_t clock_id,
                                                  uint64_t precision, uint32_t time_ptr);
uint32_t Z_wasi_snapshot_preview1Z_random_get(samepage::GuestContext* ctx, uint32_t buf,
                                              uint32_t buf_len);
[[noreturn]] void Z_wasi_snapshot_preview1Z_proc_exit(samepage::GuestContext* ctx,
                                                      uint32_t exit_code);
uint32_t Z_wasi_snapshot_preview1Z_proc_raise(samepage::GuestContext* ctx, uint32_t sig);
uint32_t Z_wasi_snapshot_preview1Z_sched_yield(samepage::GuestContext* ctx);

uint32_t Z_wasi_snapshot_preview1Z_fd_advise(samepage::GuestContext* ctx, uint32_t fd,
                                             uint64_t offset, uint64_t len, uint32_t advice);
uint32_t Z_wasi_snapshot_preview1Z_fd_allocate(samepage::GuestContext* ctx, uint32_t fd,
                                               uint64_t offset, uint64_t len);
uint32_t Z_wasi_snapshot_preview1Z_fd_close(samepage::GuestContext* ctx, uint32_t fd);
uint32_t Z_wasi_snapshot_preview1Z_fd_datasync(samepage::GuestContext* ctx, uint32_t fd);
uint32_t Z_wasi_snapshot_preview1Z_fd_sync(samepage::GuestContext* ctx, uint32_t fd);
uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_get(samepage::GuestContext* ctx, uint32_t fd,
                                                 uint32_t fdstat_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_flags(samepage::GuestContext* ctx, uint32_t fd,
                                                       uint32_t fdflags);
uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_rights(samepage::GuestContext* ctx, uint32_t fd,
                                                        uint64_t rights_base,
                                                        uint64_t rights_inheriting);
uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_get(samepage::GuestContext* ctx, uint32_t fd,
                                                   uint32_t filestat_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_size(samepage::GuestContext* ctx, uint32_t fd,
                                                        uint64_t size);
uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_times(samepage::GuestContext* ctx, uint32_t fd,
                                                         uint64_t atim, uint64_t mtim,
                                                         uint32_t fst_flags);
uint32_t Z_wasi_snapshot_preview1Z_fd_pread(samepage::GuestContext* ctx, uint32_t fd, uint32_t iovs,
                                            uint32_t iovs_len, uint64_t offset, uint32_t nread_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_pwrite(samepage::GuestContext* ctx, uint32_t fd,
                                             uint32_t iovs, uint32_t iovs_len, uint64_t offset,
                                             uint32_t nwritten_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_read(samepage::GuestContext* ctx, uint32_t fd, uint32_t iovs,
                                           uint32_t iovs_len, uint32_t nread_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_write(samepage::GuestContext* ctx, uint32_t fd, uint32_t iovs,
                                            uint32_t iovs_len, uint32_t nwritten_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_readdir(samepage::GuestContext* ctx, uint32_t fd,
                                              uint32_t buf, uint32_t buf_len, uint64_t cookie,
                                              uint32_t bufused_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_renumber(samepage::GuestContext* ctx, uint32_t fd,
                                               uint32_t to);
uint32_t Z_wasi_snapshot_preview1Z_fd_seek(samepage::GuestContext* ctx, uint32_t fd,
                                           uint64_t offset, uint32_t whence,
                                           uint32_t newoffset_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_tell(samepage::GuestContext* ctx, uint32_t fd,
                                           uint32_t offset_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_get(samepage::GuestContext* ctx, uint32_t fd,
                                                  uint32_t prestat_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_dir_name(samepage::GuestContext* ctx, uint32_t fd,
                                                       uint32_t path, uint32_t path_len);

uint32_t Z_wasi_snapshot_preview1Z_path_create_directory(samepage::GuestContext* ctx, uint32_t fd,
                                                         uint32_t path, uint32_t path_len);
uint32_t Z_wasi_snapshot_preview1Z_path_filestat_get(samepage::GuestContext* ctx, uint32_t fd,
                                                     uint32_t lookup_flags, uint32_t path,
                                                     uint32_t path_len, uint32_t filestat_ptr);
uint32_t Z_wasi_snapshot_preview1Z_path_filestat_set_times(samepage::GuestContext* ctx, uint32_t fd,
                                                           uint32_t lookup_flags, uint32_t path,
                                                           uint32_t path_len, uint64_t atim,
                                                           uint64_t mtim, uint32_t fst_flags);
uint32_t Z_wasi_snapshot_preview1Z_path_link(samepage::GuestContext* ctx, uint32_t old_fd,
                                             uint32_t old_lookup_flags, uint32_t old_path,
                                             uint32_t old_path_len, uint32_t new_fd,
                                             uint32_t new_path, uint32_t new_path_len);
uint32_t Z_wasi_snapshot_preview1Z_path_open(samepage::GuestContext* ctx, uint32_t dir_fd,
                                             uint32_t lookup_flags, uint32_t path,
                                             uint32_t path_len, uint32_t oflags,
                                             uint64_t rights_base, uint64_t rights_inheriting,
                                             uint32_t fdflags, uint32_t fd_ptr);
uint32_t Z_wasi_snapshot_preview1Z_path_readlink(samepage::GuestContext* ctx, uint32_t fd,
                                                 uint32_t path, uint32_t path_len, uint32_t buf,
                                                 uint32_t buf_len, uint32_t bufused_ptr);
uint32_t Z_wasi_snapshot_preview1Z_path_remove_directory(samepage::GuestContext* ctx, uint32_t fd,
                                                         uint32_t path, uint32_t path_len);
uint32_t Z_wasi_snapshot_preview1Z_path_rename(samepage::GuestContext* ctx, uint32_t fd,
                                               uint32_t old_path, uint32_t old_path_len,
                                               uint32_t new_fd, uint32_t new_path,
                                               uint32_t new_path_len);
uint32_t Z_wasi_snapshot_preview1Z_path_symlink(samepage::GuestContext* ctx, uint32_t old_path,
                                                uint32_t old_path_len, uint32_t fd,
                                                uint32_t new_path, uint32_t new_path_len);
uint32_t Z_wasi_snapshot_preview1Z_path_unlink_file(samepage::GuestContext* ctx, uint32_t fd,
                                                    uint32_t path, uint32_t path_len);

uint32_t Z_wasi_snapshot_preview1Z_poll_oneoff(samepage::GuestContext* ctx, uint32_t in,
                                               uint32_t out, uint32_t nsubscriptions,
                                               uint32_t nevents_ptr);

uint32_t Z_wasi_snapshot_preview1Z_sock_accept(samepage::GuestContext* ctx, uint32_t fd,
                                               uint32_t fdflags, uint32_t fd_ptr);
uint32_t Z_wasi_snapshot_preview1Z_sock_recv(samepage::GuestContext* ctx, uint32_t fd,
                                             uint32_t ri_data, uint32_t ri_data_len,
                                             uint32_t ri_flags, uint32_t ro_datalen_ptr,
                                             uint32_t ro_flags_ptr);
uint32_t Z_wasi_snapshot_preview1Z_sock_send(samepage::GuestContext* ctx, uint32_t fd,
                                             uint32_t si_data, uint32_t si_data_len,
                                             uint32_t si_flags, uint32_t so_datalen_ptr);
uint32_t Z_wasi_snapshot_preview1Z_sock_shutdown(samepage::GuestContext* ctx, uint32_t fd,
                                                 uint32_t how);

}  // extern "C"
#pragma GCC visibility pop
