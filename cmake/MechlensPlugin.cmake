# mechlens_add_plugin(<name> SOURCES ...): one analysis plugin = one shared
# library in the build's plugin folder, exporting only the factory and ABI
# symbols (hidden visibility for everything else).
function(mechlens_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES" ${ARGN})
  add_library(${name} MODULE ${P_SOURCES})
  target_link_libraries(${name} PRIVATE mechlens_api)
  set_target_properties(${name} PROPERTIES
    PREFIX "mechlens_plugin_"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${MECHLENS_PLUGIN_DIR})
  target_precompile_headers(${name} PRIVATE ${MECHLENS_TORCH_PCH})
endfunction()
