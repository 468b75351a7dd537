# "Specialist for this text…" in the explorer: a target text's domain weights estimated off the
# GUI thread move the sliders (tiny bank trained by the test).
if(TARGET souplab_ui)
  souplab_add_test(test_target_weights_button
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_target_weights_button.cpp
    LIBS souplab_ui
    LABELS ui
    TIMEOUT 300)
endif()

# "New corpus from unlabelled text…": clustering a raw folder off the GUI thread, then training on it.
if(TARGET souplab_ui)
  souplab_add_test(test_cluster_dialog
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cluster_dialog.cpp
    LIBS souplab_ui
    LABELS ui
    TIMEOUT 300)
endif()
