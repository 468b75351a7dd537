souplab_add_test(test_domains SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_domains.cpp
                 LIBS souplab_engine_internal LABELS nn TIMEOUT 300)
