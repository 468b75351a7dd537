# Export suites: safetensors (core) and the specialist export library (souplab_export).
# Independent checkers: /usr/bin/python3 with python3-numpy and python3-onnx; onnxruntime-node
# installed by scripts/install-test-tools.sh into SOUPLAB_TEST_TOOLS_DIR (the target
# souplab_test_tools runs it). Without node/onnxruntime-node, test_onnx_export skips the
# runtime comparison loudly; set SOUPLAB_REQUIRE_TEST_TOOLS=1 (CI) to make that a failure.
set(SOUPLAB_TEST_TOOLS_DIR "${CMAKE_BINARY_DIR}/test-tools" CACHE PATH
    "Folder with node_modules/onnxruntime-node for the ONNX export test")
add_custom_target(souplab_test_tools
  COMMAND sh ${PROJECT_SOURCE_DIR}/scripts/install-test-tools.sh ${SOUPLAB_TEST_TOOLS_DIR}
  COMMENT "Installing onnxruntime-node into ${SOUPLAB_TEST_TOOLS_DIR}"
  VERBATIM)

souplab_add_test(test_safetensors
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_safetensors.cpp
  LIBS souplab_core
  LABELS export core)
souplab_add_test(test_onnx_export
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_onnx_export.cpp
  LIBS souplab_export
  LABELS export)
souplab_add_test(test_specialist_export
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_specialist_export.cpp
  LIBS souplab_export
  LABELS export)
foreach(t test_safetensors test_onnx_export test_specialist_export)
  set_target_properties(${t} PROPERTIES AUTOMOC ON)
  target_include_directories(${t} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_compile_definitions(${t} PRIVATE
    SOUPLAB_TEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SOUPLAB_TEST_TOOLS_DIR="${SOUPLAB_TEST_TOOLS_DIR}")
endforeach()
