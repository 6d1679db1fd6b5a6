# Renders kbindex.1 from the command line's own definition: `kbindex --man` (src/cli/man_page.cpp).
# Usage: cmake -DKBINDEX=<kbindex binary> -DOUTPUT=<kbindex.1> -P render_man.cmake
get_filename_component(dir "${OUTPUT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
execute_process(COMMAND "${KBINDEX}" --man
  OUTPUT_FILE "${OUTPUT}.tmp" ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "`${KBINDEX} --man` failed (${rc}): ${err}")
endif()
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
