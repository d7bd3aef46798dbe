# embed_text_file(<target> <file> <symbol>): compiles <file> into <target> as
# `extern const char* const <symbol>`, so the binary carries the normative text
# (e.g. the recipe schema) instead of a hand-copied twin that could drift.
function(embed_text_file target file symbol)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/embedded_${symbol}.cpp)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DIN=${file} -DOUT=${out} -DSYMBOL=${symbol}
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedFileScript.cmake
    DEPENDS ${file} ${PROJECT_SOURCE_DIR}/cmake/EmbedFileScript.cmake
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
