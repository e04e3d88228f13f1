# Builds WebAssembly guests (wasm32-wasi) with Debian's clang, wasi-libc and
# libc++ for wasm32. Guests are built without -msimd128: the wasm2c that
# samepage uses cannot translate SIMD.
#
#   samepage_add_guest(NAME SOURCES a.c [b.cpp ...] [FLAGS -O2 ...])
# produces ${SAMEPAGE_GUEST_DIR}/NAME.wasm and a target guest_NAME.

find_program(SAMEPAGE_WASM_CC NAMES clang-14 clang REQUIRED)
find_program(SAMEPAGE_WASM_CXX NAMES clang++-14 clang++ REQUIRED)
set(SAMEPAGE_GUEST_DIR ${CMAKE_BINARY_DIR}/guests CACHE INTERNAL "")
set(SAMEPAGE_GUEST_SDK_INCLUDE ${CMAKE_CURRENT_LIST_DIR}/../include CACHE INTERNAL "")

function(samepage_add_guest name)
  cmake_parse_arguments(G "" "" "SOURCES;FLAGS" ${ARGN})
  set(out ${SAMEPAGE_GUEST_DIR}/${name}.wasm)
  set(driver ${SAMEPAGE_WASM_CC})
  set(sources "")
  foreach(src IN LISTS G_SOURCES)
    get_filename_component(abs ${src} ABSOLUTE)
    list(APPEND sources ${abs})
    if(abs MATCHES "\\.(cpp|cc|cxx)$")
      set(driver ${SAMEPAGE_WASM_CXX})
    endif()
  endforeach()
  if(NOT G_FLAGS)
    set(G_FLAGS -O2)
  endif()
  file(GLOB sdk_headers ${SAMEPAGE_GUEST_SDK_INCLUDE}/*.h)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${SAMEPAGE_GUEST_DIR}
    COMMAND ${driver} --target=wasm32-wasi -fno-exceptions
            -I${SAMEPAGE_GUEST_SDK_INCLUDE} ${G_FLAGS} ${sources} -o ${out}
    DEPENDS ${sources} ${sdk_headers}
    COMMENT "guest ${name}.wasm"
    VERBATIM)
  add_custom_target(guest_${name} ALL DEPENDS ${out})
endfunction()
