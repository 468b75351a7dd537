souplab_add_test(test_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config.cpp LIBS souplab_core LABELS core)
souplab_add_test(test_loss_estimate SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_loss_estimate.cpp LIBS souplab_core LABELS core)
