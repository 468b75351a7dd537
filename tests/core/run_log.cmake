souplab_add_test(test_run_log SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_run_log.cpp LIBS souplab_core LABELS core)
# Qt Test needs moc for the test class; souplab_add_test does not turn it on (yet).
set_target_properties(test_run_log PROPERTIES AUTOMOC ON)
