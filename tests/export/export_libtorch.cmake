# Export round trip through libtorch: a random bank checkpoint -> Bank::load -> specialist at a
# random h -> export_specialist -> (a) Bank::load of the export gives bit-identical parameters
# and logits, (b) model.onnx run in onnxruntime-node matches libtorch's logits.
if(NOT DEFINED SOUPLAB_TEST_TOOLS_DIR)  # normally set by export.cmake (included before this)
  set(SOUPLAB_TEST_TOOLS_DIR "${CMAKE_BINARY_DIR}/test-tools")
endif()
souplab_add_test(test_export_libtorch
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_export_libtorch.cpp
  LIBS souplab_engine
  LABELS export)
target_include_directories(test_export_libtorch PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(test_export_libtorch PRIVATE
  SOUPLAB_TEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  SOUPLAB_TEST_TOOLS_DIR="${SOUPLAB_TEST_TOOLS_DIR}")
