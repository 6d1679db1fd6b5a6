# Included by cmake_install.cmake: runs at install time, when the prefix is known. The prefix is
# chosen after configuration (`cmake --install build --prefix P`, CPack's /usr), so the files
# that must name installed paths (the systemd unit's ExecStart, the pkg-config file) are
# configured here rather than at configure time.
#
# Set by the caller: KB_BINDIR, KB_LIBDIR, KB_INCLUDEDIR (as configured: relative to the prefix
# or absolute), KB_WORK_DIR (scratch space in the build tree), PROJECT_VERSION,
# PROJECT_DESCRIPTION.

# Configures `template` (@VAR@ only) and installs the result, named after the template without
# its .in, into `destination` (relative to the prefix, or absolute). Variables a template may use:
# KB_INSTALL_PREFIX, KB_INSTALL_FULL_{BINDIR,LIBDIR,INCLUDEDIR} (absolute) and
# KB_PC_{LIBDIR,INCLUDEDIR} (${prefix}-relative when under the prefix, for pkg-config).
function(kb_install_configured template destination)
  set(KB_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
  foreach(dir BINDIR LIBDIR INCLUDEDIR)
    if(IS_ABSOLUTE "${KB_${dir}}")
      set(KB_INSTALL_FULL_${dir} "${KB_${dir}}")
      set(KB_PC_${dir} "${KB_${dir}}")
    else()
      set(KB_INSTALL_FULL_${dir} "${CMAKE_INSTALL_PREFIX}/${KB_${dir}}")
      set(KB_PC_${dir} "\${prefix}/${KB_${dir}}")
    endif()
  endforeach()
  get_filename_component(name "${template}" NAME)
  string(REGEX REPLACE "\\.in$" "" name "${name}")
  # One scratch folder per destination: two installs to different prefixes do not share it.
  string(MD5 key "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
  set(configured "${KB_WORK_DIR}/${key}/${name}")
  configure_file("${template}" "${configured}" @ONLY)
  if(NOT IS_ABSOLUTE "${destination}")
    set(destination "${CMAKE_INSTALL_PREFIX}/${destination}")
  endif()
  file(INSTALL DESTINATION "${destination}" TYPE FILE FILES "${configured}")
endfunction()
