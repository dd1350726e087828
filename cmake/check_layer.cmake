# Checks that the sources of one layer include only headers of the layers
# DESIGN.md's table lets it use (docs/architecture.md). Run by the build
# before the layer compiles (peft_layer() in CMakeLists.txt):
#   cmake -DLAYER=model -DALLOWED=model,core,ops,io -DSRC=<src> -DSTAMP=<file> -P check_layer.cmake
# A breach stops the build with one line per offending include.
string(REPLACE "," ";" ALLOWED "${ALLOWED}")
file(GLOB_RECURSE files "${SRC}/${LAYER}/*.h" "${SRC}/${LAYER}/*.cpp" "${SRC}/${LAYER}/*.def")
file(GLOB layer_dirs LIST_DIRECTORIES true RELATIVE "${SRC}" "${SRC}/*")
set(errors "")
foreach(f ${files})
  file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"[^\"/]+/")
  foreach(line ${lines})
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"/]+)/.*$" "\\1" dir "${line}")
    list(FIND layer_dirs "${dir}" is_layer)
    list(FIND ALLOWED "${dir}" allowed)
    if(is_layer GREATER -1 AND allowed EQUAL -1)
      file(RELATIVE_PATH rel "${SRC}/.." "${f}")
      string(REPLACE ";" ", " may "${ALLOWED}")
      string(APPEND errors "\n  ${rel}: ${line}  (layer '${LAYER}' may use: ${may})")
    endif()
  endforeach()
endforeach()
if(errors)
  message(FATAL_ERROR "layering: includes across a forbidden arrow (DESIGN.md, docs/architecture.md):${errors}")
endif()
file(WRITE "${STAMP}" "ok\n")
