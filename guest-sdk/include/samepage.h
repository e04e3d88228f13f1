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

#ifdef __cplusplus
}
#endif

#endif /* SAMEPAGE_H_ */
