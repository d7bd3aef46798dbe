# mechlens_add_plugin(<name> SOURCES ...): one analysis plugin = one shared
# library in the build's plugin folder, exporting only the factory and ABI
# symbols (hidden visibility for everything else).
#
# The same function builds mechlens' own plugins and, installed with the CMake
# package (find_package(mechlens)), a user's plugins outside this repository.
# It reads, at the call:
#   mechlens::api               the target plugins link (public headers, libmechlens, libtorch)
#   MECHLENS_PLUGIN_DIR         where the library is written (a user build: <build>/plugins)
#   MECHLENS_TORCH_PCH          headers precompiled per plugin (empty: none;
#                               CMAKE_DISABLE_PRECOMPILE_HEADERS also turns it off)
#   MECHLENS_PLUGIN_INSTALL_DIR when set, `install` puts the plugin there, with
#                               an RPATH to MECHLENS_PLUGIN_INSTALL_RPATH
function(mechlens_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES" ${ARGN})
  add_library(${name} MODULE ${P_SOURCES})
  target_link_libraries(${name} PRIVATE mechlens::api)
  set_target_properties(${name} PROPERTIES
    PREFIX "mechlens_plugin_"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${MECHLENS_PLUGIN_DIR})
  if(MECHLENS_TORCH_PCH)
    target_precompile_headers(${name} PRIVATE ${MECHLENS_TORCH_PCH})
  endif()
  if(MECHLENS_PLUGIN_INSTALL_DIR)
    set_target_properties(${name} PROPERTIES INSTALL_RPATH "${MECHLENS_PLUGIN_INSTALL_RPATH}")
    install(TARGETS ${name} LIBRARY DESTINATION ${MECHLENS_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
