# The parts of the runtime (DESIGN.md §2) as CMake targets whose include
# scopes enforce the layering: a part sees the headers of the parts it
# declares in DEPENDS (and theirs), and nothing else.
#
#   samepage_part(NAME
#     [HEADERS dir]              src/<dir>/*.h, reachable as "<dir>/x.h"
#     [SOURCES dir]              src/<dir>/*.{cpp,c,cu}: the part's code (not recursive)
#     [PUBLIC_HEADERS h ...]     include/samepage/<h> owned by this part, reachable as "samepage/<h>"
#     [DEPENDS part ...])
#
# makes samepage_NAME_headers (INTERFACE: the part's headers and its
# dependencies') and, when it has sources, samepage_NAME (an OBJECT library
# that sees only those). The objects of every part go into samepage_core.
#
# Each part's headers are exposed through a directory of its own,
# ${SAMEPAGE_PARTS_DIR}/NAME, that holds relative symbolic links to them
# under the same names as in src/ and include/: the sources include
# "engine/x.h" as before, but only a part that may depend on the engine has
# the directory in which "engine/x.h" exists. No source moves.

set(SAMEPAGE_PARTS_DIR ${CMAKE_BINARY_DIR}/parts)
set_property(GLOBAL PROPERTY SAMEPAGE_PART_OBJECT_TARGETS "")
set_property(GLOBAL PROPERTY SAMEPAGE_PARTS "")

function(_samepage_link_header header link)
  get_filename_component(link_dir ${link} DIRECTORY)
  file(MAKE_DIRECTORY ${link_dir})
  file(RELATIVE_PATH target ${link_dir} ${header})
  file(CREATE_LINK ${target} ${link} SYMBOLIC)
endfunction()

function(samepage_part name)
  cmake_parse_arguments(P "" "HEADERS;SOURCES" "PUBLIC_HEADERS;DEPENDS" ${ARGN})
  set(view ${SAMEPAGE_PARTS_DIR}/${name})
  # Rebuilt on every configure: a header removed from src/ leaves no link behind.
  # Only links live here, so removing the tree never touches a source.
  file(REMOVE_RECURSE ${view})
  file(MAKE_DIRECTORY ${view})
  if(P_HEADERS)
    file(GLOB headers CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${P_HEADERS}/*.h)
    foreach(h IN LISTS headers)
      get_filename_component(file ${h} NAME)
      _samepage_link_header(${h} ${view}/${P_HEADERS}/${file})
    endforeach()
  endif()
  foreach(h IN LISTS P_PUBLIC_HEADERS)
    _samepage_link_header(${CMAKE_SOURCE_DIR}/include/samepage/${h} ${view}/samepage/${h})
  endforeach()

  add_library(samepage_${name}_headers INTERFACE)
  target_include_directories(samepage_${name}_headers INTERFACE ${view})
  foreach(dep IN LISTS P_DEPENDS)
    target_link_libraries(samepage_${name}_headers INTERFACE samepage_${dep}_headers)
  endforeach()
  set_property(GLOBAL APPEND PROPERTY SAMEPAGE_PARTS ${name})

  if(P_SOURCES)
    file(GLOB sources CONFIGURE_DEPENDS
      ${CMAKE_SOURCE_DIR}/src/${P_SOURCES}/*.cpp
      ${CMAKE_SOURCE_DIR}/src/${P_SOURCES}/*.c
      ${CMAKE_SOURCE_DIR}/src/${P_SOURCES}/*.cu)
    add_library(samepage_${name} OBJECT ${sources})
    target_link_libraries(samepage_${name} PRIVATE samepage_${name}_headers)
    set_property(GLOBAL APPEND PROPERTY SAMEPAGE_PART_OBJECT_TARGETS samepage_${name})
  endif()
endfunction()

# A build-time check that a rule holds: compiling a file that includes
# `header` with the include scope of `part` must fail because the header is
# not there. The probe is never part of the default build; CTest builds it.
function(samepage_layering_probe part header)
  string(MAKE_C_IDENTIFIER "${part}_includes_${header}" id)
  set(src ${CMAKE_BINARY_DIR}/layering_probes/${id}.cpp)
  file(WRITE ${src} "// ${part} may not depend on what declares ${header} (DESIGN.md §2).\n#include \"${header}\"\n")
  add_library(layering_probe_${id} OBJECT EXCLUDE_FROM_ALL ${src})
  target_link_libraries(layering_probe_${id} PRIVATE samepage_${part}_headers)
  get_filename_component(header_name ${header} NAME)
  add_test(NAME Layering.${part}_cannot_include_${header}
           COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target layering_probe_${id})
  # Passes only on the compiler's "not found" for this very header, not on any failure.
  string(REPLACE "." "\\." header_re "${header}")
  set_tests_properties(Layering.${part}_cannot_include_${header} PROPERTIES
    PASS_REGULAR_EXPRESSION "${header_re}: No such file or directory"
    RESOURCE_LOCK samepage_build_tree)
endfunction()

# The opposite check, so that a probe cannot pass for a broken scope: the
# part does reach a header it is allowed to use.
function(samepage_layering_control part header)
  string(MAKE_C_IDENTIFIER "${part}_reaches_${header}" id)
  set(src ${CMAKE_BINARY_DIR}/layering_probes/${id}.cpp)
  file(WRITE ${src} "#include \"${header}\"\n")
  add_library(layering_probe_${id} OBJECT EXCLUDE_FROM_ALL ${src})
  target_link_libraries(layering_probe_${id} PRIVATE samepage_${part}_headers)
  add_test(NAME Layering.${part}_reaches_${header}
           COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target layering_probe_${id})
  set_tests_properties(Layering.${part}_reaches_${header} PROPERTIES RESOURCE_LOCK samepage_build_tree)
endfunction()
