# The explorer's reference picker: equal-budget dense runs from the run log.
if(TARGET souplab_ui)
  souplab_add_test(test_baseline_picker
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_baseline_picker.cpp
    LIBS souplab_ui
    LABELS ui
    TIMEOUT 300)
endif()
