# GUI suites of the training monitor, run browser and plot helpers (offscreen Qt).
if(TARGET souplab_ui)
  souplab_add_test(test_metric_series
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_metric_series.cpp
    LIBS souplab_glue
    LABELS ui)
  souplab_add_test(test_core_share
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core_share.cpp
    LIBS souplab_glue
    LABELS ui)
  souplab_add_test(test_training_monitor
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_training_monitor.cpp
            ${CMAKE_CURRENT_LIST_DIR}/ui_test_corpus.h
    LIBS souplab_ui
    LABELS ui
    TIMEOUT 900)
  souplab_add_test(test_run_browser
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_run_browser.cpp
    LIBS souplab_ui
    LABELS ui)
endif()
