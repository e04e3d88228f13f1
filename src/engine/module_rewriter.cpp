#include "engine/module_rewriter.h"

#include "engine/wasm_reader.h"

namespace samepage {
namespace {

constexpr uint8_t kSectionCustom = 0;
constexpr uint8_t kSectionImport = 2;
constexpr uint8_t kSectionExport = 7;

void append_leb(std::vector<uint8_t>& out, uint64_t value) {
  do {
    uint8_t byte = value & 0x7f;
    value >>= 7;
    if (value != 0) byte |= 0x80;
    out.push_back(byte);
  } while (value != 0);
}

void append_name(std::vector<uint8_t>& out, const std::string& name) {
  append_leb(out, name.size());
  out.insert(out.end(), name.begin(), name.end());
}

// Only the names matter here; parse_module has already checked the rest of
// the section, so the descriptor is skipped by its kind.
Status check_import_names(WasmReader& r) {
  uint32_t count = 0;
  SP_TRY(r.read_count(count, "import", 4));
  for (uint32_t i = 0; i < count; ++i) {
    std::string module, field;
    SP_TRY(r.read_name(module, "import module name"));
    SP_TRY(r.read_name(field, "import field name"));
    if (!is_c_identifier(module) || !is_c_identifier(field))
      return err("engine::rewrite", "import '" + printable_name(module) + "'.'" + printable_name(field) +
                                        "' is not a plain C identifier; it cannot be handed to wasm2c");
    uint8_t kind = 0;
    SP_TRY(r.read_u8(kind));
    uint32_t ignored = 0;
    // Function imports carry a type index; the engine refuses every other
    // kind before translation, so anything else stops the rewrite.
    if (kind != 0) return err("engine::rewrite", "import of kind " + hex_byte(kind) + " cannot be translated");
    SP_TRY(r.read_u32(ignored));
  }
  return Status::ok();
}

Status rewrite_exports(WasmReader& r, std::vector<uint8_t>& payload) {
  uint32_t count = 0;
  SP_TRY(r.read_count(count, "export", 3));
  append_leb(payload, count);
  for (uint32_t i = 0; i < count; ++i) {
    std::string name;
    SP_TRY(r.read_name(name, "export name"));
    uint8_t kind = 0;
    uint32_t index = 0;
    SP_TRY(r.read_u8(kind));
    SP_TRY(r.read_u32(index));
    append_name(payload, generated_export_name(i));
    payload.push_back(kind);
    append_leb(payload, index);
  }
  return Status::ok();
}

}  // namespace

std::string generated_export_name(size_t index) { return "e" + std::to_string(index); }

bool is_c_identifier(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

Result<std::vector<uint8_t>> rewrite_for_translation(const std::vector<uint8_t>& wasm) {
  WasmReader file(wasm.data(), wasm.data() + wasm.size(), 0, "module header");
  const uint8_t* header = nullptr;
  SP_TRY(file.read_bytes(8, header));
  std::vector<uint8_t> out(header, header + 8);
  out.reserve(wasm.size());
  while (!file.at_end()) {
    file.set_context("section header");
    uint8_t id = 0;
    uint32_t size = 0;
    SP_TRY(file.read_u8(id));
    SP_TRY(file.read_u32(size));
    WasmReader section(nullptr, nullptr, 0, "");
    SP_TRY(file.sub_reader(size, "section", section));
    if (id == kSectionCustom) continue;
    if (id == kSectionImport) {
      WasmReader names = section;
      SP_TRY(check_import_names(names));
    }
    if (id != kSectionExport) {
      const uint8_t* payload = nullptr;
      SP_TRY(section.read_bytes(size, payload));
      out.push_back(id);
      append_leb(out, size);
      out.insert(out.end(), payload, payload + size);
      continue;
    }
    std::vector<uint8_t> payload;
    SP_TRY(rewrite_exports(section, payload));
    if (!section.at_end()) return section.error("bytes left after the last export");
    out.push_back(id);
    append_leb(out, payload.size());
    out.insert(out.end(), payload.begin(), payload.end());
  }
  return out;
}

}  // namespace samepage
