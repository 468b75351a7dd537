# Exporting a specialist from the GUI: the export worker and dialog on a tiny bank trained by
# the test itself (files, exact logits after reload, run log row, refusal to overwrite).
if(TARGET souplab_ui)
  souplab_add_test(test_export_dialog
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_export_dialog.cpp
            ${CMAKE_CURRENT_LIST_DIR}/ui_test_corpus.h
    LIBS souplab_ui
    LABELS ui
    TIMEOUT 900)
endif()
