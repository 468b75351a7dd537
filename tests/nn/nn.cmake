souplab_add_test(test_soup_model SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_soup_model.cpp
                 LIBS souplab_engine_internal LABELS nn)
souplab_add_test(test_training SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_training.cpp
                 LIBS souplab_engine_internal LABELS nn TIMEOUT 900)
souplab_add_test(test_device SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_device.cpp
                 LIBS souplab_engine_internal LABELS nn)
if(SOUPLAB_WITH_CUDA)
  target_compile_definitions(test_device PRIVATE SOUPLAB_TEST_CUDA_BUILD=1)
endif()
# The fused AdamW against torch.optim.AdamW (reference tensors from make_adamw_golden.py).
souplab_add_test(test_adamw_golden SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_adamw_golden.cpp
                 LIBS souplab_engine_internal LABELS nn)
target_compile_definitions(test_adamw_golden PRIVATE
  SOUPLAB_ADAMW_GOLDEN="${CMAKE_CURRENT_LIST_DIR}/adamw_golden.json")
# Fine-tuning a specialist on a target text, and S started from a dense model (train.init_from).
souplab_add_test(test_finetune SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_finetune.cpp
                 LIBS souplab_engine_internal LABELS nn)
# The CUDA kernels against their CPU references: skipped (exit 77) without a CUDA device.
souplab_add_test(test_cuda_kernels SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cuda_kernels.cpp
                 LIBS souplab_engine_internal LABELS nn cuda)
set_tests_properties(test_cuda_kernels PROPERTIES SKIP_RETURN_CODE 77)
