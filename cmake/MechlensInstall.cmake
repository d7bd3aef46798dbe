# `cmake --install build --prefix P`: the mechlens and mechlens-make-tiny
# executables, libmechlens.so, the shipped plugins, the public headers
# (include/mechlens: the plugin API, nothing from framework/src), the recipe
# schema and result layout, the toy models, the plugin guide, and the CMake
# package a user's plugin is built with:
#
#   find_package(mechlens)           # mechlens::api, mechlens_add_plugin()
#   mechlens_add_plugin(my_analysis SOURCES my_analysis.cpp)
#
# Layout (cmake/MechlensLayout.cmake):
#   P/bin/mechlens, P/bin/mechlens-make-tiny
#   P/lib/libmechlens.so, P/lib/mechlens/plugins/, P/lib/cmake/mechlens/
#   P/include/mechlens/*.hpp
#   P/share/mechlens/{schemas,toy/models}/, P/share/doc/mechlens/
include(CMakePackageConfigHelpers)

# Where the running host looks: the build tree while it runs from build/lib,
# else relative to the installed library (framework/src/host/install_layout.cpp).
mechlens_relative(lib_to_plugins ${CMAKE_INSTALL_LIBDIR} ${MECHLENS_INSTALL_PLUGIN_DIR})
mechlens_relative(lib_to_prefix ${CMAKE_INSTALL_LIBDIR} .)
mechlens_relative(lib_to_toys ${CMAKE_INSTALL_LIBDIR} ${MECHLENS_INSTALL_TOY_MODELS_DIR})
target_compile_definitions(mechlens_host PRIVATE
  MECHLENS_BUILD_LIB_DIR="${CMAKE_BINARY_DIR}/lib"
  MECHLENS_SOURCE_TOY_MODELS_DIR="${PROJECT_SOURCE_DIR}/experiments/toy/models"
  MECHLENS_INSTALLED_PLUGIN_DIR_FROM_LIB="${lib_to_plugins}"
  MECHLENS_INSTALLED_PREFIX_FROM_LIB="${lib_to_prefix}"
  MECHLENS_INSTALLED_TOY_MODELS_DIR_FROM_LIB="${lib_to_toys}")

# Installed executables find libmechlens.so beside them; libtorch outside
# the system folders (an upstream CUDA build) through the link path.
mechlens_relative(bin_to_lib ${CMAKE_INSTALL_BINDIR} ${CMAKE_INSTALL_LIBDIR})
set_target_properties(mechlens_cli tiny_checkpoints PROPERTIES
  INSTALL_RPATH "$ORIGIN/${bin_to_lib}" INSTALL_RPATH_USE_LINK_PATH ON)
set_target_properties(mechlens PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)
install(TARGETS mechlens_cli tiny_checkpoints RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS mechlens LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
# (the shipped plugins install themselves: plugins/CMakeLists.txt sets MECHLENS_PLUGIN_INSTALL_DIR)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/framework/include/mechlens DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(FILES ${PROJECT_SOURCE_DIR}/schemas/recipe.schema.toml ${PROJECT_SOURCE_DIR}/schemas/recipe.md
              ${PROJECT_SOURCE_DIR}/schemas/results.md
        DESTINATION ${MECHLENS_INSTALL_DATA_DIR}/schemas)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/experiments/toy/models/ DESTINATION ${MECHLENS_INSTALL_TOY_MODELS_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/writing-a-plugin.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The CMake package. Written by hand rather than exported: a plugin needs the
# public headers, libmechlens and libtorch, not the host's private link
# interface (HDF5, toml++, PCRE2, ...).
file(STRINGS ${PROJECT_SOURCE_DIR}/framework/include/mechlens/abi.hpp abi_line REGEX "kPluginAbiVersion = [0-9]+")
string(REGEX MATCH "[0-9]+" MECHLENS_PLUGIN_ABI_VERSION "${abi_line}")
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mechlensConfig.cmake.in
  ${CMAKE_BINARY_DIR}/package/mechlensConfig.cmake
  INSTALL_DESTINATION ${MECHLENS_INSTALL_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
# A plugin is checked against the host's ABI version when loaded; the package
# version only keeps a build from picking up an unrelated mechlens.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/package/mechlensConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/package/mechlensConfig.cmake ${CMAKE_BINARY_DIR}/package/mechlensConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/MechlensPlugin.cmake
        DESTINATION ${MECHLENS_INSTALL_CMAKE_DIR})

# `cpack -G DEB` in the build folder: a Debian package of the same install.
set(CPACK_PACKAGE_NAME mechlens)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "mechlens developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Interpretability experiments on transformer models from C++ (host, plugins, SDK)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "cmake, g++, libtorch-dev, libboost-dev")  # to build plugins
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
include(CPack)
