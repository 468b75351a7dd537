# The explorer on a 1366 x 768 screen with 14 and 64 domains: under Xvfb (xvfb-run, the xcb
# platform). Skipped (77) where xvfb-run is missing.
if(TARGET souplab_ui)
  add_executable(test_explorer_layout ${CMAKE_CURRENT_LIST_DIR}/test_explorer_layout.cpp)
  target_link_libraries(test_explorer_layout PRIVATE Qt6::Test souplab_ui)
  target_include_directories(test_explorer_layout PRIVATE ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  set_target_properties(test_explorer_layout PROPERTIES AUTOMOC ON)
  add_test(NAME test_explorer_layout
           COMMAND sh -c "command -v xvfb-run >/dev/null || exit 77; exec xvfb-run -a -s '-screen 0 1366x768x24' \"$0\"" $<TARGET_FILE:test_explorer_layout>)
  set_tests_properties(test_explorer_layout PROPERTIES
    LABELS ui TIMEOUT 600 SKIP_RETURN_CODE 77
    ENVIRONMENT "QT_QPA_PLATFORM=xcb;OMP_NUM_THREADS=1")
endif()
