# Export round trip through libtorch: a random bank checkpoint -> Bank::load -> specialist at a
# random h -> export_specialist -> (a) Bank::load of the export gives bit-identical parameters
# and logits, (b) model.onnx run in onnxruntime and (c) the folder loaded by transformers match
# libtorch's logits. SOUPLAB_PY_VENV comes from export.cmake (included before this file).
souplab_add_test(test_export_libtorch
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_export_libtorch.cpp
  LIBS souplab_engine_internal
  LABELS export)
target_include_directories(test_export_libtorch PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(test_export_libtorch PRIVATE
  SOUPLAB_TEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  SOUPLAB_PY_VENV="${SOUPLAB_PY_VENV}")
