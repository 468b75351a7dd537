# "Specialist for this text…" in the explorer: a target text's domain weights estimated off the
# GUI thread move the sliders (tiny bank trained by the test).
if(TARGET souplab_ui)
  souplab_add_test(test_target_weights_button
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_target_weights_button.cpp
    LIBS souplab_ui
    LABELS ui
    TIMEOUT 300)
endif()
