# The GUI event loop stays responsive (< 100 ms stalls) while the GUI's training worker trains.
if(TARGET souplab_glue)
  souplab_add_test(test_gui_responsiveness
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_gui_responsiveness.cpp
    LIBS souplab_glue
    LABELS "reliability;ui"
    TIMEOUT 300)
endif()
