# Export suites: safetensors (core) and the specialist export library (souplab_export).
# Independent checkers: /usr/bin/python3 with python3-numpy and python3-onnx (Debian), and the
# project's PyPI venv (onnxruntime, transformers with torch) made by scripts/install-py-tools.sh
# in SOUPLAB_PY_VENV (the target souplab_py_tools runs it). Without the venv the runtime
# comparisons skip loudly; SOUPLAB_REQUIRE_TEST_TOOLS=1 (the README's test command, CI) makes
# that a failure.
if(DEFINED ENV{SOUPLAB_PY_VENV})
  set(_souplab_default_venv "$ENV{SOUPLAB_PY_VENV}")
else()
  set(_souplab_default_venv "$ENV{HOME}/.cache/souplab/py-torch2.11")
endif()
set(SOUPLAB_PY_VENV "${_souplab_default_venv}" CACHE PATH
    "Python venv with onnxruntime and transformers for the export tests (scripts/install-py-tools.sh)")
add_custom_target(souplab_py_tools
  COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/install-py-tools.sh ${SOUPLAB_PY_VENV}
  COMMENT "Installing the Python test tools into ${SOUPLAB_PY_VENV}"
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
# test_specialist_export compares transformers' pipeline with souplab-cli generate, and checks that
# souplab-cli opens folders saved by transformers: it runs the CLI built with it.
add_dependencies(test_specialist_export souplab-cli)
target_compile_definitions(test_specialist_export PRIVATE SOUPLAB_CLI="$<TARGET_FILE:souplab-cli>")
foreach(t test_safetensors test_onnx_export test_specialist_export)
  set_target_properties(${t} PROPERTIES AUTOMOC ON)
  target_include_directories(${t} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_compile_definitions(${t} PRIVATE
    SOUPLAB_TEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SOUPLAB_PY_VENV="${SOUPLAB_PY_VENV}")
endforeach()
