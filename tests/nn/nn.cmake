souplab_add_test(test_soup_model SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_soup_model.cpp
                 LIBS souplab_engine LABELS nn)
souplab_add_test(test_training SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_training.cpp
                 LIBS souplab_engine LABELS nn TIMEOUT 900)
souplab_add_test(test_device SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_device.cpp
                 LIBS souplab_engine LABELS nn)
if(SOUPLAB_WITH_CUDA)
  target_compile_definitions(test_device PRIVATE SOUPLAB_TEST_CUDA_BUILD=1)
endif()
