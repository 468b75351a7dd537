# Model merges (issue 9 item 4): the arithmetic (core, no torch), the engine's load / merge /
# export round trip on real exports and a tiny trained bank, the CLI, and the GUI's merge page.
souplab_add_test(test_merge_math
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_merge_math.cpp
  LIBS souplab_core
  LABELS merge core)
souplab_add_test(test_merge
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_merge.cpp
  LIBS souplab_engine_internal
  LABELS merge nn
  TIMEOUT 900)
add_test(NAME cli_merge
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_merge_cli.sh $<TARGET_FILE:souplab-cli> ${PROJECT_SOURCE_DIR})
set_tests_properties(cli_merge PROPERTIES LABELS "merge;app" TIMEOUT 600 ENVIRONMENT "OMP_NUM_THREADS=2")
if(TARGET souplab_ui)
  souplab_add_test(test_merge_page
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_merge_page.cpp
    LIBS souplab_ui
    LABELS merge ui
    TIMEOUT 900)
endif()
