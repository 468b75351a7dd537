souplab_add_test(test_moe SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_moe.cpp
                 LIBS souplab_engine_internal LABELS nn TIMEOUT 600)
