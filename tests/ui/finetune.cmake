# Fine-tuning the specialist on the sliders from the GUI: the dialog and its worker on a tiny bank
# trained by the test (held-out loss before/after, export, run log, Stop, a bad target).
if(TARGET souplab_ui)
  souplab_add_test(test_finetune_dialog
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_finetune_dialog.cpp
            ${CMAKE_CURRENT_LIST_DIR}/ui_test_corpus.h
    LIBS souplab_ui
    LABELS ui
    TIMEOUT 600)
endif()
