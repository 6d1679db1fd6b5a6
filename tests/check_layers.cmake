# The floors (see CMakeLists.txt, kb_floor): which folders each folder may include from. A
# folder may include its own headers, the public headers (kbindex/...), and the floors below it.
#   cmake -DSOURCE_DIR=<repo> -DBINARY_DIR=<build> -DCXX=<compiler> -P tests/check_layers.cmake
# Fails listing every #include that reaches up a floor, every use of a private header from
# outside its folder, and when a lower floor's include roots can reach a higher floor's headers.
set(allowed_util      util)
set(allowed_store     store util)
set(allowed_scan      scan store util)
set(allowed_embed     embed util)
set(allowed_vector    vector util)
set(allowed_sync      sync store scan embed vector util)
set(allowed_search    search store scan embed vector sync util)
set(allowed_worker    worker sync store scan embed vector util)
set(allowed_sources   sources store scan util)
set(allowed_app       app sources worker search sync store scan embed vector util)
set(allowed_watch     watch app sources worker search sync store scan embed vector util)
set(allowed_api       api watch app sources worker search sync store scan embed vector util)
set(allowed_mcp       mcp api watch app sources worker search sync store scan embed vector util)
set(allowed_lib       lib watch app sources worker search sync store scan embed vector util)
set(allowed_cli       cli lib mcp api watch app sources worker search sync store scan embed vector util)
# Headers only their own folder may include.
set(private_headers "store/store_impl.h")

file(GLOB_RECURSE files "${SOURCE_DIR}/src/*.h" "${SOURCE_DIR}/src/*.cpp" "${SOURCE_DIR}/worker/*.h"
     "${SOURCE_DIR}/worker/*.cpp")
set(violations "")
foreach(f IN LISTS files)
  file(RELATIVE_PATH rel "${SOURCE_DIR}" "${f}")
  if(rel MATCHES "^worker/")
    set(floor worker)
  else()
    string(REGEX REPLACE "^src/([^/]+)/.*" "\\1" floor "${rel}")
  endif()
  if(NOT DEFINED allowed_${floor})
    string(APPEND violations "\n  ${rel}: folder '${floor}' is not a floor in tests/check_layers.cmake")
    continue()
  endif()
  file(STRINGS "${f}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]+)\".*" "\\1" header "${line}")
    string(REGEX REPLACE "/.*" "" target "${header}")
    if(header STREQUAL target OR target STREQUAL "kbindex")
      continue()  # a local header without a folder, or the public API
    endif()
    list(FIND allowed_${floor} "${target}" found)
    if(found EQUAL -1)
      string(APPEND violations "\n  ${rel}: includes \"${header}\" (floor '${floor}' may not reach '${target}')")
    endif()
    list(FIND private_headers "${header}" private)
    if(NOT private EQUAL -1 AND NOT target STREQUAL floor)
      string(APPEND violations "\n  ${rel}: includes the private header \"${header}\"")
    endif()
  endforeach()
endforeach()

# The build enforces it too: with the store floor's include roots, an app header is not there.
set(probe "${BINARY_DIR}/layer_probe.cpp")
file(WRITE "${probe}" "#include \"app/services.h\"\n")
execute_process(COMMAND "${CXX}" -std=c++20 -fsyntax-only -I "${BINARY_DIR}/floors/kb_store"
                        -I "${BINARY_DIR}/floors/kb_util" -I "${SOURCE_DIR}/include" "${probe}"
                RESULT_VARIABLE probe_result ERROR_VARIABLE probe_error)
if(probe_result EQUAL 0 OR NOT probe_error MATCHES "app/services.h")
  string(APPEND violations "\n  the store floor's include roots reach app/services.h (${probe_error})")
endif()

if(violations)
  message(FATAL_ERROR "layering violations:${violations}")
endif()
list(LENGTH files n)
message(STATUS "layering: ${n} files, every #include within its floor")
