// The glue file: a small C source compiled next to wasm2c's output that
// exposes one fixed C ABI, whatever the module's name, imports and exports.
// The loader only ever looks up these symbols.
#pragma once

#include <string>

#include "samepage/module_info.h"

namespace samepage {

// 2: export names carry their length (a wasm name may hold a NUL byte).
// 3: the glue includes wasm2c's .c (one translation unit) and exposes the
//    state a snapshot needs: samepage_glue_globals, _tables, _functions.
constexpr unsigned kGlueAbiVersion = 3;
constexpr const char* kGuestModuleName = "guest";  // wasm2c -n guest → Z_guest_*

// Signature code of a function type: params ':' results, one letter a value
// (i = i32, I = i64, f = f32, F = f64, v = v128, r = funcref, e = externref).
std::string signature_code(const FuncType& type);

// "module\tfield\tsignature\n" for every function import, embedded in the
// artifact so a precompiled guest can be checked before it is linked.
std::string encode_import_list(const ModuleInfo& info);
// Parses encode_import_list's output back into function imports.
Result<std::vector<ImportInfo>> decode_import_list(const std::string& text);

// Writes glue C (which includes guest.c: compile it alone) for wasm2c's generated header (text of guest.h) of the module
// rewrite_for_translation made from the module `info` describes: export i of
// `info` is wasm2c's generated_export_name(i), and its real name appears only
// as an escaped C string literal.
// `generated_source` is wasm2c's .c (its defined functions are read from it).
Result<std::string> write_glue(const std::string& generated_header, const ModuleInfo& info,
                               const std::string& wasm_sha256, const std::string& generated_source = "");

}  // namespace samepage
