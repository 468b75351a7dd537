# The Compare page: building LoRA experts from the GUI on a worker, then evaluating models side by
# side (table + grouped bars) on the compare worker.
if(TARGET souplab_ui)
  souplab_add_test(test_compare_view
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_compare_view.cpp
            ${CMAKE_CURRENT_LIST_DIR}/ui_test_corpus.h
    LIBS souplab_ui
    LABELS ui
    TIMEOUT 900)
endif()
