# Finds CAF 0.17 (Debian libcaf-dev), which ships neither CAFConfig.cmake nor caf.pc.
# Defines the imported targets caf::core, caf::io and caf::openssl.
find_path(CAF_INCLUDE_DIR caf/all.hpp)
find_library(CAF_CORE_LIB caf_core)
find_library(CAF_IO_LIB caf_io)
find_library(CAF_OPENSSL_LIB caf_openssl)
if(CAF_INCLUDE_DIR)
  file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" _caf_v REGEX "#define CAF_VERSION [0-9]+")
  string(REGEX MATCH "[0-9]+" CAF_VERSION_NUM "${_caf_v}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CAF017
  REQUIRED_VARS CAF_INCLUDE_DIR CAF_CORE_LIB CAF_IO_LIB CAF_OPENSSL_LIB CAF_VERSION_NUM)
if(CAF017_FOUND)
  if(CAF_VERSION_NUM LESS 1700 OR CAF_VERSION_NUM GREATER_EQUAL 1800)
    message(FATAL_ERROR "Stage E needs CAF 0.17.x, found ${CAF_VERSION_NUM} (install Debian's libcaf-dev)")
  endif()
  if(NOT TARGET caf::core)
    add_library(caf::core INTERFACE IMPORTED)
    set_target_properties(caf::core PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "${CAF_CORE_LIB};Threads::Threads")
    add_library(caf::io INTERFACE IMPORTED)
    set_target_properties(caf::io PROPERTIES INTERFACE_LINK_LIBRARIES "${CAF_IO_LIB};caf::core")
    add_library(caf::openssl INTERFACE IMPORTED)
    set_target_properties(caf::openssl PROPERTIES
      INTERFACE_LINK_LIBRARIES "${CAF_OPENSSL_LIB};caf::io;OpenSSL::SSL")
  endif()
endif()
