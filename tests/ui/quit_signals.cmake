# Ctrl-C / SIGTERM in the GUI: the self-pipe handler and the clean stop of a training run.
if(TARGET souplab_ui)
  souplab_add_test(test_quit_signals
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_quit_signals.cpp
            ${CMAKE_CURRENT_LIST_DIR}/ui_test_corpus.h
    LIBS souplab_ui
    LABELS ui
    TIMEOUT 900)
endif()
