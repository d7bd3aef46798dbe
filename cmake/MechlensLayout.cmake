# Where `cmake --install build --prefix P` puts things, relative to P. The
# host finds its plugins and toy models relative to the installed
# libmechlens.so (framework/src/host/install_layout.cpp), so a prefix can be
# moved; these folders are compiled in as paths relative to the library's.
include(GNUInstallDirs)
set(MECHLENS_INSTALL_PLUGIN_DIR ${CMAKE_INSTALL_LIBDIR}/mechlens/plugins)
set(MECHLENS_INSTALL_DATA_DIR ${CMAKE_INSTALL_DATADIR}/mechlens)
set(MECHLENS_INSTALL_TOY_MODELS_DIR ${MECHLENS_INSTALL_DATA_DIR}/toy/models)
set(MECHLENS_INSTALL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mechlens)

# mechlens_relative(<var> <from> <to>): path from install folder <from> to <to>.
function(mechlens_relative var from to)
  file(RELATIVE_PATH rel /prefix/${from} /prefix/${to})
  if(rel STREQUAL "")
    set(rel ".")
  endif()
  set(${var} ${rel} PARENT_SCOPE)
endfunction()

# Shipped plugins find libmechlens.so through their RPATH ($ORIGIN: the plugin's folder).
mechlens_relative(plugin_to_lib ${MECHLENS_INSTALL_PLUGIN_DIR} ${CMAKE_INSTALL_LIBDIR})
set(MECHLENS_PLUGIN_INSTALL_RPATH "$ORIGIN/${plugin_to_lib}")
