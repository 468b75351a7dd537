# Data-parallel training over c10d/Gloo on loopback: ranks as threads of one test process.
souplab_add_test(test_distributed SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_distributed.cpp
                 LIBS souplab_engine_internal LABELS nn dist TIMEOUT 600)
