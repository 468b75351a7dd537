souplab_add_test(test_posthoc SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_posthoc.cpp
                 LIBS souplab_engine_internal LABELS nn TIMEOUT 900)
