file(READ ${IN} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${content}")
file(WRITE ${OUT} "// generated from ${IN}\nnamespace mechlens::embedded {\nstatic const char data_[] = {${bytes} 0};\nextern const char* const ${SYMBOL} = data_;\n}\n")
