# `cpack -G DEB` in the build folder: kbindex_<version>_<arch>.deb from the install rules, with
# prefix /usr. Its library dependencies are computed by dpkg-shlibdeps (package dpkg-dev);
# Node.js and npm are needed to install and run the managed Chroma (kbindex-install-chroma).
set(CPACK_PACKAGE_NAME kbindex)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "kbindex")
set(KBINDEX_PACKAGE_MAINTAINER "kbindex maintainers <maintainers@users.noreply.b-seed-c52e0681.example>"
    CACHE STRING "Maintainer field of the .deb")
set(CPACK_PACKAGE_CONTACT "${KBINDEX_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "local-first note index: SQLite FTS5 keyword search + ChromaDB semantic search")
set(CPACK_PACKAGE_DESCRIPTION "kbindex keeps a folder of notes (or notes pushed by a desktop app) searchable by
keyword, with SQLite FTS5, and by meaning, in a ChromaDB collection. SQLite is the
source of truth; Chroma is a derived index that converges to it.
.
This package holds the kbindex command line, libkbindex (C++ library, headers, CMake
package and pkg-config file), the man page and a systemd user unit for `kbindex serve`.
Run kbindex-install-chroma once to install the pinned Chroma server (npm).")
set(CPACK_GENERATOR DEB)
# Install with DESTDIR and the real prefix, so that files written at install time
# (cmake/install_time.cmake) name /usr, not CPack's staging folder. The library goes to the
# libdir chosen at configuration: /usr/lib, or the multiarch /usr/lib/<triplet> when configured
# with -DCMAKE_INSTALL_PREFIX=/usr.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "nodejs (>= 18), npm")
find_program(KB_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(KB_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()
# A shlibs file and the ldconfig trigger for libkbindex.so.<major>.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
include(CPack)
