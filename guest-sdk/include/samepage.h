/* samepage guest SDK: tensors that live in the guest's own linear memory,
 * computed on in place by the host (import module "samepage").
 *
 * The ABI (enums, structs, and every import with its documentation) is
 * samepage_abi.h; this header declares the imports from its list. */
#ifndef SAMEPAGE_H_
#define SAMEPAGE_H_

#include "samepage_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SP_IMPORT(name) __attribute__((import_module("samepage"), import_name(#name)))
#define SP_DECLARE_IMPORT(ret, name, c_name, params) SP_IMPORT(name) ret c_name params;
SP_IMPORTS(SP_DECLARE_IMPORT)
#undef SP_DECLARE_IMPORT

#if defined(__wasm__)
/* n_bytes of fresh zeroed memory at a 64 KiB-aligned address (so host-page
 * aligned, as sp_map_file needs), or NULL. It grows the memory itself, above
 * anything malloc has taken; malloc never hands these pages out, and they are
 * never given back. */
static inline void* sp_alloc_pages(uint32_t n_bytes) {
  const uint32_t n_pages = (uint32_t)(((uint64_t)n_bytes + 65535u) / 65536u);
  const int32_t old_pages = (int32_t)__builtin_wasm_memory_grow(0, n_pages);
  return old_pages < 0 ? (void*)0 : (void*)((uintptr_t)old_pages * 65536u);
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* SAMEPAGE_H_ */
